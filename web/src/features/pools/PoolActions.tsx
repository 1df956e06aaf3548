import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { ProblemAlert } from '../../components/ProblemAlert';
import { meQuery, myRolesQuery } from '../auth/session';
import { CreatePoolForm } from './CreatePoolForm';
import { heldRoles, poolPermissions } from './permissions';
import { PoolEditForm } from './PoolEditForm';
import type { poolQuery } from './queries';
import { usePoolAction, type PoolAction } from './tree.queries';

type Pool = NonNullable<Awaited<ReturnType<NonNullable<ReturnType<typeof poolQuery>['queryFn']>>>>;

/** The status actions and where each may start (the API's pool status machine, src/domain/status.ts). */
const STATUS_ACTIONS: readonly {
  action: PoolAction;
  label: string;
  from: readonly string[];
  says: string;
  danger?: boolean;
}[] = [
  {
    action: 'activate',
    label: 'Activate',
    from: ['initializing'],
    says: 'The pool starts serving its members.',
  },
  {
    action: 'suspend',
    label: 'Suspend',
    from: ['active'],
    says: 'The pool and everything below it stop serving until it is resumed.',
    danger: true,
  },
  {
    action: 'resume',
    label: 'Resume',
    from: ['suspended'],
    says: 'The pool serves again.',
  },
  {
    action: 'close',
    label: 'Close pool',
    from: ['applied', 'initializing', 'active', 'suspended'],
    says: 'Closing is final: the pool never serves or changes again.',
    danger: true,
  },
];

type Open = { what: 'create' } | { what: 'edit' } | { what: 'status'; action: (typeof STATUS_ACTIONS)[number] } | null;

/**
 * A pool's actions: create a sub-pool, edit, and the status actions with a confirmation. Only
 * those the person's roles allow are offered (features/pools/permissions.ts); the API decides,
 * and its refusal is shown in the dialog.
 */
export function PoolActions({ pool }: { pool: Pool }) {
  const me = useQuery(meQuery).data;
  const roles = useQuery(myRolesQuery).data ?? [];
  const may = poolPermissions(me?.superuser ?? false, heldRoles(roles, pool));
  const navigate = useNavigate();
  const [open, setOpen] = useState<Open>(null);
  const close = () => setOpen(null);
  const closed = pool.status === 'closed';
  const statusActions = may.control ? STATUS_ACTIONS.filter((a) => a.from.includes(pool.status)) : [];
  if (closed || (!may.createChild && !may.editName && statusActions.length === 0)) return null;

  return (
    <>
      <Group gap="xs" role="group" aria-label="Pool actions">
        {may.createChild && (
          <Button size="xs" onClick={() => setOpen({ what: 'create' })}>
            Create sub-pool
          </Button>
        )}
        {may.editName && (
          <Button size="xs" variant="default" onClick={() => setOpen({ what: 'edit' })}>
            Edit pool
          </Button>
        )}
        {statusActions.map((a) => (
          <Button key={a.action} size="xs" variant="default" color={a.danger ? 'red' : undefined} onClick={() => setOpen({ what: 'status', action: a })}>
            {a.label}
          </Button>
        ))}
      </Group>
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={open?.what === 'create'} onClose={close} title={`New pool under ${pool.name}`}>
        {open?.what === 'create' && (
          <CreatePoolForm
            parentId={pool.id}
            onCancel={close}
            onCreated={(poolId) => {
              close();
              void navigate({ to: '/pools/$poolId', params: { poolId } });
            }}
          />
        )}
      </Modal>
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={open?.what === 'edit'} onClose={close} title={`Edit ${pool.name}`}>
        {open?.what === 'edit' && <PoolEditForm pool={pool} control={may.control} onDone={close} />}
      </Modal>
      <Modal closeButtonProps={{ 'aria-label': 'Close' }} opened={open?.what === 'status'} onClose={close} title={open?.what === 'status' ? `${open.action.label} ${pool.name}?` : ''}>
        {open?.what === 'status' && <ConfirmStatus poolId={pool.id} action={open.action} onDone={close} />}
      </Modal>
    </>
  );
}

function ConfirmStatus({ poolId, action, onDone }: { poolId: string; action: (typeof STATUS_ACTIONS)[number]; onDone: () => void }) {
  const change = usePoolAction(poolId);
  return (
    <Stack>
      <Text size="sm">{action.says}</Text>
      <ProblemAlert error={change.error} title={`The pool was not ${action.action === 'activate' ? 'activated' : `${action.action}${action.action.endsWith('e') ? 'd' : 'ed'}`}`} />
      <Group justify="flex-end">
        <Button variant="default" onClick={onDone}>
          Cancel
        </Button>
        <Button color={action.danger ? 'red.9' : undefined} loading={change.isPending} onClick={() => change.mutate(action.action, { onSuccess: onDone })} data-autofocus>
          {action.label}
        </Button>
      </Group>
    </Stack>
  );
}
