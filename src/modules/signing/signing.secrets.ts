import { createPrivateKey } from 'node:crypto';
import type { Deps } from '../../lib/context.js';
import { SecretKeyError, sealedKeyId } from '../../lib/secret-keys.js';
import { findSealingKeyIds, lockPrivateKeys, storeEncryptedPrivateKey } from './signing.repo.js';

/**
 * The private signing keys at rest: sealed under the server's secret key (LICENSEPOOL_SECRET_KEY,
 * or the embedded database's secret.key). The migration that added the sealed column (0017)
 * cannot know the secret key, so rows written in clear text before it are sealed here when the
 * server starts, and by `secret-key rotate`.
 */

type SecretDeps = Pick<Deps, 'db' | 'secretKeys'>;

/** The PKCS#8 DER of a clear-text PEM row. */
const derOf = (pem: string) => createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });

/**
 * Seals every private key still stored in clear text, in one transaction (rows locked, so
 * replicas starting together seal each row once); returns how many it sealed.
 */
export async function sealClearTextSigningKeys(deps: SecretDeps): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const rows = await lockPrivateKeys(tx, 'clear text');
    for (const row of rows) await storeEncryptedPrivateKey(tx, row.kid, deps.secretKeys.seal(derOf(row.privateKey!), row.kid));
    return rows.length;
  });
}

export interface UnreadableKey {
  kid: string;
  rootId: string;
  status: string;
  /** The secret key it is sealed under, which these keys are not. */
  secretKeyId: string;
}

export interface ReencryptResult {
  /** The secret key everything readable is now sealed under. */
  secretKeyId: string;
  /** Sealed under the previous secret key before, under the current one now. */
  reencrypted: number;
  /** Stored in clear text before, sealed now. */
  sealed: number;
  /** Already under the current secret key. */
  unchanged: number;
  /** Sealed under a secret key the server was not given: left as they are. */
  unreadable: UnreadableKey[];
}

/**
 * `licensepool secret-key rotate`: re-encrypts every private signing key (retired ones too) under
 * the current secret key (`to`, LICENSEPOOL_SECRET_KEY), opening each with whichever key it was
 * sealed under (`from`, LICENSEPOOL_SECRET_KEY_PREVIOUS, or the current key itself), in one
 * transaction: either every readable key moves or none does. A key sealed under a secret key
 * the server was not given cannot move; it is reported and left as it is.
 */
export async function reencryptSigningKeys(deps: SecretDeps): Promise<ReencryptResult> {
  const keys = deps.secretKeys;
  return deps.db.transaction(async (tx) => {
    const result: ReencryptResult = { secretKeyId: keys.currentId, reencrypted: 0, sealed: 0, unchanged: 0, unreadable: [] };
    for (const row of await lockPrivateKeys(tx, 'all')) {
      if (row.privateKey !== null) {
        await storeEncryptedPrivateKey(tx, row.kid, keys.seal(derOf(row.privateKey), row.kid));
        result.sealed++;
        continue;
      }
      const sealedUnder = sealedKeyId(row.encryptedPrivateKey!)!;
      if (sealedUnder === keys.currentId) {
        result.unchanged++;
        continue;
      }
      if (!keys.holds(sealedUnder)) {
        result.unreadable.push({ kid: row.kid, rootId: row.rootId, status: row.status, secretKeyId: sealedUnder });
        continue;
      }
      // Opening checks the tag: a value altered in the database fails here, before anything is written.
      let der: Buffer;
      try {
        der = keys.open(row.encryptedPrivateKey!, row.kid);
      } catch (err) {
        if (!(err instanceof SecretKeyError)) throw err;
        throw new SecretKeyError(`nothing was re-encrypted: ${err.message}`);
      }
      await storeEncryptedPrivateKey(tx, row.kid, keys.seal(der, row.kid));
      result.reencrypted++;
    }
    return result;
  });
}

/**
 * Active and verifying keys the server cannot open with its secret keys (read without opening
 * any): a wrong LICENSEPOOL_SECRET_KEY, or a lost secret.key. Start-up reports them; signing for
 * their roots answers SIGNING_KEY_UNAVAILABLE until the right key is set or the root's key is
 * rotated.
 */
export async function unreadableSigningKeys(deps: SecretDeps): Promise<UnreadableKey[]> {
  const rows = await findSealingKeyIds(deps.db);
  return rows
    .filter((r) => r.status !== 'retired' && r.secretKeyId !== null && !deps.secretKeys.holds(r.secretKeyId))
    .map((r) => ({ kid: r.kid, rootId: r.rootId, status: r.status, secretKeyId: r.secretKeyId! }));
}
