import { Alert, Badge, Button, Group, List, Modal, Paper, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { components } from '../../api/schema';
import { LicenseForm, type Catalog } from './LicenseForm';
import { instant, nameOf, units } from './format';
import { useChangeLicense, usePreviewLicenseChange, type License, type LicenseTermsBody } from './queries';

type Claim = components['schemas']['ListedClaim'];

const STATUS_COLOURS: Record<string, string> = { in_use: 'green', pending_start: 'blue', pending_provision: 'blue', access_denied: 'orange', expired: 'gray', finalized: 'gray' };
const STATUS_WORDS: Record<string, string> = {
  in_use: 'in use',
  pending_start: 'pending start',
  pending_provision: 'pending provision',
  access_denied: 'access denied',
  expired: 'expired',
  finalized: 'finalized',
};

export const licenseLabel = (l: License) => l.name ?? `License ${l.id}`;

/**
 * A license as the summary panel of [001] (status, features, limits, dates), which opens the
 * license for editing. Saving a change first asks the server's dry run which live claims it would
 * revoke (POST /v1/licenses/{id}/preview, the same rule the change applies); when any would be,
 * they are listed and the change waits for a confirmation.
 */
export function LicensePanel({ poolId, license, catalog }: { poolId: string; license: License; catalog: Catalog }) {
  const [editing, setEditing] = useState(false);
  const label = licenseLabel(license);
  const titleId = `license-${license.id}`;
  const limits = Object.entries(license.limits);
  return (
    <Paper withBorder p="md" component="article" aria-labelledby={titleId}>
      <Stack gap={6}>
        <Group justify="space-between" wrap="wrap">
          <Group gap="xs">
            <Title order={3} size="h5" id={titleId}>
              {label}
            </Title>
            <Badge color={STATUS_COLOURS[license.status] ?? 'gray'} variant="dot" tt="none">
              {STATUS_WORDS[license.status] ?? license.status}
            </Badge>
          </Group>
          {license.status !== 'expired' && license.status !== 'finalized' && (
            <Button size="xs" variant="light" onClick={() => setEditing(true)} aria-label={`Edit ${label}`}>
              Edit
            </Button>
          )}
        </Group>
        <Text size="sm">
          Limits: {limits.length === 0 ? 'none' : limits.map(([key, n]) => `${nameOf(catalog.meters, key)} ${units(n)}`).join(' · ')}
        </Text>
        <Text size="sm">Features: {license.features.length === 0 ? 'none' : license.features.map((key) => nameOf(catalog.features, key)).join(', ')}</Text>
        <Text size="sm">
          Valid {license.validFrom ? `from ${instant(license.validFrom)}` : 'from its start'} {license.validUntil ? `until ${instant(license.validUntil)}` : 'with no end'}
        </Text>
      </Stack>
      <Modal opened={editing} onClose={() => setEditing(false)} title={`Edit ${label}`} size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
        {editing && <LicenseEditor poolId={poolId} license={license} catalog={catalog} onDone={() => setEditing(false)} />}
      </Modal>
    </Paper>
  );
}

function LicenseEditor({ poolId, license, catalog, onDone }: { poolId: string; license: License; catalog: Catalog; onDone: () => void }) {
  const preview = usePreviewLicenseChange(license.id);
  const change = useChangeLicense(poolId, license.id);
  const [pending, setPending] = useState<{ body: LicenseTermsBody; revoked: Claim[] } | null>(null);

  const save = (body: LicenseTermsBody) => change.mutate(body, { onSuccess: onDone });
  const submit = (body: LicenseTermsBody) => {
    change.reset();
    setPending(null);
    preview.mutate(body, {
      onSuccess: (answer) => (answer.revokedClaims.length > 0 ? setPending({ body, revoked: answer.revokedClaims }) : save(body)),
    });
  };

  return (
    <Stack>
      {pending && (
        <Alert color="red" variant="light" title={`Saving revokes ${pending.revoked.length} live ${pending.revoked.length === 1 ? 'claim' : 'claims'}`} role="alert">
          <Text size="sm">The change lowers a limit below what is in use. These claims would end at once:</Text>
          <List size="sm" my="xs" aria-label="Claims that would be revoked">
            {pending.revoked.map((c) => (
              <List.Item key={c.id}>
                {c.holder?.email ?? c.holder?.deviceSerial ?? c.memberId}: {c.quantity} × {nameOf(catalog.meters, c.meter)} ({c.kind}, since {instant(c.createdAt)})
              </List.Item>
            ))}
          </List>
          <Group>
            <Button color="red.9" loading={change.isPending} onClick={() => save(pending.body)}>
              Save and revoke
            </Button>
            <Button variant="default" onClick={() => setPending(null)}>
              Keep editing
            </Button>
          </Group>
        </Alert>
      )}
      <LicenseForm
        catalog={catalog}
        license={license}
        error={preview.error ?? change.error}
        pending={preview.isPending || (change.isPending && !pending)}
        submitLabel="Save"
        submitDisabled={pending !== null}
        onSubmit={submit}
        onCancel={onDone}
      />
    </Stack>
  );
}
