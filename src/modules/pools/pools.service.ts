import { can, canGrant, poolsGranting } from '../../domain/access.js';
import { nextPoolStatus, type PoolAction } from '../../domain/status.js';
import type { Executor } from '../../db/client.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { findAccountByEmail } from '../accounts/accounts.repo.js';
import { addAccount } from '../accounts/accounts.service.js';
import { hashPassword, newPassword } from '../../lib/crypto.js';
import { auditEventRow, insertAuditEvent } from '../audit/audit.repo.js';
import { findApplicationOfPool } from '../applications/applications.repo.js';
import { revokeBeyondLimit } from '../claims/claims.revoke.js';
import { findPoolInitialization, recordInitializationStep } from './initialization.repo.js';
import { poolFor, reachOf } from './pool-access.js';
import { findPools, insertChildPool, insertPool, updatePoolRow, type PoolRow } from './pools.repo.js';
import type { CreatePoolBody, CreateRootBody, GrantRoleBody, ListPoolsQuery, PoolTreeFacts, UpdatePoolBody } from './pools.schemas.js';
import { treeFactsOf } from './pools.tree.js';
import type { z } from 'zod';
import {
  deleteRoleBinding,
  findManagerBinding,
  findRoleBinding,
  findRoleBindingById,
  findRolesOfPool,
  insertRoleBinding,
} from './roles.repo.js';

const DEFAULT_QUEUE = { enabled: false, claimTimeoutSeconds: 300 };

const poolAudit = (pool: PoolRow) => ({ entityType: 'pool', entityId: pool.id, rootId: pool.rootId, poolId: pool.id });

/**
 * A root (no parent) is a vendor and only a superuser creates one; it starts active. A child
 * pool is created by an operator or admin above it and starts `initializing`: it serves
 * nothing until activated [004].
 */
function newPoolFields(id: string, input: Pick<CreatePoolBody, 'name' | 'kind' | 'restricted' | 'validUntil'>, now: Date) {
  return {
    id,
    name: input.name,
    kind: input.kind,
    restricted: input.restricted,
    validUntil: input.validUntil ? new Date(input.validUntil) : null,
    maxBorrowDays: null,
    maxLeaseSeconds: null,
    exclusiveMembership: true,
    queue: DEFAULT_QUEUE,
    billingAddress: null,
    createdAt: now,
    updatedAt: now,
  };
}

async function insertRootPool(tx: Executor, actor: Actor, fields: ReturnType<typeof newPoolFields>, now: Date): Promise<PoolRow> {
  const pool = await insertPool(tx, { ...fields, rootId: fields.id, parentId: null, path: [fields.id], depth: 0, status: 'active' });
  await insertAuditEvent(tx, actor, now, { action: 'pool.created', ...poolAudit(pool), after: pool });
  return pool;
}

export async function createPool(deps: Deps, actor: Actor, input: CreatePoolBody): Promise<PoolRow> {
  const now = deps.clock.now();
  const id = newId('pool');
  const fields = newPoolFields(id, input, now);
  if (input.parentId === undefined) {
    if (!actor.principal.superuser) throw new AppError('FORBIDDEN', 'only a superuser creates root pools');
    return deps.db.transaction((tx) => insertRootPool(tx, actor, fields, now));
  }
  const event = auditEventRow(actor, now, { action: 'pool.created', entityType: 'pool', entityId: id, poolId: id, after: fields });
  const created = await insertChildPool(deps.db, input.parentId, poolsGranting(actor.principal, 'administer'), fields, event);
  if (created) return created;
  // Nothing was added: say why, as for any act on a pool (404 unseen, 403 not allowed).
  await poolFor(deps.db, actor, input.parentId, 'administer', { what: 'parent pool' });
  throw new AppError('INVALID_TRANSITION', 'the parent pool is closed');
}

export const getPool = (deps: Deps, actor: Actor, id: string) => poolFor(deps.db, actor, id, 'read');

/** The vendor or the reseller above decides limits and dates; the pool's own managers its name and address. */
const CONTROLLED_FIELDS = ['restricted', 'validUntil', 'maxBorrowDays', 'maxLeaseSeconds', 'exclusiveMembership', 'queue'] as const;

