import type { Executor } from '../../db/client.js';
import { can } from '../../domain/access.js';
import { QUEUEABLE_REASONS } from '../../domain/claims.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf } from '../../lib/ids.js';
import { noteLimitsReached } from '../notifications/limit-reached.js';
import { signLicense } from '../signing/signing.service.js';
import { claimantFor, listScopeFor, mayActOnBehalfOf, poolPathOf } from './claimants.js';
import { reconcileRoot, type ClaimEngine, type ClaimOp, type Drift, type Outcome } from './claims.engine.js';
import { poolFor } from '../pools/pool-access.js';
import { findRootPoolIds } from '../pools/pools.repo.js';
import { extendLease, findClaim, findClaims, findHolders, type ClaimRow, type Holder } from './claims.repo.js';
import { claimStatusAt, type CreateClaimBody, type ListClaimsQuery } from './claims.schemas.js';

async function claimFor(db: Executor, actor: Actor, claimId: string): Promise<ClaimRow> {
  if (!isIdOf('claim', claimId)) throw notFound('claim');
  const claim = await findClaim(db, claimId);
  if (!claim) throw notFound('claim');
  await mayActOnBehalfOf(db, actor, claim.memberId, claim.poolId, 'claim');
  return claim;
}

export async function createClaim(deps: Deps, engine: ClaimEngine, actor: Actor, input: CreateClaimBody): Promise<Outcome> {
  const op: ClaimOp = { type: 'claim', actor, claimant: await claimantFor(deps.db, actor, input.memberId), ...input, queue: false };
  let outcome = await engine.submit(op);
  // U4: still refused, for limits alone: join the queue, decided in a batch again so the
  // ticket's place is exact (units may have freed up meanwhile, and then it is granted).
  if (outcome.type === 'refused' && input.queue && outcome.reasons.every((r) => QUEUEABLE_REASONS.has(r.code))) {
    outcome = await engine.submit({ ...op, queue: true });
  }
  // N4 "no more licenses": the managers and the vendor hear of it (at most hourly, after the answer).
  if (outcome.type === 'refused' || (outcome.type === 'queued' && !outcome.reused)) noteLimitsReached(deps, op.claimant.rootId, outcome.reasons);
  return outcome;
}

/**
 * The signed license file of a borrow, for use offline until the borrow ends. Signed after the
 * claim's transaction has committed (signing takes the root's key, which may be created then).
 */
export function borrowFile(deps: Deps, claim: ClaimRow): Promise<string> {
  const payload = { pool: claim.poolId, sub: claim.memberId, jti: claim.id, meter: claim.meterKey, quantity: claim.quantity, kind: 'borrow' };
  return signLicense(deps, claim.rootId, payload, { expiresAt: claim.expiresAt! });
}

/** Check-in: idempotent; checking in an ended claim changes nothing. */
export async function checkIn(deps: Deps, engine: ClaimEngine, actor: Actor, claimId: string): Promise<void> {
  await claimFor(deps.db, actor, claimId);
  await engine.submit({ type: 'release', claimId, actor });
}

/** 410 CLAIM_ENDED for a claim that has ended, saying how (released, expired, revoked) and why. */
function claimEnded(c: ClaimRow, now: Date): AppError {
  const status = claimStatusAt(c, now);
  return new AppError('CLAIM_ENDED', `the claim is ${status}${c.endReason ? `: ${c.endReason}` : ''}`, { claimStatus: status, endReason: c.endReason });
}

/** Renews a live lease by its own time to live; an ended one answers 410 with why, so its holder stops using it. */
export async function heartbeat(deps: Deps, actor: Actor, claimId: string): Promise<ClaimRow> {
  const claim = await claimFor(deps.db, actor, claimId);
  const now = deps.clock.now();
  const ended = (c: ClaimRow) => claimEnded(c, now);
  if (claimStatusAt(claim, now) !== 'live') throw ended(claim);
  if (claim.kind !== 'lease') throw new AppError('INVALID_TRANSITION', `a ${claim.kind} is not renewed by heartbeats`);
  const renewed = await extendLease(deps.db, claim.id, new Date(now.getTime() + claim.ttlSeconds! * 1000), now);
  // Ended between the read and the renewal (checked in, revoked, swept): say how, as above.
  if (!renewed) throw ended((await findClaim(deps.db, claim.id)) ?? { ...claim, status: 'expired' });
  return renewed;
}

