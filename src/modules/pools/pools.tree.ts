/**
 * What a lazily loaded pool tree needs of each pool of a list (issue 14, item 4): its number of
 * children, its path, whether it serves, and used/limit per meter for a compact bar. For a whole
 * page at once in a fixed number of indexed queries — the children counts, the pools of every
 * path, their running licenses, the roots' meters, the usage counters — then the state
 * arithmetic of GET /v1/pools/{id}/state (`computeQuotaState`) per pool, in memory.
 */
import type { Executor } from '../../db/client.js';
import { can, type Principal } from '../../domain/access.js';
import { computeQuotaState } from '../../domain/quota.js';
import { findMetersOfRoots } from '../catalog/catalog.repo.js';
import { findRunningLicenses, findUsage } from '../state/state.repo.js';
import { countChildren, findPathPools, type PoolRow } from './pools.repo.js';
import type { PoolTreeFacts } from './pools.schemas.js';
import type { z } from 'zod';

export async function treeFactsOf(db: Executor, principal: Principal, page: readonly PoolRow[], now: Date): Promise<Map<string, z.infer<typeof PoolTreeFacts>>> {
  if (page.length === 0) return new Map();
  const ids = page.map((p) => p.id);
  const onPaths = [...new Set(page.flatMap((p) => p.path))];
  // One after another: `db` may be a transaction, whose one connection takes one query at a time.
  const children = await countChildren(db, ids);
  const pathPools = new Map((await findPathPools(db, onPaths)).map((p) => [p.id, p]));
  const licenses = await findRunningLicenses(db, onPaths, now);
  const metersOf = await findMetersOfRoots(db, [...new Set(page.map((p) => p.rootId))]);
  const usage = await findUsage(db, onPaths);
  return new Map(
    page.map((pool) => {
      const path = pool.path.map((id) => pathPools.get(id)!);
      const state = computeQuotaState({ path, licenses, meters: metersOf.get(pool.rootId)!, features: [], usage, now });
      return [
        pool.id,
        {
          childCount: children.get(pool.id) ?? 0,
          // Only the ancestors the caller may read: its tree starts at its own roles' pools.
          path: path.slice(0, -1).filter((p) => can(principal, p.path, 'read')).map((p) => ({ id: p.id, name: p.name })),
          serving: state.serving,
          meters: state.meters.map((m) => ({ key: m.key, used: m.used, limit: m.effectiveLimit, available: m.available, overLimit: m.overLimit })),
        },
      ];
    }),
  );
}
