/**
 * The shapes the SDK sends and receives. They are written out here, not imported from the server,
 * so the published package stands alone (its `.d.ts` names nothing of the server's); the server's
 * type check holds them equal to its Zod schemas (`test/sdk/wire-types.ts`), so they cannot drift.
 */

/** An ISO 8601 UTC timestamp, as the server writes every time. */
export type Timestamp = string;

/** A claim as the server answers it (`GET /v1/claims/{id}`). */
export interface Claim {
  id: string;
  rootId: string;
  poolId: string;
  memberId: string;
  meter: string;
  quantity: number;
  kind: 'lease' | 'borrow' | 'assignment' | 'hold';
  fingerprint: string | null;
  /** Leases: what each heartbeat extends by. */
  ttlSeconds: number | null;
  /** As of now: a live claim past its end shows `expired`. */
  status: 'live' | 'released' | 'expired' | 'revoked';
  expiresAt: Timestamp | null;
  createdAt: Timestamp;
  endedAt: Timestamp | null;
  endReason: string | null;
}

/** A new claim as `POST /v1/claims` answers it: a borrow carries its `licenseFile`. */
export interface NewClaim extends Claim {
  /** Borrows: a license token (compact JWS) for offline use until `expiresAt`. */
  licenseFile?: string | undefined;
}

/** One reason a claim was refused: a stable `code` and what it is about (pool, meter, limit, used…). */
export type RefusalReason =
  | { code: 'POOL_NOT_ACTIVE'; poolId: string; status: string }
  | { code: 'POOL_EXPIRED'; poolId: string; validUntil: string }
  | { code: 'LICENSE_ACCESS_DENIED'; poolId: string; licenseId: string }
  | { code: 'MEMBER_NOT_FOUND'; memberId: string }
  | { code: 'MEMBER_NOT_VERIFIED'; memberId: string; status: string }
  | { code: 'DEVICE_BLOCKED'; memberId: string; deviceStatus: string }
  | { code: 'ACCESS_RULE'; poolId: string; ruleId: string | null; detail: string }
  | { code: 'UNKNOWN_METER'; meter: string }
  | { code: 'BORROW_TOO_LONG'; poolId: string; borrowDays: number; maxBorrowDays: number | null }
  | { code: 'LEASE_TOO_LONG'; poolId: string; ttlSeconds: number; maxLeaseSeconds: number }
  | { code: 'LIMIT_REACHED'; poolId: string; meter: string; limit: number; used: number }
  | { code: 'QUEUE_WAITING'; poolId: string; meter: string; waiting: number };

/** Every code the server's error table can answer with (`src/lib/errors.ts` of the server). */
export type ServerErrorCode =
  | 'MALFORMED_JSON'
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'FORBIDDEN'
  | 'CSRF_TOKEN_INVALID'
  | 'NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'EMAIL_TAKEN'
  | 'CATALOG_KEY_TAKEN'
  | 'INVALID_TRANSITION'
  | 'LICENSE_ENDED'
  | 'KEY_ALREADY_ACTIVATED'
  | 'KEY_NOT_FOUND'
  | 'KEY_INVALID'
  | 'MEMBER_EXISTS'
  | 'MEMBER_IN_OTHER_POOL'
  | 'DEVICE_BLOCKED'
  | 'DEVICE_EXISTS'
  | 'PACKAGE_EXISTS'
  | 'ACCESS_RULE_EXISTS'
  | 'CLAIM_REFUSED'
  | 'SYNC_REFUSED'
  | 'MEMBER_AMBIGUOUS'
  | 'CLAIM_ENDED'
  | 'TICKET_ENDED'
  | 'TICKET_NOT_HELD'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_KEY_IN_USE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'VALIDATION_FAILED'
  | 'DUPLICATE_ROW'
  | 'IMPORT_REJECTED'
  | 'ACCOUNT_NOT_FOUND'
  | 'NOT_A_ROOT'
  | 'WEBHOOK_TARGET_FORBIDDEN'
  | 'WEBHOOK_TARGET_UNRESOLVABLE'
  | 'UNKNOWN_METER'
  | 'UNKNOWN_FEATURE'
  | 'DRAW_CYCLE'
  | 'DRAWN_METER_TOO_LOW'
  | 'LIMIT_EXCEEDS_PARENT'
  | 'FEATURE_NOT_IN_PARENT'
  | 'VALIDITY_OUTSIDE_PARENT'
  | 'INVALID_VALIDITY'
  | 'TOO_MANY_ATTEMPTS'
  | 'DATA_REJECTED'
  | 'CONSTRAINT_VIOLATED'
  | 'SIGNING_KEY_UNAVAILABLE'
  | 'JSON_TOO_DEEP'
  | 'SERVER_CLOSING'
  | 'INTERNAL'
  | 'NOT_READY';

