import { Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { AnchorLink } from '../../components/links';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { meQuery, myRolesQuery } from '../auth/session';
import { visiblePoolsQuery } from './queries';
import { PoolStatus } from './PoolStatus';

/** The first page after logging in: the pools the person holds roles at, each a link to its page. */
export function HomePage() {
  const me = useQuery(meQuery).data;
  const roles = useQuery(myRolesQuery);
  return (
    <Stack>
      <Title order={1}>Your pools</Title>
      {roles.isPending ? (
        <Loading label="Loading your pools" />
      ) : roles.isError ? (
        <ProblemAlert error={roles.error} />
      ) : roles.data.length === 0 ? (
        <Empty title="You hold no role at any pool yet">
          {me?.superuser ? 'As a superuser you may open any pool below.' : 'An operator or an admin of your reseller gives you one; then it shows here.'}
        </Empty>
      ) : (
        <Table.ScrollContainer minWidth={340}>
          <Table striped highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Pool</Table.Th>
                <Table.Th scope="col">Kind</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Your role</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {roles.data.map((r) => (
                <Table.Tr key={`${r.pool.id} ${r.role}`}>
                  <Table.Td>
                    <AnchorLink to="/pools/$poolId" params={{ poolId: r.pool.id }}>
                      {r.pool.name}
                    </AnchorLink>
                  </Table.Td>
                  <Table.Td>{r.pool.kind}</Table.Td>
                  <Table.Td>
                    <PoolStatus status={r.pool.status} />
                  </Table.Td>
                  <Table.Td>{r.role}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {me?.superuser && <AllPools />}
    </Stack>
  );
}

/** For superusers: every pool, searchable by name. */
function AllPools() {
  const [q, setQ] = useState('');
  const [search] = useDebouncedValue(q.trim(), 250);
  const pools = useQuery(visiblePoolsQuery(search));
  return (
    <Stack component="section" aria-labelledby="all-pools" mt="lg">
      <Title order={2} size="h3" id="all-pools">
        All pools
      </Title>
      <TextInput label="Search by name" value={q} onChange={(e) => setQ(e.currentTarget.value)} maw={360} />
      {pools.isPending ? (
        <Loading label="Loading pools" />
      ) : pools.isError ? (
        <ProblemAlert error={pools.error} />
      ) : pools.data.data.length === 0 ? (
        <Empty title={search ? `No pool is named like “${search}”` : 'No pools yet'}>{search ? undefined : 'Create a vendor root with `licensepool create-root`.'}</Empty>
      ) : (
        <Stack gap={4}>
          {pools.data.data.map((p) => (
            <Text key={p.id} size="sm">
              <AnchorLink to="/pools/$poolId" params={{ poolId: p.id }}>
                {p.name}
              </AnchorLink>{' '}
              ({p.kind}, {p.status})
            </Text>
          ))}
        </Stack>
      )}
    </Stack>
  );
}
