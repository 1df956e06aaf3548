/**
 * Group commit for claims (docs/claims.md). Requests queue in memory; while one batch's
 * transaction is in flight the next gathers, and each batch is decided in one transaction that
 * locks what it needs in one global order and decides its requests one after another against
 * the locked counters — exactly the serial execution of the batch, at one commit per batch.
 *
 * The queue (U4) lives here too: tickets are made, held, claimed and cancelled inside batches,
 * under the same locks and the same decision as claims, so a ticket's place and a hold's units
 * are as exact as a claim's.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type Executor } from '../../db/client.js';
import { isTransientDbError, isUnavailableDbError, refusalOfDbError } from '../../db/errors.js';
import type { TicketStatus } from '../../db/schema.js';
import { judgeAccess } from '../../domain/access-rules.js';
import {
  counterKey,
  decideClaim,
  QUEUEABLE_REASONS,
  splitCounterKey,
  touchedCounters,
  type ClaimKind,
  type ClaimSubject,
  type RefusalReason,
} from '../../domain/claims.js';
import { ownGrant, type OwnGrant } from '../../domain/quota.js';
import { SYSTEM_ACTOR, type Actor, type Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { runIsolated, type Settled } from '../../lib/isolate.js';
import { unstorableFields } from '../../lib/text.js';
import { findAccessRulesOf } from '../access-rules/access-rules.repo.js';
import { insertAuditEvent, type AuditEntry } from '../audit/audit.repo.js';
import { findPathPools, sharePools } from '../pools/pools.repo.js';
import { poolPathOf } from './claimants.js';
import {
  findOpenTicketsOf,
  findQueueHeads,
  findWaitingTickets,
  insertTickets,
  lockTickets,
  updateTicketRow,
  type TicketRow,
} from '../queue/tickets.repo.js';
import { ENDED_TICKET_STATUSES, ticketStatusAt } from '../queue/tickets.schemas.js';
import { publishTicketChanges } from '../queue/tickets.watch.js';
import { findRunningLicenses } from '../state/state.repo.js';
import {
  closuresOf,
  convertHoldToLease,
  endClaims,
  extendLease,
  findLiveFingerprinted,
  giveBackUnits,
  insertClaims,
  lockCounters,
  lockExpiredClaims,
  lockLiveClaims,
  recount,
  shareClaimantStates,
  writeCounters,
  type ClaimRow,
} from './claims.repo.js';

/**
 * The member a claim or hold is for, by what never changes: members and pools never move, so
 * these facts are cached per process (`claimants.ts`). What does change — the member's status,
 * its device's, its e-mail under the access rules — is read inside the batch.
 */
export interface Claimant {
  memberId: string;
  poolId: string;
  rootId: string;
  /** The member's pool path, root first. */
  path: readonly string[];
}

export interface ClaimOp {
  type: 'claim';
  /** Who asks; recorded when the request becomes a queue ticket. */
  actor: Actor;
  claimant: Claimant;
  meter: string;
  quantity: number;
  kind: ClaimKind;
  ttlSeconds: number;
  borrowDays?: number | undefined;
  fingerprint?: string | undefined;
  /** U4: a lease refused for limits alone becomes a ticket in the queue of the member's pool, if that queue is on. */
  queue?: boolean | undefined;
}

export interface ReleaseOp {
  type: 'release';
  claimId: string;
  /** Recorded when the claim is a ticket's hold: checking it in gives the ticket up. */
  actor?: Actor | undefined;
  /**
   * Ended by an operator or admin of its pool ("force-release", `POST /v1/claims/{id}/release`)
   * rather than checked in by its holder: the end reason is `released_by_admin` and the batch
   * writes an audit event `claim.released_by_admin` (check-ins write none: they are the hot path).
   */
  byAdmin?: boolean | undefined;
}

/** The end reason of a claim an operator or admin released; its holder's next heartbeat answers 410 with it. */
export const RELEASED_BY_ADMIN = 'released_by_admin';

/** Serving a queue: a hold for its head ticket, decided like a claim. */
export interface HoldOp {
  type: 'hold';
  ticketId: string;
  claimant: Claimant;
}

