/**
 * Who a claim is for, resolved on the claim hot path without a round trip where possible.
 * A member's pool, root and account never change, and pools never move, so these facts are
 * cached per process for good; everything that does change (status, device, e-mail, access
 * rules) is read inside the claim batch under its locks. A member deleted since it was cached
 * is caught there too (`MEMBER_NOT_FOUND`).
 */
import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { members, pools } from '../../db/schema.js';
import { can } from '../../domain/access.js';
import type { Actor } from '../../lib/context.js';
import { notFound } from '../../lib/errors.js';
import { isIdOf } from '../../lib/ids.js';
import { poolFor, reachOf } from '../pools/pool-access.js';
import { findPoolPath } from '../pools/pools.repo.js';
import type { Claimant } from './claims.engine.js';

type MemberFacts = Claimant & { accountId: string | null };

/** Bounded: beyond this many entries the oldest are dropped (insertion order). */
const CACHE_LIMIT = 100_000;

class ImmutableCache<V> {
  readonly #entries = new Map<string, V>();
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }
  set(key: string, value: V): void {
    if (this.#entries.size >= CACHE_LIMIT) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, value);
  }
}

const memberFacts = new ImmutableCache<MemberFacts>();
const poolPaths = new ImmutableCache<readonly string[]>();

async function factsOf(db: Executor, memberId: string): Promise<MemberFacts | undefined> {
  const cached = memberFacts.get(memberId);
  if (cached) return cached;
  const [row] = await db
    .select({ memberId: members.id, poolId: members.poolId, rootId: members.rootId, accountId: members.accountId, path: pools.path })
    .from(members)
    .innerJoin(pools, eq(pools.id, members.poolId))
    .where(eq(members.id, memberId));
  if (row) {
    memberFacts.set(memberId, row);
    poolPaths.set(row.poolId, row.path);
  }
  return row;
}

/** A pool's path, root first; cached, since pools never move. */
export async function poolPathOf(db: Executor, poolId: string): Promise<readonly string[]> {
  const cached = poolPaths.get(poolId);
  if (cached) return cached;
  const path = await findPoolPath(db, poolId);
  if (!path) throw new Error(`pool ${poolId} does not exist`);
  poolPaths.set(poolId, path);
  return path;
}

/**
 * The one rule for acting on a member's claims, tickets and entitlements: the member's own
 * account acts for itself; whoever manages its pool (and the vendor) acts for its members and
 * devices. Otherwise answers as poolFor does (404 unseen, 403 seen but not managed). Decided in
 * memory when the actor's bindings allow it, which is the hot path.
 */
async function mayActFor(db: Executor, actor: Actor, facts: MemberFacts, what: string): Promise<void> {
  const self = facts.accountId !== null && facts.accountId === actor.principal.accountId;
  if (!self && !can(actor.principal, facts.path, 'manage')) await poolFor(db, actor, facts.poolId, 'manage', { what });
}

/** The claimant for `memberId`, if `actor` may act for it; 404 for no such member. */
export async function claimantFor(db: Executor, actor: Actor, memberId: string, what = 'member'): Promise<Claimant> {
  if (!isIdOf('member', memberId)) throw notFound(what);
  const facts = await factsOf(db, memberId);
  if (!facts) throw notFound(what);
  await mayActFor(db, actor, facts, what);
  return { memberId: facts.memberId, poolId: facts.poolId, rootId: facts.rootId, path: facts.path };
}

/**
 * Whether `actor` may act on something of a member (a claim, a ticket) kept on `poolId`: as for
 * the member; once the member is gone, as for its pool.
 */
export async function mayActOnBehalfOf(db: Executor, actor: Actor, memberId: string, poolId: string, what: string): Promise<void> {
  const facts = await factsOf(db, memberId);
  if (facts) return mayActFor(db, actor, facts, what);
  await poolFor(db, actor, poolId, 'manage', { what });
}

/**
 * What a list of claims or tickets may show: one member's (acting for it), one pool's (reading
 * it), or else everything within the actor's reach; null when that reach is empty.
 */
export async function listScopeFor(
  db: Executor,
  actor: Actor,
  query: { memberId?: string | undefined; poolId?: string | undefined },
): Promise<{ memberId?: string; poolId?: string; within?: readonly string[] } | null> {
  if (query.memberId) await claimantFor(db, actor, query.memberId);
  if (query.poolId) await poolFor(db, actor, query.poolId, 'read');
  const within = query.memberId || query.poolId ? undefined : reachOf(actor);
  if (within && within.length === 0) return null;
  return {
    ...(query.memberId ? { memberId: query.memberId } : {}),
    ...(query.poolId ? { poolId: query.poolId } : {}),
    ...(within ? { within } : {}),
  };
}
