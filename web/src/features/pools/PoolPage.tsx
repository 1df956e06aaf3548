import { Group, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { isProblem } from '../../api/problem';
import { NotFoundPage } from '../../components/NotFoundPage';
import { Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { LicensesSection } from '../licenses-section/LicensesSection';
import { poolQuery } from './queries';
import { PoolStatus } from './PoolStatus';
import { PoolActions } from './PoolActions';

const route = getRouteApi('/_app/pools/$poolId');

const day = (at: string | null) => (at ? new Date(at).toLocaleDateString(undefined, { dateStyle: 'medium' }) : 'no end');

/** One pool: its name, kind and status, and its Licenses section with the License state. */
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
        <PoolActions pool={p} />
      </Group>
      <Group gap="lg">
        <Text size="sm">Kind: {p.kind}</Text>
        <Text size="sm">Restricted: {p.restricted ? 'yes' : 'no'}</Text>
        <Text size="sm">Valid until: {day(p.validUntil)}</Text>
      </Group>
      <LicensesSection pool={p} />
    </Stack>
  );
}
