import type { Executor } from '../../db/client.js';
import { can, type Permission } from '../../domain/access.js';
import type { Actor } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf } from '../../lib/ids.js';
import { findPool, lockPool, type PoolRow } from './pools.repo.js';

/**
 * Loads a pool for an act. A pool the caller cannot even read answers 404, not 403, so other
 * tenants learn nothing of its existence; one it can read but not act on answers 403.
 * With `lock`, the row stays locked until the transaction ends.
 */
export async function poolFor(
  db: Executor,
  actor: Actor,
  poolId: string,
  permission: Permission,
  options: { lock?: boolean; what?: string } = {},
): Promise<PoolRow> {
  const what = options.what ?? 'pool';
  if (!isIdOf('pool', poolId)) throw notFound(what);
  const pool = options.lock ? await lockPool(db, poolId) : await findPool(db, poolId);
  if (!pool || !can(actor.principal, pool.path, 'read')) throw notFound(what);
  if (!can(actor.principal, pool.path, permission)) {
    throw new AppError('FORBIDDEN', `you may not ${permission} ${what} ${poolId}`);
  }
  return pool;
}

/**
 * Loads a root pool for a vendor-only act (catalog, signing keys, reconcile): an operator's,
 * and only on a root, else 422 NOT_A_ROOT naming the root to use.
 */
export async function rootFor(db: Executor, actor: Actor, rootId: string, what: string, options: { lock?: boolean } = {}): Promise<PoolRow> {
  const root = await poolFor(db, actor, rootId, 'operate', options);
  if (root.parentId !== null) throw new AppError('NOT_A_ROOT', `${what} live on the root pool ${root.rootId}`, { rootId: root.rootId });
  return root;
}

/** The pools whose subtrees the caller reaches, or undefined for a superuser (everything). */
export function reachOf(actor: Actor): string[] | undefined {
  return actor.principal.superuser ? undefined : actor.principal.bindings.map((b) => b.poolId);
}
