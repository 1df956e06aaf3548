/**
 * U5: when a pool's own limit drops below what its subtree uses (a license ended, was
 * suspended or cut down, or the pool became restricted), the newest live claims beyond the limit
 * are revoked in the same transaction as the change, so no committed state has `used > limit`.
 * Their holders learn it on their next heartbeat (410 with the reason).
 *
 * The caller holds the pool's row FOR UPDATE. Every batch that could add to this pool's
 * counters share-locks the pool first (docs/claims.md), so while the change is in flight no new
 * claim is granted on it: used can only go down until this transaction commits.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Executor } from '../../db/client.js';
import { claims, tickets } from '../../db/schema.js';
import { counterKey } from '../../domain/claims.js';
import { ownGrant } from '../../domain/quota.js';
import type { Actor } from '../../lib/context.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { poolIdsInSubtreesOf, type PoolRow } from '../pools/pools.repo.js';
import { findRunningLicenses } from '../state/state.repo.js';
import { closuresOf, endClaims, giveBackUnits, lockCountersOfClaims, lockLiveClaims, writeCounters, type ClaimRow } from './claims.repo.js';

export async function revokeBeyondLimit(tx: Executor, actor: Actor, pool: PoolRow, now: Date, reason: string): Promise<ClaimRow[]> {
  const grant = ownGrant(pool, await findRunningLicenses(tx, [pool.id], now), now);
  const usage = await rowsOf<{ meter_key: string; used: string | number }>(
    tx,
    sql`SELECT meter_key, used FROM pool_usage WHERE pool_id = ${pool.id} AND used > 0`,
  );
  const overBy = new Map<string, number>();
  for (const u of usage) {
    const limit = grant.limit(u.meter_key);
    if (limit !== null && Number(u.used) > limit) overBy.set(u.meter_key, Number(u.used) - limit);
  }
  if (overBy.size === 0) return [];

  const closures = await closuresOf(tx, [pool.rootId]);
  const closure = closures.get(pool.rootId)!;
  const takes = (meter: string) => [meter, ...(closure.get(meter) ?? [])];
  const takers = [...closure.keys()].filter((m) => takes(m).some((x) => overBy.has(x)));
  // Each claim takes at least one unit, so the newest `Σ over` claims are always enough.
  const enough = [...overBy.values()].reduce((a, b) => a + b, 0);
  const newest = await tx
    .select({ id: claims.id })
    .from(claims)
    .where(and(eq(claims.status, 'live'), inArray(claims.meterKey, takers), inArray(claims.poolId, poolIdsInSubtreesOf(tx, [pool.id]))))
    .orderBy(desc(claims.id))
    .limit(enough);
  // Locked in id order, as batches lock claims, then their counters in the global order.
  const candidates = (await lockLiveClaims(tx, newest.map((c) => c.id))).sort((a, b) => (a.id < b.id ? 1 : -1));
  const { touched, counters } = await lockCountersOfClaims(tx, candidates, closures);
  const before = new Map(counters);

  const isOver = (meter: string) => overBy.has(meter) && (counters.get(counterKey(pool.id, meter)) ?? 0) > grant.limit(meter)!;
  const revoked: ClaimRow[] = [];
  for (const claim of candidates) {
    if (![...overBy.keys()].some(isOver)) break;
    if (!takes(claim.meterKey).some(isOver)) continue;
    for (const key of touched.get(claim.id)!) counters.set(key, counters.get(key)! - claim.quantity);
    revoked.push({ ...claim, status: 'revoked', endedAt: now, endReason: reason });
  }
  await writeCounters(tx, new Map([...counters].filter(([k, v]) => before.get(k) !== v)));
  await endClaims(tx, revoked.map((c) => c.id), 'revoked', now, reason);
  if (revoked.length > 0) {
    await insertAuditEvent(tx, actor, now, {
      action: 'claims.revoked',
      entityType: 'pool',
      entityId: pool.id,
      rootId: pool.rootId,
      poolId: pool.id,
      after: { reason, claims: revoked.map((c) => ({ id: c.id, memberId: c.memberId, meter: c.meterKey, quantity: c.quantity })) },
    });
  }
  return revoked;
}

/**
 * M3, M4: removing members, or reporting their device lost or stolen, revokes their live claims
 * at once, in the caller's transaction (the member rows are locked first; then all their claims
 * in id order, then every counter those hold, at once, in the global order — as a batch does),
 * and cancels their queue tickets, waiting or held, so they leave the line now rather than when
 * they reach its head. One audit event per member that had claims, one per ticket. Returns the
 * claims revoked.
 */
export async function revokeClaimsOfMembers(
  tx: Executor,
  actor: Actor,
  members: readonly { id: string; rootId: string; poolId: string }[],
  now: Date,
  reason: string,
): Promise<ClaimRow[]> {
  if (members.length === 0) return [];
  const live = await tx.select({ id: claims.id }).from(claims).where(and(inArray(claims.memberId, members.map((m) => m.id)), eq(claims.status, 'live')));
  const locked = await lockLiveClaims(tx, live.map((c) => c.id));
  // Tickets after claims, before counters: the order a batch takes its locks in. A held
  // ticket's hold is one of the claims revoked here.
  await cancelTicketsOfMembers(tx, actor, members, now, reason);
  if (locked.length === 0) return [];
  await giveBackUnits(tx, locked);
  await endClaims(tx, locked.map((c) => c.id), 'revoked', now, reason);
  for (const member of members) {
    const theirs = locked.filter((c) => c.memberId === member.id);
    if (theirs.length === 0) continue;
    await insertAuditEvent(tx, actor, now, {
      action: 'claims.revoked',
      entityType: 'member',
      entityId: member.id,
      rootId: member.rootId,
      poolId: member.poolId,
      memberId: member.id,
      after: { reason, claims: theirs.map((c) => ({ id: c.id, meter: c.meterKey, quantity: c.quantity })) },
    });
  }
  return locked.map((c) => ({ ...c, status: 'revoked', endedAt: now, endReason: reason }));
}

async function cancelTicketsOfMembers(tx: Executor, actor: Actor, members: readonly { id: string }[], now: Date, reason: string): Promise<void> {
  const open = await tx
    .select({ id: tickets.id })
    .from(tickets)
    .where(and(inArray(tickets.memberId, members.map((m) => m.id)), inArray(tickets.status, ['waiting', 'held'])))
    .orderBy(tickets.id)
    .for('update');
  if (open.length === 0) return;
  const ended = await tx
    .update(tickets)
    .set({ status: 'cancelled', updatedAt: now, endedAt: now })
    .where(inArray(tickets.id, open.map((t) => t.id)))
    .returning();
  for (const t of ended) {
    await insertAuditEvent(tx, actor, now, {
      action: 'ticket.cancelled',
      entityType: 'ticket',
      entityId: t.id,
      rootId: t.rootId,
      poolId: t.poolId,
      memberId: t.memberId,
      after: { status: 'cancelled', reason },
    });
  }
}
