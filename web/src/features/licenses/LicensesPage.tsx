import { Button, Checkbox, Group, Paper, SimpleGrid, Stack, Table, Text, TextInput, Title, UnstyledButton, VisuallyHidden } from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { useQueries, useQuery } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { useState } from 'react';
import { PoolPicker } from './PoolPicker';
import { AnchorLink } from '../../components/links';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { meQuery, myRolesQuery } from '../auth/session';
import { day, units } from './format';
import { LicenseStatus } from './LicenseStatus';
import { licenseListQuery, PAGE_SIZE, poolNameQuery, type License } from './queries';
import { RequestLicenseButton } from './RequestLicense';
import { exportHref, LICENSE_STATUSES, STATUS_LABELS, type LicenseListSearch, type LicenseSort } from './search';

const route = getRouteApi('/_app/licenses/');

/** Seed 003's license list: filters (status, end date, text, pool), sortable columns, keyset pages, CSV export. */
export function LicensesPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const me = useQuery(meQuery).data;
  const roles = useQuery(myRolesQuery).data ?? [];
  const list = useQuery(licenseListQuery(search));
  // The cursors of the pages before this one (keyset pages only go forward; back is remembered).
  const [previous, setPrevious] = useState<(string | undefined)[]>([]);

  /** A filter or the sort changed: back to the first page. */
  const refilter = (change: Partial<LicenseListSearch>) => {
    setPrevious([]);
    void navigate({ search: (s) => ({ ...s, ...change, cursor: undefined }), replace: true });
  };
  const canRequest = me?.superuser || roles.some((r) => r.role === 'operator' && r.pool.parentId === null);

  return (
    <Stack>
      <Group justify="space-between" align="flex-end">
        <Title order={1}>Licenses</Title>
        <Group gap="sm">
          {canRequest && <RequestLicenseButton />}
          <Button component="a" variant="default" href={exportHref(search)} download>
            Export CSV
          </Button>
        </Group>
      </Group>
      <Filters search={search} onChange={refilter} />
      {/* The answer to the filters: busy while the next one loads (the last one stays on screen meanwhile). */}
      <Stack component="section" aria-label="Licenses found" aria-busy={list.isPlaceholderData} gap="md">
        {list.isPending ? (
          <Loading label="Loading licenses" />
        ) : list.isError ? (
          <ProblemAlert error={list.error} />
        ) : list.data.data.length === 0 ? (
          <Empty title={hasFilters(search) ? 'No license matches these filters' : 'No licenses yet'}>
            {hasFilters(search) ? 'Change or clear the filters to see more.' : canRequest ? 'Request one with “Request a license”.' : 'Licenses bound to your pools show here.'}
          </Empty>
        ) : (
          <>
            <LicenseTable licenses={list.data.data} sort={search.sort ?? 'id'} onSort={(sort) => refilter({ sort })} busy={list.isPlaceholderData} />
            <Group justify="space-between">
              <Text size="sm" aria-live="polite">
                {previous.length * PAGE_SIZE + 1}–{previous.length * PAGE_SIZE + list.data.data.length}
                {list.data.nextCursor ? ' (more on the next pages)' : ''}
              </Text>
              <Group gap="sm">
                <Button
                  variant="default"
                  disabled={!search.cursor}
                  onClick={() => {
                    const back = previous.at(-1);
                    setPrevious((p) => p.slice(0, -1));
                    void navigate({ search: (s) => ({ ...s, cursor: back }) });
                  }}
                >
                  Previous page
                </Button>
                <Button
                  variant="default"
                  disabled={!list.data.nextCursor || list.isPlaceholderData}
                  onClick={() => {
                    setPrevious((p) => [...p, search.cursor]);
                    void navigate({ search: (s) => ({ ...s, cursor: list.data.nextCursor ?? undefined }) });
                  }}
                >
                  Next page
                </Button>
              </Group>
            </Group>
          </>
        )}
      </Stack>
    </Stack>
  );
}

const hasFilters = (s: LicenseListSearch) => !!(s.status || s.endsFrom || s.endsTo || s.q || s.subtree);

