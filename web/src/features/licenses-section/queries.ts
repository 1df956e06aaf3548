import { queryOptions, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import type { components } from '../../api/schema';

export type License = components['schemas']['License'];
export type LicenseTermsBody = {
  name?: string | null;
  limits: Record<string, number | null>;
  features: string[];
  validFrom?: string;
  validUntil?: string | null;
};

/** The meters and features of the pool's root catalog (asked of the pool itself: reading it is enough). */
export const catalogQuery = (poolId: string) =>
  queryOptions({
    queryKey: ['pools', poolId, 'catalog'],
    queryFn: async () => {
      const [meters, features] = await Promise.all([
        unwrap(api.GET('/v1/pools/{id}/meters', { params: { path: { id: poolId } } })),
        unwrap(api.GET('/v1/pools/{id}/features', { params: { path: { id: poolId } } })),
      ]);
      return { meters: meters.data, features: features.data };
    },
    staleTime: 60_000,
  });

/**
 * Every license bound to the pool, ended ones included (the state's `licenses` has only those in
 * effect; a panel of an expired license shows what fell away). Polled with the state, so a license
 * that runs out shows `expired` without a reload.
 */
export const poolLicensesQuery = (poolId: string) =>
  queryOptions({
    queryKey: ['pools', poolId, 'licenses'],
    queryFn: () => unwrap(api.GET('/v1/licenses', { params: { query: { poolId, limit: 100 } } })),
    refetchInterval: 5_000,
  });

/** After a change: the pool (its restriction), its licenses and its state are read again. */
function useRefreshPool(poolId: string) {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: ['pools', poolId] });
}

export function useSetRestriction(poolId: string) {
  const refresh = useRefreshPool(poolId);
  return useMutation({
    mutationFn: (restricted: boolean) => unwrap(api.PATCH('/v1/pools/{id}', { params: { path: { id: poolId } }, body: { restricted } })),
    onSuccess: refresh,
  });
}

export function useAddLicense(poolId: string) {
  const refresh = useRefreshPool(poolId);
  return useMutation({
    mutationFn: ({ name, ...terms }: LicenseTermsBody) =>
      unwrap(api.POST('/v1/pools/{id}/licenses', { params: { path: { id: poolId } }, body: { ...terms, ...(name ? { name } : {}) } })),
    onSuccess: refresh,
  });
}

export function useChangeLicense(poolId: string, licenseId: string) {
  const refresh = useRefreshPool(poolId);
  return useMutation({
    mutationFn: (body: LicenseTermsBody) => unwrap(api.PATCH('/v1/licenses/{id}', { params: { path: { id: licenseId } }, body })),
    onSuccess: refresh,
  });
}

/** The dry run of a change: the claims saving it would revoke (docs/claims.md, "Limits that change"). */
export function usePreviewLicenseChange(licenseId: string) {
  return useMutation({
    mutationFn: (body: LicenseTermsBody) => unwrap(api.POST('/v1/licenses/{id}/preview', { params: { path: { id: licenseId } }, body })),
  });
}
