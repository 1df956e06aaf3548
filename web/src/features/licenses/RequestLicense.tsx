import { Alert, Button, Checkbox, Code, CopyButton, Group, Modal, NumberInput, Radio, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { AnchorLink } from '../../components/links';
import { Loading } from '../../components/PageState';
import { fieldError, ProblemAlert } from '../../components/ProblemAlert';
import { myRolesQuery } from '../auth/session';
import { PoolPicker } from './PoolPicker';
import { rootCatalogQuery, useRequestLicense, type CreateLicenseBody, type License } from './queries';

/**
 * "Request a license" (seed 003's request data): a vendor's operators make a license for a
 * location; it starts `pending_provision` and its key is shown once made, to hand to the customer.
 */
export function RequestLicenseButton() {
  const [opened, { open, close }] = useDisclosure();
  const [made, setMade] = useState<License | null>(null);
  const done = () => {
    setMade(null);
    close();
  };
  return (
    <>
      <Button onClick={open}>Request a license</Button>
      <Modal opened={opened} onClose={done} title={made ? 'License created' : 'Request a license'} size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
        {made ? <Made license={made} onClose={done} /> : <RequestForm onMade={setMade} onCancel={done} />}
      </Modal>
    </>
  );
}

function Made({ license, onClose }: { license: License; onClose: () => void }) {
  return (
    <Stack>
      <Text>Give this key to the customer: they activate the license with it on their location (“Send Key”).</Text>
      <Group gap="sm">
        <Text fw={700} id="license-key-label">
          License key
        </Text>
        <Code fz="lg" aria-labelledby="license-key-label">
          {license.key}
        </Code>
        <CopyButton value={license.key ?? ''}>{({ copied, copy }) => <Button size="xs" variant="default" onClick={copy}>{copied ? 'Copied' : 'Copy key'}</Button>}</CopyButton>
      </Group>
      <Group justify="flex-end">
        <AnchorLink to="/licenses/$licenseId" params={{ licenseId: license.id }} onClick={onClose}>
          Open the license
        </AnchorLink>
        <Button onClick={onClose}>Done</Button>
      </Group>
    </Stack>
  );
}

const whole = (v: string | number) => (typeof v === 'number' ? v : undefined);

function RequestForm({ onMade, onCancel }: { onMade: (license: License) => void; onCancel: () => void }) {
  const roles = useQuery(myRolesQuery).data ?? [];
  const roots = [...new Map(roles.filter((r) => r.role === 'operator' && r.pool.parentId === null).map((r) => [r.pool.id, { value: r.pool.id, label: r.pool.name }])).values()];
  const [rootId, setRootId] = useState<string | null>(roots[0]?.value ?? null);
  const catalog = useQuery({ ...rootCatalogQuery(rootId ?? ''), enabled: !!rootId });
  const [poolId, setPoolId] = useState<string | null>(null);
  const [partner, setPartner] = useState('');
  const [distributor, setDistributor] = useState('');
  const [years, setYears] = useState<string | number>(1);
  const [interval, setBillingInterval] = useState<'monthly' | 'annual'>('annual');
  const [startRule, setStartRule] = useState<'on_activation' | 'on_connections'>('on_activation');
  const [threshold, setThreshold] = useState<string | number>(5);
  const [accessPoints, setAccessPoints] = useState<string | number>('');
  const [rooms, setRooms] = useState<string | number>('');
  const [limits, setLimits] = useState<Record<string, string | number>>({});
  const [modules, setModules] = useState<string[]>([]);
  const request = useRequestLicense();
  const err = (field: string) => fieldError(request.error, field);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!rootId) return;
    const meterKeys = new Set(catalog.data?.meters.map((m) => m.key));
    // Access points and rooms are request data (seed 003); where the catalog has such a meter they are its limit too.
    const given: Record<string, number> = {};
    for (const [key, value] of Object.entries(limits)) if (typeof value === 'number') given[key] = value;
    if (typeof accessPoints === 'number' && meterKeys.has('access_points')) given.access_points ??= accessPoints;
    if (typeof rooms === 'number' && meterKeys.has('rooms')) given.rooms ??= rooms;
    const contractYears = whole(years);
    const body: CreateLicenseBody = {
      rootId,
      limits: given,
      features: modules,
      ...(contractYears ? { termMonths: contractYears * 12, billing: { interval, contractYears } } : {}),
      startRule: startRule === 'on_connections' ? { type: 'on_connections', ...(whole(threshold) ? { threshold: whole(threshold)! } : {}) } : { type: 'on_activation' },
      request: {
        ...(poolId ? { poolId } : {}),
        ...(partner.trim() ? { partner: partner.trim() } : {}),
        ...(distributor.trim() ? { distributor: distributor.trim() } : {}),
        ...(whole(accessPoints) !== undefined ? { accessPoints: whole(accessPoints)! } : {}),
        ...(whole(rooms) !== undefined ? { rooms: whole(rooms)! } : {}),
        modules,
      },
    };
    request.mutate(body, { onSuccess: onMade });
  };

  const shown = ['rootId', 'request.poolId', 'request.partner', 'request.distributor', 'billing.contractYears', 'termMonths', 'request.accessPoints', 'request.rooms', 'startRule.threshold', 'features', 'request.modules'];
  const limitFields = (catalog.data?.meters ?? []).filter((m) => m.key !== 'access_points' && m.key !== 'rooms');
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <ProblemAlert error={request.error} shownFields={[...shown, ...limitFields.map((m) => `limits.${m.key}`)]} />
        {roots.length === 0 ? (
          <Alert color="orange">Only a vendor's operators request licenses, and you are operator of no vendor.</Alert>
        ) : (
          roots.length > 1 && <Select label="Vendor" data={roots} value={rootId} onChange={setRootId} allowDeselect={false} error={err('rootId')} />
        )}
        <PoolPicker label="Location" description="The pool the license is meant for (optional)" value={poolId} onChange={setPoolId} rootId={rootId ?? undefined} error={err('request.poolId')} />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="Partner / integrator" value={partner} onChange={(e) => setPartner(e.currentTarget.value)} error={err('request.partner')} />
          <TextInput label="Distributor / wholesaler" value={distributor} onChange={(e) => setDistributor(e.currentTarget.value)} error={err('request.distributor')} />
          <NumberInput label="Contract years" description="1 to 5" min={1} max={5} allowDecimal={false} value={years} onChange={setYears} error={err('billing.contractYears') ?? err('termMonths')} />
          <Radio.Group label="Payment" value={interval} onChange={(v) => setBillingInterval(v as 'monthly' | 'annual')}>
            <Group mt={6}>
              <Radio value="annual" label="Annual" />
              <Radio value="monthly" label="Monthly" />
            </Group>
          </Radio.Group>
          <NumberInput label="Access points" min={0} allowDecimal={false} value={accessPoints} onChange={setAccessPoints} error={err('request.accessPoints') ?? err('limits.access_points')} />
          <NumberInput label="Rooms" description="Hospitality" min={0} allowDecimal={false} value={rooms} onChange={setRooms} error={err('request.rooms') ?? err('limits.rooms')} />
        </SimpleGrid>
        <Radio.Group label="Time starts" value={startRule} onChange={(v) => setStartRule(v as 'on_activation' | 'on_connections')}>
          <Stack gap={6} mt={6}>
            <Radio value="on_activation" label="When the key is activated" />
            <Radio value="on_connections" label="After a number of device connections" />
          </Stack>
        </Radio.Group>
        {startRule === 'on_connections' && <NumberInput label="Connections before time starts" min={1} max={10000} allowDecimal={false} value={threshold} onChange={setThreshold} error={err('startRule.threshold')} maw={260} />}
        {rootId && catalog.isPending ? (
          <Loading label="Loading the catalog" />
        ) : catalog.isError ? (
          <ProblemAlert error={catalog.error} />
        ) : (
          <>
            {limitFields.length > 0 && (
              <SimpleGrid cols={{ base: 1, sm: 2 }}>
                {limitFields.map((m) => (
                  <NumberInput
                    key={m.key}
                    label={`${m.name} (limit)`}
                    description="Empty: no limit of its own"
                    min={0}
                    allowDecimal={false}
                    value={limits[m.key] ?? ''}
                    onChange={(v) => setLimits((l) => ({ ...l, [m.key]: v }))}
                    error={err(`limits.${m.key}`)}
                  />
                ))}
              </SimpleGrid>
            )}
            {(catalog.data?.features.length ?? 0) > 0 && (
              <Checkbox.Group label="Modules" value={modules} onChange={setModules} error={err('features') ?? err('request.modules')}>
                <Group mt={6}>
                  {catalog.data!.features.map((f) => (
                    <Checkbox key={f.key} value={f.key} label={f.name} />
                  ))}
                </Group>
              </Checkbox.Group>
            )}
          </>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={request.isPending} disabled={!rootId}>
            Create license
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