function Filters({ search, onChange }: { search: LicenseListSearch; onChange: (change: Partial<LicenseListSearch>) => void }) {
  const [q, setQ] = useState(search.q ?? '');
  const applyText = useDebouncedCallback((value: string) => onChange({ q: value.trim() || undefined }), 300);
  return (
    <Paper withBorder p="md" component="section" aria-label="Filters">
      <Stack gap="sm">
        <Checkbox.Group
          label="Status"
          value={search.status ?? []}
          onChange={(values) => onChange({ status: values.length ? (values as LicenseListSearch['status']) : undefined })}
        >
          <Group gap="md" mt={4}>
            {LICENSE_STATUSES.map((s) => (
              <Checkbox key={s} value={s} label={STATUS_LABELS[s]} />
            ))}
          </Group>
        </Checkbox.Group>
        <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
          <TextInput type="date" label="Ends on or after" value={search.endsFrom ?? ''} onChange={(e) => onChange({ endsFrom: e.currentTarget.value || undefined })} />
          <TextInput type="date" label="Ends on or before" value={search.endsTo ?? ''} onChange={(e) => onChange({ endsTo: e.currentTarget.value || undefined })} />
          <TextInput
            type="search"
            label="Search"
            description="Key, name, partner or pool"
            value={q}
            onChange={(e) => {
              setQ(e.currentTarget.value);
              applyText(e.currentTarget.value);
            }}
          />
          <PoolPicker label="Pool" description="With the pools below it" value={search.subtree ?? null} onChange={(id) => onChange({ subtree: id ?? undefined })} />
        </SimpleGrid>
        {(search.status || search.endsFrom || search.endsTo || search.q || search.subtree) && (
          <Group>
            <Button
              variant="subtle"
              size="xs"
              onClick={() => {
                setQ('');
                onChange({ status: undefined, endsFrom: undefined, endsTo: undefined, q: undefined, subtree: undefined });
              }}
            >
              Clear filters
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

/** A column header that sorts: ascending, then descending, then back to the default order. */
function SortHeader({ label, column, sort, onSort }: { label: string; column: 'validUntil' | 'createdAt'; sort: LicenseSort; onSort: (sort: LicenseSort) => void }) {
  const direction = sort === column ? 'ascending' : sort === `-${column}` ? 'descending' : 'none';
  const next: LicenseSort = direction === 'none' ? column : direction === 'ascending' ? `-${column}` : 'id';
  return (
    <Table.Th scope="col" aria-sort={direction}>
      <UnstyledButton onClick={() => onSort(next)} fw={700} fz="sm">
        {label} {direction === 'ascending' ? '▲' : direction === 'descending' ? '▼' : '↕'}
        <VisuallyHidden>{direction === 'none' ? ', sort' : direction === 'ascending' ? ', sorted ascending' : ', sorted descending'}</VisuallyHidden>
      </UnstyledButton>
    </Table.Th>
  );
}

function LicenseTable({ licenses, sort, onSort, busy }: { licenses: License[]; sort: LicenseSort; onSort: (sort: LicenseSort) => void; busy: boolean }) {
  const poolIds = [...new Set(licenses.map((l) => l.poolId ?? l.request?.poolId).filter((id): id is string => !!id))];
  const names = useQueries({ queries: poolIds.map((id) => ({ ...poolNameQuery(id), retry: false })) });
  const poolName = new Map(poolIds.map((id, i) => [id, names[i]?.data]));
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table striped highlightOnHover style={{ opacity: busy ? 0.6 : 1 }}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">License key</Table.Th>
            <Table.Th scope="col">Name</Table.Th>
            <Table.Th scope="col">Pool</Table.Th>
            <Table.Th scope="col">Modules</Table.Th>
            <Table.Th scope="col">APs</Table.Th>
            <Table.Th scope="col">Rooms</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">Start date</Table.Th>
            <SortHeader label="End date" column="validUntil" sort={sort} onSort={onSort} />
            <SortHeader label="Created" column="createdAt" sort={sort} onSort={onSort} />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {licenses.map((l) => {
            const poolId = l.poolId ?? l.request?.poolId;
            return (
              <Table.Tr key={l.id}>
                <Table.Td>
                  <AnchorLink to="/licenses/$licenseId" params={{ licenseId: l.id }} ff="monospace">
                    {l.key ?? l.name ?? l.id}
                  </AnchorLink>
                </Table.Td>
                <Table.Td>{l.name ?? '—'}</Table.Td>
                <Table.Td>{poolId ? (poolName.get(poolId) ?? poolId) + (l.poolId ? '' : ' (requested)') : '—'}</Table.Td>
                <Table.Td>{l.features.length ? l.features.join(', ') : '—'}</Table.Td>
                <Table.Td>{units(l.limits.access_points ?? l.request?.accessPoints)}</Table.Td>
                <Table.Td>{units(l.limits.rooms ?? l.request?.rooms)}</Table.Td>
                <Table.Td miw={170}>
                  <LicenseStatus status={l.status} />
                </Table.Td>
                <Table.Td>{day(l.validFrom)}</Table.Td>
                <Table.Td>{day(l.validUntil)}</Table.Td>
                <Table.Td>{day(l.createdAt)}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
