/**
 * Offline verification of license tokens. Runs in the client's process with nothing but a JWKS
 * it fetched earlier from `/.well-known/jwks.json`: no call to the server per check.
 */
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

/** The JWS `alg` licensepool signs with (Ed25519, RFC 8037). */
export const LICENSE_TOKEN_ALG = 'EdDSA';
/** The JWS `typ` of a license token, so no other JWT signed by the same key passes for one. */
export const LICENSE_TOKEN_TYPE = 'license+jwt';

/** What a license token carries: `root` (the signing root), `iat`, `exp` and the license claims. */
export type LicensePayload = JWTPayload & { root: string; [claim: string]: unknown };

/**
 * What a sync token carries besides `root`, `iat` and `exp`; times are NumericDate seconds, null
 * for no end. `features` lists the enabled ones with their ends; `limits` every licensed meter.
 */
export type SyncLicensePayload = LicensePayload & {
  /** The member's id. */
  sub: string;
  pool: string;
  subject: 'account' | 'device';
  account?: { id: string; email: string };
  device?: { serial: string; type: string };
  features: Record<string, number | null>;
  limits: Record<string, { limit: number | null; until: number | null }>;
  /** When the grant ends (the earliest end on the path, or when the last granted feature and meter end). */
  end: number | null;
  /** Sync again by then. */
  refreshBy: number;
};

export type LicenseVerificationCode =
  /** Not a compact JWS, or not a license token (wrong `typ` or `alg`, bad claims). */
  | 'MALFORMED'
  /** The signature does not match: the token was changed after signing. */
  | 'INVALID_SIGNATURE'
  /** No key in the JWKS has the token's `kid`: the key was retired, or the JWKS is older than the token (fetch it again). */
  | 'UNKNOWN_KEY'
  | 'EXPIRED'
  /** The token was signed by another root than the one expected. */
  | 'WRONG_ROOT';

export class LicenseVerificationError extends Error {
  readonly code: LicenseVerificationCode;
  constructor(code: LicenseVerificationCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LicenseVerificationError';
    this.code = code;
  }
}

export interface VerifyLicenseOptions {
  /** Accept only tokens signed by this root. */
  rootId?: string;
  /** The instant to check `exp` against; default now. */
  currentDate?: Date;
  /** Seconds of clock skew tolerated on `exp`; default 0. */
  clockTolerance?: number;
}

/**
 * Verifies a license token against a JWKS and returns its payload; throws a
 * LicenseVerificationError naming why it is refused (tampered, unknown kid, expired, …).
 */
export async function verifyLicense(token: string, jwks: JSONWebKeySet, options: VerifyLicenseOptions = {}): Promise<LicensePayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: [LICENSE_TOKEN_ALG],
      typ: LICENSE_TOKEN_TYPE,
      requiredClaims: ['exp', 'iat'],
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
      ...(options.clockTolerance !== undefined ? { clockTolerance: options.clockTolerance } : {}),
    }));
  } catch (error) {
    throw asVerificationError(error);
  }
  if (typeof payload.root !== 'string') throw new LicenseVerificationError('MALFORMED', 'the license token names no root');
  if (options.rootId !== undefined && payload.root !== options.rootId) {
    throw new LicenseVerificationError('WRONG_ROOT', `the license token was signed by root ${payload.root}, not ${options.rootId}`);
  }
  return payload as LicensePayload;
}

function asVerificationError(error: unknown): LicenseVerificationError {
  if (error instanceof errors.JWTExpired) return new LicenseVerificationError('EXPIRED', `the license token expired (${error.reason})`, { cause: error });
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new LicenseVerificationError('INVALID_SIGNATURE', 'the license token signature does not verify: it was altered', { cause: error });
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new LicenseVerificationError('UNKNOWN_KEY', "no key in the JWKS matches the license token's kid (retired, or fetch the JWKS again)", { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new LicenseVerificationError('MALFORMED', `not a valid license token: ${detail}`, { cause: error });
}
