/**
 * Who may do what where. A role held at a pool applies to its whole subtree; the checks here
 * look only at the pool's path (root first, the pool itself last) and the caller's bindings.
 */
import type { Role } from '../db/schema.js';

export interface Binding {
  poolId: string;
  role: Role;
}

export interface Principal {
  accountId: string;
  superuser: boolean;
  /** Role bindings in force for this request (a scoped API token narrows them to one). */
  bindings: readonly Binding[];
}

/**
 * - `read`: see the pool, its licenses, members, state and catalog (any role on the path).
 * - `manage`: members and access rules of the pool (operator, admin, manager, deputy).
 * - `administer`: create sub-pools under the pool (operator, admin on the path).
 * - `control`: the pool's own settings, status and licenses: the vendor's operators, or an
 *   admin above the pool (a reseller controls its customers, not itself).
 * - `operate`: vendor-only acts: catalog, verifying members (operator on the path).
 */
export type Permission = 'read' | 'manage' | 'administer' | 'control' | 'operate';

const ALLOWED: Record<Permission, readonly Role[]> = {
  read: ['operator', 'admin', 'manager', 'deputy'],
  manage: ['operator', 'admin', 'manager', 'deputy'],
  administer: ['operator', 'admin'],
  control: ['operator'],
  operate: ['operator'],
};

/** Roles the principal holds on `path`, with whether each is held strictly above the pool. */
function heldRoles(principal: Principal, path: readonly string[]): { role: Role; above: boolean }[] {
  const self = path[path.length - 1];
  return principal.bindings
    .filter((b) => path.includes(b.poolId))
    .map((b) => ({ role: b.role, above: b.poolId !== self }));
}

export function can(principal: Principal, path: readonly string[], permission: Permission): boolean {
  if (principal.superuser) return true;
  const held = heldRoles(principal, path);
  if (held.some((h) => ALLOWED[permission].includes(h.role))) return true;
  return permission === 'control' && held.some((h) => h.role === 'admin' && h.above);
}

/**
 * The pools whose subtrees the principal holds `permission` on, for a query to check a pool's
 * path against (`path && pools`); 'all' for a superuser. Not offered for `control`, which also
 * depends on where in the path a role is held.
 */
export function poolsGranting(principal: Principal, permission: Exclude<Permission, 'control'>): string[] | 'all' {
  if (principal.superuser) return 'all';
  return principal.bindings.filter((b) => ALLOWED[permission].includes(b.role)).map((b) => b.poolId);
}

/**
 * Which roles the principal may grant at the pool: operators any; admins admin below
 * themselves and manager/deputy anywhere in their subtree; managers and deputies deputies.
 */
export function canGrant(principal: Principal, path: readonly string[], role: Role): boolean {
  if (principal.superuser) return true;
  const held = heldRoles(principal, path);
  switch (role) {
    case 'operator':
      return held.some((h) => h.role === 'operator');
    case 'admin':
      return held.some((h) => h.role === 'operator' || (h.role === 'admin' && h.above));
    case 'manager':
      return held.some((h) => h.role === 'operator' || h.role === 'admin');
    case 'deputy':
      return held.length > 0;
  }
}

const STRENGTH: Record<Role, number> = { operator: 3, admin: 2, manager: 1, deputy: 1 };

/** A scoped API token may carry `role` at a pool only if its account holds as much there. */
export function holdsAtLeast(principal: Principal, path: readonly string[], role: Role): boolean {
  if (principal.superuser) return true;
  return heldRoles(principal, path).some((h) => STRENGTH[h.role] >= STRENGTH[role]);
}
