import { and, asc, eq, gt, gte, ilike, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { textArray, type Executor } from '../../db/client.js';
import { licenses, pools, type LicenseStatus } from '../../db/schema.js';
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

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function findLicenses(db: Executor, f: LicenseFilter): Promise<LicenseRow[]> {
  const where: SQL[] = [];
  if (f.poolId) where.push(eq(licenses.poolId, f.poolId));
  if (f.status) where.push(statusCondition(f.status, f.now));
  if (f.endsAfter) where.push(and(isNotNull(licenses.validUntil), gte(licenses.validUntil, f.endsAfter))!);
  if (f.endsBefore) where.push(and(isNotNull(licenses.validUntil), lt(licenses.validUntil, f.endsBefore))!);
  if (f.q) where.push(ilike(licenses.name, `%${escapeLike(f.q)}%`));
  if (f.within) {
    where.push(
      inArray(licenses.poolId, db.select({ id: pools.id }).from(pools).where(sql`${pools.path} && ${textArray(f.within)}`)),
    );
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
