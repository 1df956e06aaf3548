import { z } from 'zod';
import { Name, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { FeatureRow, MeterRow } from './catalog.repo.js';

export const CatalogKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'lower-case letters, digits and _, starting with a letter, at most 64')
  .describe('Stable key, e.g. `sip_numbers`');

export const CreateMeterBody = z
  .object({
    key: CatalogKey,
    name: Name,
    draws: z.array(CatalogKey).max(32).default([]).describe('Meters one unit of this meter also takes (e.g. mobile_apps draws sip_numbers)'),
  })
  .strict();
export type CreateMeterBody = z.infer<typeof CreateMeterBody>;

export const CreateFeatureBody = z.object({ key: CatalogKey, name: Name }).strict();
export type CreateFeatureBody = z.infer<typeof CreateFeatureBody>;

export const Meter = z.object({ id: z.string(), rootId: z.string(), key: z.string(), name: z.string(), draws: z.array(z.string()), createdAt: Timestamp });
export const Feature = z.object({ id: z.string(), rootId: z.string(), key: z.string(), name: z.string(), createdAt: Timestamp });

export const presentMeter = (m: MeterRow): z.infer<typeof Meter> => ({
  id: m.id, rootId: m.rootId, key: m.key, name: m.name, draws: m.draws, createdAt: iso(m.createdAt)!,
});
export const presentFeature = (f: FeatureRow): z.infer<typeof Feature> => ({
  id: f.id, rootId: f.rootId, key: f.key, name: f.name, createdAt: iso(f.createdAt)!,
});
