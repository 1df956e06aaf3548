import { and, asc, eq, gt, ilike, inArray, sql, type SQL } from 'drizzle-orm';
import { textArray, type Executor } from '../../db/client.js';
import { pools, type PoolStatus } from '../../db/schema.js';

export type PoolRow = typeof pools.$inferSelect;

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

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function findPools(db: Executor, f: PoolFilter): Promise<PoolRow[]> {
  const where: SQL[] = [];
  if (f.parentId) where.push(eq(pools.parentId, f.parentId));
  if (f.rootId) where.push(eq(pools.rootId, f.rootId));
  if (f.status) where.push(eq(pools.status, f.status));
  if (f.q) where.push(ilike(pools.name, `%${escapeLike(f.q)}%`));
  if (f.within) where.push(sql`${pools.path} && ${textArray(f.within)}`);
  if (f.after) where.push(gt(pools.id, f.after));
  return db
    .select()
    .from(pools)
    .where(and(...where))
    .orderBy(asc(pools.id))
    .limit(f.limit);
}
