import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';
import { meQuery, myRolesQuery } from '../auth/session';

type Pool = components['schemas']['Pool'];

/**
 * Whether the signed-in person may force-release the pool's claims, by the API's rule
 * (docs/claims.md): superusers, operators of the root, admins of the pool or of a pool above it.
 * Managers and deputies may list the claims but not release them, so they get no button.
 * A pool carries no path, so an admin role somewhere higher in the same root is checked by
 * reading the pool's parents up to that role's depth (a few reads, only for such a person).
 */
export function useMayAdminister(pool: Pool): boolean {
  const superuser = useQuery(meQuery).data?.superuser ?? false;
  const roles = useQuery(myRolesQuery).data ?? [];
  const direct =
    superuser ||
    roles.some((r) => (r.role === 'operator' && r.pool.id === pool.rootId) || (r.role === 'admin' && (r.pool.id === pool.id || r.pool.id === pool.rootId)));
  const higherAdmin = roles.filter((r) => r.role === 'admin' && r.pool.rootId === pool.rootId && r.pool.depth < pool.depth).map((r) => r.pool);
  const shallowest = Math.min(...higherAdmin.map((p) => p.depth));
  const ancestors = useQuery({
    queryKey: ['pools', pool.id, 'ancestors', shallowest],
    enabled: !direct && higherAdmin.length > 0,
    staleTime: 5 * 60_000,
    queryFn: async () => {
      const ids: string[] = [];
      let parentId = pool.parentId;
      while (parentId) {
        const parent = await unwrap(api.GET('/v1/pools/{id}', { params: { path: { id: parentId } } }));
        ids.push(parent.id);
        if (parent.depth <= shallowest) break;
        parentId = parent.parentId;
      }
      return ids;
    },
  });
  return direct || higherAdmin.some((p) => ancestors.data?.includes(p.id));
}
