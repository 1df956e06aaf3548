import { z } from 'zod';
import { Email, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { AccessRuleRow } from './access-rules.repo.js';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export const CreateAccessRuleBody = z
  .object({
    effect: z.enum(['include', 'exclude']),
    match: z.enum(['domain', 'email']).describe('domain: the address\'s domain and its subdomains; email: one address'),
    value: z.string().trim().toLowerCase().min(1).max(254).describe('A domain (acme.example) or an e-mail address'),
  })
  .strict()
  .superRefine((b, ctx) => {
    const ok = b.match === 'email' ? Email.safeParse(b.value).success : DOMAIN.test(b.value);
    if (!ok) ctx.addIssue({ code: 'custom', path: ['value'], message: b.match === 'email' ? 'not an e-mail address' : 'not a domain name' });
  })
  .meta({ examples: [{ effect: 'exclude', match: 'domain', value: 'rival.example' }] });
export type CreateAccessRuleBody = z.infer<typeof CreateAccessRuleBody>;

export const AccessRule = z.object({
  id: z.string(),
  poolId: z.string(),
  effect: z.enum(['include', 'exclude']),
  match: z.enum(['domain', 'email']),
  value: z.string(),
  createdAt: Timestamp,
}).meta({ id: 'AccessRule' });

export const presentAccessRule = (r: AccessRuleRow): z.infer<typeof AccessRule> => ({
  id: r.id,
  poolId: r.poolId,
  effect: r.effect,
  match: r.match,
  value: r.value,
  createdAt: iso(r.createdAt)!,
});

export const CheckAccessQuery = z.object({ email: Email }).strict();

export const AccessVerdict = z.object({
  allowed: z.boolean(),
  poolId: z.string().optional().describe('The pool on the path whose rules refuse'),
  ruleId: z.string().nullable().optional().describe('The rule that refuses (null: no include rule matched)'),
  reason: z.string().optional(),
}).meta({ id: 'AccessVerdict' });
