import { keepPreviousData, queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { components, paths } from '../../api/schema';
import { filterQuery, type LicenseListSearch } from './search';

export type License = components['schemas']['License'];
export type CreateLicenseBody = NonNullable<paths['/v1/licenses']['post']['requestBody']>['content']['application/json'];
export type LicenseAction = 'suspend' | 'resume' | 'finalize';

/** Rows per page of the license list. */
export const PAGE_SIZE = 20;

/**
 * One page of the license list. The previous page stays on screen while the next one loads
 * (keepPreviousData), so a filter change does not flash an empty table.
 */
export const licenseListQuery = (search: LicenseListSearch) =>
  queryOptions({
    queryKey: ['licenses', 'list', search],
    queryFn: ({ signal }) =>
      unwrap(api.GET('/v1/licenses', { params: { query: { ...filterQuery(search), limit: PAGE_SIZE, ...(search.cursor ? { cursor: search.cursor } : {}) } }, signal })),
    placeholderData: keepPreviousData,
  });

export const licenseQuery = (id: string) => queryOptions({ queryKey: ['licenses', id], queryFn: () => unwrap(api.GET('/v1/licenses/{id}', { params: { path: { id } } })) });

export const licenseSummaryQuery = (id: string) =>
  queryOptions({ queryKey: ['licenses', id, 'summary'], queryFn: () => unwrap(api.GET('/v1/licenses/{id}/summary', { params: { path: { id } } })) });

export const licenseHistoryQuery = (id: string) =>
  queryOptions({ queryKey: ['licenses', id, 'history'], queryFn: () => unwrap(api.GET('/v1/licenses/{id}/history', { params: { path: { id }, query: { limit: 100 } } })) });

export const licenseNotificationsQuery = (id: string) =>
  queryOptions({
    queryKey: ['licenses', id, 'notifications'],
    queryFn: () => unwrap(api.GET('/v1/licenses/{id}/notifications', { params: { path: { id }, query: { limit: 100 } } })),
  });

export const licenseAssignmentsQuery = (id: string) =>
  queryOptions({ queryKey: ['licenses', id, 'assignments'], queryFn: () => unwrap(api.GET('/v1/licenses/{id}/assignments', { params: { path: { id } } })) });

/** A pool's name for the list's Pool column; pool names change rarely, so they are kept a while. */
export const poolNameQuery = (id: string) =>
  queryOptions({
    queryKey: ['pools', id],
    queryFn: () => unwrap(api.GET('/v1/pools/{id}', { params: { path: { id } } })),
    staleTime: 5 * 60_000,
    select: (pool) => pool.name,
  });

/** Catalog of a root, for the request form (meters for limits, features for modules). */
export const rootCatalogQuery = (rootId: string) =>
  queryOptions({
    queryKey: ['pools', rootId, 'catalog'],
    queryFn: async () => {
      const [meters, features] = await Promise.all([
        unwrap(api.GET('/v1/pools/{id}/meters', { params: { path: { id: rootId } } })),
        unwrap(api.GET('/v1/pools/{id}/features', { params: { path: { id: rootId } } })),
      ]);
      return { meters: meters.data, features: features.data };
    },
  });

export function useRequestLicense() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateLicenseBody) => unwrap(api.POST('/v1/licenses', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['licenses', 'list'] }),
  });
}

export function useChangeLicenseStatus(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (action: LicenseAction) => unwrap(api.POST('/v1/licenses/{id}/{action}', { params: { path: { id, action } } })),
    onSuccess: (license) => queryClient.setQueryData(licenseQuery(id).queryKey, license),
    // A refusal (409) usually means the license changed elsewhere: show it as it is now.
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['licenses'] }),
  });
}
