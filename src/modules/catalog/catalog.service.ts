import { findDrawCycle } from '../../domain/quota.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { poolFor, rootFor } from '../pools/pool-access.js';
import { findFeatures, findMeters, insertFeature, insertMeter } from './catalog.repo.js';
import type { CreateFeatureBody, CreateMeterBody } from './catalog.schemas.js';

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
