/**
 * The license detail view (L8) and its certificate (L9): general data, assignments and the
 * members using a license. Reads only; who may read is `licenseFor`'s rule (readers of the
 * license's pool; a license on no pool belongs to its root's operators).
 */
import type { Executor } from '../../db/client.js';
import { effectiveStatus, isInEffect } from '../../domain/license-status.js';
import { drawClosure } from '../../domain/quota.js';
import type { Actor, Deps } from '../../lib/context.js';
import { isIdOf } from '../../lib/ids.js';
import { DAY_MS, iso } from '../../lib/time.js';
import { findFeatures, findMeters, type MeterRow } from '../catalog/catalog.repo.js';
import { findPool, type PoolRow } from '../pools/pools.repo.js';
import { findRunningLicenses, findUsage, type LicenseRow } from '../state/state.repo.js';
import { countLicenseConnections, findMembersUse, findMeterUse, findUsingMembers, type Takes } from './licenses-detail.repo.js';
import type { LicenseAssignments, LicenseSummary, UsingMember } from './licenses-detail.schemas.js';
import { licenseFor } from './licenses.service.js';

/** The meters the detail view names by convention [003]: "APs" and "rooms". */
export const ACCESS_POINTS_METER = 'access_points';
export const ROOMS_METER = 'rooms';

/**
 * For each meter the license limits, the meters whose claims take its units: itself and every
 * meter drawing on it, transitively (a claim on `mobile_apps` also takes `sip_numbers`).
 */
export function takesOf(licensed: readonly string[], catalog: readonly MeterRow[]): Takes {
  const closure = drawClosure(catalog);
  const meter: string[] = [];
  const taken: string[] = [];
  for (const key of licensed) {
    meter.push(key);
    taken.push(key);
    for (const m of catalog) {
      if (m.key !== key && closure.get(m.key)?.includes(key)) {
        meter.push(m.key);
        taken.push(key);
      }
    }
  }
  return { meter, taken };
}

/**
 * The pool a license is about: the one it is bound to, or, before activation, the one its
 * request names (in the same root; the caller is then one of the root's operators).
 */
async function poolOf(db: Executor, license: LicenseRow, readPool: PoolRow): Promise<{ pool: PoolRow; bound: boolean } | null> {
  if (license.poolId) return { pool: readPool, bound: true };
  const intended = license.request?.poolId;
  if (!intended || !isIdOf('pool', intended)) return null;
  const pool = await findPool(db, intended);
  return pool && pool.rootId === license.rootId ? { pool, bound: false } : null;
}

export interface LicenseDetail {
  license: LicenseRow;
  summary: LicenseSummary;
  /** The pool's billing address, for the certificate's location block. */
  location: PoolRow['billingAddress'];
}

async function loadDetail(deps: Deps, actor: Actor, id: string): Promise<LicenseDetail> {
  const db = deps.db;
  const now = deps.clock.now();
  const { license, pool: readPool } = await licenseFor(db, actor, id, 'read');
  const [root, place, meters, features] = await Promise.all([
    readPool.id === license.rootId ? readPool : findPool(db, license.rootId),
    poolOf(db, license, readPool),
    findMeters(db, license.rootId),
    findFeatures(db, license.rootId),
  ]);
  const usage = license.poolId ? ((await findUsage(db, [license.poolId])).get(license.poolId) ?? new Map<string, number>()) : null;
  const meterNames = new Map(meters.map((m) => [m.key, m.name]));
  const featureNames = new Map(features.map((f) => [f.key, f.name]));
  const usedOf = (meter: string): number | null => (usage && meterNames.has(meter) ? (usage.get(meter) ?? 0) : null);

  const capacity = (meter: string, requested: number | null | undefined) => {
    if (meter in license.limits) return { maximum: license.limits[meter] ?? null, inUse: usedOf(meter), source: 'license' as const };
    if (typeof requested === 'number') return { maximum: requested, inUse: usedOf(meter), source: 'request' as const };
    return { maximum: null, inUse: usedOf(meter), source: null };
  };
  const start = license.validFrom;
  const end = license.validUntil;

  const summary: LicenseSummary = {
    id: license.id,
    key: license.key,
    name: license.name,
    status: effectiveStatus(license, now),
    inEffect: isInEffect(license, now),
    vendor: { id: license.rootId, name: root?.name ?? '' },
    pool: place ? { id: place.pool.id, name: place.pool.name, kind: place.pool.kind, bound: place.bound } : null,
    start: iso(start),
    end: iso(end),
    duration: {
      termMonths: license.termMonths,
      days: start && end ? Math.floor((end.getTime() - start.getTime()) / DAY_MS) : null,
    },
    billing: license.billingInterval ? { interval: license.billingInterval, contractYears: license.contractYears ?? 1 } : null,
    accessPoints: capacity(ACCESS_POINTS_METER, license.request?.accessPoints),
    rooms: capacity(ROOMS_METER, license.request?.rooms),
    modules: license.features.map((key) => ({ key, name: featureNames.get(key) ?? key })),
    limits: Object.entries(license.limits)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([meter, limit]) => ({ meter, name: meterNames.get(meter) ?? meter, limit, used: usedOf(meter) })),
  };
  return { license, summary, location: place?.pool.billingAddress ?? null };
}

