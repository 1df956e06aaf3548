import { can, poolsGranting, type Permission } from '../../domain/access.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import type { Executor } from '../../db/client.js';
import { findAccountByEmail } from '../accounts/accounts.repo.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { findPool, insertPool, lockPool, updatePoolRow, type PoolRow } from '../pools/pools.repo.js';
import { insertRoleBinding } from '../pools/roles.repo.js';
import {
  findApplication,
  findApplications,
  insertApplication,
  updateApplicationRow,
  type ApplicationRow,
} from './applications.repo.js';
import type { CreateApplicationBody, ListApplicationsQuery } from './applications.schemas.js';

const applicationAudit = (a: ApplicationRow, pool: PoolRow) => ({ entityType: 'application', entityId: a.id, rootId: pool.rootId, poolId: pool.id });

/**
 * Any signed-in account may apply [000]; the pool is created at once in `applied` (serving
 * nothing) so the application and, later, the operator's decision name one stable pool id.
 */
export async function createApplication(deps: Deps, actor: Actor, input: CreateApplicationBody): Promise<ApplicationRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const parent = isIdOf('pool', input.parentId) ? await lockPool(tx, input.parentId) : undefined;
    // One applies to a vendor (a root), or under a pool one can see (a reseller for its customer).
    if (!parent || (parent.parentId !== null && !can(actor.principal, parent.path, 'read'))) throw notFound('parent pool');
    if (parent.status === 'closed') throw new AppError('INVALID_TRANSITION', 'the parent pool is closed');
    const manager = await findAccountByEmail(tx, input.managerEmail);
    if (!manager) throw new AppError('ACCOUNT_NOT_FOUND', `no account has the e-mail ${input.managerEmail}; the manager must sign up first`);
    const poolId = newId('pool');
    const pool = await insertPool(tx, {
      id: poolId,
      rootId: parent.rootId,
      parentId: parent.id,
      path: [...parent.path, poolId],
      depth: parent.depth + 1,
      name: input.company,
      kind: 'company',
      status: 'applied',
      restricted: false,
      validUntil: null,
      maxBorrowDays: null,
      maxLeaseSeconds: null,
      exclusiveMembership: true,
      queue: { enabled: false, claimTimeoutSeconds: 300 },
      billingAddress: null,
      createdAt: now,
      updatedAt: now,
    });
    const application = await insertApplication(tx, {
      id: newId('application'),
      parentId: parent.id,
      poolId,
      applicantId: actor.principal.accountId,
      managerId: manager.id,
      company: input.company,
      contactName: input.contactName,
      address: input.address,
      email: input.email,
      phone: input.phone,
      status: 'pending',
      createdAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'pool.created', entityType: 'pool', entityId: pool.id, rootId: pool.rootId, poolId: pool.id, after: pool });
    await insertAuditEvent(tx, actor, now, { action: 'application.received', ...applicationAudit(application, pool), after: application });
    return application;
  });
}

/**
 * Loads an application for a reviewer: 404 when the caller cannot see the parent pool, 403
 * when it can see but not decide (only operators and admins at or above the parent decide).
 */
async function applicationFor(db: Executor, actor: Actor, id: string, permission: Permission, options: { lock?: boolean } = {}) {
  const application = isIdOf('application', id) ? await findApplication(db, id, options) : undefined;
  const parent = application && (await findPool(db, application.parentId));
  if (!application || !parent || !can(actor.principal, parent.path, 'read')) throw notFound('application');
  if (!can(actor.principal, parent.path, permission)) throw new AppError('FORBIDDEN', `you may not decide application ${id}`);
  const pool = await lockPool(db, application.poolId);
  return { application, pool: pool! };
}

/** Applications under the pools the caller may decide on (operators and admins there or above). */
export async function listApplications(deps: Deps, actor: Actor, query: ListApplicationsQuery): Promise<ApplicationRow[]> {
  const deciding = poolsGranting(actor.principal, 'administer');
  if (deciding !== 'all' && deciding.length === 0) return [];
  return findApplications(deps.db, { status: query.status, within: deciding === 'all' ? undefined : deciding, after: query.cursor, limit: query.limit + 1 });
}

function assertPending(application: ApplicationRow) {
  if (application.status !== 'pending') {
    throw new AppError('INVALID_TRANSITION', `the application was already ${application.status}`, { currentStatus: application.status });
  }
}

/** Approval opens the pool [000]: `initializing`, with the named account as its manager. */
export async function approveApplication(deps: Deps, actor: Actor, id: string): Promise<ApplicationRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { application, pool } = await applicationFor(tx, actor, id, 'administer', { lock: true });
    assertPending(application);
    if (pool.status !== 'applied') throw new AppError('INVALID_TRANSITION', `the pool is ${pool.status}`, { currentStatus: pool.status });
    const opened = await updatePoolRow(tx, pool.id, { status: 'initializing', updatedAt: now });
    const binding = await insertRoleBinding(tx, { id: newId('role'), accountId: application.managerId, poolId: pool.id, role: 'manager', createdAt: now });
    const decided = await updateApplicationRow(tx, application.id, { status: 'approved', decidedBy: actor.principal.accountId, decidedAt: now });
    await insertAuditEvent(tx, actor, now, { action: 'application.approved', ...applicationAudit(decided, pool), before: { status: 'pending' }, after: { status: 'approved' } });
    await insertAuditEvent(tx, actor, now, { action: 'role.granted', entityType: 'role', entityId: binding.id, rootId: pool.rootId, poolId: pool.id, after: binding });
    await insertAuditEvent(tx, actor, now, {
      action: 'pool.opened',
      entityType: 'pool',
      entityId: pool.id,
      rootId: pool.rootId,
      poolId: pool.id,
      before: { status: pool.status },
      after: { status: opened.status, managerId: application.managerId },
    });
    return decided;
  });
}

/** Rejection closes the applied pool; the reason goes to the applicant. */
export async function rejectApplication(deps: Deps, actor: Actor, id: string, reason: string): Promise<ApplicationRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { application, pool } = await applicationFor(tx, actor, id, 'administer', { lock: true });
    assertPending(application);
    await updatePoolRow(tx, pool.id, { status: 'closed', updatedAt: now });
    const decided = await updateApplicationRow(tx, application.id, { status: 'rejected', reason, decidedBy: actor.principal.accountId, decidedAt: now });
    await insertAuditEvent(tx, actor, now, { action: 'application.rejected', ...applicationAudit(decided, pool), before: { status: 'pending' }, after: { status: 'rejected', reason } });
    return decided;
  });
}
