import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { containsText, textArray, type Executor } from '../../db/client.js';
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

export async function updatePoolRow(db: Executor, id: string, patch: Partial<typeof pools.$inferInsert>): Promise<PoolRow> {
  const [row] = await db.update(pools).set(patch).where(eq(pools.id, id)).returning();
  return row!;
}

export interface PoolFilter {
  parentId?: string | undefined;
  rootId?: string | undefined;
  status?: PoolStatus | undefined;
  q?: string | undefined;
  /** Pools inside the subtree of any of these (the caller's reach); undefined: everything. */
  within?: readonly string[] | undefined;
  after?: string | undefined;
  limit: number;
}

export async function findPools(db: Executor, f: PoolFilter): Promise<PoolRow[]> {
  const where: SQL[] = [];
  if (f.parentId) where.push(eq(pools.parentId, f.parentId));
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
