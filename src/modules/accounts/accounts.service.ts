import type { Executor } from '../../db/client.js';
import { SYSTEM_ACTOR, type Actor, type Deps } from '../../lib/context.js';
import { hashPassword, newPassword } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { countAccounts, insertAccount, type AccountRow } from './accounts.repo.js';
import type { CreateAccountBody } from './accounts.schemas.js';

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