/**
 * What `checkout` asks for: a lease (renewed by heartbeats) or an assignment (held until
 * released). `queue: true` (leases): refused for limits alone on a pool whose queue is on, wait in line.
 */
export interface CheckoutRequest {
  memberId: string;
  meter: string;
  /** Default 1. */
  quantity?: number | undefined;
  /** Leases: how long until a heartbeat is due (default 900 s; at most the root's `maxLeaseSeconds`). */
  ttlSeconds?: number | undefined;
  /** The client; the same member, meter and fingerprint get their live lease back. */
  fingerprint?: string | undefined;
  queue?: boolean | undefined;
  kind?: 'lease' | 'assignment';
}

/** What `borrow` asks for: units for offline use, up to the pool's `maxBorrowDays`. */
export interface BorrowRequest {
  memberId: string;
  meter: string;
  quantity?: number | undefined;
  fingerprint?: string | undefined;
  borrowDays: number;
}

/** A place in a pool's queue for a meter (U4): `position` is 1 at the head, null once not waiting. */
export interface Ticket {
  id: string;
  rootId: string;
  /** The member's pool: its queue for the meter. */
  poolId: string;
  memberId: string;
  meter: string;
  quantity: number;
  /** The lease asked for: what the ticket becomes when claimed. */
  ttlSeconds: number;
  fingerprint: string | null;
  /** waiting → held → claimed (a lease); lapsed when a hold runs out unclaimed; cancelled. */
  status: 'waiting' | 'held' | 'claimed' | 'lapsed' | 'cancelled';
  position: number | null;
  /** Held tickets: claim it before this. */
  heldUntil: Timestamp | null;
  /** The lease the ticket became. */
  claimId: string | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  endedAt: Timestamp | null;
}

/** The public keys that verify license files, as `/.well-known/jwks.json` serves them. */
export interface Jwks {
  keys: { kty: string; crv: string; x: string; kid: string; alg: string; use: string }[];
}

/** What `sync` asks for: a member, or the caller's only membership (in `rootId`, if given). */
export interface SyncRequest {
  memberId?: string | undefined;
  rootId?: string | undefined;
}

/** A member's entitlements: what it may use now, after every pool on its path. */
export interface MemberEntitlements {
  memberId: string;
  poolId: string;
  /** The moment the answer holds for. */
  at: Timestamp;
  /** Claims can be granted now. */
  serving: boolean;
  /** Why nothing is served now (empty while serving), in the codes and fields of claim refusals. */
  reasons: {
    code: 'POOL_NOT_ACTIVE' | 'POOL_EXPIRED' | 'LICENSE_ACCESS_DENIED' | 'MEMBER_NOT_VERIFIED' | 'DEVICE_BLOCKED' | 'ACCESS_RULE';
    licenseId?: string | undefined;
    poolId?: string | undefined;
    memberId?: string | undefined;
    status?: string | undefined;
    validUntil?: string | undefined;
    deviceStatus?: string | undefined;
    ruleId?: string | null | undefined;
    detail?: string | undefined;
  }[];
  /** When the member is served nothing more; null: no end. */
  until: Timestamp | null;
  features: { key: string; enabled: boolean; until: Timestamp | null }[];
  /** `limit` and `remaining`: null is unlimited. */
  meters: { key: string; limit: number | null; used: number; remaining: number | null; until: Timestamp | null }[];
}

/** A software package the member is entitled to (C4). */
export interface Package {
  id: string;
  rootId: string;
  name: string;
  version: string;
  deviceType: string;
  sha256: string;
  size: number;
  url: string;
  feature: string | null;
  meter: string | null;
  createdAt: Timestamp;
}

/** `POST /v1/sync`'s answer: the member's entitlements, its tokens (its own first) and its packages. */
export interface SyncResult {
  memberId: string;
  poolId: string;
  rootId: string;
  issuedAt: Timestamp;
  /** Sync again by then. */
  refreshBy: Timestamp;
  /** When the tokens stop verifying offline. */
  expiresAt: Timestamp;
  /** When the member's grant ends; null: no end. */
  until: Timestamp | null;
  entitlements: MemberEntitlements;
  /** The member's own license first, then one per verified device of its pool. */
  tokens: { subject: 'member' | 'device'; memberId: string; device: { serial: string; type: string } | null; token: string }[];
  packages: Package[];
}
