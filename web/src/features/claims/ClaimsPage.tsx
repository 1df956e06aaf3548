import { Alert, Badge, Button, Group, Modal, Stack, Switch, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { isProblem } from '../../api/problem';
import type { components } from '../../api/schema';
import { NotFoundPage } from '../../components/NotFoundPage';
import { Empty, Loading } from '../../components/PageState';
import { scrollRegion } from '../../components/scrollRegion';
import { ProblemAlert } from '../../components/ProblemAlert';
import { poolQuery, poolStateQuery } from '../pools/queries';
import { useMayAdminister } from './administer';
import { liveClaimsQuery, openTicketsQuery } from './queries';

type ListedClaim = components['schemas']['ListedClaim'];
type Holder = ListedClaim['holder'];
type Pool = components['schemas']['Pool'];

const route = getRouteApi('/_app/pools/$poolId_/claims');

const when = (at: string | null) => (at ? new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');

/** A person by name (and e-mail), a device by serial (and type); a removed member as such. */
function holderText(holder: Holder): { main: string; sub: string | null } {
  if (!holder) return { main: 'removed member', sub: null };
  if (holder.deviceSerial) return { main: `device ${holder.deviceSerial}`, sub: holder.deviceType };
  return { main: holder.name ?? holder.email ?? 'unknown', sub: holder.name ? holder.email : null };
}

function HolderCell({ holder }: { holder: Holder }) {
  const { main, sub } = holderText(holder);
  return (
    <>
      <Text size="sm" fw={500} component="span" display="block">
        {main}
      </Text>
      {sub && (
        <Text size="xs" c="gray.7" component="span" display="block">
          {sub}
        </Text>
      )}
    </>
  );
}

/** A pool of the subtree by name (each read once and shared by its rows); its id until then. */
function PoolName({ poolId }: { poolId: string }) {
  const pool = useQuery({ ...poolQuery(poolId), staleTime: 60_000 });
  return <>{pool.data?.name ?? poolId}</>;
}

/**
 * Who holds what in a pool, now (what FlexNet and RLM admins ask for): its live claims with their
 * holders, the queue's tickets with their places, and the pool's use per meter. Read again every
 * few seconds while open. Operators and admins (of the pool or above) release a claim.
 */
export function ClaimsPage() {
  const { poolId } = route.useParams();
  const pool = useQuery(poolQuery(poolId));
  const [subtree, setSubtree] = useState(true);
  if (pool.isPending) return <Loading label="Loading the pool" />;
  if (pool.isError) return isProblem(pool.error) && pool.error.status === 404 ? <NotFoundPage what="Pool" /> : <ProblemAlert error={pool.error} />;
  return (
    <Stack>
      <Title order={1}>Live claims of {pool.data.name}</Title>
      <Switch label="Include the pools below" checked={subtree} onChange={(e) => setSubtree(e.currentTarget.checked)} w="fit-content" />
      <Use poolId={poolId} />
      <Claims pool={pool.data} subtree={subtree} />
      <Queue pool={pool.data} subtree={subtree} />
    </Stack>
  );
}

/** The pool's use per meter (its License state's used and maximum), so a release shows in it. */
function Use({ poolId }: { poolId: string }) {
  const state = useQuery(poolStateQuery(poolId));
  if (state.isPending) return <Loading label="Loading the pool's use" />;
  if (state.isError) return <ProblemAlert error={state.error} />;
  if (state.data.meters.length === 0) return null;
  return (
    <Group gap="xs" role="group" aria-label="Use per meter">
      {state.data.meters.map((m) => (
        <Badge key={m.key} variant="light" color={m.overLimit ? 'red.9' : 'blue'} size="lg" tt="none">
          {m.key}: {m.used} used of {m.effectiveLimit ?? 'unlimited'}
        </Badge>
      ))}
    </Group>
  );
}

function Claims({ pool, subtree }: { pool: Pool; subtree: boolean }) {
  const claims = useQuery(liveClaimsQuery(pool.id, subtree));
  const mayRelease = useMayAdminister(pool);
  const [releasing, setReleasing] = useState<ListedClaim | null>(null);
  return (
    <Stack component="section" aria-labelledby="claims-title" gap="sm">
      <Title order={2} size="h3" id="claims-title">
        Who holds what
      </Title>
      {claims.isPending ? (
        <Loading label="Loading the live claims" />
      ) : claims.isError ? (
        <ProblemAlert error={claims.error} />
      ) : claims.data.data.length === 0 ? (
        <Empty title="No live claims">Nobody holds a unit of this pool{subtree ? ' or the pools below it' : ''} now.</Empty>
      ) : (
        <>
          <Table.ScrollContainer minWidth={900} {...scrollRegion('Live claims, scrollable')}>
            <Table captionSide="top" highlightOnHover>
              <Table.Caption ta="left">Live claims ({claims.data.data.length})</Table.Caption>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Holder</Table.Th>
                  {subtree && <Table.Th scope="col">Pool</Table.Th>}
                  <Table.Th scope="col">Meter</Table.Th>
                  <Table.Th scope="col">Kind</Table.Th>
                  <Table.Th scope="col">Quantity</Table.Th>
                  <Table.Th scope="col">Since</Table.Th>
                  <Table.Th scope="col">Expires</Table.Th>
                  <Table.Th scope="col">Client</Table.Th>
                  {mayRelease && (
                    <Table.Th scope="col">
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  )}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {claims.data.data.map((c) => (
                  <Table.Tr key={c.id}>
                    <Table.Th scope="row">
                      <HolderCell holder={c.holder} />
                    </Table.Th>
                    {subtree && (
                      <Table.Td>
                        <PoolName poolId={c.poolId} />
                      </Table.Td>
                    )}
                    <Table.Td>{c.meter}</Table.Td>
                    <Table.Td>{c.kind}</Table.Td>
                    <Table.Td>{c.quantity}</Table.Td>
                    <Table.Td>{when(c.createdAt)}</Table.Td>
                    <Table.Td>{c.expiresAt ? when(c.expiresAt) : 'until released'}</Table.Td>
                    <Table.Td>{c.fingerprint ?? '—'}</Table.Td>
                    {mayRelease && (
                      <Table.Td>
                        <Button size="xs" variant="outline" color="red.9" onClick={() => setReleasing(c)} aria-label={`Release the ${c.meter} claim of ${holderText(c.holder).main}`}>
                          Release
                        </Button>
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {claims.data.nextCursor && <Text size="sm">The first {claims.data.data.length} live claims are shown.</Text>}
        </>
      )}
      {releasing && <ReleaseDialog claim={releasing} poolId={pool.id} onClose={() => setReleasing(null)} />}
    </Stack>
  );
}

/** Confirms a force-release: the claim ends with reason released_by_admin, its units come back. */
function ReleaseDialog({ claim, poolId, onClose }: { claim: ListedClaim; poolId: string; onClose: () => void }) {
  const queryClient = useQueryClient();
  const release = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/claims/{id}/release', { params: { path: { id: claim.id } } })),
    onSettled: async () => {
      // Ended now or before (410): either way it is gone from the live list; the freed units
      // may have gone to the queue's head ticket, and the pool's use has changed.
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ['claims', poolId] }),
        queryClient.invalidateQueries({ queryKey: ['tickets', poolId] }),
        queryClient.invalidateQueries({ queryKey: poolStateQuery(poolId).queryKey }),
      ]);
    },
    onSuccess: onClose,
  });
  const { main } = holderText(claim.holder);
  return (
    <Modal opened onClose={onClose} title="Release this claim?" centered closeButtonProps={{ 'aria-label': 'Close' }}>
      <Stack>
        <Text size="sm">
          The {claim.kind} of {claim.quantity} {claim.meter} held by {main}
          {claim.fingerprint ? ` on ${claim.fingerprint}` : ''} ends now, with the reason “released by admin”. Its units go back to the pool (the
          queue's first ticket gets them); the holder's client learns it on its next heartbeat.
        </Text>
        <ProblemAlert error={release.error} title="Not released" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button color="red.9" loading={release.isPending} onClick={() => release.mutate()} data-autofocus>
            Release claim
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function Queue({ pool, subtree }: { pool: Pool; subtree: boolean }) {
  const tickets = useQuery(openTicketsQuery(pool.id, subtree));
  return (
    <Stack component="section" aria-labelledby="queue-title" gap="sm">
      <Title order={2} size="h3" id="queue-title">
        Queue
      </Title>
      {!subtree && !pool.queue.enabled && <Text size="sm">This pool's queue is off: a full pool refuses leases instead of queueing them.</Text>}
      {tickets.isPending ? (
        <Loading label="Loading the queue" />
      ) : tickets.isError ? (
        <ProblemAlert error={tickets.error} />
      ) : tickets.data.data.length === 0 ? (
        <Empty title="Nobody is waiting" />
      ) : (
        <Table.ScrollContainer minWidth={720} {...scrollRegion('Tickets in line, scrollable')}>
          <Table captionSide="top">
            <Table.Caption ta="left">Tickets in line ({tickets.data.data.length})</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Position</Table.Th>
                <Table.Th scope="col">Waiting</Table.Th>
                {subtree && <Table.Th scope="col">Pool</Table.Th>}
                <Table.Th scope="col">Meter</Table.Th>
                <Table.Th scope="col">Quantity</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Since</Table.Th>
                <Table.Th scope="col">Client</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {[...tickets.data.data]
                .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
                .map((t) => (
                  <Table.Tr key={t.id}>
                    <Table.Td>{t.position ?? '—'}</Table.Td>
                    <Table.Th scope="row">
                      <HolderCell holder={t.holder} />
                    </Table.Th>
                    {subtree && (
                      <Table.Td>
                        <PoolName poolId={t.poolId} />
                      </Table.Td>
                    )}
                    <Table.Td>{t.meter}</Table.Td>
                    <Table.Td>{t.quantity}</Table.Td>
                    <Table.Td>{t.status === 'held' ? `held until ${when(t.heldUntil)}` : t.status}</Table.Td>
                    <Table.Td>{when(t.createdAt)}</Table.Td>
                    <Table.Td>{t.fingerprint ?? '—'}</Table.Td>
                  </Table.Tr>
                ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {tickets.isSuccess && tickets.data.nextCursor && <Alert variant="light">The first {tickets.data.data.length} tickets are shown.</Alert>}
    </Stack>
  );
}