export const getClaim = (deps: Deps, actor: Actor, claimId: string) => claimFor(deps.db, actor, claimId);

/** A page of claims (limit + 1 rows, for toPage) and who holds each. */
export async function listClaims(deps: Deps, actor: Actor, query: ListClaimsQuery): Promise<{ rows: ClaimRow[]; holders: Map<string, Holder> }> {
  const scope = await listScopeFor(deps.db, actor, query);
  if (!scope) return { rows: [], holders: new Map() };
  const { poolId, ...rest } = scope;
  const rows = await findClaims(deps.db, {
    ...rest,
    ...(poolId ? (query.subtree === 'true' ? { subtreeOf: poolId } : { poolId }) : {}),
    live: query.live === 'true',
    ...(query.cursor ? { after: query.cursor } : {}),
    limit: query.limit + 1,
    now: deps.clock.now(),
  });
  return { rows, holders: await findHolders(deps.db, rows.map((c) => c.memberId)) };
}

/**
 * Force-release (issue 14): an operator or admin of the claim's pool, or of a pool above it,
 * ends a live claim of any kind. It goes through the engine as a check-in does, so the units
 * come back exactly and the queue is served; the claim ends `released` with the reason
 * `released_by_admin`, which its holder learns on its next heartbeat (410), and an audit event
 * `claim.released_by_admin` records who. Managers and deputies are not offered it (403): they
 * check their members' claims in (`DELETE /v1/claims/{id}`), as a holder does. Whoever cannot
 * read the claim's pool gets 404, as for any act on a pool — the holder's own app included: a
 * member's app has no business ending claims as an admin, its own or others'.
 */
export async function releaseClaimByAdmin(deps: Deps, engine: ClaimEngine, actor: Actor, claimId: string): Promise<ClaimRow> {
  if (!isIdOf('claim', claimId)) throw notFound('claim');
  const claim = await findClaim(deps.db, claimId);
  if (!claim) throw notFound('claim');
  if (!can(actor.principal, await poolPathOf(deps.db, claim.poolId), 'administer')) {
    // 404 for whoever cannot read the pool (another tenant, the holder's own app), 403 for its managers.
    await poolFor(deps.db, actor, claim.poolId, 'administer', { what: 'claim' });
  }
  const ended = (c: ClaimRow) => claimEnded(c, deps.clock.now());
  if (claimStatusAt(claim, deps.clock.now()) !== 'live') throw ended(claim);
  const outcome = await engine.submit({ type: 'release', claimId, actor, byAdmin: true });
  if (outcome.type !== 'released') throw new Error(`a release came back as ${outcome.type}`);
  // Ended meanwhile (checked in, expired, revoked): say how.
  if (!outcome.claim) throw ended((await findClaim(deps.db, claimId))!);
  return outcome.claim;
}

/**
 * Reconcile (U1) of every root the caller operates — all of them for a superuser
 * (`licensepool reconcile`) — each root in its own transaction.
 */
export async function reconcileAllRoots(deps: Deps, actor: Actor, options: { fix: boolean }): Promise<{ rootId: string; drift: Drift[] }[]> {
  const { principal } = actor;
  const operated = principal.superuser ? undefined : principal.bindings.map((b) => b.poolId).filter((id) => can(principal, [id], 'operate'));
  const roots: { rootId: string; drift: Drift[] }[] = [];
  for (const rootId of await findRootPoolIds(deps.db, operated)) roots.push({ rootId, drift: await reconcileRoot(deps, rootId, options) });
  return roots;
}
