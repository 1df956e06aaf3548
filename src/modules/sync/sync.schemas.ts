import { z } from 'zod';
import { IdParam, Timestamp } from '../../http/schemas.js';
import { Package } from '../catalog/catalog.schemas.js';
import { MemberEntitlements } from '../members/members.schemas.js';

export const SyncBody = z
  .object({
    memberId: IdParam.optional().describe("The membership to sync; default the caller's own, when its account has exactly one (in `rootId`, if given)"),
    rootId: IdParam.optional().describe('Without memberId: look for the caller\'s membership in this root only'),
  })
  .strict()
  .meta({ examples: [{ rootId: 'pool_01jeq3v6f0e8ns3m2bq9w8xk4t' }] });
export type SyncBody = z.infer<typeof SyncBody>;

export const SyncToken = z.object({
  subject: z.enum(['member', 'device']).describe('`member`: the license of the syncing member itself; `device`: of a verified device of its pool'),
  memberId: z.string(),
  device: z.object({ serial: z.string(), type: z.string() }).nullable(),
  token: z.string().describe('Compact JWS (EdDSA, `typ: license+jwt`, header `kid`); verify offline against /.well-known/jwks.json'),
}).meta({ id: 'SyncToken' });

export const SyncResult = z.object({
  memberId: z.string(),
  poolId: z.string(),
  rootId: z.string(),
  issuedAt: Timestamp,
  refreshBy: Timestamp.describe('Sync again by then'),
  expiresAt: Timestamp.describe('When the tokens stop verifying offline: the end of the grant, or refresh-by plus the offline grace'),
  until: Timestamp.nullable().describe('When the member\'s grant ends: the earliest end on its path and of what it is granted; null: no end'),
  entitlements: MemberEntitlements,
  tokens: z.array(SyncToken).describe("The member's own license first, then one per verified device of its pool"),
  packages: z.array(Package).describe("The root's packages that the member's features or licensed meters entitle it to"),
}).meta({ id: 'SyncResult' });
export type SyncResult = z.infer<typeof SyncResult>;
