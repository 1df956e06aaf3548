import { and, asc, eq, gt, inArray, isNotNull, lte, ne, sql, type SQL } from 'drizzle-orm';
import { preparedOn, rowsOf, textArray, type Executor } from '../../db/client.js';
import { accounts, claims, devices, members } from '../../db/schema.js';
import { counterKey, splitCounterKey, touchedCounters } from '../../domain/claims.js';
import { drawClosure } from '../../domain/quota.js';
import { findMeters } from '../catalog/catalog.repo.js';
import { findPathPools, poolIdsInSubtreesOf } from '../pools/pools.repo.js';

export type ClaimRow = typeof claims.$inferSelect;

/**
 * Locks the usage counters, creating the missing ones, always in (pool, meter) order so two
 * batches may wait for each other but never deadlock. Returns `${pool} ${meter}` → used.
 */
export async function lockCounters(tx: Executor, keys: readonly string[]): Promise<Map<string, number>> {
  const sorted = [...new Set(keys)].sort();
  const poolIds = sorted.map((k) => splitCounterKey(k).poolId);
  const meters = sorted.map((k) => splitCounterKey(k).meter);
  if (sorted.length === 0) return new Map();
  await tx.execute(sql`
    INSERT INTO pool_usage (pool_id, meter_key, used)
    SELECT p, m, 0 FROM unnest(${textArray(poolIds)}, ${textArray(meters)}) AS k(p, m)
    ORDER BY p, m
    ON CONFLICT DO NOTHING`);
  const rows = await rowsOf<{ pool_id: string; meter_key: string; used: string | number }>(
    tx,
    sql`SELECT pool_id, meter_key, used FROM pool_usage
        WHERE (pool_id, meter_key) IN (SELECT * FROM unnest(${textArray(poolIds)}, ${textArray(meters)}))
        ORDER BY pool_id, meter_key
        FOR UPDATE`,
  );
  return new Map(rows.map((r) => [counterKey(r.pool_id, r.meter_key), Number(r.used)]));
}

/** Meter closures of these roots: meter → the meters one unit takes (itself excluded). */
export async function closuresOf(tx: Executor, rootIds: Iterable<string>): Promise<Map<string, Map<string, string[]>>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const rootId of new Set(rootIds)) out.set(rootId, drawClosure(await findMeters(tx, rootId)));
  return out;
}

/**
 * The counters each of these (already locked) claims holds units on — every pool of its path,
 * its meter and the meters that draws on — locked in the global order. `touched` maps each
 * claim's id to its counter keys. Pass `closures` when the caller has read them already.
 */
export async function lockCountersOfClaims(
  tx: Executor,
  locked: readonly ClaimRow[],
  closures?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>,
): Promise<{ touched: Map<string, string[]>; counters: Map<string, number> }> {
  const paths = new Map((await findPathPools(tx, [...new Set(locked.map((c) => c.poolId))])).map((p) => [p.id, p.path]));
  const closureOf = closures ?? (await closuresOf(tx, locked.map((c) => c.rootId)));
  const touched = new Map(
    locked.map((c) => {
      const path = paths.get(c.poolId);
      if (!path) throw new Error(`claim ${c.id} is on pool ${c.poolId}, which does not exist`);
      return [c.id, touchedCounters(path.map((id) => ({ id })), c.meterKey, closureOf.get(c.rootId)!)] as const;
    }),
  );
  return { touched, counters: await lockCounters(tx, [...touched.values()].flat()) };
}

/** Gives every unit of these (already locked) claims back, on each counter they hold, in one write. */
export async function giveBackUnits(tx: Executor, locked: readonly ClaimRow[]): Promise<void> {
  const { touched, counters } = await lockCountersOfClaims(tx, locked);
  for (const c of locked) for (const key of touched.get(c.id)!) counters.set(key, counters.get(key)! - c.quantity);
  await writeCounters(tx, counters);
}

