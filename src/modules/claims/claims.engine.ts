/**
 * Group commit for claims (docs/claims.md). Requests queue in memory; while one batch's
 * transaction is in flight the next gathers, and each batch is decided in one transaction that
 * locks what it needs in one global order and decides its requests one after another against
 * the locked counters — exactly the serial execution of the batch, at one commit per batch.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Executor } from '../../db/client.js';
import type { AccessVerdict } from '../../domain/access-rules.js';
import { counterKey, decideClaim, splitCounterKey, touchedCounters, type ClaimKind, type RefusalReason } from '../../domain/claims.js';
import { drawClosure, ownGrant, type OwnGrant } from '../../domain/quota.js';
import type { Deps } from '../../lib/context.js';
import { newId } from '../../lib/ids.js';
import { findMeters } from '../catalog/catalog.repo.js';
import type { MemberView } from '../members/members.repo.js';
import { findRunningLicenses } from '../state/state.repo.js';
import {
  endClaims,
  extendLease,
  findLiveFingerprinted,
  insertClaims,
  lockCounters,
  lockExpiredClaims,
  lockLiveClaims,
  recount,
  sharePools,
  writeCounters,
  type ClaimRow,
} from './claims.repo.js';
import { findPathPools } from '../pools/pools.repo.js';

export interface ClaimOp {
  type: 'claim';
  member: MemberView;
  /** The member's pool path, root first. */
  path: readonly string[];
  access: AccessVerdict | null;
  meter: string;
  quantity: number;
  kind: ClaimKind;
  ttlSeconds: number;
  borrowDays?: number | undefined;
  fingerprint?: string | undefined;
}

export interface ReleaseOp {
  type: 'release';
  claimId: string;
}

export type Op = ClaimOp | ReleaseOp;

export type Outcome =
  | { type: 'granted'; claim: ClaimRow; reused: boolean }
  | { type: 'refused'; reasons: RefusalReason[] }
  | { type: 'released'; claim: ClaimRow | null };

interface Pending {
  op: Op;
  resolve: (o: Outcome) => void;
  reject: (e: unknown) => void;
}

/** The largest batch one transaction decides unless configured; bounds the lock set and the statement size. */
const DEFAULT_MAX_BATCH = 256;

export class ClaimEngine {
  readonly #deps: Deps;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #draining = false;

