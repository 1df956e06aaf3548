/**
 * The claim decision (U2): may a member take `quantity` units of a meter now? Pure: the caller
 * brings the locked counters and the path's state; the answer is a grant, or every reason for
 * refusing with a stable code, the nearest limiting pool first.
 */
import type { AccessVerdict } from './access-rules.js';
import { ownGrant, notServingReasons, type OwnGrant, type QuotaLicense, type QuotaPool } from './quota.js';

export type ClaimKind = 'lease' | 'borrow' | 'assignment' | 'hold';

export type RefusalReason =
  | { code: 'POOL_NOT_ACTIVE'; poolId: string; status: string }
  | { code: 'POOL_EXPIRED'; poolId: string; validUntil: string }
  | { code: 'LICENSE_ACCESS_DENIED'; poolId: string; licenseId: string }
  | { code: 'MEMBER_NOT_FOUND'; memberId: string }
  | { code: 'MEMBER_NOT_VERIFIED'; memberId: string; status: string }
  | { code: 'DEVICE_BLOCKED'; memberId: string; deviceStatus: string }
  | { code: 'ACCESS_RULE'; poolId: string; ruleId: string | null; detail: string }
  | { code: 'UNKNOWN_METER'; meter: string }
  | { code: 'BORROW_TOO_LONG'; poolId: string; borrowDays: number; maxBorrowDays: number | null }
  | { code: 'LEASE_TOO_LONG'; poolId: string; ttlSeconds: number; maxLeaseSeconds: number }
  | { code: 'LIMIT_REACHED'; poolId: string; meter: string; limit: number; used: number }
  | { code: 'QUEUE_WAITING'; poolId: string; meter: string; waiting: number };

/** U4: a lease refused for these reasons alone may wait in the queue for units to free up. */
export const QUEUEABLE_REASONS: ReadonlySet<RefusalReason['code']> = new Set(['LIMIT_REACHED', 'QUEUE_WAITING']);

export interface ClaimRequest {
  meter: string;
  quantity: number;
  kind: ClaimKind;
  borrowDays?: number | undefined;
  /** Leases: the time to live asked for. */
  ttlSeconds?: number | undefined;
  /**
   * U4: tickets waiting in the queue of the member's pool for this meter. A request that is not
   * a ticket's own hold may not pass them (0 or absent for a ticket's hold).
   */
  waiting?: number | undefined;
}

/** The longest lease a root allows unless it sets its own `maxLeaseSeconds`: one day. */
export const DEFAULT_MAX_LEASE_SECONDS = 86_400;

export interface ClaimSubject {
  memberId: string;
  memberStatus: string;
  /** Device members: the registry status (`ok`, `lost`, `stolen`). */
  deviceStatus: string | null;
  /** Account members: the verdict of the access rules on the path. */
  access: AccessVerdict | null;
}

/** Units in use, keyed by `${poolId} ${meterKey}`. */
export type Counters = Map<string, number>;
export const counterKey = (poolId: string, meter: string) => `${poolId} ${meter}`;
export function splitCounterKey(key: string): { poolId: string; meter: string } {
  const space = key.indexOf(' ');
  return { poolId: key.slice(0, space), meter: key.slice(space + 1) };
}

export interface ClaimContext {
  /** The member's pool and its ancestors, root first. */
  path: readonly QuotaPool[];
  licenses: readonly QuotaLicense[];
  /** Meter key → every meter it draws on (transitively); a key missing here is no meter. */
  closure: ReadonlyMap<string, readonly string[]>;
  now: Date;
}

/** The (pool, meter) counters one unit of `meter` takes: every pool of the path, the meter and its draws. */
export function touchedCounters(path: readonly { id: string }[], meter: string, closure: ReadonlyMap<string, readonly string[]>): string[] {
  const meters = [meter, ...(closure.get(meter) ?? [])];
  return path.flatMap((p) => meters.map((m) => counterKey(p.id, m)));
}

