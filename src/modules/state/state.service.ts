import type { Executor } from '../../db/client.js';
import { isInEffect } from '../../domain/license-status.js';
import { computeQuotaState, type QuotaInput, type QuotaState } from '../../domain/quota.js';
import type { Actor, Deps } from '../../lib/context.js';
import { findFeatures, findMeters } from '../catalog/catalog.repo.js';
import { poolFor } from '../pools/pool-access.js';
import { findPathPools, type PoolRow } from '../pools/pools.repo.js';
import { findRunningLicenses, findUsage, type LicenseRow } from './state.repo.js';

export interface LoadedState {
  pool: PoolRow;
  /** The moment the state was computed for. */
  at: Date;
  state: QuotaState;
  /** The pool's own licenses in effect at the moment the state was computed. */
  licensesInEffect: LicenseRow[];
}

/**
 * Computes the license state of `pool` at `at`: five indexed queries whatever the tree's size
 * (the path's pools, their running licenses, the root's catalog, usage), then pure arithmetic.
 */
export async function computeStateOf(db: Executor, pool: PoolRow, at: Date): Promise<LoadedState> {
  // One after another: `db` may be a transaction, whose one connection takes one query at a time.
  const pathPools = await findPathPools(db, pool.path);
  const licenses = await findRunningLicenses(db, pool.path, at);
  const meters = await findMeters(db, pool.rootId);
  const features = await findFeatures(db, pool.rootId);
  const usage = await findUsage(db, pool.path);
  const input: QuotaInput = {
    path: pathPools,
    licenses,
    meters,
    features: features.map((f) => f.key),
    usage,
    now: at,
  };
  const licensesInEffect = licenses.filter((l) => l.poolId === pool.id && isInEffect(l, at));
  return { pool, at, state: computeQuotaState(input), licensesInEffect };
}

export async function getPoolState(deps: Deps, actor: Actor, poolId: string): Promise<LoadedState> {
  const pool = await poolFor(deps.db, actor, poolId, 'read');
  return computeStateOf(deps.db, pool, deps.clock.now());
}
