import { and, asc, eq, gt, inArray, isNull, sql, type SQL } from 'drizzle-orm';
import { containsText, rowsOf, textArray, type Executor } from '../../db/client.js';
import { iso } from '../../lib/time.js';
import type { AuditEventRow } from '../audit/audit.repo.js';
import { pools, type PoolStatus } from '../../db/schema.js';

export type PoolRow = typeof pools.$inferSelect;

/** Pools inside the subtree of any of `poolIds` (the pools themselves included): one GIN lookup. */
export const inSubtreesOf = (poolIds: readonly string[]): SQL => sql`${pools.path} && ${textArray(poolIds)}`;

/** The ids of those pools, as a subquery for filtering other tables by pool. */
export const poolIdsInSubtreesOf = (db: Executor, poolIds: readonly string[]) =>
  db.select({ id: pools.id }).from(pools).where(inSubtreesOf(poolIds));

export async function findPool(db: Executor, id: string): Promise<PoolRow | undefined> {
  const [row] = await db.select().from(pools).where(eq(pools.id, id));
  return row;
}

/** Reads the pool and locks its row until the transaction ends (serializes its updates). */
export async function lockPool(tx: Executor, id: string): Promise<PoolRow | undefined> {
  const [row] = await tx.select().from(pools).where(eq(pools.id, id)).for('update');
  return row;
}

/**
 * Reads pools and share-locks them in id order: their updates (license changes, status, settings,
 * which lock a pool FOR UPDATE) wait until the transaction ends.
 */
export async function sharePools(tx: Executor, ids: readonly string[]): Promise<PoolRow[]> {
  return tx.select().from(pools).where(inArray(pools.id, [...ids])).orderBy(asc(pools.id)).for('share');
}

export async function findPoolPath(db: Executor, id: string): Promise<string[] | null> {
  const [row] = await db.select({ path: pools.path }).from(pools).where(eq(pools.id, id));
  return row?.path ?? null;
}

/** The pools of a path, root first. */
export async function findPathPools(db: Executor, path: readonly string[]): Promise<PoolRow[]> {
  const rows = await db.select().from(pools).where(inArray(pools.id, [...path]));
  return rows.sort((a, b) => a.depth - b.depth);
}

export async function insertPool(db: Executor, row: typeof pools.$inferInsert): Promise<PoolRow> {
  const [inserted] = await db.insert(pools).values(row).returning();
  return inserted!;
}

/** What a new child pool is given; where it sits in the tree comes from its parent. */
/** A child's own fields; `maxLeaseSeconds` and `exclusiveMembership` are the root's settings (below it they are not read). */
export type ChildPoolFields = Omit<PoolRow, 'rootId' | 'parentId' | 'path' | 'depth' | 'status' | 'maxLeaseSeconds' | 'exclusiveMembership'>;

/**
 * Adds a child pool and its audit event in one statement, which is its own transaction and one
 * round trip: creating a tree is bound by round trips and statements, not by data. The parent
 * is locked FOR SHARE (siblings may be added side by side; its status cannot change meanwhile),
 * must not be closed, and its path must lie inside `allowedAt` (pools where the caller holds
 * the right to add children, see `poolsGranting`). Undefined when any of that fails; the caller
 * then finds out which, to answer 404, 403 or 409.
 */
