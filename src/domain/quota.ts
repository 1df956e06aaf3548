/**
 * The arithmetic of the pool tree: what a pool may use, given its licenses, its ancestors'
 * licenses and what is in use. Pure functions, no I/O; the state view, the license checks (L7)
 * and the claim engine all read the tree through these.
 *
 * A count is a `Limit`: a number, or `null` for "no bound of its own".
 */
import type { LicenseStatus, PoolStatus } from '../db/schema.js';
import { effectiveStatus, isInEffect } from './license-status.js';

export type Limit = number | null;

export interface QuotaPool {
  id: string;
  restricted: boolean;
  status: PoolStatus;
  validUntil: Date | null;
  /** The longest borrow the pool allows (null: borrowing not enabled). */
  maxBorrowDays?: number | null;
  /** Roots: the longest lease a client may ask for (null: the default, DEFAULT_MAX_LEASE_SECONDS). */
  maxLeaseSeconds?: number | null;
}

export interface QuotaLicense {
  id: string;
  poolId: string | null;
  status: LicenseStatus;
  limits: Record<string, number | null>;
  features: readonly string[];
  validFrom: Date | null;
  validUntil: Date | null;
}

export interface MeterDef {
  key: string;
  /** Keys of the meters one unit of this meter also takes, direct draws only. */
  draws: readonly string[];
}

