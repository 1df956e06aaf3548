import { Alert, Button, Group, MultiSelect, NumberInput, Paper, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, unwrap } from '../../api/client';
import { isProblem } from '../../api/problem';
import { NotFoundPage } from '../../components/NotFoundPage';
import { Empty, Loading } from '../../components/PageState';
import { scrollRegion } from '../../components/scrollRegion';
import { ProblemAlert } from '../../components/ProblemAlert';
import { meQuery, myRolesQuery } from '../auth/session';
import { poolQuery } from '../pools/queries';
import { featuresQuery, metersQuery, packagesQuery } from './queries';

const route = getRouteApi('/_app/pools/$poolId_/catalog');

/**
 * A refusal of the API as the message of one field: its field error, or the detail of a refusal
 * whose code concerns that field (a key in use, a draw that would form a cycle).
 */
function refusalAt(error: unknown, field: string, codes: readonly string[] = []): string | undefined {
  if (!isProblem(error)) return undefined;
  // `draws.1` (one of the list) is shown at the list's field.
  const atField = Object.entries(error.fieldErrors()).find(([path]) => path === field || path.startsWith(`${field}.`));
  return atField?.[1] ?? (codes.includes(error.code) ? error.detail : undefined);
}

/** The error for the form's alert, unless one of its fields already shows it. */
const unshown = (error: unknown, codes: readonly string[]) => (isProblem(error) && codes.includes(error.code) ? null : error);

/**
 * The catalog of a pool's root: its meters (with what each draws on), features and packages.
 * Operators of the root (and superusers) add to it; everyone who may read the pool sees it.
 */
export function CatalogPage() {
  const { poolId } = route.useParams();
  const pool = useQuery(poolQuery(poolId));
  const me = useQuery(meQuery).data;
  const roles = useQuery(myRolesQuery).data ?? [];
  if (pool.isPending) return <Loading label="Loading the pool" />;
  if (pool.isError) return isProblem(pool.error) && pool.error.status === 404 ? <NotFoundPage what="Pool" /> : <ProblemAlert error={pool.error} />;
  const rootId = pool.data.rootId;
  const operates = (me?.superuser ?? false) || roles.some((r) => r.role === 'operator' && r.pool.id === rootId);
  return (
    <Stack>
      <Title order={1}>Catalog</Title>
      <Text size="sm">
        What licenses of {pool.data.parentId === null ? pool.data.name : 'this pool\'s root'} count and switch on.
        {!operates && ' Operators of the root add to it.'}
      </Text>
      <Meters rootId={rootId} operates={operates} />
      <Features rootId={rootId} operates={operates} />
      <Packages rootId={rootId} operates={operates} />
    </Stack>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="lg" component="section" aria-labelledby={id}>
      <Stack gap="sm">
        <Title order={2} size="h3" id={id}>
          {title}
        </Title>
        {children}
      </Stack>
    </Paper>
  );
}