export async function insertChildPool(
  db: Executor,
  parentId: string,
  allowedAt: readonly string[] | 'all',
  pool: ChildPoolFields,
  event: AuditEventRow,
): Promise<PoolRow | undefined> {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  const allowed = allowedAt === 'all' ? sql`TRUE` : sql`path && ${textArray(allowedAt)}`;
  const rows = await rowsOf<{ root_id: string; path: string[]; depth: number }>(
    db,
    sql`WITH parent AS (
          SELECT id, root_id, path, depth FROM pools
          WHERE id = ${parentId}::text AND status <> 'closed' AND ${allowed}
          FOR SHARE
        ), created AS (
          INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, restricted, valid_until,
                             max_borrow_days, queue, billing_address, created_at, updated_at)
          SELECT ${pool.id}::text, parent.root_id, parent.id, parent.path || ${pool.id}::text, parent.depth + 1,
                 ${pool.name}::text, ${pool.kind}::text, 'initializing', ${pool.restricted}::boolean,
                 ${iso(pool.validUntil)}::timestamptz, ${pool.maxBorrowDays}::int, ${json(pool.queue)}::jsonb,
                 ${json(pool.billingAddress)}::jsonb, ${iso(pool.createdAt)}::timestamptz, ${iso(pool.updatedAt)}::timestamptz
          FROM parent
          RETURNING root_id, path, depth
        ), audited AS (
          INSERT INTO audit_events (id, at, actor_id, token_id, action, entity_type, entity_id, root_id, pool_id,
                                    license_id, member_id, before, after, request_id)
          SELECT ${event.id}::text, ${iso(event.at)}::timestamptz, ${event.actorId}::text, ${event.tokenId}::text,
                 ${event.action}::text, 'pool', ${pool.id}::text, created.root_id, ${pool.id}::text, NULL, NULL, NULL,
                 ${json(event.after)}::jsonb || jsonb_build_object('rootId', created.root_id, 'parentId', ${parentId}::text,
                   'path', to_jsonb(created.path), 'depth', created.depth, 'status', 'initializing'),
                 ${event.requestId}::text
          FROM created
        )
        SELECT root_id, path, depth FROM created`,
  );
  const placed = rows[0];
  if (!placed) return undefined;
  return { ...pool, rootId: placed.root_id, parentId, path: placed.path, depth: placed.depth, status: 'initializing', maxLeaseSeconds: null, exclusiveMembership: true };
}

export async function updatePoolRow(db: Executor, id: string, patch: Partial<typeof pools.$inferInsert>): Promise<PoolRow> {
  const [row] = await db.update(pools).set(patch).where(eq(pools.id, id)).returning();
  return row!;
}

export interface PoolFilter {
  parentId?: string | undefined;
  /** Only these pools, less those inside another's subtree: where a caller's tree starts. */
  topOf?: readonly string[] | undefined;
  /** Only roots. */
  roots?: boolean | undefined;
  rootId?: string | undefined;
  status?: PoolStatus | undefined;
  q?: string | undefined;
  /** Pools inside the subtree of any of these (the caller's reach); undefined: everything. */
  within?: readonly string[] | undefined;
  after?: string | undefined;
  limit: number;
}

/** The ids of the root pools (of those among `among`, when given), in id order. */
export async function findRootPoolIds(db: Executor, among?: readonly string[]): Promise<string[]> {
  if (among?.length === 0) return [];
  const where = and(isNull(pools.parentId), among ? inArray(pools.id, [...among]) : undefined);
  return (await db.select({ id: pools.id }).from(pools).where(where).orderBy(asc(pools.id))).map((r) => r.id);
}

export async function findPools(db: Executor, f: PoolFilter): Promise<PoolRow[]> {
  const where: SQL[] = [];
  if (f.parentId) where.push(eq(pools.parentId, f.parentId));
  // path[1:depth] is the pool's ancestors (the path holds depth + 1 ids, 1-based).
  if (f.topOf) where.push(inArray(pools.id, [...f.topOf]), sql`NOT (${pools.path}[1:${pools.depth}] && ${textArray(f.topOf)})`);
  if (f.roots) where.push(isNull(pools.parentId));
  if (f.rootId) where.push(eq(pools.rootId, f.rootId));
  if (f.status) where.push(eq(pools.status, f.status));
  if (f.q) where.push(containsText(pools.name, f.q));
  if (f.within) where.push(inSubtreesOf(f.within));
  if (f.after) where.push(gt(pools.id, f.after));
  return db
    .select()
    .from(pools)
    .where(and(...where))
    .orderBy(asc(pools.id))
    .limit(f.limit);
}

/** The number of children of each of these pools (absent: none); the parent index answers it. */
export async function countChildren(db: Executor, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ parentId: pools.parentId, count: sql<number>`count(*)::int` })
    .from(pools)
    .where(inArray(pools.parentId, [...ids]))
    .groupBy(pools.parentId);
  return new Map(rows.map((r) => [r.parentId!, Number(r.count)]));
}
