import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Executor } from '../../db/client.js';
import { SYSTEM_ACTOR, type Actor, type Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { SecretKeyError, type SecretKeys } from '../../lib/secret-keys.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { rootFor } from '../pools/pool-access.js';
import { sharePools } from '../pools/pools.repo.js';
import {
  demoteActiveKey,
  findActiveKey,
  findKeys,
  findPublishedKeys,
  insertActiveKey,
  lockKey,
  retireKey,
  type PublicSigningKeyRow,
  type SigningKeyRow,
} from './signing.repo.js';
import { presentSigningKey } from './signing.schemas.js';

/** The JWS `alg` licenses are signed with (Ed25519, RFC 8037); `@licensepool/client` verifies with the same. */
export const LICENSE_TOKEN_ALG = 'EdDSA';
/** The JWS `typ` of a license token, which the client requires, so no other JWT of the key passes for one. */
export const LICENSE_TOKEN_TYPE = 'license+jwt';

/**
 * A fresh Ed25519 key pair for a root, as the row that stores it: the private half as PKCS#8 DER
 * sealed under the server's secret key, labelled with the kid (so a sealed key copied onto
 * another row does not open).
 */
function newActiveKey(rootId: string, now: Date, secretKeys: SecretKeys) {
  const kid = newId('signingKey');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const { kty, crv, x } = publicKey.export({ format: 'jwk' });
  return {
    kid,
    rootId,
    status: 'active' as const,
    publicJwk: { kty: kty!, crv: crv!, x: x!, kid, alg: LICENSE_TOKEN_ALG, use: 'sig' },
    encryptedPrivateKey: secretKeys.seal(privateKey.export({ type: 'pkcs8', format: 'der' }), kid),
    createdAt: now,
  };
}

/** What the audit trail records of a key: never its private half. */
const audited = (k: PublicSigningKeyRow) => presentSigningKey(k);

function withoutPrivateKey(k: SigningKeyRow): PublicSigningKeyRow {
  const { privateKey: _clear, encryptedPrivateKey: _sealed, ...rest } = k;
  return rest;
}

/** Signing keys live on a root and only its operators manage them. */
/** The public keys of every root that still verify licenses: the JWKS. */
export async function publishedKeys(deps: Deps) {
  return findPublishedKeys(deps.db);
}

export async function listSigningKeys(deps: Deps, actor: Actor, rootId: string) {
  const root = await rootFor(deps.db, actor, rootId, 'signing keys');
  return findKeys(deps.db, root.id);
}

/**
 * Starts signing with a new key; the previous active key becomes `verifying`, so licenses it
 * signed keep verifying until it is retired.
 */
export async function rotateSigningKey(deps: Deps, actor: Actor, rootId: string) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    // The root's row lock serializes rotations of one root.
    const root = await rootFor(tx, actor, rootId, 'signing keys', { lock: true });
    // signLicense creates a first key without the root's lock. If one appears after the UPDATE's
    // snapshot, the insert waits for it, finds the slot taken and inserts nothing; the second
    // round demotes that key too.
    const demoted: PublicSigningKeyRow[] = [];
    for (let round = 0; round < 3; round++) {
      const previous = await demoteActiveKey(tx, root.id);
      if (previous) demoted.push(previous);
      const key = await insertActiveKey(tx, newActiveKey(root.id, now, deps.secretKeys));
      if (!key) continue;
      await insertAuditEvent(tx, actor, now, {
        action: 'signing_key.rotated',
        entityType: 'signing_key',
        entityId: key.kid,
        rootId: root.id,
        poolId: root.id,
        before: demoted.length > 0 ? demoted.map(audited) : null,
        after: audited(key),
      });
      return withoutPrivateKey(key);
    }
    throw new Error(`could not rotate the signing key of ${root.id}: another active key kept appearing`);
  });
}

/**
 * Stops publishing a `verifying` key: licenses it signed stop verifying. The active key cannot
 * be retired (rotate first), so a root never lacks a key to sign with.
 */
export async function retireSigningKey(deps: Deps, actor: Actor, rootId: string, kid: string) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'signing keys', { lock: true });
    const key = isIdOf('signingKey', kid) ? await lockKey(tx, root.id, kid) : undefined;
    if (!key) throw notFound('signing key');
    if (key.status !== 'verifying') {
      const detail = key.status === 'active' ? 'the active key signs new licenses: rotate first, then retire it' : 'the key is already retired';
      throw new AppError('INVALID_TRANSITION', detail, { currentStatus: key.status });
    }
    const retired = await retireKey(tx, key.kid, now);
    await insertAuditEvent(tx, actor, now, {
      action: 'signing_key.retired',
      entityType: 'signing_key',
      entityId: key.kid,
      rootId: root.id,
      poolId: root.id,
      before: audited(key),
      after: audited(retired),
    });
    return retired;
  });
}

/**
 * The root's active key, created on first use. Concurrent first uses all insert with ON CONFLICT
 * DO NOTHING on the one-active-key-per-root index: one insert wins, the others wait for it to
 * commit and then read it.
 */
