import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Executor } from '../../db/client.js';
import { licenseConnections, licenses, type LicenseStatus } from '../../db/schema.js';
import type { LicenseRow } from '../state/state.repo.js';

export async function insertLicense(db: Executor, row: typeof licenses.$inferInsert): Promise<LicenseRow> {
  const [inserted] = await db.insert(licenses).values(row).returning();
  return inserted!;
}

/** Undefined when the key is taken (the unique index decides). */
export async function insertLicenseWithKey(db: Executor, row: typeof licenses.$inferInsert & { key: string }): Promise<LicenseRow | undefined> {
  const [inserted] = await db.insert(licenses).values(row).onConflictDoNothing({ target: licenses.key }).returning();
  return inserted;
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

/**
 * Records the clock's verdict on licenses past their end that have not been finalized (L2: the
 * cut-off does not wait for a resume); returns them as they were, with the new row.
 */
export async function markExpiredLicenses(db: Executor, now: Date): Promise<{ before: LicenseStatus; license: LicenseRow }[]> {
  const rows = await rowsOf<{ id: string; before: LicenseStatus }>(
    db,
    sql`UPDATE licenses l SET status = 'expired', updated_at = ${now.toISOString()}::timestamptz
        FROM (SELECT id, status FROM licenses
              WHERE status IN ('pending_provision', 'pending_start', 'in_use', 'access_denied')
                AND valid_until <= ${now.toISOString()}::timestamptz
              ORDER BY id FOR UPDATE) old
        WHERE l.id = old.id
        RETURNING l.id, old.status AS before`,
  );
  if (rows.length === 0) return [];
  const after = new Map((await db.select().from(licenses).where(inArray(licenses.id, rows.map((r) => r.id)))).map((l) => [l.id, l]));
  return rows.map((r) => ({ before: r.before, license: after.get(r.id)! }));
}

export async function findLicenseByKey(db: Executor, key: string, options: { lock?: boolean } = {}): Promise<LicenseRow | undefined> {
  const query = db.select().from(licenses).where(eq(licenses.key, key));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

/** Licenses of the pool waiting for connections (L5), locked in id order. */
export function lockLicensesAwaitingConnections(db: Executor, poolId: string): Promise<LicenseRow[]> {
  return db
    .select()
    .from(licenses)
    .where(and(eq(licenses.poolId, poolId), eq(licenses.status, 'pending_start'), eq(licenses.startRule, 'on_connections')))
    .orderBy(asc(licenses.id))
    .for('update');
}

/** Records `serial` as connected for each license (a repeat counts once); the distinct count per license. */
export async function recordConnections(db: Executor, licenseIds: readonly string[], serial: string, now: Date): Promise<Map<string, number>> {
  if (licenseIds.length === 0) return new Map();
  await db
    .insert(licenseConnections)
    .values(licenseIds.map((licenseId) => ({ licenseId, serial, connectedAt: now })))
    .onConflictDoNothing();
  const counts = await db
    .select({ licenseId: licenseConnections.licenseId, count: sql<number>`count(*)::int` })
    .from(licenseConnections)
    .where(inArray(licenseConnections.licenseId, [...licenseIds]))
    .groupBy(licenseConnections.licenseId);
  return new Map(counts.map((c) => [c.licenseId, c.count]));
}
