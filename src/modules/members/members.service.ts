import type { Actor, Deps } from '../../lib/context.js';
import type { Executor } from '../../db/client.js';
import { judgeAccess } from '../../domain/access-rules.js';
import { computeEntitlements, type Entitlements, type EntitlementsInput } from '../../domain/entitlements.js';
import type { QuotaPool } from '../../domain/quota.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { findAccountByEmail } from '../accounts/accounts.repo.js';
import { findAccessRulesOf } from '../access-rules/access-rules.repo.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { findFeatures, findMeters } from '../catalog/catalog.repo.js';
import { claimantFor } from '../claims/claimants.js';
import { revokeClaimsOfMembers } from '../claims/claims.revoke.js';
import { poolFor } from '../pools/pool-access.js';
import { findPathPools, findPool } from '../pools/pools.repo.js';
import { findRunningLicenses, findUsage } from '../state/state.repo.js';
import {
  deleteMemberRow,
  findHeldUnits,
  findMember,
  findMembershipsToCombine,
  findMembersOfPool,
  findOrCreateDevice,
  insertMember,
  isMemberElsewhere,
  lockAccountForMembership,
  updateMemberRow,
  type MemberView,
} from './members.repo.js';
import type { AddMemberBody, ListMembersQuery } from './members.schemas.js';

const memberAudit = (v: MemberView) => ({
  entityType: 'member',
  entityId: v.member.id,
  rootId: v.member.rootId,
  poolId: v.member.poolId,
  memberId: v.member.id,
});

/** A person (an existing account [000]) or a device joins a pool `pending` until verified. */
export async function addMember(deps: Deps, actor: Actor, poolId: string, input: AddMemberBody): Promise<MemberView> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
    if (pool.status === 'closed') throw new AppError('INVALID_TRANSITION', 'the pool is closed');
    // Locks: the pool, then the account's or device's row (see docs/architecture.md, "Membership").
    let subject: { accountId: string } | { deviceId: string };
    if (input.email !== undefined) {
      const account = await findAccountByEmail(tx, input.email);
      if (!account) throw new AppError('ACCOUNT_NOT_FOUND', `no account has the e-mail ${input.email}; the person must sign up first`);
      await lockAccountForMembership(tx, account.id);
      subject = { accountId: account.id };
    } else {
      const { serial, type } = input.device!;
      const device = await findOrCreateDevice(tx, { id: newId('device'), rootId: pool.rootId, serial, type, createdAt: now });
      if (device.status !== 'ok') throw new AppError('DEVICE_BLOCKED', `the device ${serial} is reported ${device.status}`, { deviceStatus: device.status });
      subject = { deviceId: device.id };
    }
    // M2: the root's setting, read as it is now; an add racing a change of it is one made just before.
    const root = pool.parentId === null ? pool : await findPool(tx, pool.rootId);
    if (root!.exclusiveMembership && (await isMemberElsewhere(tx, pool.rootId, pool.id, subject))) {
      // Not naming the other pool: it may belong to another customer of the vendor.
      throw new AppError('MEMBER_IN_OTHER_POOL', 'already a member of another pool of this vendor, and membership is exclusive');
    }
    const inserted = await insertMember(tx, { id: newId('member'), rootId: pool.rootId, poolId: pool.id, status: 'pending', ...subject, createdAt: now });
    if (!inserted) throw new AppError('MEMBER_EXISTS', 'already a member of this pool');
    const view = (await findMember(tx, inserted.id))!;
    await insertAuditEvent(tx, actor, now, { action: 'member.added', ...memberAudit(view), after: inserted });
    return view;
  });
}

async function memberFor(db: Executor, actor: Actor, id: string, permission: 'read' | 'manage' | 'operate', lock = false) {
  if (!isIdOf('member', id)) throw notFound('member');
  const view = await findMember(db, id, { lock });
  if (!view) throw notFound('member');
  // A member may read its own membership.
  if (permission === 'read' && view.member.accountId === actor.principal.accountId) return view;
  await poolFor(db, actor, view.member.poolId, permission, { what: 'member' });
  return view;
}

export const getMember = (deps: Deps, actor: Actor, id: string) => memberFor(deps.db, actor, id, 'read');

export async function listMembers(deps: Deps, actor: Actor, poolId: string, query: ListMembersQuery) {
  const pool = await poolFor(deps.db, actor, poolId, 'read');
  return findMembersOfPool(deps.db, pool.id, { status: query.status, after: query.cursor, limit: query.limit + 1 });
}

