import { z } from 'zod';
import { POOL_STATUSES, ROLES } from '../../db/schema.js';
import { Email, IdParam, Name, PageQuery, PostalAddress, Timestamp, TimestampInput } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { PoolInitializationRow } from './initialization.repo.js';
import type { PoolRow } from './pools.repo.js';
import type { RoleBindingRow } from './roles.repo.js';

const Kind = z.string().trim().min(1).max(50).describe('Free label: distributor, dealer, company, building, apartment…');
const Queue = z
  .object({
    enabled: z.boolean(),
    claimTimeoutSeconds: z.number().int().min(10).max(7 * 86_400).describe('How long a queue hold waits to be claimed'),
  })
  .strict();

export const CreatePoolBody = z
  .object({
    name: Name,
    kind: Kind,
    parentId: IdParam.optional().describe('Absent: a new root (vendor); superusers only'),
    restricted: z.boolean().default(false).describe('"Enable restriction": when on, the pool is limited to what its licenses give'),
    validUntil: TimestampInput.nullable().optional().describe('Customer agreement end: the pool stops serving then'),
  })
  .strict()
  .meta({ examples: [{ parentId: 'pool_01jeq3v6f0e8ns3m2bq9w8xk4t', name: 'Residence Lakeview', kind: 'building', restricted: true, validUntil: '2027-12-31T23:59:59Z' }] });
export type CreatePoolBody = z.infer<typeof CreatePoolBody>;

