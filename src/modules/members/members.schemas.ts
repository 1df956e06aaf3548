import { z } from 'zod';
import { DEVICE_STATUSES, MEMBER_STATUSES } from '../../db/schema.js';
import { Email, IdParam, PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { MemberView } from './members.repo.js';

const DeviceInput = z
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
  .refine((b) => (b.email === undefined) !== (b.device === undefined), { message: 'give either email or device, not both' });
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
});

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
