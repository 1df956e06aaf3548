import { queryOptions } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

/** The catalog is the root's: any pool's readers see it, so each list is keyed by the root. */
export const metersQuery = (rootId: string) =>
  queryOptions({ queryKey: ['catalog', rootId, 'meters'], queryFn: () => unwrap(api.GET('/v1/pools/{id}/meters', { params: { path: { id: rootId } } })).then((a) => a.data) });

export const featuresQuery = (rootId: string) =>
  queryOptions({ queryKey: ['catalog', rootId, 'features'], queryFn: () => unwrap(api.GET('/v1/pools/{id}/features', { params: { path: { id: rootId } } })).then((a) => a.data) });

/** The first 500 packages (the API's largest page); the page says when there are more. */
export const packagesQuery = (rootId: string) =>
  queryOptions({ queryKey: ['catalog', rootId, 'packages'], queryFn: () => unwrap(api.GET('/v1/pools/{id}/packages', { params: { path: { id: rootId }, query: { limit: 500 } } })) });