/** General data of the detail view: pool, start, end, duration, APs and rooms, modules, limits. */
export async function licenseSummary(deps: Deps, actor: Actor, id: string): Promise<LicenseSummary> {
  return (await loadDetail(deps, actor, id)).summary;
}

/** Everything the certificate prints, read under the same rule as the license. */
export const licenseCertificateData = loadDetail;

/**
 * Assignments (L8): the pool the license is bound to and what uses the meters it gives there.
 * Units are pooled per pool and meter, not per license, so `claims` and `members` count every
 * live claim in the pool's subtree that takes the meter; `sharedWith` says how many other
 * licenses in effect on the pool give it too.
 */
export async function licenseAssignments(deps: Deps, actor: Actor, id: string): Promise<LicenseAssignments> {
  const db = deps.db;
  const now = deps.clock.now();
  const { license, pool } = await licenseFor(db, actor, id, 'read');
  const licensed = Object.keys(license.limits).sort();
  const configuredElements = license.startRule === 'on_connections' ? await countLicenseConnections(db, license.id) : null;
  const inEffect = isInEffect(license, now);
  if (!license.poolId) {
    return {
      pool: null,
      inEffect,
      meters: licensed.map((key) => ({ key, limit: license.limits[key] ?? null, used: 0, claims: 0, members: 0, sharedWith: 0 })),
      configuredElements,
    };
  }
  const catalog = await findMeters(db, license.rootId);
  const [usage, use, running] = await Promise.all([
    findUsage(db, [pool.id]),
    findMeterUse(db, pool.id, takesOf(licensed, catalog), now),
    findRunningLicenses(db, [pool.id], now),
  ]);
  const used = usage.get(pool.id) ?? new Map<string, number>();
  const useOf = new Map(use.map((u) => [u.meter, u]));
  const others = running.filter((l) => l.id !== license.id && isInEffect(l, now));
  return {
    pool: { id: pool.id, name: pool.name, kind: pool.kind },
    inEffect,
    meters: licensed.map((key) => ({
      key,
      limit: license.limits[key] ?? null,
      used: used.get(key) ?? 0,
      claims: useOf.get(key)?.claims ?? 0,
      members: useOf.get(key)?.members ?? 0,
      sharedWith: others.filter((l) => key in l.limits).length,
    })),
    configuredElements,
  };
}

/**
 * The members using the license (L8 assignments), a page in id order: those holding live
 * claims in the subtree of its pool that take a meter it gives. None before activation.
 */
export async function licenseUsingMembers(deps: Deps, actor: Actor, id: string, page: { limit: number; cursor?: string | undefined }): Promise<UsingMember[]> {
  const db = deps.db;
  const now = deps.clock.now();
  const { license } = await licenseFor(db, actor, id, 'read');
  if (!license.poolId) return [];
  const takes = takesOf(Object.keys(license.limits), await findMeters(db, license.rootId));
  const rows = await findUsingMembers(db, license.poolId, takes, now, { after: page.cursor, limit: page.limit + 1 });
  const use = await findMembersUse(db, license.poolId, takes, now, rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id,
    poolId: r.pool_id,
    status: r.status,
    account: r.account_id ? { id: r.account_id, email: r.email ?? '' } : null,
    device: r.device_id ? { id: r.device_id, serial: r.serial ?? '', type: r.device_type ?? '' } : null,
    meters: use.filter((u) => u.memberId === r.id).map((u) => ({ key: u.meter, claims: u.claims, units: u.units })),
  }));
}
