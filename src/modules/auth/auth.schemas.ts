import { z } from 'zod';
import { Email, IdParam, Name, Timestamp, TimestampInput } from '../../http/schemas.js';
import { ROLES } from '../../db/schema.js';
import { iso } from '../../lib/time.js';
import { Account } from '../accounts/accounts.schemas.js';
import type { TokenRow } from './auth.repo.js';

export const LoginBody = z.object({ email: Email, password: z.string().min(1).max(256) }).strict().meta({ examples: [{ email: 'operator@bas-ip.example', password: 'correct horse battery staple' }] });
export type LoginBody = z.infer<typeof LoginBody>;

export const LoginResponse = z.object({
  token: z.string().describe('Bearer token for programs; the same session is also set as an HTTP-only cookie'),
  csrfToken: z.string().describe('Send as `X-CSRF-Token` on unsafe requests authenticated by the cookie'),
  expiresAt: Timestamp,
  account: Account,
}).meta({ id: 'LoginResponse' });

export const CreateTokenBody = z
  .object({
    name: Name,
    poolId: IdParam.optional().describe('Limit the token to this pool and its subtree'),
    role: z.enum(ROLES).optional().describe('With poolId: the role the token acts with there'),
    expiresAt: TimestampInput.optional(),
  })
  .strict()
  .refine((b) => (b.poolId === undefined) === (b.role === undefined), {
    message: 'poolId and role go together',
    path: ['role'],
  })
  .meta({ examples: [{ name: 'ERP integration', poolId: 'pool_01jeq3v6f0e8ns3m2bq9w8xk4t', role: 'operator', expiresAt: '2027-01-01T00:00:00Z' }] });
export type CreateTokenBody = z.infer<typeof CreateTokenBody>;

export const ApiToken = z.object({
  id: z.string(),
  name: z.string().nullable(),
  poolId: z.string().nullable(),
  role: z.enum(ROLES).nullable(),
  expiresAt: Timestamp.nullable(),
  createdAt: Timestamp,
}).meta({ id: 'ApiToken' });
export const CreatedApiToken = ApiToken.extend({ token: z.string().describe('Shown once; store it now') }).meta({ id: 'CreatedApiToken' });

export function presentToken(t: TokenRow): z.infer<typeof ApiToken> {
  return { id: t.id, name: t.name, poolId: t.poolId, role: t.role, expiresAt: iso(t.expiresAt), createdAt: iso(t.createdAt)! };
}
