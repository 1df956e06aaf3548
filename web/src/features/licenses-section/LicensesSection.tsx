import { Button, Group, Modal, Stack, Switch, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Empty, Loading } from '../../components/PageState';
import { ProblemAlert } from '../../components/ProblemAlert';
import { LicenseForm, type Catalog } from './LicenseForm';
import { LicensePanel } from './LicensePanel';
import { LicenseState } from './LicenseState';
import { catalogQuery, poolLicensesQuery, useAddLicense, useSetRestriction } from './queries';

/**
 * A pool's Licenses section [001/002]: "Enable restriction", "Add new license", the license
 * panels, and the License state at the bottom.
 */
export function LicensesSection({ pool }: { pool: { id: string; restricted: boolean } }) {
  const catalog = useQuery(catalogQuery(pool.id));
  const licenses = useQuery(poolLicensesQuery(pool.id));
  const restriction = useSetRestriction(pool.id);
  const [adding, setAdding] = useState(false);
  // Turning restriction on can revoke claims at once (U5: the pool keeps only what its licenses
  // give), and no dry run answers for it, so it waits for a confirmation; turning it off only adds.
  const [confirmingRestriction, setConfirmingRestriction] = useState(false);

  return (
    <Stack component="section" aria-labelledby="licenses" gap="md">
      <Title order={2} size="h3" id="licenses">
        Licenses
      </Title>
      <Switch
        label="Enable restriction"
        description="On: the pool has only what its licenses give. Off: no limits of its own (its parents' still apply)."
        checked={pool.restricted}
        disabled={restriction.isPending}
        onChange={(e) => (e.currentTarget.checked ? setConfirmingRestriction(true) : restriction.mutate(false))}
      />
      <Modal opened={confirmingRestriction} onClose={() => setConfirmingRestriction(false)} title="Enable restriction?" closeButtonProps={{ 'aria-label': 'Close' }}>
        <Stack>
          <Text size="sm">
            The pool will have only what its licenses give. Live claims in the pool and below it beyond that are revoked at once, newest first.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmingRestriction(false)}>
              Cancel
            </Button>
            <Button color="teal.9" onClick={() => restriction.mutate(true, { onSettled: () => setConfirmingRestriction(false) })} loading={restriction.isPending}>
              Enable restriction
            </Button>
          </Group>
        </Stack>
      </Modal>
      <ProblemAlert error={restriction.error} title="The restriction was not changed" />
      {catalog.isPending || licenses.isPending ? (
        <Loading label="Loading the licenses" />
      ) : catalog.isError || licenses.isError ? (
        <ProblemAlert error={catalog.error ?? licenses.error} />
      ) : (
        <>
          <Group>
            <Button color="teal.9" onClick={() => setAdding(true)} disabled={!pool.restricted}>
              Add new license
            </Button>
            {!pool.restricted && <Text size="sm">Licenses count once restriction is on.</Text>}
          </Group>
          {licenses.data.data.length === 0 ? (
            <Empty title="No licenses">{pool.restricted ? 'Without a license the pool has nothing to give.' : 'The pool is not restricted.'}</Empty>
          ) : (
            <Stack gap="sm">
              {licenses.data.data.map((l) => (
                <LicensePanel key={l.id} poolId={pool.id} license={l} catalog={catalog.data} />
              ))}
            </Stack>
          )}
          <Modal opened={adding} onClose={() => setAdding(false)} title="Add new license" size="lg" closeButtonProps={{ 'aria-label': 'Close' }}>
            {adding && <AddLicense poolId={pool.id} catalog={catalog.data} onDone={() => setAdding(false)} />}
          </Modal>
        </>
      )}
      <LicenseState poolId={pool.id} />
    </Stack>
  );
}

function AddLicense({ poolId, catalog, onDone }: { poolId: string; catalog: Catalog; onDone: () => void }) {
  const add = useAddLicense(poolId);
  return <LicenseForm catalog={catalog} error={add.error} pending={add.isPending} submitLabel="Save license" onSubmit={(body) => add.mutate(body, { onSuccess: onDone })} onCancel={onDone} />;
}