export type SubjectReason = Extract<RefusalReason, { code: 'MEMBER_NOT_VERIFIED' | 'DEVICE_BLOCKED' | 'ACCESS_RULE' }>;

/** Why this member may not use anything now, whatever it asks for: its status, its device's, the access rules. */
export function subjectReasons(subject: ClaimSubject): SubjectReason[] {
  const reasons: SubjectReason[] = [];
  if (subject.memberStatus !== 'verified') {
    reasons.push({ code: 'MEMBER_NOT_VERIFIED', memberId: subject.memberId, status: subject.memberStatus });
  }
  if (subject.deviceStatus !== null && subject.deviceStatus !== 'ok') {
    reasons.push({ code: 'DEVICE_BLOCKED', memberId: subject.memberId, deviceStatus: subject.deviceStatus });
  }
  if (subject.access && !subject.access.allowed) {
    reasons.push({ code: 'ACCESS_RULE', poolId: subject.access.poolId, ruleId: subject.access.ruleId, detail: subject.access.reason });
  }
  return reasons;
}

export type Decision = { granted: true } | { granted: false; reasons: RefusalReason[] };

/**
 * Decides one request against `counters` (read, not changed: the caller adds a grant's units).
 * All reasons are collected, so support can answer "why was I refused?" in one go.
 */
export function decideClaim(
  ctx: ClaimContext,
  subject: ClaimSubject,
  request: ClaimRequest,
  counters: Counters,
  grants: ReadonlyMap<string, OwnGrant> = grantsOf(ctx),
): Decision {
  const reasons: RefusalReason[] = [];
  for (const r of notServingReasons(ctx.path, ctx.now, ctx.licenses)) reasons.push(r);
  reasons.push(...subjectReasons(subject));
  const self = ctx.path[ctx.path.length - 1]!;
  if (request.kind === 'borrow') {
    // The strictest maxBorrowDays on the path applies [004].
    const max = ctx.path.reduce<number | null>((m, p) => (p.maxBorrowDays == null ? m : m === null ? p.maxBorrowDays : Math.min(m, p.maxBorrowDays)), null);
    const days = request.borrowDays ?? 0;
    if (max === null || days > max) reasons.push({ code: 'BORROW_TOO_LONG', poolId: self.id, borrowDays: days, maxBorrowDays: max });
  }
  if (request.kind === 'lease' && request.ttlSeconds !== undefined) {
    const root = ctx.path[0]!;
    const max = root.maxLeaseSeconds ?? DEFAULT_MAX_LEASE_SECONDS;
    if (request.ttlSeconds > max) reasons.push({ code: 'LEASE_TOO_LONG', poolId: root.id, ttlSeconds: request.ttlSeconds, maxLeaseSeconds: max });
  }
  const drawn = ctx.closure.get(request.meter);
  if (!drawn) {
    reasons.push({ code: 'UNKNOWN_METER', meter: request.meter });
    return { granted: false, reasons };
  }
  if (request.waiting) reasons.push({ code: 'QUEUE_WAITING', poolId: self.id, meter: request.meter, waiting: request.waiting });
  // Nearest pool first: the member's own pool, then up to the root.
  for (const pool of [...ctx.path].reverse()) {
    const grant = grants.get(pool.id)!;
    for (const meter of [request.meter, ...drawn]) {
      const limit = grant.limit(meter);
      if (limit === null) continue;
      const used = counters.get(counterKey(pool.id, meter)) ?? 0;
      if (used + request.quantity > limit) reasons.push({ code: 'LIMIT_REACHED', poolId: pool.id, meter, limit, used });
    }
  }
  return reasons.length === 0 ? { granted: true } : { granted: false, reasons };
}

/** Each path pool's own grant at `now`; computed once per batch and shared by its decisions. */
export function grantsOf(ctx: Pick<ClaimContext, 'path' | 'licenses' | 'now'>): Map<string, OwnGrant> {
  return new Map(ctx.path.map((p) => [p.id, ownGrant(p, ctx.licenses, ctx.now)]));
}
