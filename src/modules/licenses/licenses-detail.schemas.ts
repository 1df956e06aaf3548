import { z } from 'zod';
import { LICENSE_STATUSES } from '../../db/schema.js';
import { PageQuery, Timestamp } from '../../http/schemas.js';
import { Billing } from './licenses.schemas.js';

const PoolRef = z.object({ id: z.string(), name: z.string(), kind: z.string() });

/** Maximum and in use of a meter the detail view names (access points, rooms). */
const Capacity = z
  .object({
    maximum: z.number().int().nullable().describe('Units the license gives; null: none stated, or "no limit of its own" when `source` is `license`'),
    inUse: z.number().int().nullable().describe("Units in use in the pool's subtree (its `pool_usage`); null when the license is on no pool or the catalog has no such meter"),
    source: z
      .enum(['license', 'request'])
      .nullable()
      .describe('`license`: its limits name the meter; `request`: taken from the request data (the limits do not name it); null: neither says'),
  })
  .describe('Maximum available to configure and in use [003]');

export const LicenseSummary = z.object({
  id: z.string(),
  key: z.string().nullable(),
  name: z.string().nullable(),
  status: z.enum(LICENSE_STATUSES).describe('As of now'),
  inEffect: z.boolean(),
  vendor: z.object({ id: z.string(), name: z.string() }).describe('The root pool that sold it'),
  pool: PoolRef.extend({
    bound: z.boolean().describe('true: the license is bound to this pool; false: not activated yet, the pool its request names'),
  })
    .nullable()
    .describe('The pool (location) of the license; null when it is on no pool and its request names none'),
  start: Timestamp.nullable(),
  end: Timestamp.nullable(),
  duration: z.object({
    termMonths: z.number().int().nullable().describe('The contract term, counted from the start'),
    days: z.number().int().nullable().describe('Whole days from start to end; null until both are known'),
  }),
  billing: Billing.nullable(),
  accessPoints: Capacity.describe('Meter `access_points`'),
  rooms: Capacity.describe('Meter `rooms`'),
  modules: z.array(z.object({ key: z.string(), name: z.string() })).describe('The features (platform modules) it switches on, with their catalog names'),
  limits: z.array(
    z.object({
      meter: z.string(),
      name: z.string(),
      limit: z.number().int().nullable().describe('Units this license gives; null: no limit of its own'),
      used: z.number().int().nullable().describe("Units in use in the pool's subtree; null when on no pool"),
    }),
  ),
}).meta({ id: 'LicenseSummary' });
export type LicenseSummary = z.infer<typeof LicenseSummary>;

export const LicenseAssignments = z.object({
  pool: PoolRef.nullable().describe('The pool the license is bound to; null until its key is activated'),
  inEffect: z.boolean().describe('Only a license in effect gives units; otherwise the figures show what uses the same meters'),
  meters: z.array(
    z.object({
      key: z.string(),
      limit: z.number().int().nullable().describe('Units this license gives (null: no limit of its own)'),
      used: z.number().int().describe("Units in use in the pool's subtree, from every license that gives the meter"),
      claims: z.number().int().describe("Live claims in the pool's subtree that take this meter (directly or through a meter drawing on it)"),
      members: z.number().int().describe('Distinct members holding those claims'),
      sharedWith: z.number().int().describe('Other licenses in effect on the same pool giving this meter: the units are pooled, so these users are theirs too'),
    }),
  ),
  configuredElements: z
    .number()
    .int()
    .nullable()
    .describe('Distinct devices that connected to the pool towards the start of an `on_connections` license; null for `on_activation`'),
}).meta({ id: 'LicenseAssignments' });
export type LicenseAssignments = z.infer<typeof LicenseAssignments>;

export const UsingMember = z.object({
  id: z.string(),
  poolId: z.string(),
  status: z.string(),
  account: z.object({ id: z.string(), email: z.string() }).nullable(),
  device: z.object({ id: z.string(), serial: z.string(), type: z.string() }).nullable(),
  meters: z.array(z.object({ key: z.string(), claims: z.number().int(), units: z.number().int() })).describe('What its live claims take of each licensed meter'),
}).meta({ id: 'UsingMember' });
export type UsingMember = z.infer<typeof UsingMember>;

export const UsingMembersQuery = z.object(PageQuery).strict();