async function activeKeyFor(db: Executor, rootId: string, now: Date, secretKeys: SecretKeys): Promise<SigningKeyRow> {
  const existing = await findActiveKey(db, rootId);
  if (existing) return existing;
  return db.transaction(async (tx) => {
    // Share-locked before inserting: a rotation holds the root FOR UPDATE and then inserts its
    // key, so taking the root first (as the rotation does) keeps the two from deadlocking on
    // the insert's foreign-key check against the root.
    const [root] = await sharePools(tx, [rootId]);
    if (!root) throw notFound('pool');
    if (root.parentId !== null) throw new AppError('NOT_A_ROOT', `licenses are signed by the root pool ${root.rootId}`, { rootId: root.rootId });
    const inserted = await insertActiveKey(tx, newActiveKey(rootId, now, secretKeys));
    if (inserted) {
      await insertAuditEvent(tx, SYSTEM_ACTOR, now, {
        action: 'signing_key.created',
        entityType: 'signing_key',
        entityId: inserted.kid,
        rootId,
        poolId: rootId,
        after: audited(inserted),
      });
      return inserted;
    }
    const winner = await findActiveKey(tx, rootId);
    // Only a snapshot older than the winner's commit (REPEATABLE READ) can miss it.
    if (!winner) throw new Error(`the active signing key of ${rootId} is not visible; call signLicense outside REPEATABLE READ transactions`);
    return winner;
  });
}

/** What signing needs: the database (or a transaction), the clock for `iat`, the secret keys, a log. */
export type SigningDeps = Pick<Deps, 'db' | 'clock' | 'log' | 'secretKeys'>;

export interface SignLicenseOptions {
  /** `exp`: when the token stops verifying offline. Required: a token that never expires cannot be taken back. */
  expiresAt: Date;
}

/**
 * Opened private keys, per set of secret keys and then by kid: a kid's key never changes, and
 * opening and parsing costs more than signing. Per set of secret keys, so a server given another
 * secret key opens again (and fails, if it cannot).
 */
const privateKeys = new WeakMap<SecretKeys, Map<string, KeyObject>>();

function privateKeyOf(deps: SigningDeps, key: SigningKeyRow): KeyObject {
  let opened = privateKeys.get(deps.secretKeys);
  if (!opened) privateKeys.set(deps.secretKeys, (opened = new Map()));
  let parsed = opened.get(key.kid);
  if (parsed) return parsed;
  try {
    parsed = key.encryptedPrivateKey
      ? createPrivateKey({ key: deps.secretKeys.open(key.encryptedPrivateKey, key.kid), format: 'der', type: 'pkcs8' })
      : // Written in clear text by a version before 0017 still running beside this one (a rolling
        // upgrade); the next start seals it.
        createPrivateKey(key.privateKey!);
  } catch (err) {
    if (!(err instanceof SecretKeyError)) throw err;
    // The operator's problem, not the caller's: the log says which key is needed, the answer that there is one.
    deps.log.error({ kid: key.kid, rootId: key.rootId }, `cannot sign: ${err.message}`);
    throw new AppError('SIGNING_KEY_UNAVAILABLE', "the server cannot read this root's signing key; its operator must check LICENSEPOOL_SECRET_KEY", { rootId: key.rootId });
  }
  opened.set(key.kid, parsed);
  return parsed;
}

const base64url = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

/**
 * Signs license claims as compact JWS (EdDSA, header `kid` and `typ: license+jwt`) with the
 * root's active key, creating the key on first use: one token per claims object, in order. Sets
 * `root`, `iat` and `exp` over any claims of those names. Safe on the database or inside a
 * transaction (READ COMMITTED); it holds no lock beyond the first key's insert, so callers may
 * sign after their own transaction commits.
 *
 * The compact serialization (RFC 7515 §7.1) is written here over node:crypto's one-shot Ed25519
 * `sign` rather than with jose's SignJWT: jose 6 signs through WebCrypto's asynchronous
 * `subtle.sign`, about 130 µs a token on this machine against 45 µs, and a sync of a pool with
 * 1,000 devices signs 1,001 tokens. Verification (SDK and tests) stays with jose, which proves
 * the tokens are standard.
 */
export async function signLicenses(deps: SigningDeps, rootId: string, claims: readonly Record<string, unknown>[], options: SignLicenseOptions): Promise<string[]> {
  const now = deps.clock.now();
  if (options.expiresAt.getTime() <= now.getTime()) throw new Error(`a license token must expire after it is issued (${options.expiresAt.toISOString()})`);
  const key = await activeKeyFor(deps.db, rootId, now, deps.secretKeys);
  const privateKey = privateKeyOf(deps, key);
  const header = base64url({ alg: LICENSE_TOKEN_ALG, kid: key.kid, typ: LICENSE_TOKEN_TYPE });
  const standard = { root: rootId, iat: Math.floor(now.getTime() / 1000), exp: Math.floor(options.expiresAt.getTime() / 1000) };
  return claims.map((c) => {
    const input = `${header}.${base64url({ ...c, ...standard })}`;
    return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`;
  });
}

/** One token: `signLicenses` of one claims object. */
export async function signLicense(deps: SigningDeps, rootId: string, claims: Record<string, unknown>, options: SignLicenseOptions): Promise<string> {
  const [token] = await signLicenses(deps, rootId, [claims], options);
  return token!;
}