export const UpdatePoolBody = z
  .object({
    name: Name.optional(),
    kind: Kind.optional(),
    restricted: z.boolean().optional(),
    validUntil: TimestampInput.nullable().optional(),
    maxBorrowDays: z.number().int().min(1).max(3650).nullable().optional(),
    maxLeaseSeconds: z.number().int().min(10).max(30 * 86_400).nullable().optional().describe('Roots only: the longest lease a client may ask for (null: one day)'),
    exclusiveMembership: z.boolean().optional().describe('Roots only: an account or device may be a member of one pool of the root at most (M2)'),
    queue: Queue.optional(),
    billingAddress: PostalAddress.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change' })
  .meta({ examples: [{ name: 'Residence Lakeview North', restricted: true, maxBorrowDays: 14, queue: { enabled: true, claimTimeoutSeconds: 120 } }] });
export type UpdatePoolBody = z.infer<typeof UpdatePoolBody>;

export const ListPoolsQuery = z
  .object({
    parentId: IdParam.optional(),
    rootId: IdParam.optional(),
    status: z.enum(POOL_STATUSES).optional(),
    q: z.string().max(200).optional().describe('Text in the pool name'),
    ...PageQuery,
  })
  .strict();
export type ListPoolsQuery = z.infer<typeof ListPoolsQuery>;

export const PoolAction = z.object({ id: IdParam, action: z.enum(['activate', 'suspend', 'resume', 'close']) }).strict();

export const Pool = z.object({
  id: z.string(),
  rootId: z.string(),
  parentId: z.string().nullable(),
  depth: z.number().int(),
  name: z.string(),
  kind: z.string(),
  status: z.enum(POOL_STATUSES),
  restricted: z.boolean(),
  validUntil: Timestamp.nullable(),
  maxBorrowDays: z.number().int().nullable(),
  maxLeaseSeconds: z.number().int().nullable().describe('Roots only: the longest lease (null: one day)'),
  exclusiveMembership: z.boolean().describe('Roots only: an account or device is a member of one pool of the root at most; off, it gets the strictest result of its pools'),
  queue: Queue,
  billingAddress: PostalAddress.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).meta({ id: 'Pool' });

export function presentPool(p: PoolRow): z.infer<typeof Pool> {
  return {
    id: p.id,
    rootId: p.rootId,
    parentId: p.parentId,
    depth: p.depth,
    name: p.name,
    kind: p.kind,
    status: p.status,
    restricted: p.restricted,
    validUntil: iso(p.validUntil),
    maxBorrowDays: p.maxBorrowDays,
    maxLeaseSeconds: p.maxLeaseSeconds,
    exclusiveMembership: p.exclusiveMembership,
    queue: p.queue,
    billingAddress: p.billingAddress ?? null,
    createdAt: iso(p.createdAt)!,
    updatedAt: iso(p.updatedAt)!,
  };
}

export const GrantRoleBody = z.object({ email: Email, role: z.enum(ROLES) }).strict().meta({ examples: [{ email: 'manager@lakeview.example', role: 'manager' }] });
export type GrantRoleBody = z.infer<typeof GrantRoleBody>;

export const RoleBinding = z.object({
  id: z.string(),
  poolId: z.string(),
  accountId: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: Timestamp,
}).meta({ id: 'RoleBinding' });

export function presentRole(b: RoleBindingRow, account: { email: string; name: string }): z.infer<typeof RoleBinding> {
  return { id: b.id, poolId: b.poolId, accountId: b.accountId, email: account.email, name: account.name, role: b.role, createdAt: iso(b.createdAt)! };
}

export const CreateRootBody = z
  .object({
    name: Name,
    kind: Kind.default('vendor'),
    restricted: z.boolean().default(false),
    operator: z
      .object({
        email: Email,
        name: Name.optional().describe("The account's name when it is created; default: the e-mail's local part"),
        password: z.string().min(12).max(256).optional().describe('The password of an account created here (an existing account keeps its own); absent: one is generated and answered once'),
      })
      .strict()
      .describe('Who operates the root: an existing account, or one created here when no account has the e-mail'),
  })
  .strict()
  .meta({ examples: [{ name: 'BAS-IP', kind: 'vendor', operator: { email: 'operator@bas-ip.example', name: 'Olga Operator' } }] });
export type CreateRootBody = z.infer<typeof CreateRootBody>;

export const CreatedRoot = z.object({
  pool: Pool,
  operator: z.object({
    accountId: z.string(),
    email: z.string(),
    created: z.boolean().describe('The account was created by this request'),
    password: z.string().nullable().describe('The generated password of an account created here, shown this once; null otherwise'),
  }),
}).meta({ id: 'CreatedRoot' });

export const AcceptTermsBody = z.object({ version: z.string().trim().min(1).max(50).describe('The version of the terms accepted') }).strict().meta({ examples: [{ version: '2026-01' }] });
export const PaymentMethodBody = z
  .object({
    reference: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_:.-]{3,200}$/, 'an opaque reference from the payment provider (letters, digits, _ : . -), never card data')
      .refine((r) => !/^[0-9 -]{12,}$/.test(r), 'this looks like a card number; give the payment provider\'s reference instead'),
  })
  .strict()
  .meta({ examples: [{ reference: 'cus_Q2x8hYk1:pm_1Nv' }] });
export const DeputyBody = z.object({ email: Email }).strict().meta({ examples: [{ email: 'deputy@lakeview.example' }] });

export const PoolInitialization = z.object({
  poolId: z.string(),
  terms: z.object({ version: z.string(), acceptedBy: z.string(), acceptedAt: Timestamp }).nullable(),
  paymentMethod: z.object({ reference: z.string(), setBy: z.string(), setAt: Timestamp }).nullable(),
}).meta({ id: 'PoolInitialization' });

export function presentInitialization(i: PoolInitializationRow): z.infer<typeof PoolInitialization> {
  return {
    poolId: i.poolId,
    terms: i.termsVersion && i.termsAcceptedBy ? { version: i.termsVersion, acceptedBy: i.termsAcceptedBy, acceptedAt: iso(i.termsAcceptedAt)! } : null,
    paymentMethod: i.paymentReference && i.paymentSetBy ? { reference: i.paymentReference, setBy: i.paymentSetBy, setAt: iso(i.paymentSetAt)! } : null,
  };
}
