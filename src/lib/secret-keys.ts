import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The key-encryption keys (KEK) that seal what the database must not hold in clear text: the
 * roots' private signing keys. One current key seals; the previous one, during a rotation, only
 * opens. A sealed value is `v1:<key id>:<nonce>:<ciphertext and tag>` (base64url): AES-256-GCM
 * with a random 96-bit nonce per value and the caller's label (the signing key's kid) as
 * additional authenticated data, so a sealed value copied onto another row does not open.
 */
const FORMAT = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** What went wrong opening a sealed value; the message says what an operator must do. */
export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

interface SecretKey {
  id: string;
  bytes: Buffer;
}

/** A key's public name: not the key, and not enough to learn anything of it (a keyed hash). */
const keyIdOf = (bytes: Buffer) => createHmac('sha256', bytes).update('licensepool secret key id').digest('hex').slice(0, 12);

/**
 * 32 bytes as 64 hex digits or base64 (standard or URL-safe, padded or not); anything else is
 * refused with how to make one.
 */
export function parseSecretKey(text: string, name: string): Buffer {
  const value = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(value)
    ? Buffer.from(value, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(value)
      ? Buffer.from(value, 'base64')
      : undefined;
  if (bytes?.length !== KEY_BYTES) {
    throw new SecretKeyError(`${name} must be 32 random bytes, as base64 (44 characters) or hex (64 digits); make one with: openssl rand -base64 32`);
  }
  return bytes;
}

export class SecretKeys {
  private constructor(
    private readonly current: SecretKey | null,
    private readonly previous: readonly SecretKey[],
    /** Why there is no key (PostgreSQL without LICENSEPOOL_SECRET_KEY); every use throws it. */
    readonly problem: string | null,
  ) {}

  /** `current` seals and opens; `previous` only opens (a rotation in progress). */
  static of(current: Buffer, previous: readonly Buffer[] = []): SecretKeys {
    for (const k of [current, ...previous]) if (k.length !== KEY_BYTES) throw new SecretKeyError(`a secret key is ${KEY_BYTES} bytes, not ${k.length}`);
    return new SecretKeys({ id: keyIdOf(current), bytes: current }, previous.map((bytes) => ({ id: keyIdOf(bytes), bytes })), null);
  }

  /** No key: anything that needs one fails with `problem` (commands that never sign still run). */
  static unavailable(problem: string): SecretKeys {
    return new SecretKeys(null, [], problem);
  }

  /** A fresh random key (benchmarks and throwaway databases). */
  static generate(): SecretKeys {
    return SecretKeys.of(randomBytes(KEY_BYTES));
  }

  /** The id of the key that seals, as written into every value it seals. */
  get currentId(): string {
    return this.sealingKey().id;
  }

  /** Whether a value sealed under `keyId` opens with these keys. */
  holds(keyId: string): boolean {
    return this.current?.id === keyId || this.previous.some((k) => k.id === keyId);
  }

  seal(plaintext: Buffer, label: string): string {
    const key = this.sealingKey();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.bytes, nonce).setAAD(Buffer.from(label));
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return [FORMAT, key.id, nonce.toString('base64url'), sealed.toString('base64url')].join(':');
  }

  /** Opens a value `seal` made with the same label; throws SecretKeyError naming the key it needs. */
  open(value: string, label: string): Buffer {
    if (this.problem) throw new SecretKeyError(this.problem);
    const parts = value.split(':');
    if (parts.length !== 4 || parts[0] !== FORMAT) throw new SecretKeyError(`${label}: not a sealed value of format ${FORMAT}`);
    const [, keyId, nonceText, sealedText] = parts as [string, string, string, string];
    const key = this.current?.id === keyId ? this.current : this.previous.find((k) => k.id === keyId);
    if (!key) {
      const held = [this.current!, ...this.previous].map((k) => k.id).join(', ');
      throw new SecretKeyError(
        `${label} is encrypted under secret key ${keyId}, and this server holds ${held}: set LICENSEPOOL_SECRET_KEY to that key (or LICENSEPOOL_SECRET_KEY_PREVIOUS while rotating)`,
      );
    }
    const nonce = Buffer.from(nonceText, 'base64url');
    const sealed = Buffer.from(sealedText, 'base64url');
    if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES) throw new SecretKeyError(`${label}: the sealed value is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, nonce).setAAD(Buffer.from(label));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SecretKeyError(`${label} does not open under secret key ${keyId}: the stored value was altered or belongs to another row`);
    }
  }

  private sealingKey(): SecretKey {
    if (!this.current) throw new SecretKeyError(this.problem ?? 'no secret key');
    return this.current;
  }
}

/** The id a sealed value names, or null when it is not one. */
export function sealedKeyId(value: string): string | null {
  const parts = value.split(':');
  return parts.length === 4 && parts[0] === FORMAT ? parts[1]! : null;
}

const SECRET_KEY_FILE = 'secret.key';

export interface SecretKeySources {
  /** LICENSEPOOL_SECRET_KEY. */
  secretKey: string | undefined;
  /** LICENSEPOOL_SECRET_KEY_PREVIOUS: still opens, never seals (a rotation in progress). */
  previousSecretKey: string | undefined;
  /** The embedded database's directory, where `secret.key` is kept when the variable is unset; null on PostgreSQL. */
  dataDir: string | null;
}

/**
 * The server's secret keys: LICENSEPOOL_SECRET_KEY when set. Otherwise, on the embedded database,
 * `<dataDir>/secret.key`, created on first start (mode 0600, exclusively: two processes
 * starting together end up with one key); `created` names it then, for the start-up message.
 * On PostgreSQL without the variable there is no key: the result's `problem` says so, and the
 * server refuses to start (a key generated on one replica's disk would not open on the others).
 */
export async function loadSecretKeys(sources: SecretKeySources): Promise<{ keys: SecretKeys; created: string | null }> {
  const previous = sources.previousSecretKey ? [parseSecretKey(sources.previousSecretKey, 'LICENSEPOOL_SECRET_KEY_PREVIOUS')] : [];
  if (sources.secretKey) return { keys: SecretKeys.of(parseSecretKey(sources.secretKey, 'LICENSEPOOL_SECRET_KEY'), previous), created: null };
  if (sources.dataDir === null) {
    return {
      keys: SecretKeys.unavailable(
        'LICENSEPOOL_SECRET_KEY is not set. On PostgreSQL every replica needs the same key to read the signing keys: make one with `openssl rand -base64 32`, keep it in your secret store and set it on every process.',
      ),
      created: null,
    };
  }
  const file = join(sources.dataDir, SECRET_KEY_FILE);
  let created: string | null = null;
  if (!existsSync(file)) {
    // Written whole under another name, then linked into place: link fails if the file exists,
    // so of two processes starting together one key wins, and no one reads half a file.
    await mkdir(sources.dataDir, { recursive: true });
    const draft = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(draft, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx', flush: true });
    try {
      await link(draft, file);
      created = file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(draft);
    }
  }
  const text = await readFile(file, 'utf8');
  return { keys: SecretKeys.of(parseSecretKey(text, file), previous), created };
}