const DECISIONS = {
  verify: { from: ['pending', 'rejected'], to: 'verified' },
  reject: { from: ['pending', 'verified'], to: 'rejected' },
} as const;

/** M1: the vendor's operators verify or reject members. */
export async function decideMember(deps: Deps, actor: Actor, id: string, action: keyof typeof DECISIONS): Promise<MemberView> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const view = await memberFor(tx, actor, id, 'operate', true);
    const rule = DECISIONS[action];
    if (!(rule.from as readonly string[]).includes(view.member.status)) {
      throw new AppError('INVALID_TRANSITION', `cannot ${action} a member that is ${view.member.status}`, { currentStatus: view.member.status });
    }
    const updated = await updateMemberRow(tx, view.member.id, { status: rule.to, decidedAt: now, decidedBy: actor.principal.accountId });
    await insertAuditEvent(tx, actor, now, {
      action: `member.${action === 'verify' ? 'verified' : 'rejected'}`,
      ...memberAudit(view),
      before: { status: view.member.status },
      after: { status: updated.status },
    });
    return { ...view, member: updated };
  });
}

/** M4: removal is immediate; the audit trail keeps what the member was. */
export async function removeMember(deps: Deps, actor: Actor, id: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const view = await memberFor(tx, actor, id, 'manage', true);
    await revokeClaimsOfMembers(tx, actor, [view.member], now, 'the member was removed');
    await deleteMemberRow(tx, view.member.id);
    await insertAuditEvent(tx, actor, now, { action: 'member.removed', ...memberAudit(view), before: view.member });
  });
}

/**
 * U6: the member's effective features and remaining counts, with end dates, after its whole
 * ancestor chain — combined, for a person, with its account's other verified memberships in the
 * root (M2's strictest rule). For the member's own account and those who manage its pool (the
 * claims' rule).
 */
export async function getEntitlements(deps: Deps, actor: Actor, id: string): Promise<{ view: MemberView; at: Date; entitlements: Entitlements }> {
  await claimantFor(deps.db, actor, id);
  const view = await findMember(deps.db, id);
  if (!view) throw notFound('member');
  const at = deps.clock.now();
  const { entitlements } = await loadEntitlements(deps.db, view, at);
  return { view, at, entitlements };
}

export interface LoadedEntitlements {
  entitlements: Entitlements;
  /** What the answer was computed from, to compute another membership of the same pool (sync's devices). */
  input: Omit<EntitlementsInput, 'memberships'>;
  /** The member's own pool and its ancestors, root first. */
  path: QuotaPool[];
}

/**
 * Loads and computes a member's entitlements in a fixed number of indexed queries (memberships,
 * their paths' pools, running licenses, the catalog, usage, access rules, live claims), however
 * deep the tree or many the memberships.
 */
export async function loadEntitlements(db: Executor, view: MemberView, at: Date): Promise<LoadedEntitlements> {
  const memberships = await findMembershipsToCombine(db, view.member);
  const pathIds = [...new Set(memberships.flatMap((m) => m.path))];
  // One after another: a single connection (PGlite) takes one query at a time anyway.
  const pools = new Map((await findPathPools(db, pathIds)).map((p) => [p.id, p]));
  const licenses = await findRunningLicenses(db, pathIds, at);
  const meters = await findMeters(db, view.member.rootId);
  const features = await findFeatures(db, view.member.rootId);
  const usage = await findUsage(db, pathIds);
  // R1 applies to people, by their e-mail; devices have none.
  const email = view.account?.email;
  const rules = email ? await findAccessRulesOf(db, pathIds) : [];
  const held = await findHeldUnits(db, memberships.map((m) => m.member.id), at);
  const input = { licenses, meters, features: features.map((f) => f.key), usage, now: at };
  const entitlements = computeEntitlements({
    ...input,
    memberships: memberships.map(({ member, path }) => ({
      memberId: member.id,
      status: member.status,
      deviceStatus: member.id === view.member.id ? (view.device?.status ?? null) : null,
      access: email ? judgeAccess(path, rules, email) : null,
      path: path.map((poolId) => pools.get(poolId)!),
      held: held.filter((h) => h.memberId === member.id),
    })),
  });
  return { entitlements, input, path: memberships[0]!.path.map((poolId) => pools.get(poolId)!) };
}
