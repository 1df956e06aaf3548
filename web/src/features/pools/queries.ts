import { queryOptions } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

export const poolQuery = (poolId: string) =>
  queryOptions({ queryKey: ['pools', poolId], queryFn: () => unwrap(api.GET('/v1/pools/{id}', { params: { path: { id: poolId } } })) });

/**
 * The License state of a pool, read again every 5 seconds while the page is open, so claims that
 * come and go elsewhere show without a reload (polling: one cheap read, no connection held open).
 */
export const poolStateQuery = (poolId: string) =>
  queryOptions({
    queryKey: ['pools', poolId, 'state'],
    queryFn: () => unwrap(api.GET('/v1/pools/{id}/state', { params: { path: { id: poolId } } })),
    refetchInterval: 5_000,
  });