export async function updatePool(deps: Deps, actor: Actor, id: string, input: UpdatePoolBody): Promise<PoolRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, id, 'manage', { lock: true });
    const controlled = CONTROLLED_FIELDS.filter((f) => input[f] !== undefined);
    if (controlled.length > 0 && !can(actor.principal, pool.path, 'control')) {
      throw new AppError('FORBIDDEN', `only an operator or an admin above this pool may change ${controlled.join(', ')}`);
    }
    if (pool.status === 'closed') throw new AppError('INVALID_TRANSITION', 'a closed pool cannot change');
    if (input.maxLeaseSeconds !== undefined && pool.parentId !== null) throw new AppError('NOT_A_ROOT', 'maxLeaseSeconds is a setting of the root');
    if (input.exclusiveMembership !== undefined && pool.parentId !== null) throw new AppError('NOT_A_ROOT', 'exclusiveMembership is a setting of the root');
    const { validUntil, ...rest } = input;
    const updated = await updatePoolRow(tx, pool.id, {
      ...rest,
      ...(validUntil !== undefined ? { validUntil: validUntil === null ? null : new Date(validUntil) } : {}),
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'pool.updated', ...poolAudit(pool), before: pool, after: updated });
    if (input.restricted === true && !pool.restricted) await revokeBeyondLimit(tx, actor, updated, now, 'the limit dropped below use: the pool became restricted');
    return updated;
  });
}

export async function changePoolStatus(deps: Deps, actor: Actor, id: string, action: PoolAction): Promise<PoolRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, id, 'control', { lock: true });
    const next = nextPoolStatus(pool.status, action);
    if (!next) throw new AppError('INVALID_TRANSITION', `cannot ${action} a pool that is ${pool.status}`, { currentStatus: pool.status });
    if (action === 'activate') {
      const missing = await missingInitialization(tx, pool);
      if (missing.length > 0) {
        throw new AppError('INVALID_TRANSITION', `the manager has yet to complete: ${missing.join(', ')}`, { currentStatus: pool.status, missing });
      }
    }
    const updated = await updatePoolRow(tx, pool.id, { status: next, updatedAt: now });
    await insertAuditEvent(tx, actor, now, {
      action: `pool.${action}`,
      ...poolAudit(pool),
      before: { status: pool.status },
      after: { status: next },
    });
    return updated;
  });
}

/**
 * What the manager still owes before a pool that came from an application may open [000]:
 * billing address, accepted terms, payment method. Pools an admin created directly owe nothing.
 */
async function missingInitialization(tx: Executor, pool: PoolRow): Promise<string[]> {
  if (!(await findApplicationOfPool(tx, pool.id))) return [];
  const steps = await findPoolInitialization(tx, pool.id);
  return [
    ...(pool.billingAddress ? [] : ['billingAddress']),
    ...(steps?.termsVersion ? [] : ['terms']),
    ...(steps?.paymentReference ? [] : ['paymentMethod']),
  ];
}

/** The manager's initialization steps; a pool not yet approved or already closed takes none. */
async function recordStep(deps: Deps, actor: Actor, poolId: string, action: string, step: (at: Date) => Parameters<typeof recordInitializationStep>[2]) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
    if (pool.status === 'applied' || pool.status === 'closed') {
      throw new AppError('INVALID_TRANSITION', `a pool that is ${pool.status} takes no initialization step`, { currentStatus: pool.status });
    }
    const recorded = await recordInitializationStep(tx, pool.id, step(now));
    await insertAuditEvent(tx, actor, now, { action, ...poolAudit(pool), after: step(now) });
    return recorded;
  });
}

export const acceptTerms = (deps: Deps, actor: Actor, poolId: string, version: string) =>
  recordStep(deps, actor, poolId, 'pool.terms_accepted', (at) => ({ termsVersion: version, termsAcceptedBy: actor.principal.accountId, termsAcceptedAt: at }));

export const setPaymentMethod = (deps: Deps, actor: Actor, poolId: string, reference: string) =>
  recordStep(deps, actor, poolId, 'pool.payment_method_set', (at) => ({ paymentReference: reference, paymentSetBy: actor.principal.accountId, paymentSetAt: at }));

/** A page of pools (limit + 1 rows, for toPage); with tree=true, what a tree view needs of each (`treeFactsOf`). */
export async function listPools(deps: Deps, actor: Actor, query: ListPoolsQuery): Promise<{ rows: PoolRow[]; tree?: Map<string, z.infer<typeof PoolTreeFacts>> }> {
  const within = reachOf(actor);
  if (within && within.length === 0) return { rows: [] };
  const { top, tree, cursor, ...filters } = query;
  const rows = await findPools(deps.db, {
    ...filters,
    within,
    ...(top === 'true' ? (within ? { topOf: within } : { roots: true }) : {}),
    after: cursor,
    limit: query.limit + 1,
  });
  if (tree !== 'true') return { rows };
  return { rows, tree: await treeFactsOf(deps.db, actor.principal, rows.slice(0, query.limit), deps.clock.now()) };
}

