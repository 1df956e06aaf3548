import { z } from 'zod';
import { APPLICATION_STATUSES } from '../../db/schema.js';
import { Email, IdParam, Name, PageQuery, PostalAddress, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { ApplicationRow } from './applications.repo.js';

export const CreateApplicationBody = z
  .object({
    parentId: IdParam.describe('The pool applied under (the vendor or a reseller)'),
    company: Name,
    contactName: Name,
    address: PostalAddress,
    email: Email.describe('The contact e-mail of the company'),
    phone: z.string().trim().min(3).max(40).regex(/^\+?[0-9 ()./-]+$/, 'digits, spaces and + ( ) . / - only'),
    managerEmail: Email.describe('The e-mail of an existing account that will manage the pool'),
  })
  .strict()
  .meta({ examples: [{ parentId: 'pool_01jeq3v6f0e8ns3m2bq9w8xk4t', company: 'Lakeview Property AG', contactName: 'Anna Muster', address: { line1: 'Bahnhofstrasse 12', postalCode: '8001', city: 'Zürich', country: 'CH' }, email: 'anna.muster@example.com', phone: '+41 44 123 45 67', managerEmail: 'manager@lakeview.example' }] });
export type CreateApplicationBody = z.infer<typeof CreateApplicationBody>;

export const ListApplicationsQuery = z.object({ status: z.enum(APPLICATION_STATUSES).optional(), ...PageQuery }).strict();
export type ListApplicationsQuery = z.infer<typeof ListApplicationsQuery>;

export const RejectApplicationBody = z.object({ reason: z.string().trim().min(1).max(2000) }).strict().meta({ examples: [{ reason: 'The building is already managed by another dealer.' }] });

export const Application = z.object({
  id: z.string(),
  parentId: z.string(),
  poolId: z.string().describe('The pool applied for: `applied` until decided'),
  applicantId: z.string(),
  managerId: z.string(),
  company: z.string(),
  contactName: z.string(),
  address: PostalAddress,
  email: z.string(),
  phone: z.string(),
  status: z.enum(APPLICATION_STATUSES),
  reason: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: Timestamp.nullable(),
  createdAt: Timestamp,
}).meta({ id: 'Application' });

export function presentApplication(a: ApplicationRow): z.infer<typeof Application> {
  return {
    id: a.id,
    parentId: a.parentId,
    poolId: a.poolId,
    applicantId: a.applicantId,
    managerId: a.managerId,
    company: a.company,
    contactName: a.contactName,
    address: a.address,
    email: a.email,
    phone: a.phone,
    status: a.status,
    reason: a.reason,
    decidedBy: a.decidedBy,
    decidedAt: iso(a.decidedAt),
    createdAt: iso(a.createdAt)!,
  };
}
