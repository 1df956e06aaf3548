import { setTimeout as sleep } from 'node:timers/promises';
import { type Binding, can, holdsAtLeast, type Principal } from '../../domain/access.js';
import type { Actor, Deps } from '../../lib/context.js';
import { csrfTokenFor, newSecret, sha256, verifyPassword } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId, isIdOf } from '../../lib/ids.js';
import type { AccountRow } from '../accounts/accounts.repo.js';
import { findAccountByEmail } from '../accounts/accounts.repo.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { findPoolPath } from '../pools/pools.repo.js';
import { hitWindows, refundWindows, secondsUntilWindowEnds } from '../rate-limits/rate-limits.repo.js';
import { findApiTokensOf, findLiveTokenBySecretHash, insertToken, revokeTokenRow } from './auth.repo.js';
import type { CreateTokenBody, LoginBody } from './auth.schemas.js';

export const SESSION_TTL_MS = 12 * 3_600_000;
export const LOGIN_WINDOW_MS = 15 * 60_000;
/** Login attempts allowed per window from one client address for one account: past them, 429. */
export const LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS = 10;
/** Login attempts allowed per window from one client address, whatever the accounts: past them, 429. */
export const LOGIN_ATTEMPTS_PER_ADDRESS = 100;
/**
 * Attempts on one account from all addresses together before each further one waits
 * `LOGIN_DELAY_STEP_MS` more (up to `LOGIN_DELAY_MAX_MS`) before its password is checked: guessing
 * from many addresses slows down, and the owner still gets in, only later.
 */
export const LOGIN_ATTEMPTS_PER_ACCOUNT_UNDELAYED = 10;
export const LOGIN_DELAY_STEP_MS = 100;
export const LOGIN_DELAY_MAX_MS = 5_000;

/** A password hash to compare against when the e-mail is unknown, so timing tells nothing. */
const DECOY_HASH = '$argon2id$v=19$m=19456,p=1,t=2$v5tdB35bes/1RWsS9hThmA$eTRR7m1MYg4eXc/X197Im4Gd5Xe7HbsNFsq5rAbN6kM';

/** How long the n-th attempt of the window on one account (from any address) waits before its password is checked. */
export const loginDelayMs = (attemptsOnAccount: number) =>
  Math.min(LOGIN_DELAY_MAX_MS, Math.max(0, attemptsOnAccount - LOGIN_ATTEMPTS_PER_ACCOUNT_UNDELAYED) * LOGIN_DELAY_STEP_MS);

/**
 * Throttling (docs/architecture.md "Authentication"): every attempt is counted before the
 * ~40 ms hash, in one atomic statement per set of counters, so N attempts at once are N. A
 * stranger's failures lock out one (account, address) pair and their own address, never the
 * owner elsewhere; on the account as a whole they only add delay. A successful login takes its
 * own attempt back, so logging in often is never throttled, and failures stay counted.
 */
export async function login(deps: Deps, input: LoginBody, address: string) {
  const email = input.email.toLowerCase();
  const now = deps.clock.now();
  const [pair, byAddress] = await hitWindows(deps.db, [`login:pair:${address} ${email}`, `login:address:${address}`], now, LOGIN_WINDOW_MS);
  const exceeded = [
    ...(pair!.count > LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS ? [pair!] : []),
    ...(byAddress!.count > LOGIN_ATTEMPTS_PER_ADDRESS ? [byAddress!] : []),
  ];
  if (exceeded.length > 0) {
    const retryAfter = Math.max(...exceeded.map((hit) => secondsUntilWindowEnds(hit, now, LOGIN_WINDOW_MS)));
    throw new AppError('TOO_MANY_ATTEMPTS', `too many failed logins; try again in ${retryAfter} seconds`, { retryAfter });
  }
  // Counted only for attempts that go on to a password check: refused ones test no password.
  const [byAccount] = await hitWindows(deps.db, [`login:account:${email}`], now, LOGIN_WINDOW_MS);
  const delay = loginDelayMs(byAccount!.count);
  if (delay > 0) await sleep(delay);
  const account = await findAccountByEmail(deps.db, input.email);
  const ok = await verifyPassword(account?.passwordHash ?? DECOY_HASH, input.password).catch(() => false);
  if (!account || !ok) throw new AppError('INVALID_CREDENTIALS');
  await refundWindows(deps.db, [pair!, byAddress!, byAccount!]);
  const secret = newSecret('lps');
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await insertToken(deps.db, {
    id: newId('token'),
    accountId: account.id,
    kind: 'session',
    secretHash: sha256(secret),
    expiresAt,
    createdAt: now,
  });
  return { secret, csrfToken: csrfTokenFor(secret), expiresAt, account };
}

