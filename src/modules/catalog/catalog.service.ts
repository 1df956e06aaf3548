import { findDrawCycle } from '../../domain/quota.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { poolFor, rootFor } from '../pools/pool-access.js';
import { isIdOf } from '../../lib/ids.js';
import { deletePackageRow, findFeatures, findMeters, findPackages, insertFeature, insertMeter, insertPackage } from './catalog.repo.js';
import type { CreateFeatureBody, CreateMeterBody, CreatePackageBody, ListPackagesQuery } from './catalog.schemas.js';

export async function createMeter(deps: Deps, actor: Actor, rootId: string, input: CreateMeterBody) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'the catalog and its meters and features', { lock: true });
    const existing = await findMeters(tx, root.id);
    const known = new Set(existing.map((m) => m.key));
    const draws = [...new Set(input.draws)];
    const cycle = findDrawCycle(existing, { key: input.key, draws });
    if (cycle) throw new AppError('DRAW_CYCLE', `draws would form the cycle ${cycle.join(' → ')}`, { cycle });
    const unknown = draws.filter((d) => !known.has(d));
    if (unknown.length > 0) throw new AppError('UNKNOWN_METER', `draws names unknown meters: ${unknown.join(', ')}`, { meters: unknown });
    const meter = await insertMeter(tx, { id: newId('meter'), rootId: root.id, key: input.key, name: input.name, draws, createdAt: now });
    if (!meter) throw new AppError('CATALOG_KEY_TAKEN', `the meter ${input.key} exists`);
    await insertAuditEvent(tx, actor, now, { action: 'meter.created', entityType: 'meter', entityId: meter.id, rootId: root.id, poolId: root.id, after: meter });
    return meter;
  });
}

export async function createFeature(deps: Deps, actor: Actor, rootId: string, input: CreateFeatureBody) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'the catalog and its meters and features', { lock: true });
    const feature = await insertFeature(tx, { id: newId('feature'), rootId: root.id, key: input.key, name: input.name, createdAt: now });
    if (!feature) throw new AppError('CATALOG_KEY_TAKEN', `the feature ${input.key} exists`);
    await insertAuditEvent(tx, actor, now, { action: 'feature.created', entityType: 'feature', entityId: feature.id, rootId: root.id, poolId: root.id, after: feature });
    return feature;
  });
}

/** Any pool's readers see the catalog of its root. */
export async function listCatalog(deps: Deps, actor: Actor, poolId: string) {
  const pool = await poolFor(deps.db, actor, poolId, 'read');
  const [meters, features] = await Promise.all([findMeters(deps.db, pool.rootId), findFeatures(deps.db, pool.rootId)]);
  return { meters, features };
}

const packageAudit = (rootId: string, id: string) => ({ entityType: 'package', entityId: id, rootId, poolId: rootId });

/** C4: a package is tied to a feature or a meter of the root's catalog, which must exist. */
export async function createPackage(deps: Deps, actor: Actor, rootId: string, input: CreatePackageBody) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    // The root's row lock orders this after any catalog change in flight.
    const root = await rootFor(tx, actor, rootId, 'the catalog and its packages', { lock: true });
    if (input.feature !== undefined && !(await findFeatures(tx, root.id)).some((f) => f.key === input.feature)) {
      throw new AppError('UNKNOWN_FEATURE', `the catalog has no feature ${input.feature}`, { features: [input.feature] });
    }
    if (input.meter !== undefined && !(await findMeters(tx, root.id)).some((m) => m.key === input.meter)) {
      throw new AppError('UNKNOWN_METER', `the catalog has no meter ${input.meter}`, { meters: [input.meter] });
    }
    const created = await insertPackage(tx, {
      id: newId('package'),
      rootId: root.id,
      name: input.name,
      version: input.version,
      deviceType: input.deviceType,
      sha256: input.sha256,
      sizeBytes: input.size,
      url: input.url,
      featureKey: input.feature ?? null,
      meterKey: input.meter ?? null,
      createdAt: now,
    });
    if (!created) throw new AppError('PACKAGE_EXISTS', `the catalog has ${input.name} ${input.version} for ${input.deviceType}`);
    await insertAuditEvent(tx, actor, now, { action: 'package.created', ...packageAudit(root.id, created.id), after: created });
    return created;
  });
}

/** Any pool's readers see the packages of its root, as they see its meters and features. */
export async function listPackages(deps: Deps, actor: Actor, poolId: string, query: ListPackagesQuery) {
  const pool = await poolFor(deps.db, actor, poolId, 'read');
  return findPackages(deps.db, pool.rootId, { deviceType: query.deviceType, after: query.cursor, limit: query.limit + 1 });
}

/** Withdrawn packages are no longer delivered on sync; apps keep what they downloaded. */
export async function deletePackage(deps: Deps, actor: Actor, rootId: string, packageId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'the catalog and its packages');
    const deleted = isIdOf('package', packageId) ? await deletePackageRow(tx, root.id, packageId) : undefined;
    if (!deleted) throw notFound('package');
    await insertAuditEvent(tx, actor, now, { action: 'package.deleted', ...packageAudit(root.id, deleted.id), before: deleted });
  });
}