/** Writes the counters that changed, in one statement. */
export async function writeCounters(tx: Executor, changed: ReadonlyMap<string, number>): Promise<void> {
  if (changed.size === 0) return;
  const keys = [...changed.keys()];
  await tx.execute(sql`
    UPDATE pool_usage AS u SET used = v.used
    FROM unnest(${textArray(keys.map((k) => splitCounterKey(k).poolId))}, ${textArray(keys.map((k) => splitCounterKey(k).meter))},
                ${sql`ARRAY[${sql.join(keys.map((k) => sql`${changed.get(k)!}`), sql`, `)}]::bigint[]`}) AS v(pool_id, meter_key, used)
    WHERE u.pool_id = v.pool_id AND u.meter_key = v.meter_key`);
}

export async function insertClaims(tx: Executor, rows: (typeof claims.$inferInsert)[]): Promise<void> {
  if (rows.length > 0) await tx.insert(claims).values(rows);
}

/** Live claims by id, locked (check-in and expiry). */
export async function lockLiveClaims(tx: Executor, ids: readonly string[]): Promise<ClaimRow[]> {
  if (ids.length === 0) return [];
  return tx.select().from(claims).where(and(inArray(claims.id, [...ids]), eq(claims.status, 'live'))).orderBy(asc(claims.id)).for('update');
}

/**
 * Live claims past their end, locked; rows another transaction holds are skipped. `of` narrows
 * them to the leases and borrows of some roots (a batch ends those on the way; holds lapse in
 * the sweep, with their tickets).
 */
export async function lockExpiredClaims(tx: Executor, now: Date, limit: number, of?: { leasesAndBorrowsOfRoots: readonly string[] }): Promise<ClaimRow[]> {
  if (of && of.leasesAndBorrowsOfRoots.length === 0) return [];
  const where = [eq(claims.status, 'live'), isNotNull(claims.expiresAt), lte(claims.expiresAt, now)];
  if (of) where.push(ne(claims.kind, 'hold'), inArray(claims.rootId, [...of.leasesAndBorrowsOfRoots]));
  return tx
    .select()
    .from(claims)
    .where(and(...where))
    .orderBy(asc(claims.id))
    .limit(limit)
    .for('update', { skipLocked: true });
}

export async function endClaims(tx: Executor, ids: readonly string[], status: 'released' | 'expired' | 'revoked', at: Date, reason: string) {
  if (ids.length > 0) await tx.update(claims).set({ status, endedAt: at, endReason: reason }).where(inArray(claims.id, [...ids]));
}

/** Live leases of these members with a fingerprint, for U3's "same client gets its lease back". */
export async function findLiveFingerprinted(tx: Executor, memberIds: readonly string[], now: Date): Promise<ClaimRow[]> {
  if (memberIds.length === 0) return [];
  return tx
    .select()
    .from(claims)
    .where(and(inArray(claims.memberId, [...memberIds]), eq(claims.status, 'live'), isNotNull(claims.fingerprint), gt(claims.expiresAt, now)));
}

export async function extendLease(tx: Executor, id: string, expiresAt: Date, now: Date): Promise<ClaimRow | undefined> {
  const [row] = await tx
    .update(claims)
    .set({ expiresAt })
    .where(and(eq(claims.id, id), eq(claims.status, 'live'), eq(claims.kind, 'lease'), gt(claims.expiresAt, now)))
    .returning();
  return row;
}

/** U4: a ticket's hold becomes its member's lease in place: the same units, so no counter moves. */
export async function convertHoldToLease(tx: Executor, id: string, lease: { ttlSeconds: number; expiresAt: Date; fingerprint: string | null }): Promise<void> {
  await tx
    .update(claims)
    .set({ kind: 'lease', ttlSeconds: lease.ttlSeconds, expiresAt: lease.expiresAt, fingerprint: lease.fingerprint })
    .where(and(eq(claims.id, id), eq(claims.kind, 'hold'), eq(claims.status, 'live')));
}

const claimById = preparedOn((db) => db.select().from(claims).where(eq(claims.id, sql.placeholder('id'))).prepare('claim_by_id'));

export async function findClaim(db: Executor, id: string): Promise<ClaimRow | undefined> {
  const [row] = await claimById(db).execute({ id });
  return row;
}