export interface Authenticated {
  actor: Actor;
  account: AccountRow;
  kind: 'session' | 'api';
}

/** Resolves a bearer secret to the acting principal, or null when it is unknown or spent. */
export async function authenticate(deps: Deps, secret: string, requestId: string): Promise<Authenticated | null> {
  const secretHash = sha256(secret);
  const cache = deps.authCache;
  let found = cache?.get(secretHash);
  if (!found) {
    const generation = cache?.generation ?? 0;
    found = await findLiveTokenBySecretHash(deps.db, secretHash);
    if (!found) return null;
    cache?.put(secretHash, found, generation);
  }
  const { token, account, bindings, scopePath } = found;
  if (token.expiresAt && token.expiresAt <= deps.clock.now()) return null;
  let principal: Principal = { accountId: account.id, superuser: account.isSuperuser, bindings };
  if (token.poolId && token.role) {
    // A scoped token acts with its one role, and only while its account still holds as much.
    if (!scopePath || !holdsAtLeast(principal, scopePath, token.role)) return null;
    const scoped: Binding[] = [{ poolId: token.poolId, role: token.role }];
    principal = { accountId: account.id, superuser: false, bindings: scoped };
  }
  return { actor: { principal, tokenId: token.id, requestId }, account, kind: token.kind };
}

export async function createApiToken(deps: Deps, actor: Actor, input: CreateTokenBody) {
  const now = deps.clock.now();
  if (input.poolId && input.role) {
    const path = isIdOf('pool', input.poolId) ? await findPoolPath(deps.db, input.poolId) : null;
    if (!path || !can(actor.principal, path, 'read')) throw notFound('pool');
    if (!holdsAtLeast(actor.principal, path, input.role)) {
      throw new AppError('FORBIDDEN', `you do not hold the role ${input.role} at this pool`);
    }
  }
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= now) {
    throw new AppError('VALIDATION_FAILED', 'expiresAt is in the past', { errors: [{ path: 'body.expiresAt', message: 'must be in the future' }] });
  }
  const secret = newSecret('lpt');
  const token = await deps.db.transaction(async (tx) => {
    const row = await insertToken(tx, {
      id: newId('token'),
      accountId: actor.principal.accountId,
      kind: 'api',
      name: input.name,
      secretHash: sha256(secret),
      poolId: input.poolId ?? null,
      role: input.role ?? null,
      expiresAt,
      createdAt: now,
    });
    const { secretHash: _, ...after } = row;
    await insertAuditEvent(tx, actor, now, { action: 'token.created', entityType: 'token', entityId: row.id, poolId: row.poolId, after });
    return row;
  });
  return { token, secret };
}

export const listApiTokens = (deps: Deps, actor: Actor) => findApiTokensOf(deps.db, actor.principal.accountId);

export async function revokeToken(deps: Deps, actor: Actor, tokenId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const row = await revokeTokenRow(tx, actor.principal.accountId, tokenId, now);
    if (!row) throw notFound('token');
    await insertAuditEvent(tx, actor, now, { action: 'token.revoked', entityType: 'token', entityId: row.id, poolId: row.poolId });
  });
}
