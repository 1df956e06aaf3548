import { z } from 'zod';
import { IdParam, Name, PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { FeatureRow, MeterRow, PackageRow } from './catalog.repo.js';

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
  .strict()
  .meta({ examples: [{ key: 'mobile_apps', name: 'Mobile apps', draws: ['sip_numbers'] }] });
export type CreateMeterBody = z.infer<typeof CreateMeterBody>;

export const CreateFeatureBody = z.object({ key: CatalogKey, name: Name }).strict().meta({ examples: [{ key: 'door_opening', name: 'Door opening' }] });
export type CreateFeatureBody = z.infer<typeof CreateFeatureBody>;

export const Meter = z.object({ id: z.string(), rootId: z.string(), key: z.string(), name: z.string(), draws: z.array(z.string()), createdAt: Timestamp }).meta({ id: 'Meter' });
export const Feature = z.object({ id: z.string(), rootId: z.string(), key: z.string(), name: z.string(), createdAt: Timestamp }).meta({ id: 'Feature' });

export const presentMeter = (m: MeterRow): z.infer<typeof Meter> => ({
  id: m.id, rootId: m.rootId, key: m.key, name: m.name, draws: m.draws, createdAt: iso(m.createdAt)!,
});
export const presentFeature = (f: FeatureRow): z.infer<typeof Feature> => ({
  id: f.id, rootId: f.rootId, key: f.key, name: f.name, createdAt: iso(f.createdAt)!,
});

export const CreatePackageBody = z
  .object({
    name: z.string().trim().min(1).max(100).describe('Package name, e.g. `sta-firmware`'),
    version: z.string().trim().min(1).max(50),
    deviceType: z.string().trim().min(1).max(50).describe('The device type it is for, as devices are registered (e.g. `STA`)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits').describe('SHA-256 of the file, so the app can check its download'),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Size in bytes'),
    url: z.url({ protocol: /^https?$/ }).max(2000).describe('Where the app downloads it'),
    feature: CatalogKey.optional().describe('The feature that entitles to it'),
    meter: CatalogKey.optional().describe('Or the meter that does: entitled where the meter is licensed (a limit other than 0)'),
  })
  .strict()
  .refine((b) => (b.feature === undefined) !== (b.meter === undefined), { message: 'give either feature or meter, not both' })
  .meta({ examples: [{ name: 'firmware', version: '2.4.1', deviceType: 'AV-07', sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', size: 1048576, url: 'https://downloads.bas-ip.example/av-07/2.4.1.bin', feature: 'door_opening' }] });
export type CreatePackageBody = z.infer<typeof CreatePackageBody>;

export const ListPackagesQuery = z.object({ deviceType: z.string().trim().min(1).max(50).optional(), ...PageQuery }).strict();
export type ListPackagesQuery = z.infer<typeof ListPackagesQuery>;

export const PackageParams = z.object({ id: IdParam, packageId: IdParam }).strict();

export const Package = z.object({
  id: z.string(),
  rootId: z.string(),
  name: z.string(),
  version: z.string(),
  deviceType: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  url: z.string(),
  feature: z.string().nullable(),
  meter: z.string().nullable(),
  createdAt: Timestamp,
}).meta({ id: 'Package' });

export const presentPackage = (p: PackageRow): z.infer<typeof Package> => ({
  id: p.id,
  rootId: p.rootId,
  name: p.name,
  version: p.version,
  deviceType: p.deviceType,
  sha256: p.sha256,
  size: p.sizeBytes,
  url: p.url,
  feature: p.featureKey,
  meter: p.meterKey,
  createdAt: iso(p.createdAt)!,
});
