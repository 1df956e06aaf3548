import { Badge, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { isProblem } from '../../api/problem';
import { NotFoundPage } from '../../components/NotFoundPage';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { poolQuery, poolStateQuery } from './queries';
import { PoolStatus } from './PoolStatus';

const route = getRouteApi('/_app/pools/$poolId');

const count = (n: number | null) => (n === null ? 'unlimited' : String(n));
const day = (at: string | null) => (at ? new Date(at).toLocaleDateString(undefined, { dateStyle: 'medium' }) : 'no end');

/** One pool: its name, kind and status, and its License state (per meter and per feature). */
export function PoolPage() {
  const { poolId } = route.useParams();
  const pool = useQuery(poolQuery(poolId));
  if (pool.isPending) return <Loading label="Loading the pool" />;
  // The API answers 404 for a pool the person may not see, as for one that does not exist.
  if (pool.isError) return isProblem(pool.error) && pool.error.status === 404 ? <NotFoundPage what="Pool" /> : <ProblemAlert error={pool.error} />;
  const p = pool.data;
  return (
    <Stack>
      <Group gap="sm" align="center">
        <Title order={1}>{p.name}</Title>
        <PoolStatus status={p.status} />
      </Group>
      <Group gap="lg">
        <Text size="sm">Kind: {p.kind}</Text>
        <Text size="sm">Restricted: {p.restricted ? 'yes' : 'no'}</Text>
        <Text size="sm">Valid until: {day(p.validUntil)}</Text>
      </Group>
      <LicenseState poolId={poolId} />
    </Stack>
  );
}

function LicenseState({ poolId }: { poolId: string }) {
  const state = useQuery(poolStateQuery(poolId));
  return (
    <Stack component="section" aria-labelledby="license-state" gap="sm">
      <Title order={2} size="h3" id="license-state">
        License state
      </Title>
      {state.isPending ? (
        <Loading label="Loading the license state" />
      ) : state.isError ? (
        <ProblemAlert error={state.error} />
      ) : (
        <>
          {!state.data.serving && (
            <Text size="sm" c="red.9">
              Not serving: {state.data.notServing.map((n) => n.code).join(', ')}
            </Text>
          )}
          {state.data.meters.length === 0 ? (
            <Empty title="No meters">The root's catalog has no meters yet.</Empty>
          ) : (
            <Table.ScrollContainer minWidth={560}>
              <Table captionSide="top">
                <Table.Caption>Meters</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">Meter</Table.Th>
                    <Table.Th scope="col">Status</Table.Th>
                    <Table.Th scope="col">Until</Table.Th>
                    <Table.Th scope="col">Maximum</Table.Th>
                    <Table.Th scope="col">Used</Table.Th>
                    <Table.Th scope="col">Available</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {state.data.meters.map((m) => (
                    <Table.Tr key={m.key} className={m.overLimit ? 'over-limit' : undefined}>
                      <Table.Th scope="row">{m.key}</Table.Th>
                      <Table.Td>
                        {m.enabled ? 'enabled' : 'disabled'}
                        {m.overLimit && (
                          <Badge color="red.9" variant="filled" ml="xs">
                            over limit
                          </Badge>
                        )}
                      </Table.Td>
                      <Table.Td>{day(m.until)}</Table.Td>
                      <Table.Td>{count(m.effectiveLimit)}</Table.Td>
                      <Table.Td>{m.used}</Table.Td>
                      <Table.Td>{count(m.available)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
          {state.data.features.length > 0 && (
            <Table.ScrollContainer minWidth={360}>
              <Table captionSide="top">
                <Table.Caption>Features</Table.Caption>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th scope="col">Feature</Table.Th>
                    <Table.Th scope="col">Enabled</Table.Th>
                    <Table.Th scope="col">Until</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {state.data.features.map((f) => (
                    <Table.Tr key={f.key}>
                      <Table.Th scope="row">{f.key}</Table.Th>
                      <Table.Td>{f.enabled ? 'yes' : 'no'}</Table.Td>
                      <Table.Td>{f.enabled ? day(f.until) : '—'}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </>
      )}
    </Stack>
  );
}
