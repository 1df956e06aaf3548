import { z } from 'zod';
import { DEVICE_STATUSES, MEMBER_STATUSES } from '../../db/schema.js';
import { Email, IdParam, PageQuery, Timestamp } from '../../http/schemas.js';
import type { Entitlements } from '../../domain/entitlements.js';
import { iso } from '../../lib/time.js';
import type { MemberView } from './members.repo.js';

export const DeviceInput = z
  .object({
    serial: z.string().trim().min(1).max(100).describe('Serial number, unique in the vendor\'s device registry'),
    type: z.string().trim().min(1).max(50).describe('Device type, e.g. WiDI'),
  })
  .strict();

/** One object rather than a union, so a mistake is reported at its own field. */
export const AddMemberBody = z
  .object({
    email: Email.optional().describe('A person: the e-mail of an existing account'),
    device: DeviceInput.optional().describe('A device: its serial and type'),
  })
  .strict()
  .refine((b) => (b.email === undefined) !== (b.device === undefined), { message: 'give either email or device, not both' })
  .meta({ examples: [{ device: { serial: 'SN-000123', type: 'AV-07' } }] });
export type AddMemberBody = z.infer<typeof AddMemberBody>;

export const ListMembersQuery = z.object({ status: z.enum(MEMBER_STATUSES).optional(), ...PageQuery }).strict();
export type ListMembersQuery = z.infer<typeof ListMembersQuery>;

export const MemberActionParams = z.object({ id: IdParam, action: z.enum(['verify', 'reject']) }).strict();

export const Member = z.object({
  id: z.string(),
  poolId: z.string(),
  rootId: z.string(),
  status: z.enum(MEMBER_STATUSES),
  account: z.object({ id: z.string(), email: z.string(), name: z.string() }).nullable(),
  device: z.object({ id: z.string(), serial: z.string(), type: z.string(), status: z.enum(DEVICE_STATUSES) }).nullable(),
  decidedAt: Timestamp.nullable(),
  createdAt: Timestamp,
}).meta({ id: 'Member' });

export function presentMember({ member, account, device }: MemberView): z.infer<typeof Member> {
  return {
    id: member.id,
    poolId: member.poolId,
    rootId: member.rootId,
    status: member.status,
    account: account ? { id: account.id, email: account.email, name: account.name } : null,
    device: device ? { id: device.id, serial: device.serial, type: device.type, status: device.status } : null,
    decidedAt: iso(member.decidedAt),
    createdAt: iso(member.createdAt)!,
  };
}

const Count = z.number().int().nullable();
const Until = Timestamp.nullable().describe('When the grant ends; null: no end (or not enabled)');

export const MemberEntitlements = z.object({
  memberId: z.string(),
  poolId: z.string(),
  at: Timestamp.describe('The moment the answer holds for'),
  serving: z.boolean().describe('Claims can be granted now: every pool on the path active and in time, the member verified, its device not blocked, the access rules admit it'),
  reasons: z
    .array(
      z.object({
        code: z.enum(['POOL_NOT_ACTIVE', 'POOL_EXPIRED', 'LICENSE_ACCESS_DENIED', 'MEMBER_NOT_VERIFIED', 'DEVICE_BLOCKED', 'ACCESS_RULE']),
        licenseId: z.string().optional(),
        poolId: z.string().optional(),
        memberId: z.string().optional(),
        status: z.string().optional(),
        validUntil: z.string().optional(),
        deviceStatus: z.string().optional(),
        ruleId: z.string().nullable().optional(),
        detail: z.string().optional(),
      }),
    )
    .describe('Why nothing is served now (empty while serving): the codes and fields of claim refusals'),
  until: Timestamp.nullable().describe('The earliest validUntil on the path: when the member is served nothing more; null: no end'),
  features: z.array(z.object({ key: z.string(), enabled: z.boolean(), until: Until })),
  meters: z.array(
    z.object({
      key: z.string(),
      limit: Count.describe('The effective limit, after every ancestor and every meter drawn on; null: unlimited'),
      used: z.number().int().describe("Units the member's live claims take (a claim of a meter drawing on this one counts too)"),
      remaining: Count.describe('Units the member can still take now, after the use of everyone sharing its pools; null: unlimited'),
      until: Until,
    }),
  ),
}).meta({ id: 'MemberEntitlements' });

export function presentEntitlements(view: MemberView, at: Date, e: Entitlements): z.infer<typeof MemberEntitlements> {
  return {
    memberId: view.member.id,
    poolId: view.member.poolId,
    at: at.toISOString(),
    serving: e.serving,
    reasons: e.reasons,
    until: iso(e.until),
    features: e.features.map((f) => ({ ...f, until: iso(f.until) })),
    meters: e.meters.map((m) => ({ ...m, until: iso(m.until) })),
  };
}
