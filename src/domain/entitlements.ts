/**
 * U6: a member's entitlements — its effective features and remaining counts, with end dates,
 * after its whole ancestor chain — and M2's strictest rule for an account that is a verified
 * member of several pools of one root. Pure: the caller loads the paths, licenses, catalog,
 * usage counters and the member's live claims; the arithmetic is the state view's
 * (`computeQuotaState`), seen from the member.
 */
import type { AccessVerdict } from './access-rules.js';
import { subjectReasons, type RefusalReason } from './claims.js';
import { computeQuotaState, drawClosure, earliest, minLimit, type Limit, type MeterDef, type QuotaLicense, type QuotaPool } from './quota.js';

/** Why a member is served nothing now: the claim refusals that do not depend on what is asked for, same codes and fields. */
export type NotServedReason = Extract<RefusalReason, { code: 'POOL_NOT_ACTIVE' | 'POOL_EXPIRED' | 'LICENSE_ACCESS_DENIED' | 'MEMBER_NOT_VERIFIED' | 'DEVICE_BLOCKED' | 'ACCESS_RULE' }>;

export interface FeatureEntitlement {
  key: string;
  enabled: boolean;
  /** When the grant ends (null: no end, or not enabled). */
  until: Date | null;
}

export interface MeterEntitlement {
  key: string;
  /** The effective limit after every ancestor and every meter drawn on (null: unlimited). */
  limit: Limit;
  /** Units the member's live claims take of this meter (a claim of a drawing meter counts here too). */
  used: number;
  /** Units the member can still take now, after the use of everyone sharing the pools (null: unlimited). */
  remaining: Limit;
  /** When the grant ends (null: no end, or not enabled). */
  until: Date | null;
}

export interface Entitlements {
  /** Claims can be granted now: pools active and in time, member verified, device ok, access rules admit it. */
  serving: boolean;
  reasons: NotServedReason[];
  /** The earliest `validUntil` on the path: when the member is served nothing more (null: no end). */
  until: Date | null;
  features: FeatureEntitlement[];
  meters: MeterEntitlement[];
}

/** One membership: the member asked about, or another verified membership of its account in the root. */
export interface Membership {
  memberId: string;
  status: string;
  /** Device members: the registry status (`ok`, `lost`, `stolen`). */
  deviceStatus: string | null;
  /** Account members: the verdict of the access rules on the path. */
  access: AccessVerdict | null;
  /** The membership's pool and its ancestors, root first. */
  path: readonly QuotaPool[];
  /** The member's live claims: units of the meter each asked for. */
  held: readonly { meter: string; quantity: number }[];
}

export interface EntitlementsInput {
  /** At least one: the member asked about first. */
  memberships: readonly Membership[];
  /** Licenses of any pool on the paths; others are ignored. */
  licenses: readonly QuotaLicense[];
  meters: readonly MeterDef[];
  features: readonly string[];
  /** Units in use: pool id → meter key → units (subtree totals). */
  usage: ReadonlyMap<string, ReadonlyMap<string, number>>;
  now: Date;
}

/** The entitlements one membership gives on its own, before M2's combination. */
export function membershipEntitlements(membership: Membership, input: Omit<EntitlementsInput, 'memberships'>): Entitlements {
  const state = computeQuotaState({ ...input, path: membership.path });
  const closure = drawClosure(input.meters);
  const used = new Map<string, number>();
  for (const claim of membership.held) {
    for (const key of [claim.meter, ...(closure.get(claim.meter) ?? [])]) used.set(key, (used.get(key) ?? 0) + claim.quantity);
  }
  // In the order a claim refusal gives them.
  const reasons: NotServedReason[] = [
    ...state.notServing,
    ...subjectReasons({ memberId: membership.memberId, memberStatus: membership.status, deviceStatus: membership.deviceStatus, access: membership.access }),
  ];
  return {
    serving: reasons.length === 0,
    reasons,
    until: membership.path.reduce<Date | null>((end, p) => earliest(end, p.validUntil), null),
    features: state.features,
    meters: state.meters.map((m) => ({ key: m.key, limit: m.effectiveLimit, used: used.get(m.key) ?? 0, remaining: m.available, until: m.until })),
  };
}

/**
 * M2's strictest result of several memberships (same catalog): served only where every one is;
 * a feature only if every one gives it; the lowest limit and remaining count; the earliest end.
 * `used` adds up what the account holds through all of them.
 */
export function combineStrictest(each: readonly Entitlements[]): Entitlements {
  const [first] = each;
  if (!first) throw new Error('combineStrictest needs at least one membership');
  // Memberships share ancestors: a reason about a shared pool is given once.
  const reasons = [...new Map(each.flatMap((e) => e.reasons).map((r) => [JSON.stringify(r), r])).values()];
  return {
    serving: each.every((e) => e.serving),
    reasons,
    until: each.reduce<Date | null>((end, e) => earliest(end, e.until), null),
    features: first.features.map((feature, i) => {
      const all = each.map((e) => e.features[i]!);
      const enabled = all.every((f) => f.enabled);
      return { key: feature.key, enabled, until: enabled ? all.reduce<Date | null>((end, f) => earliest(end, f.until), null) : null };
    }),
    meters: first.meters.map((meter, i) => {
      const all = each.map((e) => e.meters[i]!);
      const limit = all.reduce<Limit>((low, m) => minLimit(low, m.limit), null);
      return {
        key: meter.key,
        limit,
        used: all.reduce((sum, m) => sum + m.used, 0),
        remaining: all.reduce<Limit>((low, m) => minLimit(low, m.remaining), null),
        until: limit === 0 ? null : all.reduce<Date | null>((end, m) => earliest(end, m.until), null),
      };
    }),
  };
}

/** U6 with M2: the member's entitlements, combined with its account's other verified memberships in the root. */
export function computeEntitlements(input: EntitlementsInput): Entitlements {
  return combineStrictest(input.memberships.map((m) => membershipEntitlements(m, input)));
}