  /** `maxBatch` 1 is the naive design, one commit per request (LICENSEPOOL_CLAIM_BATCH_MAX; the benchmark's baseline). */
  constructor(deps: Deps, options: { maxBatch?: number | undefined } = {}) {
    this.#deps = deps;
    this.#maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  submit(op: Op): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const outcomes = await decideBatch(this.#deps, batch.map((p) => p.op));
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        } catch (err) {
          // Nothing of a failed transaction was written: every request in it fails alike.
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** Meter closures of the roots involved: meter → the meters one unit takes (itself excluded). */
async function closuresOf(tx: Executor, rootIds: Iterable<string>) {
  const out = new Map<string, Map<string, string[]>>();
  for (const rootId of new Set(rootIds)) out.set(rootId, drawClosure(await findMeters(tx, rootId)));
  return out;
}

function expiryOf(op: ClaimOp, now: Date): Date | null {
  if (op.kind === 'assignment') return null;
  const seconds = op.kind === 'borrow' ? (op.borrowDays ?? 0) * 86_400 : op.ttlSeconds;
  return new Date(now.getTime() + seconds * 1000);
}

/** One batch, one transaction. Outcomes come back in the order of `ops`. */
export async function decideBatch(deps: Deps, ops: readonly Op[]): Promise<Outcome[]> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const claimOps = ops.filter((o): o is ClaimOp => o.type === 'claim');

    // 1. Locks, in one order: path pools (share), claims being released, then counters.
    const pathIds = [...new Set(claimOps.flatMap((o) => o.path))];
    const pools = new Map((await sharePools(tx, pathIds)).map((p) => [p.id, p]));
    const licenses = await findRunningLicenses(tx, pathIds, now);
    const releasing = new Map((await lockLiveClaims(tx, ops.flatMap((o) => (o.type === 'release' ? [o.claimId] : [])))).map((c) => [c.id, c]));
    const releasePaths = new Map(
      (await findPathPools(tx, [...new Set([...releasing.values()].map((c) => c.poolId))])).map((p) => [p.id, p.path]),
    );
    const closures = await closuresOf(tx, [...claimOps.map((o) => o.member.member.rootId), ...[...releasing.values()].map((c) => c.rootId)]);
    const closureOfClaim = (c: ClaimRow) => closures.get(c.rootId)!;
    const touchedByRelease = (c: ClaimRow) => touchedCounters(releasePaths.get(c.poolId)!.map((id) => ({ id })), c.meterKey, closureOfClaim(c));

    const keys = [
      ...claimOps.flatMap((o) => touchedCounters(o.path.map((id) => ({ id })), o.meter, closures.get(o.member.member.rootId)!)),
      ...[...releasing.values()].flatMap(touchedByRelease),
    ];
    const counters = await lockCounters(tx, keys);
    const before = new Map(counters);
    const fingerprinted = await findLiveFingerprinted(
      tx,
      claimOps.filter((o) => o.fingerprint).map((o) => o.member.member.id),
      now,
    );

    // 2. Decide, one request after another, against the counters as the batch leaves them.
    const grants = new Map<string, OwnGrant>();
    const grantOf = (poolId: string) => {
      let g = grants.get(poolId);
      if (!g) grants.set(poolId, (g = ownGrant(pools.get(poolId)!, licenses, now)));
      return g;
    };
    const add = (touched: string[], units: number) => {
      for (const k of touched) counters.set(k, (counters.get(k) ?? 0) + units);
    };
    const created: ClaimRow[] = [];
    const ended: string[] = [];
    const outcomes: Outcome[] = [];
    for (const op of ops) {
      if (op.type === 'release') {
        const claim = releasing.get(op.claimId);
        if (!claim || ended.includes(claim.id)) {
          outcomes.push({ type: 'released', claim: null });
          continue;
        }
        add(touchedByRelease(claim), -claim.quantity);
        ended.push(claim.id);
        outcomes.push({ type: 'released', claim: { ...claim, status: 'released', endedAt: now, endReason: 'checked in' } });
        continue;
      }
      const member = op.member.member;
      const again =
        op.kind === 'lease' && op.fingerprint
          ? [...fingerprinted, ...created].find(
              (c) => c.memberId === member.id && c.meterKey === op.meter && c.fingerprint === op.fingerprint && c.status === 'live' && !ended.includes(c.id),
            )
          : undefined;
      if (again) {
        // U3: the same client asking again gets its live lease back, renewed.
        const renewed = created.includes(again) ? again : ((await extendLease(tx, again.id, expiryOf(op, now)!, now)) ?? again);
        outcomes.push({ type: 'granted', claim: renewed, reused: true });
        continue;
      }
      const path = op.path.map((id) => pools.get(id)!);
      const closure = closures.get(member.rootId)!;
      const decision = decideClaim(
        { path, licenses, closure, now },
        { memberId: member.id, memberStatus: member.status, deviceStatus: op.member.device?.status ?? null, access: op.access },
        { meter: op.meter, quantity: op.quantity, kind: op.kind, borrowDays: op.borrowDays, ttlSeconds: op.kind === 'lease' ? op.ttlSeconds : undefined },
        counters,
        new Map(path.map((p) => [p.id, grantOf(p.id)])),
      );
      if (!decision.granted) {
        outcomes.push({ type: 'refused', reasons: decision.reasons });
        continue;
      }
      add(touchedCounters(path, op.meter, closure), op.quantity);
      const claim: ClaimRow = {
        id: newId('claim'),
        rootId: member.rootId,
        poolId: member.poolId,
        memberId: member.id,
        meterKey: op.meter,
        quantity: op.quantity,
        kind: op.kind,
        fingerprint: op.fingerprint ?? null,
        ttlSeconds: op.kind === 'lease' ? op.ttlSeconds : null,
        status: 'live',
        expiresAt: expiryOf(op, now),
        createdAt: now,
        endedAt: null,
        endReason: null,
      };
      created.push(claim);
      outcomes.push({ type: 'granted', claim, reused: false });
    }

    // 3. Write what changed: counters in one statement, claims in one, check-ins in one.
    const changed = new Map([...counters].filter(([k, v]) => before.get(k) !== v));
    await writeCounters(tx, changed);
    await insertClaims(tx, created);
    await endClaims(tx, ended, 'released', now, 'checked in');
    return outcomes;
  });
}

