import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';

/** OWASP's argon2id minimum (19 MiB, 2 passes): ~40 ms a hash here, slow enough for guessing. */
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => argon2.hash(password, ARGON2_OPTIONS);
export const verifyPassword = (hash: string, password: string) => argon2.verify(hash, password);

/**
 * A bearer secret: a kind prefix (`lps_` session, `lpt_` API token) and 32 random bytes. Secrets
 * are high-entropy, so a plain SHA-256 is enough to store them: no one brute-forces 256 bits.
 */
export function newSecret(prefix: 'lps' | 'lpt'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The CSRF token of a session, derived from its secret so nothing more needs storing. */
export const csrfTokenFor = (sessionSecret: string) =>
  createHmac('sha256', sessionSecret).update('licensepool csrf').digest('base64url');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A readable random password for the first superuser when none is configured. */
export const newPassword = () => randomBytes(18).toString('base64url');
