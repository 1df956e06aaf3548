import { Button, Group, NumberInput, Stack, Switch, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { fieldError, ProblemAlert } from '../../components/ProblemAlert';
import { useUpdatePool, type UpdatePoolBody } from './tree.queries';
import type { poolQuery } from './queries';

type Pool = NonNullable<Awaited<ReturnType<NonNullable<ReturnType<typeof poolQuery>['queryFn']>>>>;

const FIELDS = ['name', 'kind', 'restricted', 'validUntil', 'maxBorrowDays', 'queue.enabled', 'queue.claimTimeoutSeconds', 'queue'];

/** The date part (UTC) of a timestamp, for a date input; a chosen date ends at its last second (UTC). */
const dateOf = (at: string | null) => (at ? at.slice(0, 10) : '');
const endOfDay = (date: string) => `${date}T23:59:59Z`;

/**
 * Edit a pool: its name and kind (anyone who manages it), and — for the vendor's operators or an
 * admin above the pool (`control`) — the restriction switch, the agreement's end (validUntil),
 * the longest borrow, and the queue with its claim timeout. Only changed fields are sent; the
 * API's refusals show at the fields they name.
 */
export function PoolEditForm({ pool, control, onDone }: { pool: Pool; control: boolean; onDone: () => void }) {
  const update = useUpdatePool(pool.id);
  const [name, setName] = useState(pool.name);
  const [kind, setKind] = useState(pool.kind);
  const [restricted, setRestricted] = useState(pool.restricted);
  const [validUntil, setValidUntil] = useState(dateOf(pool.validUntil));
  const [maxBorrowDays, setMaxBorrowDays] = useState<string | number>(pool.maxBorrowDays ?? '');
  const [queueOn, setQueueOn] = useState(pool.queue.enabled);
  const [claimTimeout, setClaimTimeout] = useState<string | number>(pool.queue.claimTimeoutSeconds);
  const err = (field: string) => fieldError(update.error, field);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: UpdatePoolBody = {};
    if (name !== pool.name) body.name = name;
    if (kind !== pool.kind) body.kind = kind;
    if (control) {
      if (restricted !== pool.restricted) body.restricted = restricted;
      if (validUntil !== dateOf(pool.validUntil)) body.validUntil = validUntil ? endOfDay(validUntil) : null;
      const borrow = maxBorrowDays === '' ? null : Number(maxBorrowDays);
      if (borrow !== pool.maxBorrowDays) body.maxBorrowDays = borrow;
      const timeout = claimTimeout === '' ? Number.NaN : Number(claimTimeout);
      if (queueOn !== pool.queue.enabled || timeout !== pool.queue.claimTimeoutSeconds) body.queue = { enabled: queueOn, claimTimeoutSeconds: timeout };
    }
    if (Object.keys(body).length === 0) return onDone();
    update.mutate(body, { onSuccess: onDone });
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={err('name')} data-autofocus />
        <TextInput label="Kind" required value={kind} onChange={(e) => setKind(e.currentTarget.value)} error={err('kind')} description="distributor, dealer, building, apartment…" />
        {control && (
          <>
            <Switch
              label="Enable restriction"
              description="Limited to what the pool's licenses give"
              checked={restricted}
              onChange={(e) => setRestricted(e.currentTarget.checked)}
              error={err('restricted')}
            />
            <TextInput
              type="date"
              label="Valid until"
              description="The customer agreement's end (UTC); empty: no end"
              value={validUntil}
              onChange={(e) => setValidUntil(e.currentTarget.value)}
              error={err('validUntil')}
            />
            <NumberInput
              label="Longest borrow (days)"
              description="Empty: no borrowing limit of its own"
              min={1}
              max={3650}
              allowDecimal={false}
              clampBehavior="none"
              value={maxBorrowDays}
              onChange={setMaxBorrowDays}
              error={err('maxBorrowDays')}
            />
            <Switch
              label="Queue"
              description="When full, requests wait in a queue instead of being refused"
              checked={queueOn}
              onChange={(e) => setQueueOn(e.currentTarget.checked)}
              error={err('queue.enabled')}
            />
            <NumberInput
              label="Claim timeout (seconds)"
              description="How long a queue hold waits to be claimed"
              min={10}
              max={604800}
              allowDecimal={false}
              clampBehavior="none"
              value={claimTimeout}
              onChange={setClaimTimeout}
              error={err('queue.claimTimeoutSeconds')}
            />
          </>
        )}
        <ProblemAlert error={update.error} shownFields={FIELDS} title="The pool was not saved" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={update.isPending}>
            Save
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
