import { z } from 'zod';
import { POOL_STATUSES, ROLES } from '../../db/schema.js';
import { iso } from '../../lib/time.js';
import type { AccountRow } from './accounts.repo.js';
import { Email, Name, PostalAddress, Timestamp } from '../../http/schemas.js';

export const CreateAccountBody = z
  .object({
    email: Email,
    name: Name,
    password: z.string().min(12).max(256).describe('At least 12 characters'),
    address: PostalAddress.optional(),
  })
  .strict()
  .meta({ examples: [{ email: 'anna.muster@example.com', name: 'Anna Muster', password: 'correct horse battery staple', address: { line1: 'Bahnhofstrasse 12', postalCode: '8001', city: 'Zürich', country: 'CH' } }] });
export type CreateAccountBody = z.infer<typeof CreateAccountBody>;

export const Account = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  address: PostalAddress.nullable(),
  superuser: z.boolean(),
  createdAt: Timestamp,
}).meta({ id: 'Account' });

export const UpdateAccountBody = z
  .object({
    name: Name.optional(),
    address: PostalAddress.nullable().optional().describe('The postal address; null removes it'),
  })
  .strict()
  .meta({ examples: [{ name: 'Anna Muster', address: { line1: 'Bahnhofstrasse 12', postalCode: '8001', city: 'Zürich', country: 'CH' } }] });
export type UpdateAccountBody = z.infer<typeof UpdateAccountBody>;

export const ChangePasswordBody = z
  .object({
    currentPassword: z.string().min(1).max(256).describe('The password in use now'),
    newPassword: z.string().min(12).max(256).describe('At least 12 characters'),
  })
  .strict()
  .meta({ examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a new and longer passphrase' }] });
export type ChangePasswordBody = z.infer<typeof ChangePasswordBody>;

export const MyRole = z.object({
  role: z.enum(ROLES),
  pool: z.object({
    id: z.string(),
    rootId: z.string(),
    parentId: z.string().nullable(),
    depth: z.number().int(),
    name: z.string(),
    kind: z.string(),
    status: z.enum(POOL_STATUSES),
  }),
}).describe('A role the caller holds at a pool (and so over its subtree)');

export function presentAccount(a: AccountRow): z.infer<typeof Account> {
  return { id: a.id, email: a.email, name: a.name, address: a.address ?? null, superuser: a.isSuperuser, createdAt: iso(a.createdAt)! };
}
