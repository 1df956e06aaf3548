import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { poolInitialization } from '../../db/schema.js';

export type PoolInitializationRow = typeof poolInitialization.$inferSelect;
type InitializationStep = Omit<Partial<typeof poolInitialization.$inferInsert>, 'poolId'>;

export async function findPoolInitialization(db: Executor, poolId: string): Promise<PoolInitializationRow | undefined> {
  const [row] = await db.select().from(poolInitialization).where(eq(poolInitialization.poolId, poolId));
  return row;
}

/** Records one step, keeping the others. */
export async function recordInitializationStep(db: Executor, poolId: string, step: InitializationStep): Promise<PoolInitializationRow> {
  const [row] = await db
    .insert(poolInitialization)
    .values({ poolId, ...step })
    .onConflictDoUpdate({ target: poolInitialization.poolId, set: step })
    .returning();
  return row!;
}