/**
 * The holder takes its held units as a lease (`redeem`), or gives the ticket up (`cancel`).
 * `holdClaimId` is the ticket's hold as read before the batch; a ticket held meanwhile answers
 * `stale`, and the caller asks again with the hold it now has (a ticket is held at most once).
 */
interface TicketOpBase {
  actor: Actor;
  ticketId: string;
  holdClaimId: string | null;
}
export type TicketOp = (TicketOpBase & { type: 'redeem' }) | (TicketOpBase & { type: 'cancel' });

export type Op = ClaimOp | ReleaseOp | HoldOp | TicketOp;

export type Outcome =
  | { type: 'granted'; claim: ClaimRow; reused: boolean }
  | { type: 'refused'; reasons: RefusalReason[] }
  | { type: 'released'; claim: ClaimRow | null }
  /** A refused lease now waits in the queue (or the same client's open ticket, given back). */
  | { type: 'queued'; ticket: TicketRow; reasons: RefusalReason[]; reused: boolean }
  | TicketOutcome
  | { type: 'stale' };

/**
 * What a hold, redeem or cancel left of the ticket: `status` as of the batch's instant (a hold
 * past its end is `lapsed`), `claim` the hold or lease it made, `changed` whether it moved.
 * `ticket` is null for a ticket that does not exist.
 */
export interface TicketOutcome {
  type: 'ticket';
  ticket: TicketRow | null;
  status: TicketStatus | null;
  claim: ClaimRow | null;
  changed: boolean;
}

interface Pending {
  op: Op;
  resolve: (o: Outcome) => void;
  reject: (e: unknown) => void;
}

/** The most expired leases and borrows one batch ends on the way (the sweep ends the rest). */
const EXPIRED_PER_BATCH = 256;

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

  /** Decides `op` in the next batch; refuses at once (VALIDATION_FAILED) what the batch could not write. */
  submit(op: Op): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      checkOp(op);
      this.#queue.push({ op, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        // A batch that fails is decided again in halves: only the requests at fault fail.
        const settled = await decideIsolated(this.#deps, batch.map((p) => p.op));
        // Units given back go to the queues first (U4), before the check-ins are answered, so
        // whoever asks next sees the tickets served. The check-ins stand either way.
        const freed = new Set(settled.flatMap((s) => (s.ok && s.value.type === 'released' && s.value.claim ? [s.value.claim.rootId] : [])));
        if (freed.size > 0) await serveQueuesAfter(this.#deps, [...freed]);
        batch.forEach((p, i) => {
          const s = settled[i]!;
          if (s.ok) p.resolve(s.value);
          else p.reject(refusalOfDbError(s.error) ?? s.error);
        });
      }
    } finally {
      this.#draining = false;
    }
  }
}

/**
 * What a request would write that PostgreSQL does not store, refused before it joins a batch:
 * the batch writes the fingerprint and meter into claims, tickets and their audit rows, and the
 * actor's request id into every audit row. The HTTP layer refuses such input too; the engine
 * does not count on it, since one request failing its batch's transaction fails every other in it.
 */
export function checkOp(op: Op): void {
  const fields: Record<string, unknown> =
    op.type === 'claim' ? { 'body.fingerprint': op.fingerprint, 'body.meter': op.meter } : op.type === 'hold' ? {} : { 'params.id': op.type === 'release' ? op.claimId : op.ticketId };
  if (op.type !== 'hold') fields['headers.x-request-id'] = op.actor?.requestId;
  const errors = Object.entries(fields).flatMap(([path, value]) => (typeof value === 'string' ? unstorableFields(value, path) : []));
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

/** Times a batch is run again as it is after a serialization failure or a deadlock. */
const TRANSIENT_RETRIES = 3;

async function decideRetrying(deps: Deps, ops: readonly Op[]): Promise<Outcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await decideBatch(deps, ops);
    } catch (err) {
      if (attempt > TRANSIENT_RETRIES || !isTransientDbError(err)) throw err;
    }
  }
}

/**
 * `decideBatch` with batch isolation: a batch whose transaction fails is decided again in
 * halves, down to single requests, so one request's bad data fails that request alone (nothing
 * of a failed transaction was written, so deciding its requests again is safe). A database that
 * cannot be reached fails the batch alike, without splitting.
 */
