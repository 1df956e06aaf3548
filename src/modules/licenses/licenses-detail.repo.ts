import { count, eq, sql, type SQL } from 'drizzle-orm';
import { rowsOf, textArray, type Executor } from '../../db/client.js';
import { licenseConnections } from '../../db/schema.js';

/**
 * Which licensed meter each claimed meter takes: a claim on `meter` takes units of `taken` too
 * (itself, or a meter it draws on). Pairs, as parallel arrays for `unnest`.
 */
export interface Takes {
  meter: readonly string[];
  taken: readonly string[];
}

/**
 * The live claims in the subtree of `poolId` that take units of the licensed meters: live, and
 * not past their end (a lease the sweep has not ended yet is no longer live when read).
 */
function liveTakingClaims(poolId: string, takes: Takes, now: Date): SQL {
  return sql`
    WITH takes(meter, taken) AS (SELECT * FROM unnest(${textArray(takes.meter)}, ${textArray(takes.taken)}))
    SELECT c.member_id, c.quantity, takes.taken
    FROM claims c
    JOIN takes ON takes.meter = c.meter_key
    JOIN pools p ON p.id = c.pool_id
    WHERE c.status = 'live'
      AND (c.expires_at IS NULL OR c.expires_at > ${now.toISOString()}::timestamptz)
      AND p.path && ${textArray([poolId])}`;
}

export interface MeterUse {
  meter: string;
  claims: number;
  members: number;
}

/** Per licensed meter: the live claims taking it in the pool's subtree, and the members holding them. */
export async function findMeterUse(db: Executor, poolId: string, takes: Takes, now: Date): Promise<MeterUse[]> {
  if (takes.meter.length === 0) return [];
  const rows = await rowsOf<{ taken: string; claims: string | number; members: string | number }>(
    db,
    sql`SELECT u.taken, count(*) AS claims, count(DISTINCT u.member_id) AS members
        FROM (${liveTakingClaims(poolId, takes, now)}) u
        GROUP BY u.taken`,
  );
  return rows.map((r) => ({ meter: r.taken, claims: Number(r.claims), members: Number(r.members) }));
}

export interface UsingMemberRow {
  id: string;
  pool_id: string;
  status: string;
  account_id: string | null;
  email: string | null;
  device_id: string | null;
  serial: string | null;
  device_type: string | null;
}

/** One page, in id order, of the members holding live claims that take the licensed meters. */
export function findUsingMembers(db: Executor, poolId: string, takes: Takes, now: Date, page: { after?: string | undefined; limit: number }) {
  if (takes.meter.length === 0) return Promise.resolve([]);
  return rowsOf<UsingMemberRow>(
    db,
    sql`SELECT m.id, m.pool_id, m.status, m.account_id, a.email, m.device_id, d.serial, d.type AS device_type
        FROM members m
        LEFT JOIN accounts a ON a.id = m.account_id
        LEFT JOIN devices d ON d.id = m.device_id
        WHERE m.id IN (SELECT u.member_id FROM (${liveTakingClaims(poolId, takes, now)}) u)
          ${page.after ? sql`AND m.id > ${page.after}` : sql``}
        ORDER BY m.id
        LIMIT ${page.limit}`,
  );
}

/** What each of these members' live claims take of each licensed meter: claims and units. */
export async function findMembersUse(db: Executor, poolId: string, takes: Takes, now: Date, memberIds: readonly string[]) {
  if (memberIds.length === 0 || takes.meter.length === 0) return [];
  const rows = await rowsOf<{ member_id: string; taken: string; claims: string | number; units: string | number }>(
    db,
    sql`SELECT u.member_id, u.taken, count(*) AS claims, sum(u.quantity) AS units
        FROM (${liveTakingClaims(poolId, takes, now)}) u
        WHERE u.member_id = ANY(${textArray(memberIds)})
        GROUP BY u.member_id, u.taken
        ORDER BY u.member_id, u.taken`,
  );
  return rows.map((r) => ({ memberId: r.member_id, meter: r.taken, claims: Number(r.claims), units: Number(r.units) }));
}

/** L5: the distinct devices counted towards the license's start (one row per serial). */
export async function countLicenseConnections(db: Executor, licenseId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(licenseConnections).where(eq(licenseConnections.licenseId, licenseId));
  return Number(row?.n ?? 0);
}
