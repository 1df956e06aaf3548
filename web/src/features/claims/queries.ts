import { queryOptions } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

/** How often the claims page reads the claims and the queue again while it is open. */
export const CLAIMS_POLL_MS = 4_000;
/** The API's largest page: the page shows the first this many and says when there are more. */
export const CLAIMS_PAGE = 500;

/** The live claims of a pool and (subtree) the pools below it, each with who holds it. */
export const liveClaimsQuery = (poolId: string, subtree: boolean) =>
  queryOptions({
    queryKey: ['claims', poolId, { subtree }],
    queryFn: () =>
      unwrap(api.GET('/v1/claims', { params: { query: { poolId, live: 'true', subtree: subtree ? 'true' : 'false', limit: CLAIMS_PAGE } } })),
    refetchInterval: CLAIMS_POLL_MS,
  });

/** The tickets still in line (waiting with their position, or held), with who waits. */
export const openTicketsQuery = (poolId: string, subtree: boolean) =>
  queryOptions({
    queryKey: ['tickets', poolId, { subtree }],
    queryFn: () =>
      unwrap(api.GET('/v1/tickets', { params: { query: { poolId, open: 'true', subtree: subtree ? 'true' : 'false', limit: CLAIMS_PAGE } } })),
    refetchInterval: CLAIMS_POLL_MS,
  });
