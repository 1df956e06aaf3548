/**
 * The shapes the SDK sends and receives, derived from the server's own Zod schemas. Every import
 * here is `import type`: it is erased at build time, so the SDK bundle carries no server code.
 */
import type { z } from 'zod';
import type { RefusalReason } from '../domain/claims.js';
import type { ErrorCode } from '../lib/errors.js';
import type { Claim as ClaimSchema, CreateClaimBody, NewClaim as NewClaimSchema } from '../modules/claims/claims.schemas.js';
import type { Ticket as TicketSchema } from '../modules/queue/tickets.schemas.js';
import type { Jwks as JwksSchema } from '../modules/signing/signing.schemas.js';
import type { SyncBody, SyncResult as SyncResultSchema } from '../modules/sync/sync.schemas.js';

/** A claim as the server answers it (`GET /v1/claims/{id}`). */
export type Claim = z.infer<typeof ClaimSchema>;

/** One reason a claim was refused: a stable `code` and what it is about (pool, meter, limit, used…). */
export type { RefusalReason };

/** Every code the server's error table can answer with. */
export type ServerErrorCode = ErrorCode;

type ClaimBody = z.input<typeof CreateClaimBody>;

/** A new claim as `POST /v1/claims` answers it: a borrow carries its `licenseFile`. */
export type NewClaim = z.infer<typeof NewClaimSchema>;

/**
 * What `checkout` asks for: a lease (renewed by heartbeats) or an assignment (held until
 * released). `queue: true` (leases): refused for limits alone on a pool whose queue is on, wait in line.
 */
export type CheckoutRequest = Pick<ClaimBody, 'memberId' | 'meter' | 'quantity' | 'ttlSeconds' | 'fingerprint' | 'queue'> & {
  kind?: 'lease' | 'assignment';
};

/** What `borrow` asks for: units for offline use, up to the pool's `maxBorrowDays`. */
export type BorrowRequest = Pick<ClaimBody, 'memberId' | 'meter' | 'quantity' | 'fingerprint'> & { borrowDays: number };

/** A place in a pool's queue for a meter (U4): `position` is 1 at the head, null once not waiting. */
export type Ticket = z.infer<typeof TicketSchema>;

/** The public keys that verify license files, as `/.well-known/jwks.json` serves them. */
export type Jwks = z.infer<typeof JwksSchema>;

/** What `sync` asks for: a member, or the caller's only membership (in `rootId`, if given). */
export type SyncRequest = z.input<typeof SyncBody>;

/** `POST /v1/sync`'s answer: the member's entitlements, its tokens (its own first) and its packages. */
export type SyncResult = z.infer<typeof SyncResultSchema>;

/** A software package the member is entitled to (C4). */
export type Package = SyncResult['packages'][number];