/**
 * Gives the units of expired leases and borrows back (at most `limit` per call). Several
 * processes may sweep at once: each skips the claims another holds.
 */
export async function sweepExpiredClaims(deps: Deps, limit = 1000): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const expired = await lockExpiredClaims(tx, now, limit);
    if (expired.length === 0) return 0;
    const paths = new Map((await findPathPools(tx, [...new Set(expired.map((c) => c.poolId))])).map((p) => [p.id, p.path]));
    const closures = await closuresOf(tx, expired.map((c) => c.rootId));
    const touched = expired.map((c) => touchedCounters(paths.get(c.poolId)!.map((id) => ({ id })), c.meterKey, closures.get(c.rootId)!));
    const counters = await lockCounters(tx, touched.flat());
    expired.forEach((c, i) => {
      for (const k of touched[i]!) counters.set(k, counters.get(k)! - c.quantity);
    });
    await writeCounters(tx, counters);
    await endClaims(tx, expired.map((c) => c.id), 'expired', now, 'not renewed in time');
    return expired.length;
  });
}


export interface Drift {
  poolId: string;
  meter: string;
  /** What the counter says. */
  counted: number;
  /** What the live claims add up to. */
  actual: number;
}

/**
 * U1's proof: recounts every counter of a root from its live claims and reports each that
 * differs. The counters are locked (in the usual order) while the claims are recounted, so the
 * comparison is exact even while claims are being made; with `fix` the counters are set right.
 */
export async function reconcileRoot(deps: Deps, rootId: string, options: { fix: boolean }): Promise<Drift[]> {
  return deps.db.transaction(async (tx) => {
    const closure = (await closuresOf(tx, [rootId])).get(rootId)!;
    const taken = new Map([...closure].map(([meter, drawn]) => [meter, [meter, ...drawn]]));
    const existing = await rowsOf<{ pool_id: string; meter_key: string }>(
      tx,
      sql`SELECT u.pool_id, u.meter_key FROM pool_usage u JOIN pools p ON p.id = u.pool_id WHERE p.root_id = ${rootId}`,
    );
    const counters = await lockCounters(tx, existing.map((r) => counterKey(r.pool_id, r.meter_key)));
    const actual = new Map((await recount(tx, rootId, taken)).map((r) => [counterKey(r.pool_id, r.meter_key), Number(r.used)]));
    const drift: Drift[] = [];
    for (const key of new Set([...counters.keys(), ...actual.keys()])) {
      const counted = counters.get(key) ?? 0;
      const real = actual.get(key) ?? 0;
      if (counted !== real) drift.push({ ...splitCounterKey(key), counted, actual: real });
    }
    if (options.fix && drift.length > 0) {
      await lockCounters(tx, drift.map((d) => counterKey(d.poolId, d.meter)));
      await writeCounters(tx, new Map(drift.map((d) => [counterKey(d.poolId, d.meter), d.actual])));
    }
    return drift;
  });
}
