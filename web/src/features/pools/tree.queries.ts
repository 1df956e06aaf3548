/**
 * The pool tree's reads (issue 14, item 4), all from GET /v1/pools with tree=true: where the
 * caller's tree starts (`top`), a node's children a page at a time (`parentId` + `cursor`), and a
 * search by name whose hits carry their path. Nothing ever asks for the whole tree.
 */
import { infiniteQueryOptions, queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { components, paths } from '../../api/schema';

export type TreePool = components['schemas']['ListedPool'];
export type PoolAction = 'activate' | 'suspend' | 'resume' | 'close';
export type UpdatePoolBody = NonNullable<paths['/v1/pools/{id}']['patch']['requestBody']>['content']['application/json'];

/** Children per page: a screen's worth; a node with more offers "show more" (the API's cursor). */
export const TREE_PAGE = 50;

const listPage = (query: { top?: 'true'; parentId?: string; cursor?: string }) =>
  unwrap(
    api.GET('/v1/pools', {
      params: { query: { ...query, tree: 'true', limit: TREE_PAGE } },
    }),
  );

export const treeTopQuery = infiniteQueryOptions({
  queryKey: ['pools', 'tree', 'top'],
  queryFn: ({ pageParam }) => listPage({ top: 'true', ...(pageParam ? { cursor: pageParam } : {}) }),
  initialPageParam: '',
  getNextPageParam: (last) => last.nextCursor ?? undefined,
});

export const treeChildrenQuery = (parentId: string) =>
  infiniteQueryOptions({
    queryKey: ['pools', 'tree', 'children', parentId],
    queryFn: ({ pageParam }) => listPage({ parentId, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });

/** Pools by name over everything the caller may read, each with its path (so the tree can open to it). */
export const treeSearchQuery = (q: string) =>
  queryOptions({
    queryKey: ['pools', 'tree', 'search', q],
    queryFn: () =>
      unwrap(
        api.GET('/v1/pools', {
          params: { query: { q, tree: 'true', limit: 20 } },
        }),
      ),
    enabled: q.length > 0,
  });

/**
 * After a change to a pool: its page, and the tree's lists (its parent's children hold its name,
 * status and counts; an ancestor's child count changes on a create).
 */
function useRefreshPools() {
  const queryClient = useQueryClient();
  return (poolId: string) => Promise.all([queryClient.invalidateQueries({ queryKey: ['pools', poolId] }), queryClient.invalidateQueries({ queryKey: ['pools', 'tree'] })]);
}

export function useCreatePool() {
  const refresh = useRefreshPools();
  return useMutation({
    mutationFn: (body: { parentId: string; name: string; kind: string; restricted: boolean }) => unwrap(api.POST('/v1/pools', { body })),
    onSuccess: (created) => refresh(created.parentId ?? created.id),
  });
}

export function useUpdatePool(poolId: string) {
  const refresh = useRefreshPools();
  return useMutation({
    mutationFn: (body: UpdatePoolBody) => unwrap(api.PATCH('/v1/pools/{id}', { params: { path: { id: poolId } }, body })),
    onSuccess: () => refresh(poolId),
  });
}

export function usePoolAction(poolId: string) {
  const refresh = useRefreshPools();
  return useMutation({
    mutationFn: (action: PoolAction) =>
      unwrap(
        api.POST('/v1/pools/{id}/{action}', {
          params: { path: { id: poolId, action } },
        }),
      ),
    onSuccess: () => refresh(poolId),
  });
}
