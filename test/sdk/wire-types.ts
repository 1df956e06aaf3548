/**
 * `@licensepool/client` writes its wire types out by hand, so its published `.d.ts` names nothing
 * of the server. This file holds them equal to the server's own schemas and error table: it has
 * no test to run, `tsc --noEmit` (part of `npm test`) fails here when the two drift apart. A new
 * error code or a changed field goes into packages/client/src/types.ts too.
 */
import type * as Client from '@licensepool/client';
import type { z } from 'zod';
import type { RefusalReason } from '../../src/domain/claims.js';
import type { ErrorCode } from '../../src/lib/errors.js';
import type { Claim, CreateClaimBody, NewClaim } from '../../src/modules/claims/claims.schemas.js';
import type { MemberEntitlements } from '../../src/modules/members/members.schemas.js';
import type { Ticket } from '../../src/modules/queue/tickets.schemas.js';
import type { Jwks } from '../../src/modules/signing/signing.schemas.js';
import type { SyncBody, SyncResult } from '../../src/modules/sync/sync.schemas.js';

/** True only when A and B are the same type (not merely assignable to each other). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Each is assignable to the other: for types the client states more simply than Zod infers them. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type ClaimBody = z.input<typeof CreateClaimBody>;

export const wireTypesMatch: {
  claim: Mutual<Client.Claim, z.infer<typeof Claim>>;
  newClaim: Mutual<Client.NewClaim, z.infer<typeof NewClaim>>;
  refusalReason: Same<Client.RefusalReason, RefusalReason>;
  errorCode: Same<Client.ServerErrorCode, ErrorCode>;
  checkout: Mutual<Omit<Client.CheckoutRequest, 'kind'>, Pick<ClaimBody, 'memberId' | 'meter' | 'quantity' | 'ttlSeconds' | 'fingerprint' | 'queue'>>;
  checkoutKind: Mutual<NonNullable<Client.CheckoutRequest['kind']>, Exclude<NonNullable<ClaimBody['kind']>, 'borrow'>>;
  borrow: Mutual<Omit<Client.BorrowRequest, 'borrowDays'>, Pick<ClaimBody, 'memberId' | 'meter' | 'quantity' | 'fingerprint'>>;
  ticket: Mutual<Client.Ticket, z.infer<typeof Ticket>>;
  jwks: Mutual<Client.Jwks, z.infer<typeof Jwks>>;
  syncRequest: Mutual<Client.SyncRequest, z.input<typeof SyncBody>>;
  syncResult: Mutual<Client.SyncResult, z.infer<typeof SyncResult>>;
  entitlements: Mutual<Client.MemberEntitlements, z.infer<typeof MemberEntitlements>>;
  keys: Same<keyof Client.SyncResult | keyof Client.Ticket | keyof Client.NewClaim, keyof z.infer<typeof SyncResult> | keyof z.infer<typeof Ticket> | keyof z.infer<typeof NewClaim>>;
} = {
  claim: true,
  newClaim: true,
  refusalReason: true,
  errorCode: true,
  checkout: true,
  checkoutKind: true,
  borrow: true,
  ticket: true,
  jwks: true,
  syncRequest: true,
  syncResult: true,
  entitlements: true,
  keys: true,
};
