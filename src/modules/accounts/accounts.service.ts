import type { Executor } from '../../db/client.js';
import { SYSTEM_ACTOR, type Actor, type Deps } from '../../lib/context.js';
import { hashPassword, newPassword, verifyPassword } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { countAccounts, findAccountById, findPoolsByIds, insertAccount, revokeOtherSessions, updateAccountRow, type AccountRow } from './accounts.repo.js';
import type { ChangePasswordBody, CreateAccountBody, UpdateAccountBody } from './accounts.schemas.js';

/** Sign-up: anyone may create an account; roles and memberships are given separately. */
export async function createAccount(
  deps: Deps,
  actor: Actor | null,
  input: CreateAccountBody & { superuser?: boolean },
): Promise<AccountRow> {
  const passwordHash = await hashPassword(input.password);
  return deps.db.transaction(async (tx) => {
    const account = await addAccount(tx, actor, deps.clock.now(), { ...input, passwordHash });
    if (!account) throw new AppError('EMAIL_TAKEN', `an account with e-mail ${input.email} exists`);
    return account;
  });
}

/**
 * Adds an account and its audit row in the caller's transaction (the password hashed before
 * it, outside); undefined when the e-mail is taken.
 */
export async function addAccount(
  tx: Executor,
  actor: Actor | null,
  now: Date,
  input: Omit<CreateAccountBody, 'password'> & { passwordHash: string; superuser?: boolean },
): Promise<AccountRow | undefined> {
  const account = await insertAccount(tx, {
    id: newId('account'),
    email: input.email,
    name: input.name,
    passwordHash: input.passwordHash,
    address: input.address ?? null,
    isSuperuser: input.superuser ?? false,
    createdAt: now,
    updatedAt: now,
  });
  if (!account) return undefined;
  const { passwordHash: _, ...after } = account;
  await insertAuditEvent(tx, actor ?? { ...SYSTEM_ACTOR, principal: { ...SYSTEM_ACTOR.principal, accountId: account.id } }, now, {
    action: 'account.created',
    entityType: 'account',
    entityId: account.id,
    after,
  });
  return account;
}

/**
 * First start: with no account at all, create the superuser. Without a configured password
 * one is generated and returned so the caller can print it once.
 */
export async function ensureFirstSuperuser(
  deps: Deps,
  email: string,
  password: string | undefined,
): Promise<{ email: string; password: string | null } | null> {
  if ((await countAccounts(deps.db)) > 0) return null;
  const chosen = password ?? newPassword();
  try {
    await createAccount(deps, SYSTEM_ACTOR, { email, name: 'Administrator', password: chosen, superuser: true });
  } catch (err) {
    // Another replica created it first.
    if (err instanceof AppError && err.code === 'EMAIL_TAKEN') return null;
    throw err;
  }
  return { email, password: password ? null : chosen };
}

const withoutHash = ({ passwordHash: _, ...rest }: AccountRow) => rest;

/** The caller changes their own name or postal address. */
export async function updateMyAccount(deps: Deps, actor: Actor, input: UpdateAccountBody): Promise<AccountRow> {
  return deps.db.transaction(async (tx) => {
    const before = await findAccountById(tx, actor.principal.accountId);
    if (!before) throw new AppError('UNAUTHENTICATED');
    const now = deps.clock.now();
    const after = await updateAccountRow(tx, before.id, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.address !== undefined ? { address: input.address } : {}),
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'account.updated', entityType: 'account', entityId: after.id, before: withoutHash(before), after: withoutHash(after) });
    return after;
  });
}

/**
 * The caller changes their password, naming the current one (a session left open on another
 * screen must not be enough). Their other sessions end: whoever else knew the old password is
 * logged out; this session and API tokens stay.
 */
export async function changeMyPassword(deps: Deps, actor: Actor, input: ChangePasswordBody): Promise<void> {
  const account = await findAccountById(deps.db, actor.principal.accountId);
  if (!account) throw new AppError('UNAUTHENTICATED');
  const ok = await verifyPassword(account.passwordHash, input.currentPassword).catch(() => false);
  if (!ok) {
    throw new AppError('VALIDATION_FAILED', 'the current password is wrong', { errors: [{ path: 'body.currentPassword', message: 'the current password is wrong' }] });
  }
  // Hashing takes a while: before the transaction.
  const passwordHash = await hashPassword(input.newPassword);
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    await updateAccountRow(tx, account.id, { passwordHash, updatedAt: now });
    await revokeOtherSessions(tx, account.id, actor.tokenId, now);
    await insertAuditEvent(tx, actor, now, { action: 'account.password_changed', entityType: 'account', entityId: account.id });
  });
}

/** The roles the caller holds (in force for this request: a scoped API token has its one), with their pools. */
export async function listMyRoles(deps: Deps, actor: Actor) {
  const bindings = actor.principal.bindings;
  const pools = new Map((await findPoolsByIds(deps.db, [...new Set(bindings.map((b) => b.poolId))])).map((p) => [p.id, p]));
  return [...pools.values()].flatMap((pool) => bindings.filter((b) => b.poolId === pool.id).map((b) => ({ role: b.role, pool })));
}