function Meters({ rootId, operates }: { rootId: string; operates: boolean }) {
  const meters = useQuery(metersQuery(rootId));
  return (
    <Section id="meters-title" title="Meters">
      {meters.isPending ? (
        <Loading label="Loading the meters" />
      ) : meters.isError ? (
        <ProblemAlert error={meters.error} />
      ) : meters.data.length === 0 ? (
        <Empty title="No meters yet">A meter is what licenses limit: seats, SIP numbers, mobile apps.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={480} {...scrollRegion('Meters, scrollable')}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Key</Table.Th>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">Draws on</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {meters.data.map((m) => (
                <Table.Tr key={m.id}>
                  <Table.Th scope="row">{m.key}</Table.Th>
                  <Table.Td>{m.name}</Table.Td>
                  <Table.Td>{m.draws.length > 0 ? m.draws.join(', ') : '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {operates && <AddMeter rootId={rootId} keys={meters.data?.map((m) => m.key) ?? []} />}
    </Section>
  );
}

/** The paths of the draws' own field errors (`draws.0`), which the draws field shows. */
const drawFields = (error: unknown) => (isProblem(error) ? Object.keys(error.fieldErrors()).filter((f) => f.startsWith('draws.')) : []);

const METER_KEY_CODES = ['CATALOG_KEY_TAKEN'] as const;
const DRAWS_CODES = ['DRAW_CYCLE', 'UNKNOWN_METER'] as const;

function AddMeter({ rootId, keys }: { rootId: string; keys: string[] }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [draws, setDraws] = useState<string[]>([]);
  const add = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/pools/{id}/meters', { params: { path: { id: rootId } }, body: { key, name, draws } })),
    onSuccess: async () => {
      setKey('');
      setName('');
      setDraws([]);
      await queryClient.invalidateQueries({ queryKey: metersQuery(rootId).queryKey });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="add-meter-title">
      <Stack gap="sm">
        <Title order={3} size="h5" id="add-meter-title">
          Add a meter
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <TextInput label="Meter key" description="e.g. mobile_apps" required value={key} onChange={(e) => setKey(e.currentTarget.value)} error={refusalAt(add.error, 'key', METER_KEY_CODES)} />
          <TextInput label="Meter name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={refusalAt(add.error, 'name')} />
          <MultiSelect
            label="Draws on"
            description="Meters one unit of it also takes"
            data={keys}
            value={draws}
            onChange={setDraws}
            searchable
            clearable
            error={refusalAt(add.error, 'draws', DRAWS_CODES)}
          />
        </SimpleGrid>
        <ProblemAlert error={unshown(add.error, [...METER_KEY_CODES, ...DRAWS_CODES])} shownFields={['key', 'name', 'draws', ...drawFields(add.error)]} title="Meter not added" />
        {add.isSuccess && (
          <Alert color="green" variant="light" role="status">
            Meter {add.data.key} added.
          </Alert>
        )}
        <Button type="submit" loading={add.isPending} w="fit-content">
          Add meter
        </Button>
      </Stack>
    </form>
  );
}

function Features({ rootId, operates }: { rootId: string; operates: boolean }) {
  const features = useQuery(featuresQuery(rootId));
  return (
    <Section id="features-title" title="Features">
      {features.isPending ? (
        <Loading label="Loading the features" />
      ) : features.isError ? (
        <ProblemAlert error={features.error} />
      ) : features.data.length === 0 ? (
        <Empty title="No features yet">A feature is a switch a license turns on, such as door opening.</Empty>
      ) : (
        <Table.ScrollContainer minWidth={360} {...scrollRegion('Features, scrollable')}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Key</Table.Th>
                <Table.Th scope="col">Name</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {features.data.map((f) => (
                <Table.Tr key={f.id}>
                  <Table.Th scope="row">{f.key}</Table.Th>
                  <Table.Td>{f.name}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {operates && <AddFeature rootId={rootId} />}
    </Section>
  );
}

function AddFeature({ rootId }: { rootId: string }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const add = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/pools/{id}/features', { params: { path: { id: rootId } }, body: { key, name } })),
    onSuccess: async () => {
      setKey('');
      setName('');
      await queryClient.invalidateQueries({ queryKey: featuresQuery(rootId).queryKey });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="add-feature-title">
      <Stack gap="sm">
        <Title order={3} size="h5" id="add-feature-title">
          Add a feature
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="Feature key" description="e.g. door_opening" required value={key} onChange={(e) => setKey(e.currentTarget.value)} error={refusalAt(add.error, 'key', METER_KEY_CODES)} />
          <TextInput label="Feature name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={refusalAt(add.error, 'name')} />
        </SimpleGrid>
        <ProblemAlert error={unshown(add.error, METER_KEY_CODES)} shownFields={['key', 'name']} title="Feature not added" />
        {add.isSuccess && (
          <Alert color="green" variant="light" role="status">
            Feature {add.data.key} added.
          </Alert>
        )}
        <Button type="submit" loading={add.isPending} w="fit-content">
          Add feature
        </Button>
      </Stack>
    </form>
  );
}

const bytes = (n: number) => (n >= 1_048_576 ? `${(n / 1_048_576).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);

function Packages({ rootId, operates }: { rootId: string; operates: boolean }) {
  const packages = useQuery(packagesQuery(rootId));
  return (
    <Section id="packages-title" title="Packages">
      {packages.isPending ? (
        <Loading label="Loading the packages" />
      ) : packages.isError ? (
        <ProblemAlert error={packages.error} />
      ) : packages.data.data.length === 0 ? (
        <Empty title="No packages yet">A package is software for a device type that members entitled to it receive on sync.</Empty>
      ) : (
        <>
          <Table.ScrollContainer minWidth={640} {...scrollRegion('Packages, scrollable')}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Package</Table.Th>
                  <Table.Th scope="col">Version</Table.Th>
                  <Table.Th scope="col">Device type</Table.Th>
                  <Table.Th scope="col">Entitled by</Table.Th>
                  <Table.Th scope="col">Size</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {packages.data.data.map((p) => (
                  <Table.Tr key={p.id}>
                    <Table.Th scope="row">{p.name}</Table.Th>
                    <Table.Td>{p.version}</Table.Td>
                    <Table.Td>{p.deviceType}</Table.Td>
                    <Table.Td>{p.feature ? `feature ${p.feature}` : `meter ${p.meter}`}</Table.Td>
                    <Table.Td>{bytes(p.size)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {packages.data.nextCursor && <Text size="sm">The first {packages.data.data.length} packages are shown.</Text>}
        </>
      )}
      {operates && <AddPackage rootId={rootId} />}
    </Section>
  );
}

const PACKAGE_FIELDS = ['name', 'version', 'deviceType', 'sha256', 'size', 'url', 'feature', 'meter'];

function AddPackage({ rootId }: { rootId: string }) {
  const queryClient = useQueryClient();
  const meters = useQuery(metersQuery(rootId)).data ?? [];
  const features = useQuery(featuresQuery(rootId)).data ?? [];
  const empty = { name: '', version: '', deviceType: '', sha256: '', url: '' };
  const [form, setForm] = useState(empty);
  const [size, setSize] = useState<number | string>('');
  const [entitledBy, setEntitledBy] = useState<string | null>(null);
  const add = useMutation({
    mutationFn: () => {
      // "feature:door_opening" or "meter:mobile_apps": the API takes exactly one of the two.
      const [kind, key] = entitledBy ? (entitledBy.split(':') as ['feature' | 'meter', string]) : [null, ''];
      const body = { ...form, sha256: form.sha256.trim().toLowerCase(), size: typeof size === 'number' ? size : -1, ...(kind ? { [kind]: key } : {}) };
      return unwrap(api.POST('/v1/pools/{id}/packages', { params: { path: { id: rootId } }, body }));
    },
    onSuccess: async () => {
      setForm(empty);
      setSize('');
      setEntitledBy(null);
      await queryClient.invalidateQueries({ queryKey: packagesQuery(rootId).queryKey });
    },
  });
  const set = (field: keyof typeof empty) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [field]: value }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  const entitlement = refusalAt(add.error, 'feature', ['UNKNOWN_FEATURE']) ?? refusalAt(add.error, 'meter', ['UNKNOWN_METER']) ?? refusalAt(add.error, 'body');
  return (
    <form onSubmit={submit} noValidate aria-labelledby="add-package-title">
      <Stack gap="sm">
        <Title order={3} size="h5" id="add-package-title">
          Add a package
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <TextInput label="Package name" description="e.g. firmware" required value={form.name} onChange={set('name')} error={refusalAt(add.error, 'name')} />
          <TextInput label="Version" required value={form.version} onChange={set('version')} error={refusalAt(add.error, 'version', ['PACKAGE_EXISTS'])} />
          <TextInput label="Device type" description="As devices are registered, e.g. STA" required value={form.deviceType} onChange={set('deviceType')} error={refusalAt(add.error, 'deviceType')} />
        </SimpleGrid>
        <TextInput label="SHA-256" description="64 hex digits of the file" required value={form.sha256} onChange={set('sha256')} error={refusalAt(add.error, 'sha256')} />
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <TextInput label="Download URL" required value={form.url} onChange={set('url')} error={refusalAt(add.error, 'url')} type="url" />
          <NumberInput label="Size in bytes" required min={0} allowDecimal={false} value={size} onChange={setSize} error={refusalAt(add.error, 'size')} />
          <Select
            label="Entitled by"
            description="The feature or meter that entitles to it"
            required
            value={entitledBy}
            onChange={setEntitledBy}
            data={[
              { group: 'Features', items: features.map((f) => ({ value: `feature:${f.key}`, label: `${f.name} (${f.key})` })) },
              { group: 'Meters', items: meters.map((m) => ({ value: `meter:${m.key}`, label: `${m.name} (${m.key})` })) },
            ]}
            error={entitlement}
          />
        </SimpleGrid>
        <ProblemAlert error={unshown(add.error, ['PACKAGE_EXISTS', 'UNKNOWN_FEATURE', 'UNKNOWN_METER'])} shownFields={[...PACKAGE_FIELDS, 'body']} title="Package not added" />
        {add.isSuccess && (
          <Alert color="green" variant="light" role="status">
            Package {add.data.name} {add.data.version} added.
          </Alert>
        )}
        <Group>
          <Button type="submit" loading={add.isPending}>
            Add package
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
