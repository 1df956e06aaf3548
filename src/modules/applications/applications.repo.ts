import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { applications, pools, type ApplicationStatus } from '../../db/schema.js';
import { inSubtreesOf } from '../pools/pools.repo.js';

export type ApplicationRow = typeof applications.$inferSelect;

export async function insertApplication(db: Executor, row: typeof applications.$inferInsert): Promise<ApplicationRow> {
  const [created] = await db.insert(applications).values(row).returning();
  return created!;
}

export async function findApplication(db: Executor, id: string, options: { lock?: boolean } = {}): Promise<ApplicationRow | undefined> {
  const query = db.select().from(applications).where(eq(applications.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

/** The application a pool came from, if it came from one. */
export async function findApplicationOfPool(db: Executor, poolId: string): Promise<ApplicationRow | undefined> {
  const [row] = await db.select().from(applications).where(eq(applications.poolId, poolId));
  return row;
}

export async function updateApplicationRow(db: Executor, id: string, patch: Partial<typeof applications.$inferInsert>): Promise<ApplicationRow> {
  const [updated] = await db.update(applications).set(patch).where(eq(applications.id, id)).returning();
  return updated!;
}

export interface ApplicationFilter {
  status?: ApplicationStatus | undefined;
  /** Only applications for pools inside these subtrees; undefined for all. */
  within?: readonly string[] | undefined;
  after?: string | undefined;
  limit: number;
}

export async function findApplications(db: Executor, f: ApplicationFilter): Promise<ApplicationRow[]> {
  const where: SQL[] = [];
  if (f.status) where.push(eq(applications.status, f.status));
  if (f.within) where.push(inSubtreesOf(f.within));
  if (f.after) where.push(gt(applications.id, f.after));
  const rows = await db
    .select({ application: applications })
    .from(applications)
    .innerJoin(pools, eq(pools.id, applications.parentId))
    .where(and(...where))
    .orderBy(asc(applications.id))
    .limit(f.limit);
  return rows.map((r) => r.application);
}
