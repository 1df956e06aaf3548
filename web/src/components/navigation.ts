/**
 * The console's navigation, in one list: a page added by a feature adds its entry here, with the
 * roles that may use it. The shell shows an entry only to those roles, so nobody is offered a
 * page the API would refuse them. `place`: the entry is about the pool chosen in the pool
 * switcher (its link takes that pool's id), and the roles checked are the ones held there.
 */
import type { Role } from '../features/auth/session';

export interface NavEntry {
  label: string;
  /** A route of src/routes; with `place`, one taking `$poolId`. */
  to: '/' | '/account' | '/pools/$poolId' | '/pools/$poolId/claims' | '/pools/$poolId/catalog' | '/licenses';
  place?: boolean;
  /** Who sees it: these roles (held at the chosen pool when `place`), or everyone signed in. */
  roles: readonly Role[] | 'everyone';
}

export const NAVIGATION: readonly NavEntry[] = [
  { label: 'Your pools', to: '/', roles: 'everyone' },
  { label: 'Pool overview', to: '/pools/$poolId', place: true, roles: ['operator', 'admin', 'manager', 'deputy'] },
  // Managers and deputies may list the claims (read-only: the API lets only operators and admins release).
  { label: 'Live claims', to: '/pools/$poolId/claims', place: true, roles: ['operator', 'admin', 'manager', 'deputy'] },
  { label: 'Catalog', to: '/pools/$poolId/catalog', place: true, roles: ['operator'] },
  { label: 'Licenses', to: '/licenses', roles: ['operator', 'admin', 'manager', 'deputy'] },
  { label: 'My account', to: '/account', roles: 'everyone' },
];

/** The entries someone sees: `superuser` sees all; otherwise by the roles they hold (at the place). */
export function visibleEntries(who: { superuser: boolean; roles: readonly Role[]; rolesAtPlace: readonly Role[]; hasPlace: boolean }): NavEntry[] {
  return NAVIGATION.filter((entry) => {
    if (entry.place && !who.hasPlace) return false;
    if (entry.roles === 'everyone' || who.superuser) return true;
    const held = entry.place ? who.rolesAtPlace : who.roles;
    return entry.roles.some((role) => held.includes(role));
  });
}