export function decideIsolated(deps: Deps, ops: readonly Op[]): Promise<Settled<Outcome>[]> {
  return runIsolated(ops, (part) => decideRetrying(deps, part), { splittable: (err) => !isUnavailableDbError(err) });
}

/** One request decided in a batch of its own; a refusal of its data by the database is a 4xx. */
export async function decideAlone(deps: Deps, op: Op): Promise<Outcome> {
  checkOp(op);
  const [settled] = await decideIsolated(deps, [op]);
  if (settled!.ok) return settled!.value;
  throw refusalOfDbError(settled!.error) ?? settled!.error;
}

function expiryOf(op: ClaimOp, now: Date): Date | null {
  if (op.kind === 'assignment') return null;
  const seconds = op.kind === 'borrow' ? (op.borrowDays ?? 0) * 86_400 : op.ttlSeconds;
  return new Date(now.getTime() + seconds * 1000);
}

/** A queue: the waiting tickets of one pool for one meter. */
const queueKey = (poolId: string, meter: string) => counterKey(poolId, meter);

/** Refusals a head ticket waits out; any other means its member may not claim at all, and the ticket ends. */
const WAITED_OUT: ReadonlySet<RefusalReason['code']> = new Set(['LIMIT_REACHED', 'POOL_NOT_ACTIVE', 'POOL_EXPIRED']);

const ticketAudit = (t: TicketRow, action: string, before: unknown, after: unknown): AuditEntry => ({
  action,
  entityType: 'ticket',
  entityId: t.id,
  rootId: t.rootId,
  poolId: t.poolId,
  memberId: t.memberId,
  before,
  after,
});

