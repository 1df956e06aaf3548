/** The licensepool client SDK (`import … from '@licensepool/client'`). */
export { createClient } from './client.js';
export type { Borrowed, Client, ClientOptions, Queued, Synced, SyncedLicense, SyncOptions, WaitOptions } from './client.js';
export { ClaimRefusedError, LicensepoolError, RefusedError, SyncRefusedError, TicketEndedError } from './errors.js';
export type { LicensepoolErrorCode, Problem } from './errors.js';
export { Lease } from './lease.js';
export type { ErrorReporter, LeaseEnd, LeaseOptions } from './lease.js';
export type { BorrowRequest, CheckoutRequest, Claim, Jwks, MemberEntitlements, NewClaim, Package, RefusalReason, ServerErrorCode, SyncRequest, SyncResult, Ticket, Timestamp } from './types.js';
export { LICENSE_TOKEN_ALG, LICENSE_TOKEN_TYPE, LicenseVerificationError, verifyLicense } from './verify.js';
export type { LicensePayload, LicenseVerificationCode, SyncLicensePayload, VerifyLicenseOptions } from './verify.js';
