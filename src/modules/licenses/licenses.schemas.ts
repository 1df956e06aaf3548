import { z } from 'zod';
import { BILLING_INTERVALS, LICENSE_STATUSES, START_RULES } from '../../db/schema.js';
import { IdParam, Name, PageQuery, Timestamp, TimestampInput } from '../../http/schemas.js';
import { DEFAULT_CONNECTION_THRESHOLD, effectiveStatus, isInEffect } from '../../domain/license-status.js';
import { iso } from '../../lib/time.js';
import { CatalogKey } from '../catalog/catalog.schemas.js';
import type { LicenseRow } from '../state/state.repo.js';

export const Limits = z
  .record(CatalogKey, z.number().int().min(0).max(1_000_000_000).nullable())
  .refine((v) => Object.keys(v).length <= 100, 'at most 100 meters')
  .describe('Meter key → units; null means "no limit of its own" (bounded by ancestors and draws)');

const FeatureKeys = z
  .array(CatalogKey)
  .max(100)
  .refine((v) => new Set(v).size === v.length, 'features must not repeat')
  .describe('Feature keys the license switches on');

export const PlaceLicenseBody = z
  .object({
    name: Name.optional().describe('A label, e.g. "Premium"'),
    limits: Limits,
    features: FeatureKeys.default([]),
    validFrom: TimestampInput.optional().describe('Default: now'),
    validUntil: TimestampInput.nullable().optional().describe('Absent or null: no end'),
  })
  .strict()
  .meta({ examples: [{ name: 'Basic', limits: { sip_numbers: 50, mobile_apps: 100 }, features: ['door_opening'], validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-12-31T23:59:59Z' }] });
export type PlaceLicenseBody = z.infer<typeof PlaceLicenseBody>;

export const UpdateLicenseBody = z
  .object({
    name: Name.nullable().optional(),
    limits: Limits.optional(),
    features: FeatureKeys.optional(),
    validFrom: TimestampInput.optional(),
    validUntil: TimestampInput.nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change' })
  .meta({ examples: [{ limits: { sip_numbers: 80 }, validUntil: '2027-12-31T23:59:59Z' }] });
export type UpdateLicenseBody = z.infer<typeof UpdateLicenseBody>;

export const LicenseRequestData = z
  .object({
    poolId: IdParam.nullable().optional().describe('The pool (location) the license is meant for; activation may bind it elsewhere'),
    partner: z.string().trim().min(1).max(200).nullable().optional().describe('Partner / integrator'),
    distributor: z.string().trim().min(1).max(200).nullable().optional().describe('Distributor / wholesaler'),
    accessPoints: z.number().int().min(0).max(1_000_000).nullable().optional().describe('Access points asked for'),
    rooms: z.number().int().min(0).max(1_000_000).nullable().optional().describe('Rooms asked for (hospitality)'),
    modules: z.array(CatalogKey).max(100).optional().describe('Advanced modules asked for'),
  })
  .strict();

export const CreateLicenseBody = z
  .object({
    rootId: IdParam.describe('The vendor root whose catalog the license draws on'),
    name: Name.optional(),
    limits: Limits.default({}),
    features: FeatureKeys.default([]),
    termMonths: z.number().int().min(1).max(600).optional().describe('The contract term from the start; default: contractYears × 12'),
    validUntil: TimestampInput.optional().describe('A fixed end instead of (or capping) the term'),
    startRule: z
      .object({
        type: z.enum(START_RULES),
        threshold: z.number().int().min(1).max(10_000).optional().describe('on_connections: distinct devices before time runs; default 5'),
      })
      .strict()
      .refine((r) => r.type === 'on_connections' || r.threshold === undefined, { message: 'threshold belongs to on_connections', path: ['threshold'] })
      .default({ type: 'on_activation' }),
    billing: z
      .object({ interval: z.enum(BILLING_INTERVALS), contractYears: z.number().int().min(1).max(5).describe('1 to 5 contract years [003]') })
      .strict()
      .optional(),
    request: LicenseRequestData.optional(),
  })
  .strict()
  .meta({ examples: [{ rootId: 'pool_01jeq3v6f0e8ns3m2bq9w8xk4t', name: 'Octopus Hotel 120', limits: { rooms: 120 }, features: ['door_opening'], termMonths: 12, startRule: { type: 'on_activation' }, billing: { interval: 'annual', contractYears: 3 }, request: { partner: 'Hotel Partners AG', accessPoints: 40, rooms: 120 } }] });
export type CreateLicenseBody = z.infer<typeof CreateLicenseBody>;

export const ActivateLicenseBody = z
  .object({
    key: z.string().trim().min(1).max(100).describe('The license key as typed: case, spaces and dashes do not matter'),
    poolId: IdParam.describe('The pool (location) to bind the license to, for good'),
  })
  .strict()
  .meta({ examples: [{ key: '4ET9J-FT69G-6HJW4-NH937-FHEX3', poolId: 'pool_01jeq3w2m4f7a9c5d1e6g8h0jk' }] });
export type ActivateLicenseBody = z.infer<typeof ActivateLicenseBody>;

export const ConnectionBody = z.object({ serial: z.string().trim().min(1).max(100).describe('The connecting device') }).strict().meta({ examples: [{ serial: 'SN-000123' }] });
export type ConnectionBody = z.infer<typeof ConnectionBody>;

export const ConnectionResult = z.object({
  poolId: z.string(),
  serial: z.string(),
  licenses: z
    .array(z.object({ id: z.string(), status: z.enum(LICENSE_STATUSES), connections: z.number().int(), threshold: z.number().int() }))
    .describe('The licenses of the pool that were waiting for connections, after this one'),
}).meta({ id: 'ConnectionResult' });

export const LicenseActionParams = z.object({ id: IdParam, action: z.enum(['suspend', 'resume', 'finalize']) }).strict();

/** List orders (L9): `-` is descending; every order ends on the id, so pages never skip or repeat. */
export const LICENSE_SORTS = ['id', 'createdAt', '-createdAt', 'validUntil', '-validUntil'] as const;
export type LicenseSort = (typeof LICENSE_SORTS)[number];

/** Statuses as `in_use,pending_start` or repeated (`status=in_use&status=pending_start`). */
const StatusFilter = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v),
    z
      .array(z.enum(LICENSE_STATUSES))
      .min(1)
      .max(LICENSE_STATUSES.length)
      .refine((v) => new Set(v).size === v.length, 'a status must not repeat'),
  )
  .describe('Any of these statuses, as of now (a license past its end is `expired`): comma-separated or repeated');

/** The filters and order of a license list, shared by the JSON pages and the CSV export. */
const LicenseFilterFields = {
  poolId: IdParam.optional().describe('Licenses bound to this pool'),
  subtree: IdParam.optional().describe('Licenses bound to this pool or any pool below it'),
  status: StatusFilter.optional(),
  endsAfter: TimestampInput.optional().describe('End date (validUntil) at or after this instant; licenses without an end are left out'),
  endsBefore: TimestampInput.optional().describe('End date (validUntil) before this instant; licenses without an end are left out'),
  q: z
    .string()
    .max(200)
    .optional()
    .describe('Text contained in the key (any fragment; dashes, spaces and case ignored), the license name, the partner or the pool name'),
  sort: z.enum(LICENSE_SORTS).default('id').describe('Order: id (creation), createdAt, validUntil (no end last); `-` descending'),
};

export const ListLicensesQuery = z
  .object({
    ...LicenseFilterFields,
    limit: PageQuery.limit,
    cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page, with the same filters and sort'),
  })
  .strict();
export type ListLicensesQuery = z.infer<typeof ListLicensesQuery>;

export const ExportLicensesQuery = z.object(LicenseFilterFields).strict();
export type ExportLicensesQuery = z.infer<typeof ExportLicensesQuery>;

/** How a license is billed, as its answers show it. */
export const Billing = z.object({ interval: z.enum(BILLING_INTERVALS), contractYears: z.number().int() }).meta({ id: 'Billing' });

export const License = z.object({
  id: z.string(),
  rootId: z.string(),
  poolId: z.string().nullable().describe('The pool it is bound to; null until its key is activated'),
  name: z.string().nullable(),
  key: z.string().nullable().describe('The activation key (licenses made by request); null for one placed straight on a pool'),
  status: z.enum(LICENSE_STATUSES).describe('As of now: a license past its end shows `expired`'),
  inEffect: z.boolean().describe('Running and inside its validity now'),
  limits: z.record(z.string(), z.number().int().nullable()),
  features: z.array(z.string()),
  validFrom: Timestamp.nullable().describe('The start: set when time starts running'),
  validUntil: Timestamp.nullable().describe('The end: start + term, or the fixed end date'),
  termMonths: z.number().int().nullable(),
  startRule: z.object({ type: z.enum(START_RULES), threshold: z.number().int().optional() }),
  billing: Billing.nullable(),
  request: LicenseRequestData.nullable(),
  activatedAt: Timestamp.nullable(),
  activatedBy: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).meta({ id: 'License' });

export function presentLicense(l: LicenseRow, now: Date): z.infer<typeof License> {
  return {
    id: l.id,
    rootId: l.rootId,
    poolId: l.poolId,
    name: l.name,
    key: l.key,
    status: effectiveStatus(l, now),
    inEffect: isInEffect(l, now),
    limits: l.limits,
    features: l.features,
    validFrom: iso(l.validFrom),
    validUntil: iso(l.validUntil),
    termMonths: l.termMonths,
    startRule: l.startRule === 'on_connections' ? { type: 'on_connections', threshold: l.connectionThreshold ?? DEFAULT_CONNECTION_THRESHOLD } : { type: 'on_activation' },
    billing: l.billingInterval ? { interval: l.billingInterval, contractYears: l.contractYears ?? 1 } : null,
    request: l.request ?? null,
    activatedAt: iso(l.activatedAt),
    activatedBy: l.activatedBy,
    createdAt: iso(l.createdAt)!,
    updatedAt: iso(l.updatedAt)!,
  };
}

export const HistoryEntry = z.object({
  id: z.string(),
  at: Timestamp,
  action: z.string(),
  actorId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  requestId: z.string().nullable(),
}).meta({ id: 'HistoryEntry' });