/** One batch, one transaction. Outcomes come back in the order of `ops`. */
export async function decideBatch(deps: Deps, ops: readonly Op[]): Promise<Outcome[]> {
  const { outcomes, ticketsMoved } = await deps.db.transaction(async (tx) => {
    const claimOps = ops.filter((o): o is ClaimOp => o.type === 'claim');
    const holdOps = ops.filter((o): o is HoldOp => o.type === 'hold');
    const ticketOps = ops.filter((o): o is TicketOp => o.type === 'redeem' || o.type === 'cancel');

    // 1. Locks, in one order: path pools (share), claims, tickets, then counters.
    const pathIds = [...new Set([...claimOps, ...holdOps].flatMap((o) => o.claimant.path))];
    const pools = new Map((await sharePools(tx, pathIds)).map((p) => [p.id, p]));
    // Members next (share): removing or rejecting one waits for the batch, and the batch sees
    // each member's status, device and e-mail as they are now; the access rules of the paths.
    const deciding = [...claimOps, ...holdOps].map((o) => o.claimant);
    const members = new Map((await shareClaimantStates(tx, deciding.map((c) => c.memberId))).map((m) => [m.id, m]));
    const rules = deciding.some((c) => members.get(c.memberId)?.email) ? await findAccessRulesOf(tx, pathIds) : [];
    const subjectOf = (c: Claimant): ClaimSubject | null => {
      const m = members.get(c.memberId);
      if (!m) return null;
      return { memberId: m.id, memberStatus: m.status, deviceStatus: m.deviceStatus, access: m.email ? judgeAccess(c.path, rules, m.email) : null };
    };
    const claimIds = ops.flatMap((o) => (o.type === 'release' ? [o.claimId] : o.type === 'redeem' || o.type === 'cancel' ? (o.holdClaimId ? [o.holdClaimId] : []) : []));
    const liveClaims = new Map((await lockLiveClaims(tx, claimIds)).map((c) => [c.id, c]));
    // Leases and borrows of these roots already past their end give their units back in this
    // batch, so no refusal is ever caused by one (holds lapse in the sweep, with their tickets).
    // SKIP LOCKED: those another batch or sweep is ending are theirs.
    const claimRoots = [...new Set(claimOps.map((o) => o.claimant.rootId))];
    const expiring = (await lockExpiredClaims(tx, deps.clock.now(), EXPIRED_PER_BATCH, { leasesAndBorrowsOfRoots: claimRoots })).filter((c) => !liveClaims.has(c.id));
    const lockedTickets = await lockTickets(tx, {
      ids: [...holdOps, ...ticketOps].map((o) => o.ticketId),
      holdClaimIds: [...liveClaims.values()].filter((c) => c.kind === 'hold').map((c) => c.id),
    });
    const ticketById = new Map(lockedTickets.map((t) => [t.id, t]));
    const ticketOfHold = new Map(lockedTickets.flatMap((t) => (t.holdClaimId ? [[t.holdClaimId, t] as const] : [])));

    // Claims whose units this batch may give back: check-ins, and the holds of cancelled tickets.
    const cancelledHold = (o: TicketOp) => {
      const t = ticketById.get(o.ticketId);
      return t?.status === 'held' && t.holdClaimId !== null && t.holdClaimId === o.holdClaimId ? liveClaims.get(t.holdClaimId) : undefined;
    };
    const releasable = [
      ...ops.flatMap((o) => (o.type === 'release' && liveClaims.has(o.claimId) ? [liveClaims.get(o.claimId)!] : [])),
      ...ticketOps.flatMap((o) => {
        const hold = o.type === 'cancel' ? cancelledHold(o) : undefined;
        return hold ? [hold] : [];
      }),
    ];
    const releasePaths = new Map((await findPathPools(tx, [...new Set([...releasable, ...expiring].map((c) => c.poolId))])).map((p) => [p.id, p.path]));
    const holding = holdOps.flatMap((o) => {
      const t = ticketById.get(o.ticketId);
      return t?.status === 'waiting' ? [{ op: o, ticket: t }] : [];
    });
    const closures = await closuresOf(tx, [
      ...claimOps.map((o) => o.claimant.rootId),
      ...holding.map((h) => h.ticket.rootId),
      ...releasable.map((c) => c.rootId),
      ...expiring.map((c) => c.rootId),
    ]);
    const touchedByRelease = (c: ClaimRow) => touchedCounters(releasePaths.get(c.poolId)!.map((id) => ({ id })), c.meterKey, closures.get(c.rootId)!);
    const touchedByHold = (o: HoldOp, t: TicketRow) => touchedCounters(o.claimant.path.map((id) => ({ id })), t.meterKey, closures.get(t.rootId)!);

    // A claim on a meter its root's catalog lacks is refused (UNKNOWN_METER) without counters:
    // locking creates the missing ones, and a refusal must leave no row behind.
    const keys = [
      ...claimOps.flatMap((o) => {
        const closure = closures.get(o.claimant.rootId)!;
        return closure.has(o.meter) ? touchedCounters(o.claimant.path.map((id) => ({ id })), o.meter, closure) : [];
      }),
      ...holding.flatMap((h) => touchedByHold(h.op, h.ticket)),
      ...releasable.flatMap(touchedByRelease),
      ...expiring.flatMap(touchedByRelease),
    ];
    const counters = await lockCounters(tx, keys);
    // The decision instant comes after the locks: a batch that waited for another's counters
    // must not stamp its grants earlier than the release that freed them.
    const now = deps.clock.now();
    const before = new Map(counters);
    for (const c of expiring) for (const k of touchedByRelease(c)) counters.set(k, counters.get(k)! - c.quantity);
    const licenses = await findRunningLicenses(tx, pathIds, now);
    const fingerprinted = await findLiveFingerprinted(
      tx,
      claimOps.filter((o) => o.fingerprint).map((o) => o.claimant.memberId),
      now,
    );
    // The queues the batch decides on, read under the counters' locks: every ticket that is
    // made or served for a queue takes the same locks, so the order read here is exact.
    const queues = new Map<string, string[]>();
    const queueOf = (poolId: string, meter: string) => {
      const key = queueKey(poolId, meter);
      let q = queues.get(key);
      if (!q) queues.set(key, (q = []));
      return q;
    };
    const queuePairs = [
      ...claimOps.map((o) => ({ poolId: o.claimant.poolId, meter: o.meter })),
      ...holding.map((h) => ({ poolId: h.ticket.poolId, meter: h.ticket.meterKey })),
    ];
    for (const w of await findWaitingTickets(tx, queuePairs)) queueOf(w.poolId, w.meterKey).push(w.id);
    const openTickets = await findOpenTicketsOf(tx, claimOps.filter((o) => o.queue && o.fingerprint).map((o) => o.claimant.memberId));

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
    const checkedIn: string[] = [];
    /** The ones of `checkedIn` an operator or admin released. */
    const releasedByAdmin: string[] = [];
    const holdsGivenUp: string[] = [];
    const leases: { id: string; ttlSeconds: number; expiresAt: Date; fingerprint: string | null }[] = [];
    const newTickets: TicketRow[] = [];
    const ticketChanges = new Map<string, Partial<TicketRow>>();
    const audits: { actor: Actor; entry: AuditEntry }[] = [];
    const outcomes: Outcome[] = [];

    /** Records a ticket's move to `patch.status`, with its audit event. */
    const moveTicket = (t: TicketRow, actor: Actor, patch: Partial<TicketRow> & { status: TicketStatus }, note: Record<string, unknown> = {}) => {
      const change = { ...patch, updatedAt: now, ...(ENDED_TICKET_STATUSES.has(patch.status) ? { endedAt: now } : {}) };
      ticketChanges.set(t.id, { ...ticketChanges.get(t.id), ...change });
      audits.push({ actor, entry: ticketAudit(t, `ticket.${patch.status}`, { status: t.status }, { ...patch, ...note }) });
      const queue = queues.get(queueKey(t.poolId, t.meterKey));
      if (t.status === 'waiting' && queue?.includes(t.id)) queue.splice(queue.indexOf(t.id), 1);
      const moved = { ...t, ...change };
      ticketById.set(t.id, moved);
      return moved;
    };
    const ticketOutcome = (t: TicketRow | undefined, claim: ClaimRow | null, changed: boolean): Outcome => {
      if (!t) return { type: 'ticket', ticket: null, status: null, claim: null, changed: false };
      const hold = t.holdClaimId ? liveClaims.get(t.holdClaimId) ?? created.find((c) => c.id === t.holdClaimId) : undefined;
      const holdStatus = t.holdClaimId ? (hold && !holdsGivenUp.includes(hold.id) && !checkedIn.includes(hold.id) ? 'live' : 'ended') : null;
      return { type: 'ticket', ticket: t, status: ticketStatusAt(t, holdStatus, now), claim, changed };
    };

    for (const op of ops) {
      if (op.type === 'release') {
        const claim = liveClaims.get(op.claimId);
        if (!claim || checkedIn.includes(claim.id) || holdsGivenUp.includes(claim.id)) {
          outcomes.push({ type: 'released', claim: null });
          continue;
        }
        add(touchedByRelease(claim), -claim.quantity);
        checkedIn.push(claim.id);
        const endReason = op.byAdmin ? RELEASED_BY_ADMIN : 'checked in';
        if (op.byAdmin) {
          releasedByAdmin.push(claim.id);
          audits.push({
            actor: op.actor ?? SYSTEM_ACTOR,
            entry: {
              action: 'claim.released_by_admin',
              entityType: 'claim',
              entityId: claim.id,
              rootId: claim.rootId,
              poolId: claim.poolId,
              memberId: claim.memberId,
              before: { status: 'live', kind: claim.kind, meter: claim.meterKey, quantity: claim.quantity, expiresAt: claim.expiresAt, fingerprint: claim.fingerprint },
              after: { status: 'released', endReason },
            },
          });
        }
        // Checking in a ticket's hold gives the ticket up.
        const ticket = ticketOfHold.get(claim.id);
        if (ticket && ticketById.get(ticket.id)!.status === 'held') {
          moveTicket(ticketById.get(ticket.id)!, op.actor ?? SYSTEM_ACTOR, { status: 'cancelled' }, { reason: op.byAdmin ? 'its hold was released by an admin' : 'its hold was checked in' });
        }
        outcomes.push({ type: 'released', claim: { ...claim, status: 'released', endedAt: now, endReason } });
        continue;
      }

      if (op.type === 'redeem' || op.type === 'cancel') {
        const ticket = ticketById.get(op.ticketId);
        if (ticket?.status === 'held' && ticket.holdClaimId !== op.holdClaimId) {
          outcomes.push({ type: 'stale' });
          continue;
        }
        if (!ticket || (ticket.status !== 'waiting' && ticket.status !== 'held')) {
          outcomes.push(ticketOutcome(ticket, null, false));
          continue;
        }
        const hold = ticket.holdClaimId ? liveClaims.get(ticket.holdClaimId) : undefined;
        const holdLive = hold !== undefined && !checkedIn.includes(hold.id) && !holdsGivenUp.includes(hold.id);
        if (op.type === 'cancel') {
          if (hold && holdLive) {
            add(touchedByRelease(hold), -hold.quantity);
            holdsGivenUp.push(hold.id);
          }
          outcomes.push(ticketOutcome(moveTicket(ticket, op.actor, { status: 'cancelled' }), null, true));
          continue;
        }
        if (ticket.status === 'waiting' || (holdLive && hold!.expiresAt! <= now)) {
          // Not held yet, or held past its end (the sweep gives those units on).
          outcomes.push(ticketOutcome(ticket, null, false));
          continue;
        }
        if (!holdLive) {
          // The hold ended under it (revoked when a limit dropped): the ticket has lapsed.
          outcomes.push(ticketOutcome(moveTicket(ticket, SYSTEM_ACTOR, { status: 'lapsed' }, { reason: 'its hold ended' }), null, true));
          continue;
        }
        // The held units become the member's lease in place: the same units, no counter moves.
        const lease = { id: hold!.id, ttlSeconds: ticket.ttlSeconds, expiresAt: new Date(now.getTime() + ticket.ttlSeconds * 1000), fingerprint: ticket.fingerprint };
        leases.push(lease);
        const claimed = moveTicket(ticket, op.actor, { status: 'claimed', claimId: hold!.id });
        outcomes.push(ticketOutcome(claimed, { ...hold!, kind: 'lease', ...lease }, true));
        continue;
      }

      if (op.type === 'hold') {
        const ticket = ticketById.get(op.ticketId);
        const queue = ticket ? queueOf(ticket.poolId, ticket.meterKey) : [];
        // Only the head of its queue is served, and a head that must wait holds up those behind it.
        if (!ticket || ticket.status !== 'waiting' || queue[0] !== ticket.id) {
          outcomes.push(ticketOutcome(ticket, null, false));
          continue;
        }
        const subject = subjectOf(op.claimant);
        if (!subject) {
          outcomes.push(ticketOutcome(moveTicket(ticket, SYSTEM_ACTOR, { status: 'cancelled' }, { reasons: [{ code: 'MEMBER_NOT_FOUND', memberId: ticket.memberId }] }), null, true));
          continue;
        }
        const path = op.claimant.path.map((id) => pools.get(id)!);
        const closure = closures.get(ticket.rootId)!;
        const decision = decideClaim(
          { path, licenses, closure, now },
          subject,
          { meter: ticket.meterKey, quantity: ticket.quantity, kind: 'hold' },
          counters,
          new Map(path.map((p) => [p.id, grantOf(p.id)])),
        );
        if (!decision.granted) {
          if (decision.reasons.every((r) => WAITED_OUT.has(r.code))) outcomes.push(ticketOutcome(ticket, null, false));
          else outcomes.push(ticketOutcome(moveTicket(ticket, SYSTEM_ACTOR, { status: 'cancelled' }, { reasons: decision.reasons }), null, true));
          continue;
        }
        add(touchedByHold(op, ticket), ticket.quantity);
        const pool = pools.get(ticket.poolId)!;
        const heldUntil = new Date(now.getTime() + pool.queue.claimTimeoutSeconds * 1000);
        const hold: ClaimRow = {
          id: newId('claim'),
          rootId: ticket.rootId,
          poolId: ticket.poolId,
          memberId: ticket.memberId,
          meterKey: ticket.meterKey,
          quantity: ticket.quantity,
          kind: 'hold',
          fingerprint: null,
          ttlSeconds: null,
          status: 'live',
          expiresAt: heldUntil,
          createdAt: now,
          endedAt: null,
          endReason: null,
        };
        created.push(hold);
        outcomes.push(ticketOutcome(moveTicket(ticket, SYSTEM_ACTOR, { status: 'held', holdClaimId: hold.id, heldUntil }), hold, true));
        continue;
      }

      const member = op.claimant;
      const again =
        op.kind === 'lease' && op.fingerprint
          ? [...fingerprinted, ...created].find(
              (c) => c.memberId === member.memberId && c.meterKey === op.meter && c.fingerprint === op.fingerprint && c.status === 'live' && !checkedIn.includes(c.id),
            )
          : undefined;
      if (again) {
        // U3: the same client asking again gets its live lease back, renewed.
        const renewed = created.includes(again) ? again : ((await extendLease(tx, again.id, expiryOf(op, now)!, now)) ?? again);
        outcomes.push({ type: 'granted', claim: renewed, reused: true });
        continue;
      }
      const queue = queueOf(member.poolId, op.meter);
      const waitingTicket = op.queue && op.fingerprint
        ? [...openTickets, ...newTickets]
            .map((t) => ticketById.get(t.id) ?? t)
            .find((t) => t.memberId === member.memberId && t.meterKey === op.meter && t.fingerprint === op.fingerprint && (t.status === 'waiting' || t.status === 'held'))
        : undefined;
      if (waitingTicket) {
        // The same client queueing again keeps its place.
        outcomes.push({ type: 'queued', ticket: waitingTicket, reasons: [], reused: true });
        continue;
      }
      const subject = subjectOf(member);
      if (!subject) {
        outcomes.push({ type: 'refused', reasons: [{ code: 'MEMBER_NOT_FOUND', memberId: member.memberId }] });
        continue;
      }
      const path = member.path.map((id) => pools.get(id)!);
      const closure = closures.get(member.rootId)!;
      const decision = decideClaim(
        { path, licenses, closure, now },
        subject,
        {
          meter: op.meter,
          quantity: op.quantity,
          kind: op.kind,
          borrowDays: op.borrowDays,
          ttlSeconds: op.kind === 'lease' ? op.ttlSeconds : undefined,
          waiting: queue.length,
        },
        counters,
        new Map(path.map((p) => [p.id, grantOf(p.id)])),
      );
      if (!decision.granted) {
        const own = pools.get(member.poolId)!;
        if (op.queue && op.kind === 'lease' && own.queue.enabled && decision.reasons.every((r) => QUEUEABLE_REASONS.has(r.code))) {
          const ticket = newTicket(op, now);
          newTickets.push(ticket);
          ticketById.set(ticket.id, ticket);
          queue.push(ticket.id);
          audits.push({ actor: op.actor, entry: ticketAudit(ticket, 'ticket.created', null, { ...ticket, position: queue.length, reasons: decision.reasons }) });
          outcomes.push({ type: 'queued', ticket, reasons: decision.reasons, reused: false });
        } else {
          outcomes.push({ type: 'refused', reasons: decision.reasons });
        }
        continue;
      }
      add(touchedCounters(path, op.meter, closure), op.quantity);
      const claim: ClaimRow = {
        id: newId('claim'),
        rootId: member.rootId,
        poolId: member.poolId,
        memberId: member.memberId,
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

    // 3. Write what changed: counters in one statement, claims in one, check-ins in one; the
    // queue's few rows one by one.
    const changed = new Map([...counters].filter(([k, v]) => before.get(k) !== v));
    await writeCounters(tx, changed);
    await insertClaims(tx, created);
    await endClaims(tx, checkedIn.filter((id) => !releasedByAdmin.includes(id)), 'released', now, 'checked in');
    await endClaims(tx, releasedByAdmin, 'released', now, RELEASED_BY_ADMIN);
    await endClaims(tx, holdsGivenUp, 'released', now, 'ticket cancelled');
    await endClaims(tx, expiring.map((c) => c.id), 'expired', now, 'not renewed in time');
    for (const lease of leases) await convertHoldToLease(tx, lease.id, lease);
    await insertTickets(tx, newTickets);
    for (const [id, patch] of ticketChanges) await updateTicketRow(tx, id, patch);
    for (const a of audits) await insertAuditEvent(tx, a.actor, now, a.entry);
    return { outcomes, ticketsMoved: newTickets.length + ticketChanges.size > 0 };
  });
  if (ticketsMoved) publishTicketChanges();
  return outcomes;
}

function newTicket(op: ClaimOp, now: Date): TicketRow {
  const member = op.claimant;
  return {
    id: newId('ticket'),
    rootId: member.rootId,
    poolId: member.poolId,
    memberId: member.memberId,
    meterKey: op.meter,
    quantity: op.quantity,
    ttlSeconds: op.ttlSeconds,
    fingerprint: op.fingerprint ?? null,
    status: 'waiting',
    holdClaimId: null,
    heldUntil: null,
    claimId: null,
    createdAt: now,
    updatedAt: now,
    endedAt: null,
  };
}

/** The hold a head ticket asks for: its member's state is read in the batch, as for a claim. */
async function holdOpOf(db: Executor, ticket: TicketRow): Promise<HoldOp> {
  const path = await poolPathOf(db, ticket.poolId);
  return { type: 'hold', ticketId: ticket.id, claimant: { memberId: ticket.memberId, poolId: ticket.poolId, rootId: ticket.rootId, path } };
}

/**
 * U4: serves the queues of these roots (all roots when none are given): each queue's head
 * ticket gets a hold when its units are free, all heads in one batch; while heads are served,
 * the next ones are tried. A head that must wait holds up its queue (first come, first served).
 * Returns how many tickets moved (held, or ended because their member may no longer claim).
 */
export async function serveQueues(deps: Deps, rootIds?: readonly string[]): Promise<number> {
  let scope = rootIds;
  let moved = 0;
  for (;;) {
    const heads = await findQueueHeads(deps.db, scope);
    if (heads.length === 0) return moved;
    // Isolated: a head whose hold cannot be written holds up its own queue, not the others.
    const settled = await decideIsolated(deps, await Promise.all(heads.map((t) => holdOpOf(deps.db, t))));
    const failed = heads.flatMap((t, i) => {
      const s = settled[i]!;
      return s.ok ? [] : [{ ticketId: t.id, rootId: t.rootId, err: s.error }];
    });
    if (failed.length > 0) deps.log.error({ failed }, 'serving these queue heads failed');
    const progressed = heads.filter((_, i) => {
      const s = settled[i]!;
      return s.ok && s.value.type === 'ticket' && s.value.changed;
    });
    if (progressed.length === 0) return moved;
    moved += progressed.length;
    scope = [...new Set(progressed.map((t) => t.rootId))];
  }
}

/** Serving after units came back: what gave them back has committed and stands even if serving fails. */
export async function serveQueuesAfter(deps: Deps, rootIds: readonly string[]): Promise<void> {
  await serveQueues(deps, rootIds).catch((err) => deps.log.error({ err, rootIds }, 'serving the queues failed'));
}

/**
 * Gives the units of expired leases, borrows and holds back (at most `limit` per call); the
 * tickets whose holds ran out lapse in the same transaction, and then the queues of the roots
 * concerned are served. Several processes may sweep at once: each skips the claims another holds.
 */
export async function sweepExpiredClaims(deps: Deps, limit = 1000): Promise<number> {
  const swept = await deps.db.transaction(async (tx) => {
    const expired = await lockExpiredClaims(tx, deps.clock.now(), limit);
    if (expired.length === 0) return null;
    const holds = expired.filter((c) => c.kind === 'hold');
    const lapsing = (await lockTickets(tx, { holdClaimIds: holds.map((c) => c.id) })).filter((t) => t.status === 'held');
    await giveBackUnits(tx, expired);
    // As in a batch: the instant is taken once the counters are ours.
    const now = deps.clock.now();
    await endClaims(tx, expired.filter((c) => c.kind !== 'hold').map((c) => c.id), 'expired', now, 'not renewed in time');
    await endClaims(tx, holds.map((c) => c.id), 'expired', now, 'not claimed in time');
    for (const t of lapsing) {
      await updateTicketRow(tx, t.id, { status: 'lapsed', updatedAt: now, endedAt: now });
      await insertAuditEvent(tx, SYSTEM_ACTOR, now, ticketAudit(t, 'ticket.lapsed', { status: 'held' }, { status: 'lapsed', reason: 'not claimed in time' }));
    }
    return { count: expired.length, roots: [...new Set(expired.map((c) => c.rootId))], lapsed: lapsing.length };
  });
  if (!swept) return 0;
  if (swept.lapsed > 0) publishTicketChanges();
  await serveQueuesAfter(deps, swept.roots);
  return swept.count;
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