export async function findClaims(
  db: Executor,
  f: { poolId?: string; subtreeOf?: string; within?: readonly string[]; memberId?: string; live?: boolean; after?: string; limit: number; now: Date },
) {
  const where: SQL[] = [];
  if (f.poolId) where.push(eq(claims.poolId, f.poolId));
  if (f.subtreeOf) where.push(inArray(claims.poolId, poolIdsInSubtreesOf(db, [f.subtreeOf])));
  if (f.within) where.push(inArray(claims.poolId, poolIdsInSubtreesOf(db, f.within)));
  if (f.memberId) where.push(eq(claims.memberId, f.memberId));
  if (f.live) where.push(eq(claims.status, 'live'), sql`(${claims.expiresAt} IS NULL OR ${claims.expiresAt} > ${f.now.toISOString()}::timestamptz)`);
  if (f.after) where.push(gt(claims.id, f.after));
  return db.select().from(claims).where(and(...where)).orderBy(asc(claims.id)).limit(f.limit);
}

/**
 * What the counters should say: for every pool and meter, the units of the live claims in its
 * subtree (each claim on every pool of its path and every meter of its closure, given as
 * `closures`: meter key → meters it takes, itself included).
 */
export async function recount(db: Executor, rootId: string, closures: ReadonlyMap<string, readonly string[]>) {
  const meterOf = [...closures.entries()].flatMap(([meter, taken]) => taken.map((t) => [meter, t] as const));
  if (meterOf.length === 0) return [];
  return rowsOf<{ pool_id: string; meter_key: string; used: string | number }>(
    db,
    sql`WITH takes(meter, taken) AS (SELECT * FROM unnest(${textArray(meterOf.map((m) => m[0]))}, ${textArray(meterOf.map((m) => m[1]))}))
        SELECT ancestor AS pool_id, takes.taken AS meter_key, sum(c.quantity) AS used
        FROM claims c
        JOIN pools p ON p.id = c.pool_id
        CROSS JOIN LATERAL unnest(p.path) AS ancestor
        JOIN takes ON takes.meter = c.meter_key
        WHERE c.root_id = ${rootId} AND c.status = 'live'
        GROUP BY ancestor, takes.taken`,
  );
}

/**
 * What may have changed of the members a batch decides for, share-locked in id order so that
 * rejecting or removing one waits for the batch: status, device status, and a person's e-mail
 * (for the access rules).
 */
export async function shareClaimantStates(tx: Executor, memberIds: readonly string[]) {
  if (memberIds.length === 0) return [];
  return tx
    .select({ id: members.id, status: members.status, deviceStatus: devices.status, email: accounts.email })
    .from(members)
    .leftJoin(accounts, eq(accounts.id, members.accountId))
    .leftJoin(devices, eq(devices.id, members.deviceId))
    .where(inArray(members.id, [...new Set(memberIds)]))
    .orderBy(asc(members.id))
    .for('share', { of: members });
}

/** Live claims by kind at `now` (a claim past its expiry that no sweep has ended yet is not live): for /metrics. */
export const countLiveClaimsByKind = (db: Executor, now: Date): Promise<{ kind: string; count: number }[]> =>
  db
    .select({ kind: claims.kind, count: sql<number>`count(*)::int` })
    .from(claims)
    .where(and(eq(claims.status, 'live'), sql`(${claims.expiresAt} IS NULL OR ${claims.expiresAt} > ${now})`))
    .groupBy(claims.kind);

/** Who a member is, for the people who look after its pool: a person's name and e-mail, or a device's serial and type. */
export interface Holder {
  memberId: string;
  accountId: string | null;
  name: string | null;
  email: string | null;
  deviceSerial: string | null;
  deviceType: string | null;
}

/** The holders of these members, in one query (members removed since are absent). */
export async function findHolders(db: Executor, memberIds: readonly string[]): Promise<Map<string, Holder>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .select({ memberId: members.id, accountId: members.accountId, name: accounts.name, email: accounts.email, deviceSerial: devices.serial, deviceType: devices.type })
    .from(members)
    .leftJoin(accounts, eq(accounts.id, members.accountId))
    .leftJoin(devices, eq(devices.id, members.deviceId))
    .where(inArray(members.id, [...new Set(memberIds)]));
  return new Map(rows.map((r) => [r.memberId, r]));
}
