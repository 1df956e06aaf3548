import { z } from 'zod';
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

export function presentAccount(a: AccountRow): z.infer<typeof Account> {
  return { id: a.id, email: a.email, name: a.name, address: a.address ?? null, superuser: a.isSuperuser, createdAt: iso(a.createdAt)! };
}
