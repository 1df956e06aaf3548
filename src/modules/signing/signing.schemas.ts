import { z } from 'zod';
import { IdParam, Timestamp } from '../../http/schemas.js';
import { SIGNING_KEY_STATUSES } from '../../db/schema.js';
import { iso } from '../../lib/time.js';
import type { PublicSigningKeyRow } from './signing.repo.js';

export const KeyParams = z.object({ id: IdParam, kid: IdParam.describe('The key id (`key_…`), the `kid` of the JWS header') }).strict();

export const PublicJwk = z
  .object({
    kty: z.string().describe('`OKP`'),
    crv: z.string().describe('`Ed25519`'),
    x: z.string().describe('The public key, base64url'),
    kid: z.string(),
    alg: z.string().describe('`EdDSA`'),
    use: z.string().describe('`sig`'),
  })
  .describe('A public key as a JWK (RFC 7517, RFC 8037)').meta({ id: 'PublicJwk' });

export const Jwks = z.object({ keys: z.array(PublicJwk).describe('Active and verifying keys of every root') }).meta({ id: 'Jwks' });

export const SigningKey = z.object({
  kid: z.string(),
  rootId: z.string(),
  status: z.enum(SIGNING_KEY_STATUSES).describe('`active` signs new licenses; `verifying` only verifies licenses it signed; `retired` is unpublished'),
  publicJwk: PublicJwk,
  createdAt: Timestamp,
  retiredAt: Timestamp.nullable(),
}).meta({ id: 'SigningKey' });

export function presentJwk(jwk: Record<string, string>): z.infer<typeof PublicJwk> {
  return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, kid: jwk.kid!, alg: jwk.alg!, use: jwk.use! };
}

/** Public by construction: the row type holds no private key. */
export const presentSigningKey = (k: PublicSigningKeyRow): z.infer<typeof SigningKey> => ({
  kid: k.kid,
  rootId: k.rootId,
  status: k.status,
  publicJwk: presentJwk(k.publicJwk),
  createdAt: iso(k.createdAt)!,
  retiredAt: iso(k.retiredAt),
});
