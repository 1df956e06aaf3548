import { Button, Group, Stack, Switch, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { fieldError, ProblemAlert } from '../../components/ProblemAlert';
import { useCreatePool } from './tree.queries';

/** Create a sub-pool under `parentId` (name, kind, restriction); it starts `initializing` until activated. */
export function CreatePoolForm({ parentId, onCreated, onCancel }: { parentId: string; onCreated: (poolId: string) => void; onCancel: () => void }) {
  const create = useCreatePool();
  const [name, setName] = useState('');
  const [kind, setKind] = useState('');
  const [restricted, setRestricted] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ parentId, name, kind, restricted }, { onSuccess: (created) => onCreated(created.id) });
  };
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={fieldError(create.error, 'name')} data-autofocus />
        <TextInput
          label="Kind"
          required
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value)}
          error={fieldError(create.error, 'kind')}
          description="distributor, dealer, building, apartment…"
        />
        <Switch
          label="Enable restriction"
          description="Limited to what the pool's licenses give"
          checked={restricted}
          onChange={(e) => setRestricted(e.currentTarget.checked)}
          error={fieldError(create.error, 'restricted')}
        />
        <ProblemAlert error={create.error} shownFields={['name', 'kind', 'restricted']} title="The pool was not created" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={create.isPending}>
            Create
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