/**
 * A vendor root and its first operator in one transaction (`licensepool create-root`): the
 * operator is the account with the e-mail, created here when there is none — with the password
 * given, or a generated one answered once. Nothing is written when any part fails.
 */
export async function createRoot(deps: Deps, actor: Actor, input: CreateRootBody) {
  if (!actor.principal.superuser) throw new AppError('FORBIDDEN', 'only a superuser creates root pools');
  const { email } = input.operator;
  // Hashing takes a while: done before the transaction, and only for an account to create.
  const generated = input.operator.password === undefined ? newPassword() : null;
  const passwordHash = (await findAccountByEmail(deps.db, email)) ? null : await hashPassword(input.operator.password ?? generated!);
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await insertRootPool(tx, actor, newPoolFields(newId('pool'), { ...input, validUntil: null }, now), now);
    let account = await findAccountByEmail(tx, email);
    let created = false;
    if (!account) {
      if (!passwordHash) throw new AppError('ACCOUNT_NOT_FOUND', `no account has the e-mail ${email}`);
      account = await addAccount(tx, actor, now, { email, name: input.operator.name ?? email.split('@')[0]!, passwordHash });
      // Signed up between the look-up and now: theirs stands, with their password.
      account ??= await findAccountByEmail(tx, email);
      if (!account) throw new AppError('ACCOUNT_NOT_FOUND', `no account has the e-mail ${email}`);
      created = account.passwordHash === passwordHash;
    }
    const binding = await insertRoleBinding(tx, { id: newId('role'), accountId: account.id, poolId: pool.id, role: 'operator', createdAt: now });
    await insertAuditEvent(tx, actor, now, { action: 'role.granted', ...poolAudit(pool), entityType: 'role', entityId: binding.id, after: binding });
    return { pool, operator: { accountId: account.id, email: account.email, created, password: created ? generated : null } };
  });
}

/**
 * Gives an account a role at a pool. Granting a role the account already has is a no-op; a
 * pool has one manager, so naming a new manager replaces the old one.
 */
export async function grantRole(deps: Deps, actor: Actor, poolId: string, input: GrantRoleBody) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
    if (!canGrant(actor.principal, pool.path, input.role)) {
      throw new AppError('FORBIDDEN', `you may not grant the role ${input.role} at this pool`);
    }
    const account = await findAccountByEmail(tx, input.email);
    if (!account) throw new AppError('ACCOUNT_NOT_FOUND', `no account has the e-mail ${input.email}`);
    const existing = await findRoleBinding(tx, pool.id, account.id, input.role);
    if (existing) return { binding: existing, account };
    if (input.role === 'manager') {
      const previous = await findManagerBinding(tx, pool.id);
      if (previous) {
        await deleteRoleBinding(tx, previous.id);
        await insertAuditEvent(tx, actor, now, { action: 'role.revoked', ...poolAudit(pool), entityType: 'role', entityId: previous.id, before: previous });
      }
    }
    const binding = await insertRoleBinding(tx, { id: newId('role'), accountId: account.id, poolId: pool.id, role: input.role, createdAt: now });
    await insertAuditEvent(tx, actor, now, { action: 'role.granted', ...poolAudit(pool), entityType: 'role', entityId: binding.id, after: binding });
    return { binding, account };
  });
}

export async function listRoles(deps: Deps, actor: Actor, poolId: string) {
  const pool = await poolFor(deps.db, actor, poolId, 'read');
  return findRolesOfPool(deps.db, pool.id);
}

export const addDeputy = (deps: Deps, actor: Actor, poolId: string, email: string) => grantRole(deps, actor, poolId, { email, role: 'deputy' });

export async function removeDeputy(deps: Deps, actor: Actor, poolId: string, accountId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
    const binding = isIdOf('account', accountId) ? await findRoleBinding(tx, pool.id, accountId, 'deputy') : undefined;
    if (!binding) throw notFound('deputy');
    await deleteRoleBinding(tx, binding.id);
    await insertAuditEvent(tx, actor, now, { action: 'role.revoked', ...poolAudit(pool), entityType: 'role', entityId: binding.id, before: binding });
  });
}

export async function revokeRole(deps: Deps, actor: Actor, poolId: string, bindingId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
    const binding = await findRoleBindingById(tx, bindingId);
    if (!binding || binding.poolId !== pool.id) throw notFound('role');
    if (!canGrant(actor.principal, pool.path, binding.role)) {
      throw new AppError('FORBIDDEN', `you may not revoke the role ${binding.role} at this pool`);
    }
    await deleteRoleBinding(tx, binding.id);
    await insertAuditEvent(tx, actor, now, { action: 'role.revoked', ...poolAudit(pool), entityType: 'role', entityId: binding.id, before: binding });
  });
}
