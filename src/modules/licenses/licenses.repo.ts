import { and, asc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, or, type SQL } from 'drizzle-orm';
import { containsText, type Executor } from '../../db/client.js';
import { poolIdsInSubtreesOf } from '../pools/pools.repo.js';
import { licenses, type LicenseStatus } from '../../db/schema.js';
import type { LicenseRow } from '../state/state.repo.js';

export async function insertLicense(db: Executor, row: typeof licenses.$inferInsert): Promise<LicenseRow> {
  const [inserted] = await db.insert(licenses).values(row).returning();
  return inserted!;
}

export async function findLicense(db: Executor, id: string, options: { lock?: boolean } = {}): Promise<LicenseRow | undefined> {
  const query = db.select().from(licenses).where(eq(licenses.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function updateLicenseRow(db: Executor, id: string, patch: Partial<typeof licenses.$inferInsert>): Promise<LicenseRow> {
  const [row] = await db.update(licenses).set(patch).where(eq(licenses.id, id)).returning();
  return row!;
}

export interface LicenseFilter {
  poolId?: string | undefined;
  status?: LicenseStatus | undefined;
  endsAfter?: Date | undefined;
  endsBefore?: Date | undefined;
  q?: string | undefined;
  within?: readonly string[] | undefined;
  after?: string | undefined;
  limit: number;
  now: Date;
}

/** `expired` is also a running license whose end has passed, so the filter follows the clock. */
function statusCondition(status: LicenseStatus, now: Date): SQL {
  if (status === 'expired') {
    return or(eq(licenses.status, 'expired'), and(eq(licenses.status, 'in_use'), lte(licenses.validUntil, now)))!;
  }
  if (status === 'in_use') {
    return and(eq(licenses.status, 'in_use'), or(isNull(licenses.validUntil), gt(licenses.validUntil, now)))!;
  }
  return eq(licenses.status, status);
}

export async function findLicenses(db: Executor, f: LicenseFilter): Promise<LicenseRow[]> {
  const where: SQL[] = [];
  if (f.poolId) where.push(eq(licenses.poolId, f.poolId));
  if (f.status) where.push(statusCondition(f.status, f.now));
  if (f.endsAfter) where.push(and(isNotNull(licenses.validUntil), gte(licenses.validUntil, f.endsAfter))!);
  if (f.endsBefore) where.push(and(isNotNull(licenses.validUntil), lt(licenses.validUntil, f.endsBefore))!);
  if (f.q) where.push(containsText(licenses.name, f.q));
  if (f.within) {
    where.push(inArray(licenses.poolId, poolIdsInSubtreesOf(db, f.within)));
  }
  if (f.after) where.push(gt(licenses.id, f.after));
  return db
    .select()
    .from(licenses)
    .where(and(...where))
    .orderBy(asc(licenses.id))
    .limit(f.limit);
}

/** Records the clock's verdict on running licenses past their end; returns those changed. */
export function markExpiredLicenses(db: Executor, now: Date): Promise<LicenseRow[]> {
  return db
    .update(licenses)
    .set({ status: 'expired', updatedAt: now })
    .where(and(eq(licenses.status, 'in_use'), lte(licenses.validUntil, now)))
    .returning();
}
