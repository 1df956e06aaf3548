/**
 * Which pool actions to offer, from the roles the person holds on the pool's path (the API's
 * rules of src/domain/access.ts, mirrored only to hide what it would refuse; the API still
 * decides, and a refusal is shown in words):
 * - create a sub-pool (`administer`): an operator or admin on the path;
 * - edit the name and kind (`manage`): any role on the path;
 * - edit restriction, validUntil, maxBorrowDays, queue and change status (`control`): an operator
 *   on the path, or an admin strictly above the pool.
 */
import type { MyRole, Role } from '../auth/session';

export interface PoolPermissions {
  createChild: boolean;
  editName: boolean;
  control: boolean;
}

export interface HeldRole {
  role: Role;
  /** Held at a pool above this one, not at the pool itself. */
  above: boolean;
}

/**
 * The roles held on a pool's path. `ancestorIds`: the pool's ancestors when known (the tree has
 * them); unknown (the pool page), a role elsewhere in the same root counts as above it — the
 * pool is readable, so such a role is almost always on its path, and when not the API refuses.
 */
export function heldRoles(roles: readonly MyRole[], pool: { id: string; rootId: string }, ancestorIds?: readonly string[]): HeldRole[] {
  return roles.flatMap((r): HeldRole[] => {
    if (r.pool.id === pool.id) return [{ role: r.role as Role, above: false }];
    const above = ancestorIds ? ancestorIds.includes(r.pool.id) : r.pool.rootId === pool.rootId;
    return above ? [{ role: r.role as Role, above: true }] : [];
  });
}

export function poolPermissions(superuser: boolean, held: readonly HeldRole[]): PoolPermissions {
  if (superuser) return { createChild: true, editName: true, control: true };
  const has = (role: Role, where?: (h: HeldRole) => boolean) => held.some((h) => h.role === role && (where ? where(h) : true));
  return {
    createChild: has('operator') || has('admin'),
    editName: held.length > 0,
    control: has('operator') || has('admin', (h) => h.above),
  };
}
