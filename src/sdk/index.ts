/** The licensepool client SDK (`import … from 'licensepool/client'`). */
export { createClient } from './client.js';
export type { Borrowed, Client, ClientOptions, Queued, WaitOptions } from './client.js';
export { ClaimRefusedError, LicensepoolError, TicketEndedError } from './errors.js';
export type { LicensepoolErrorCode, Problem } from './errors.js';
export { Lease } from './lease.js';
export type { ErrorReporter, LeaseEnd, LeaseOptions } from './lease.js';
export type { BorrowRequest, CheckoutRequest, Claim, Jwks, RefusalReason, ServerErrorCode, Ticket } from './types.js';
export { LICENSE_TOKEN_ALG, LICENSE_TOKEN_TYPE, LicenseVerificationError, verifyLicense } from './verify.js';
export type { LicensePayload, LicenseVerificationCode, VerifyLicenseOptions } from './verify.js';
