import { asc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { features, meters } from '../../db/schema.js';

export type MeterRow = typeof meters.$inferSelect;
export type FeatureRow = typeof features.$inferSelect;

export const findMeters = (db: Executor, rootId: string): Promise<MeterRow[]> =>
  db.select().from(meters).where(eq(meters.rootId, rootId)).orderBy(asc(meters.key));

export const findFeatures = (db: Executor, rootId: string): Promise<FeatureRow[]> =>
  db.select().from(features).where(eq(features.rootId, rootId)).orderBy(asc(features.key));

/** Undefined when the key is taken. */
export async function insertMeter(db: Executor, row: typeof meters.$inferInsert): Promise<MeterRow | undefined> {
  const [inserted] = await db.insert(meters).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function insertFeature(db: Executor, row: typeof features.$inferInsert): Promise<FeatureRow | undefined> {
  const [inserted] = await db.insert(features).values(row).onConflictDoNothing().returning();
  return inserted;
}