/** Smaller of two limits, where null is "unbounded". */
export function minLimit(a: Limit, b: Limit): Limit {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** Earlier of two end dates, where null is "no end". */
export function earliest(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a <= b ? a : b;
}

/** Later of two end dates, where null is "no end". */
function latest(a: Date | null, b: Date | null): Date | null {
  if (a === null || b === null) return null;
  return a >= b ? a : b;
}

/** Every meter each meter draws on, transitively (C1), excluding itself. Assumes no cycle. */
export function drawClosure(meters: readonly MeterDef[]): Map<string, string[]> {
  const direct = new Map(meters.map((m) => [m.key, m.draws]));
  const closure = new Map<string, string[]>();
  const visit = (key: string): string[] => {
    const known = closure.get(key);
    if (known) return known;
    const out = new Set<string>();
    for (const d of direct.get(key) ?? []) {
      out.add(d);
      for (const dd of visit(d)) out.add(dd);
    }
    const list = [...out];
    closure.set(key, list);
    return list;
  };
  for (const m of meters) visit(m.key);
  return closure;
}

/**
 * A cycle that `candidate`'s draws would close, as the list of keys around it, or null.
 * Meters are only ever added, so checking the new meter is enough to keep the graph acyclic.
 */
export function findDrawCycle(meters: readonly MeterDef[], candidate: MeterDef): string[] | null {
  const direct = new Map(meters.map((m) => [m.key, m.draws]));
  direct.set(candidate.key, candidate.draws);
  const walk = (key: string, trail: string[]): string[] | null => {
    if (key === candidate.key && trail.length > 0) return [...trail, key];
    if (trail.includes(key)) return null;
    for (const d of direct.get(key) ?? []) {
      const found = walk(d, [...trail, key]);
      if (found) return found;
    }
    return null;
  };
  return walk(candidate.key, []);
}

export type DrawViolation = { meter: string; drawnMeter: string; limit: number; drawnLimit: number };

/** C3: a license that limits a meter must give every meter it draws on at least as many. */
export function checkDrawCoverage(
  limits: Record<string, number | null>,
  closure: Map<string, string[]>,
): DrawViolation[] {
  const out: DrawViolation[] = [];
  for (const [meter, limit] of Object.entries(limits)) {
    if (limit === null) continue;
    for (const drawn of closure.get(meter) ?? []) {
      const drawnLimit = limits[drawn];
      if (typeof drawnLimit === 'number' && drawnLimit < limit) out.push({ meter, drawnMeter: drawn, limit, drawnLimit });
    }
  }
  return out;
}

/** What one pool's own licenses give it, before its ancestors are considered. */
export interface OwnGrant {
  restricted: boolean;
  /** Meter key → own limit. Unrestricted pools: null for every meter. */
  limit(meter: string): Limit;
  /** When the pool's own grant of the meter ends (null: no end); only meaningful when restricted. */
  limitUntil(meter: string): Date | null;
  /** Whether the pool's own licenses give the feature (always true when unrestricted). */
  hasFeature(feature: string): boolean;
  featureUntil(feature: string): Date | null;
}

/**
 * P3 and L6: an unrestricted pool has no limits of its own; a restricted pool has the sum of
 * its licenses in effect (a license naming a meter with null makes it unbounded), zero for a
 * meter none of them names, and the union of their features.
 */
export function ownGrant(pool: QuotaPool, licenses: readonly QuotaLicense[], now: Date): OwnGrant {
  if (!pool.restricted) {
    return {
      restricted: false,
      limit: () => null,
      limitUntil: () => null,
      hasFeature: () => true,
      featureUntil: () => null,
    };
  }
  const limits = new Map<string, Limit>();
  const limitEnds = new Map<string, Date | null>();
  const featureEnds = new Map<string, Date | null>();
  for (const license of licenses) {
    if (license.poolId !== pool.id || !isInEffect(license, now)) continue;
    for (const [meter, units] of Object.entries(license.limits)) {
      const sum = limits.has(meter) ? limits.get(meter)! : 0;
      limits.set(meter, sum === null || units === null ? null : sum + units);
      limitEnds.set(meter, limitEnds.has(meter) ? latest(limitEnds.get(meter)!, license.validUntil) : license.validUntil);
    }
    for (const feature of license.features) {
      featureEnds.set(
        feature,
        featureEnds.has(feature) ? latest(featureEnds.get(feature)!, license.validUntil) : license.validUntil,
      );
    }
  }
  return {
    restricted: true,
    limit: (meter) => (limits.has(meter) ? limits.get(meter)! : 0),
    limitUntil: (meter) => limitEnds.get(meter) ?? null,
    hasFeature: (feature) => featureEnds.has(feature),
    featureUntil: (feature) => featureEnds.get(feature) ?? null,
  };
}

export type NotServingReason =
  | { code: 'POOL_NOT_ACTIVE'; poolId: string; status: PoolStatus }
  | { code: 'POOL_EXPIRED'; poolId: string; validUntil: string }
  | { code: 'LICENSE_ACCESS_DENIED'; poolId: string; licenseId: string };

/**
 * P2: why the pool at the end of `path` serves nothing (empty when it serves). A license of a
 * pool on the path in `access_denied` (L2: the vendor cut the service off, usually for a
 * contractual cause [003]) stops the service below it, whatever other licenses give.
 */
export function notServingReasons(path: readonly QuotaPool[], now: Date, licenses: readonly QuotaLicense[]): NotServingReason[] {
  const reasons: NotServingReason[] = [];
  for (const pool of path) {
    if (pool.status !== 'active') reasons.push({ code: 'POOL_NOT_ACTIVE', poolId: pool.id, status: pool.status });
    if (pool.validUntil !== null && pool.validUntil <= now) {
      reasons.push({ code: 'POOL_EXPIRED', poolId: pool.id, validUntil: pool.validUntil.toISOString() });
    }
    for (const license of licenses) {
      if (license.poolId === pool.id && effectiveStatus(license, now) === 'access_denied') {
        reasons.push({ code: 'LICENSE_ACCESS_DENIED', poolId: pool.id, licenseId: license.id });
      }
    }
  }
  return reasons;
}

export interface MeterState {
  key: string;
  /** The pool's own limit (null: none of its own). */
  limit: Limit;
  /** After every ancestor and every meter this one draws on (null: unlimited). */
  effectiveLimit: Limit;
  /** Units in use in the pool's subtree. */
  used: number;
  /** Units that can still be taken here, after ancestors' use (null: unlimited). */
  available: Limit;
  enabled: boolean;
  until: Date | null;
  /** Some pool on the path uses more than its limit (a limit dropped below use). */
  overLimit: boolean;
}

export interface FeatureState {
  key: string;
  enabled: boolean;
  until: Date | null;
}

export interface QuotaState {
  serving: boolean;
  notServing: NotServingReason[];
  meters: MeterState[];
  features: FeatureState[];
}

export interface QuotaInput {
  /** The pool and its ancestors, root first, the pool itself last. */
  path: readonly QuotaPool[];
  /** Licenses of any pool on the path; others are ignored. */
  licenses: readonly QuotaLicense[];
  meters: readonly MeterDef[];
  features: readonly string[];
  /** Units in use: pool id → meter key → units (subtree totals). */
  usage: ReadonlyMap<string, ReadonlyMap<string, number>>;
  now: Date;
}

/**
 * The license state of the last pool of `path` (SPEC "License state"):
 * - effective limit = the minimum, over every pool on the path and over the meter and every
 *   meter it draws on, of the own limits;
 * - available = the same minimum taken over `limit − used`, so an ancestor's use counts;
 * - a feature is on only if every restricted pool on the path gives it;
 * - until = the earliest end of any grant that bounds it, and of any pool's `validUntil`.
 */
export function computeQuotaState(input: QuotaInput): QuotaState {
  const { path, licenses, meters, features, usage, now } = input;
  const closure = drawClosure(meters);
  const grants = path.map((pool) => ({ pool, grant: ownGrant(pool, licenses, now) }));
  const pathEnd = path.reduce<Date | null>((end, p) => earliest(end, p.validUntil), null);
  const self = path[path.length - 1];
  if (!self) throw new Error('computeQuotaState needs a non-empty path');
  const usedAt = (poolId: string, meter: string) => usage.get(poolId)?.get(meter) ?? 0;

  const meterStates = meters.map((meter): MeterState => {
    const bounded = [meter.key, ...(closure.get(meter.key) ?? [])];
    let effectiveLimit: Limit = null;
    let headroom: Limit = null;
    let until = pathEnd;
    for (const { pool, grant } of grants) {
      for (const key of bounded) {
        const limit = grant.limit(key);
        effectiveLimit = minLimit(effectiveLimit, limit);
        if (limit !== null) headroom = minLimit(headroom, limit - usedAt(pool.id, key));
        if (grant.restricted) until = earliest(until, grant.limitUntil(key));
      }
    }
    const enabled = effectiveLimit !== 0;
    return {
      key: meter.key,
      limit: grants[grants.length - 1]!.grant.limit(meter.key),
      effectiveLimit,
      used: usedAt(self.id, meter.key),
      available: headroom === null ? null : Math.max(0, headroom),
      enabled,
      until: enabled ? until : null,
      overLimit: headroom !== null && headroom < 0,
    };
  });

  const featureStates = features.map((key): FeatureState => {
    let enabled = true;
    let until = pathEnd;
    for (const { grant } of grants) {
      if (!grant.hasFeature(key)) enabled = false;
      else if (grant.restricted) until = earliest(until, grant.featureUntil(key));
    }
    return { key, enabled, until: enabled ? until : null };
  });

  const notServing = notServingReasons(path, now, licenses);
  return { serving: notServing.length === 0, notServing, meters: meterStates, features: featureStates };
}

export type ParentViolation =
  | { code: 'LIMIT_EXCEEDS_PARENT'; meter: string; limit: number; parentLimit: number }
  | { code: 'FEATURE_NOT_IN_PARENT'; feature: string }
  | { code: 'VALIDITY_OUTSIDE_PARENT'; meter?: string; feature?: string; validUntil: string | null; parentUntil: string };

/**
 * L7: a license on a sub-pool may give, per meter, no more than the parent's effective limit;
 * only features the parent has; and must end no later than the parent's grant of each thing
 * it gives. `parent` is the parent pool's state at the moment the license starts.
 */
export function checkAgainstParent(
  license: Pick<QuotaLicense, 'limits' | 'features' | 'validUntil'>,
  parent: QuotaState,
): ParentViolation[] {
  const out: ParentViolation[] = [];
  const endsAfter = (parentUntil: Date | null) =>
    parentUntil !== null && (license.validUntil === null || license.validUntil > parentUntil);
  const meterState = new Map(parent.meters.map((m) => [m.key, m]));
  for (const [meter, units] of Object.entries(license.limits)) {
    const state = meterState.get(meter);
    if (!state) continue;
    if (units !== null && state.effectiveLimit !== null && units > state.effectiveLimit) {
      out.push({ code: 'LIMIT_EXCEEDS_PARENT', meter, limit: units, parentLimit: state.effectiveLimit });
    } else if (state.enabled && endsAfter(state.until)) {
      out.push({
        code: 'VALIDITY_OUTSIDE_PARENT',
        meter,
        validUntil: license.validUntil?.toISOString() ?? null,
        parentUntil: state.until!.toISOString(),
      });
    }
  }
  const featureState = new Map(parent.features.map((f) => [f.key, f]));
  for (const feature of license.features) {
    const state = featureState.get(feature);
    if (!state || !state.enabled) out.push({ code: 'FEATURE_NOT_IN_PARENT', feature });
    else if (endsAfter(state.until)) {
      out.push({
        code: 'VALIDITY_OUTSIDE_PARENT',
        feature,
        validUntil: license.validUntil?.toISOString() ?? null,
        parentUntil: state.until!.toISOString(),
      });
    }
  }
  return out;
}
