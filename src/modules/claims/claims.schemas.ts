import { z } from 'zod';
import { CLAIM_KINDS, CLAIM_STATUSES, REQUESTED_CLAIM_KINDS } from '../../db/schema.js';
import { IdParam, PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import { CatalogKey } from '../catalog/catalog.schemas.js';
import type { ClaimRow } from './claims.repo.js';

/** The bound of the schema; each root sets its own, lower one (`maxLeaseSeconds`, default one day). */
const MAX_LEASE_SECONDS = 30 * 86_400;

export const CreateClaimBody = z
  .object({
    memberId: IdParam,
    meter: CatalogKey,
    kind: z.enum(REQUESTED_CLAIM_KINDS).default('lease').describe('lease: floating, renewed by heartbeats; borrow: checked out for offline use; assignment: until released'),
    quantity: z.number().int().min(1).max(1_000_000).default(1),
    ttlSeconds: z.number().int().min(10).max(MAX_LEASE_SECONDS).default(900).describe("Leases: how long until a heartbeat is due; at most the root's maxLeaseSeconds (default 86400)"),
    borrowDays: z.number().int().min(1).max(3650).optional().describe('Borrows: for how many days (at most the pool\'s maxBorrowDays)'),
    fingerprint: z.string().trim().min(1).max(200).optional().describe('The client; the same member, meter and fingerprint get their live lease back'),
    queue: z
      .boolean()
      .optional()
      .describe("Leases: when refused for limits alone and the member's pool has its queue on, wait in line: 202 with a ticket instead of 409 (default false)"),
  })
  .strict()
  .refine((b) => (b.kind === 'borrow') === (b.borrowDays !== undefined), { message: 'borrowDays goes with kind borrow, and only with it', path: ['borrowDays'] })
  .refine((b) => !b.queue || b.kind === 'lease', { message: 'only a lease waits in a queue', path: ['queue'] })
  .meta({ examples: [{ memberId: 'mem_01jeq3x9t2b4c6d8e0f2g4h6jk', meter: 'mobile_apps', kind: 'lease', quantity: 1, ttlSeconds: 900, fingerprint: 'iphone-15-anna', queue: true }] });
export type CreateClaimBody = z.infer<typeof CreateClaimBody>;

export const ListClaimsQuery = z
  .object({
    poolId: IdParam.optional(),
    memberId: IdParam.optional(),
    live: z.enum(['true', 'false']).optional().describe('Only claims live now'),
    ...PageQuery,
  })
  .strict();
export type ListClaimsQuery = z.infer<typeof ListClaimsQuery>;

export const Claim = z.object({
  id: z.string(),
  rootId: z.string(),
  poolId: z.string(),
  memberId: z.string(),
  meter: z.string(),
  quantity: z.number().int(),
  kind: z.enum(CLAIM_KINDS),
  fingerprint: z.string().nullable(),
  ttlSeconds: z.number().int().nullable().describe('Leases: what each heartbeat extends by'),
  status: z.enum(CLAIM_STATUSES).describe('As of now: a live claim past its end shows `expired`'),
  expiresAt: Timestamp.nullable(),
  createdAt: Timestamp,
  endedAt: Timestamp.nullable(),
  endReason: z.string().nullable(),
}).meta({ id: 'Claim' });

/** The answer to a new claim: a borrow also carries its signed license file. */
export const NewClaim = Claim.extend({
  licenseFile: z
    .string()
    .optional()
    .describe('Borrows: a license token (compact JWS, EdDSA, typ license+jwt) for offline use until expiresAt; verify it with the SDK against /.well-known/jwks.json'),
}).meta({ id: 'NewClaim' });

/** A claim as the clock sees it: never live past its end, swept or not. */
export function claimStatusAt(c: ClaimRow, now: Date): ClaimRow['status'] {
  return c.status === 'live' && c.expiresAt !== null && c.expiresAt <= now ? 'expired' : c.status;
}

export function presentClaim(c: ClaimRow, now: Date): z.infer<typeof Claim> {
  return {
    id: c.id,
    rootId: c.rootId,
    poolId: c.poolId,
    memberId: c.memberId,
    meter: c.meterKey,
    quantity: c.quantity,
    kind: c.kind,
    fingerprint: c.fingerprint,
    ttlSeconds: c.ttlSeconds,
    status: claimStatusAt(c, now),
    expiresAt: iso(c.expiresAt),
    createdAt: iso(c.createdAt)!,
    endedAt: iso(c.endedAt),
    endReason: c.endReason,
  };
}
