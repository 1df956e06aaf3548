import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { features, meters, packages } from '../../db/schema.js';

export type MeterRow = typeof meters.$inferSelect;
export type FeatureRow = typeof features.$inferSelect;

export const findMeters = (db: Executor, rootId: string): Promise<MeterRow[]> =>
  db.select().from(meters).where(eq(meters.rootId, rootId)).orderBy(asc(meters.key));

/** The meters of several roots in one query, by root (each root's in key order). */
export async function findMetersOfRoots(db: Executor, rootIds: readonly string[]): Promise<Map<string, MeterRow[]>> {
  const byRoot = new Map<string, MeterRow[]>(rootIds.map((id) => [id, []]));
  if (rootIds.length === 0) return byRoot;
  for (const m of await db.select().from(meters).where(inArray(meters.rootId, [...rootIds])).orderBy(asc(meters.rootId), asc(meters.key))) byRoot.get(m.rootId)?.push(m);
  return byRoot;
}

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

export type PackageRow = typeof packages.$inferSelect;

export function findPackages(db: Executor, rootId: string, f: { deviceType?: string | undefined; after?: string | undefined; limit?: number } = {}): Promise<PackageRow[]> {
  const where: SQL[] = [eq(packages.rootId, rootId)];
  if (f.deviceType) where.push(eq(packages.deviceType, f.deviceType));
  if (f.after) where.push(gt(packages.id, f.after));
  const query = db.select().from(packages).where(and(...where)).orderBy(asc(packages.id));
  return f.limit === undefined ? query : query.limit(f.limit);
}

/** Undefined when the root already has this name, version and device type. */
export async function insertPackage(db: Executor, row: typeof packages.$inferInsert): Promise<PackageRow | undefined> {
  const [inserted] = await db.insert(packages).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function deletePackageRow(db: Executor, rootId: string, id: string): Promise<PackageRow | undefined> {
  const [deleted] = await db.delete(packages).where(and(eq(packages.rootId, rootId), eq(packages.id, id))).returning();
  return deleted;
}
