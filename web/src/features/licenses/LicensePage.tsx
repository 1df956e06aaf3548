import { Badge, Button, Group, Modal, Paper, SimpleGrid, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { getRouteApi } from '@tanstack/react-router';
import { useState } from 'react';
import { isProblem } from '../../api/problem';
import { AnchorLink } from '../../components/links';
import { NotFoundPage } from '../../components/NotFoundPage';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { day, moment, units } from './format';
import { LicenseStatus } from './LicenseStatus';
import {
  licenseAssignmentsQuery,
  licenseHistoryQuery,
  licenseNotificationsQuery,
  licenseQuery,
  licenseSummaryQuery,
  useChangeLicenseStatus,
  type License,
  type LicenseAction,
} from './queries';
import { LICENSE_TABS, type LicenseTab } from './search';

const route = getRouteApi('/_app/licenses/$licenseId');

const TAB_LABELS: Record<LicenseTab, string> = { general: 'General', modules: 'Modules', upgrades: 'Upgrades', notifications: 'Notifications', assignments: 'Assignments' };

/** One license (seed 003's "View license data"): its tabs, certificate, and status actions. */
export function LicensePage() {
  const { licenseId } = route.useParams();
  const { tab = 'general' } = route.useSearch();
  const navigate = route.useNavigate();
  const license = useQuery(licenseQuery(licenseId));
  if (license.isPending) return <Loading label="Loading the license" />;
  // 404 for a license out of the person's reach, as for one that does not exist.
  if (license.isError) return isProblem(license.error) && license.error.status === 404 ? <NotFoundPage what="License" /> : <ProblemAlert error={license.error} />;
  const l = license.data;
  return (
    <Stack>
      <AnchorLink to="/licenses" size="sm">
        ← Licenses
      </AnchorLink>
      <Group gap="sm" align="center">
        <Title order={1} ff={l.key ? 'monospace' : undefined}>
          {l.key ?? l.name ?? l.id}
        </Title>
        <LicenseStatus status={l.status} />
      </Group>
      {l.key && l.name && <Text>{l.name}</Text>}
      <Actions license={l} />
      <Tabs value={tab} onChange={(t) => void navigate({ search: { tab: (t ?? 'general') as LicenseTab }, replace: true })} keepMounted={false}>
        <Tabs.List>
          {LICENSE_TABS.map((t) => (
            <Tabs.Tab key={t} value={t}>
              {TAB_LABELS[t]}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="general" pt="md">
          <General id={licenseId} />
        </Tabs.Panel>
        <Tabs.Panel value="modules" pt="md">
          <Modules id={licenseId} />
        </Tabs.Panel>
        <Tabs.Panel value="upgrades" pt="md">
          <Upgrades id={licenseId} />
        </Tabs.Panel>
        <Tabs.Panel value="notifications" pt="md">
          <Notifications id={licenseId} />
        </Tabs.Panel>
        <Tabs.Panel value="assignments" pt="md">
          <Assignments id={licenseId} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

const ACTIONS: Record<LicenseAction, { label: string; question: string; consequence: string; colour: string }> = {
  suspend: { label: 'Suspend', question: 'Suspend this license?', consequence: 'Access is denied (“Access denied”) until the license is resumed; its time keeps running.', colour: 'orange' },
  resume: { label: 'Resume', question: 'Resume this license?', consequence: 'It is in use again, with the same end date.', colour: 'blue' },
  finalize: { label: 'Finalize', question: 'Finalize this license?', consequence: 'The contract ends now, for good: a finalized license cannot be resumed.', colour: 'red' },
};

/** Which status actions the license's status allows (the server refuses the others, 409). */
function allowed(status: License['status']): LicenseAction[] {
  if (status === 'in_use') return ['suspend', 'finalize'];
  if (status === 'access_denied') return ['resume', 'finalize'];
  if (status === 'pending_provision' || status === 'pending_start') return ['finalize'];
  return [];
}

function Actions({ license }: { license: License }) {
  const change = useChangeLicenseStatus(license.id);
  const [opened, { open, close }] = useDisclosure();
  // Kept after closing, so the dialog keeps its words while it fades out.
  const [asked, setAsked] = useState<LicenseAction>('suspend');
  const action = ACTIONS[asked];
  return (
    <Stack gap="xs">
      <Group gap="sm">
        <Button component="a" variant="default" href={`/v1/licenses/${encodeURIComponent(license.id)}/certificate.pdf`} download>
          Download certificate (PDF)
        </Button>
        {allowed(license.status).map((a) => (
          <Button
            key={a}
            variant={a === 'finalize' ? 'outline' : 'filled'}
            color={ACTIONS[a].colour}
            onClick={() => {
              change.reset();
              setAsked(a);
              open();
            }}
          >
            {ACTIONS[a].label}
          </Button>
        ))}
      </Group>
      {!opened && <ProblemAlert error={change.error} title="The license was not changed" />}
      <Modal opened={opened} onClose={close} title={action.question} closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <Text>{action.consequence}</Text>
          <ProblemAlert error={change.error} title="The license was not changed" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color={action.colour} loading={change.isPending} onClick={() => change.mutate(asked, { onSuccess: close })}>
              {action.label}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="sm" c="dimmed">
        {label}
      </Text>
      <Text>{children}</Text>
    </div>
  );
}

function General({ id }: { id: string }) {
  const summary = useQuery(licenseSummaryQuery(id));
  if (summary.isPending) return <Loading label="Loading the general data" />;
  if (summary.isError) return <ProblemAlert error={summary.error} />;
  const s = summary.data;
  const capacity = (c: typeof s.rooms) => (c.maximum === null && c.inUse === null ? '—' : `${units(c.maximum)} maximum, ${units(c.inUse)} in use`);
  return (
    <Paper withBorder p="md">
      <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }}>
        <Field label="Vendor">{s.vendor.name}</Field>
        <Field label="Pool (location)">
          {s.pool ? (
            <AnchorLink to="/pools/$poolId" params={{ poolId: s.pool.id }}>
              {s.pool.name}
            </AnchorLink>
          ) : (
            'none yet'
          )}
          {s.pool && !s.pool.bound && ' (requested, not activated)'}
        </Field>
        <Field label="Start date">{day(s.start)}</Field>
        <Field label="End date">{day(s.end)}</Field>
        <Field label="Duration">
          {s.duration.termMonths !== null ? `${s.duration.termMonths} months` : '—'}
          {s.duration.days !== null ? ` (${s.duration.days} days)` : ''}
        </Field>
        <Field label="Billing">{s.billing ? `${s.billing.interval}, ${s.billing.contractYears} contract year${s.billing.contractYears === 1 ? '' : 's'}` : '—'}</Field>
        <Field label="Access points">{capacity(s.accessPoints)}</Field>
        <Field label="Rooms">{capacity(s.rooms)}</Field>
      </SimpleGrid>
      {s.limits.length > 0 && (
        <Table.ScrollContainer minWidth={360} mt="md">
          <Table captionSide="top">
            <Table.Caption>Limits</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Meter</Table.Th>
                <Table.Th scope="col">Limit</Table.Th>
                <Table.Th scope="col">Used</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {s.limits.map((m) => (
                <Table.Tr key={m.meter}>
                  <Table.Th scope="row">{m.name}</Table.Th>
                  <Table.Td>{m.limit === null ? 'no limit of its own' : m.limit}</Table.Td>
                  <Table.Td>{units(m.used)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Paper>
  );
}

function Modules({ id }: { id: string }) {
  const summary = useQuery(licenseSummaryQuery(id));
  if (summary.isPending) return <Loading label="Loading the modules" />;
  if (summary.isError) return <ProblemAlert error={summary.error} />;
  if (summary.data.modules.length === 0) return <Empty title="No platform modules">This license switches on no module.</Empty>;
  return (
    <Group gap="xs" role="list" aria-label="Platform modules">
      {summary.data.modules.map((m) => (
        <Badge key={m.key} variant="light" tt="none" size="lg" role="listitem">
          {m.name}
        </Badge>
      ))}
    </Group>
  );
}

/** The history's actions (`license.<event>`, src/modules/licenses/licenses.service.ts) in words. */
const HISTORY_ACTIONS: Record<string, string> = {
  created: 'Created',
  updated: 'Upgraded',
  activated: 'Activated',
  started: 'Started',
  suspend: 'Suspended',
  resume: 'Resumed',
  finalize: 'Finalized',
  expired: 'Expired',
};
const historyAction = (action: string) => HISTORY_ACTIONS[action.replace(/^license\./, '')] ?? action;

/** A change's values as one line: what the history row changed (limits, dates, status…). */
function changed(before: unknown, after: unknown): string {
  // A creation has no "before": the whole license is its "after", which the other tabs show.
  if (before === null || before === undefined) return '—';
  const b = (before && typeof before === 'object' ? before : {}) as Record<string, unknown>;
  const a = (after && typeof after === 'object' ? after : {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]) && k !== 'updatedAt');
  if (keys.length === 0) return '—';
  const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  return keys.map((k) => (k in b ? `${k}: ${show(b[k])} → ${show(a[k])}` : `${k}: ${show(a[k])}`)).join('; ');
}

function Upgrades({ id }: { id: string }) {
  const history = useQuery(licenseHistoryQuery(id));
  if (history.isPending) return <Loading label="Loading the history" />;
  if (history.isError) return <ProblemAlert error={history.error} />;
  if (history.data.data.length === 0) return <Empty title="No changes yet" />;
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table captionSide="top">
        <Table.Caption>Updates and status changes, oldest first</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">When</Table.Th>
            <Table.Th scope="col">What</Table.Th>
            <Table.Th scope="col">Change</Table.Th>
            <Table.Th scope="col">By</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {history.data.data.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>{moment(e.at)}</Table.Td>
              <Table.Td>{historyAction(e.action)}</Table.Td>
              <Table.Td style={{ wordBreak: 'break-word' }}>{changed(e.before, e.after)}</Table.Td>
              <Table.Td>{e.actorId ?? 'the system'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Notifications({ id }: { id: string }) {
  const notifications = useQuery(licenseNotificationsQuery(id));
  if (notifications.isPending) return <Loading label="Loading the notifications" />;
  if (notifications.isError) return <ProblemAlert error={notifications.error} />;
  if (notifications.data.data.length === 0)
    return <Empty title="No notifications sent">Reminders go out a month, 15 days, 7 days and a day before the end, at the end, and the day after.</Empty>;
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table captionSide="top">
        <Table.Caption>Automatic notifications</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">When</Table.Th>
            <Table.Th scope="col">Event</Table.Th>
            <Table.Th scope="col">To</Table.Th>
            <Table.Th scope="col">Subject</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {notifications.data.data.map((n) => (
            <Table.Tr key={n.id}>
              <Table.Td>{moment(n.sentAt ?? n.at)}</Table.Td>
              <Table.Td>{n.event}</Table.Td>
              <Table.Td>{n.to}</Table.Td>
              <Table.Td>{n.subject}</Table.Td>
              <Table.Td>{n.status}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Assignments({ id }: { id: string }) {
  const assignments = useQuery(licenseAssignmentsQuery(id));
  if (assignments.isPending) return <Loading label="Loading the assignments" />;
  if (assignments.isError) return <ProblemAlert error={assignments.error} />;
  const a = assignments.data;
  if (!a.pool) return <Empty title="Not assigned yet">The license is bound to a location when its key is activated there.</Empty>;
  return (
    <Stack>
      <Group gap="lg">
        <Text>
          Assigned to{' '}
          <AnchorLink to="/pools/$poolId" params={{ poolId: a.pool.id }}>
            {a.pool.name}
          </AnchorLink>{' '}
          ({a.pool.kind})
        </Text>
        {a.configuredElements !== null && <Text>Configured elements: {a.configuredElements}</Text>}
        {!a.inEffect && <Text c="dimmed">Not in effect: it gives no units now.</Text>}
      </Group>
      {a.meters.length > 0 && (
        <Table.ScrollContainer minWidth={560}>
          <Table captionSide="top">
            <Table.Caption>Use of the meters it gives</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Meter</Table.Th>
                <Table.Th scope="col">Limit</Table.Th>
                <Table.Th scope="col">Used</Table.Th>
                <Table.Th scope="col">Live claims</Table.Th>
                <Table.Th scope="col">Members</Table.Th>
                <Table.Th scope="col">Shared with</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {a.meters.map((m) => (
                <Table.Tr key={m.key}>
                  <Table.Th scope="row">{m.key}</Table.Th>
                  <Table.Td>{m.limit === null ? 'no limit of its own' : m.limit}</Table.Td>
                  <Table.Td>{m.used}</Table.Td>
                  <Table.Td>{m.claims}</Table.Td>
                  <Table.Td>{m.members}</Table.Td>
                  <Table.Td>{m.sharedWith === 0 ? '—' : `${m.sharedWith} other license${m.sharedWith === 1 ? '' : 's'}`}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}
