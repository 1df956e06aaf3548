import { z } from 'zod';
import { LICENSE_STATUSES } from '../../db/schema.js';
import { IdParam, Name, PageQuery, Timestamp, TimestampInput } from '../../http/schemas.js';
import { isInEffect, licenseStatusAt } from '../../domain/quota.js';
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
  .strict();
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
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change' });
export type UpdateLicenseBody = z.infer<typeof UpdateLicenseBody>;

export const LicenseActionParams = z.object({ id: IdParam, action: z.enum(['suspend', 'resume', 'finalize']) }).strict();

export const ListLicensesQuery = z
  .object({
    poolId: IdParam.optional().describe('Licenses of this pool'),
    status: z.enum(LICENSE_STATUSES).optional(),
    endsAfter: TimestampInput.optional(),
    endsBefore: TimestampInput.optional(),
    q: z.string().max(200).optional().describe('Text in the license name'),
    ...PageQuery,
  })
  .strict();
export type ListLicensesQuery = z.infer<typeof ListLicensesQuery>;

export const License = z.object({
  id: z.string(),
  rootId: z.string(),
  poolId: z.string().nullable(),
  name: z.string().nullable(),
  status: z.enum(LICENSE_STATUSES).describe('As of now: a running license past its end shows `expired`'),
  inEffect: z.boolean().describe('Running and inside its validity now'),
  limits: z.record(z.string(), z.number().int().nullable()),
  features: z.array(z.string()),
  validFrom: Timestamp.nullable(),
  validUntil: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export function presentLicense(l: LicenseRow, now: Date): z.infer<typeof License> {
  return {
    id: l.id,
    rootId: l.rootId,
    poolId: l.poolId,
    name: l.name,
    status: licenseStatusAt(l, now),
    inEffect: isInEffect(l, now),
    limits: l.limits,
    features: l.features,
    validFrom: iso(l.validFrom),
    validUntil: iso(l.validUntil),
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
});
