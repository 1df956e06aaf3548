import { Alert, Button, Grid, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, unwrap } from '../../api/client';
import { fieldError, ProblemAlert } from '../../components/ProblemAlert';
import { Loading } from '../../components/PageState';
import { meQuery, type Account } from '../auth/session';

const ADDRESS_FIELDS = ['line1', 'line2', 'postalCode', 'city', 'region', 'country'] as const;
type AddressForm = Record<(typeof ADDRESS_FIELDS)[number], string>;

export function AccountPage() {
  const me = useQuery(meQuery);
  return (
    <Stack maw={720}>
      <Title order={1}>My account</Title>
      {me.data ? (
        <>
          <ProfileForm account={me.data} key={me.data.id} />
          <PasswordForm />
        </>
      ) : (
        <Loading label="Loading your account" />
      )}
    </Stack>
  );
}

function ProfileForm({ account }: { account: Account }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(account.name);
  const [address, setAddress] = useState<AddressForm>(() => {
    const a = account.address;
    return { line1: a?.line1 ?? '', line2: a?.line2 ?? '', postalCode: a?.postalCode ?? '', city: a?.city ?? '', region: a?.region ?? '', country: a?.country ?? '' };
  });
  const save = useMutation({
    mutationFn: () => {
      // Every address field empty: no address. Optional lines left empty are left out.
      const empty = ADDRESS_FIELDS.every((f) => address[f].trim() === '');
      const body = {
        name,
        address: empty
          ? null
          : {
              line1: address.line1,
              postalCode: address.postalCode,
              city: address.city,
              country: address.country.toUpperCase(),
              ...(address.line2.trim() ? { line2: address.line2 } : {}),
              ...(address.region.trim() ? { region: address.region } : {}),
            },
      };
      return unwrap(api.PATCH('/v1/accounts/me', { body }));
    },
    onSuccess: (saved) => queryClient.setQueryData(meQuery.queryKey, saved),
  });
  const set = (field: keyof AddressForm) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setAddress((a) => ({ ...a, [field]: value }));
  };
  const err = (field: string) => fieldError(save.error, field);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <Paper withBorder p="lg" component="section" aria-labelledby="profile-title">
      <form onSubmit={submit} noValidate>
        <Stack>
          <Title order={2} size="h3" id="profile-title">
            Name and postal address
          </Title>
          <TextInput label="E-mail" value={account.email} readOnly description="Your e-mail is how you log in; it cannot be changed here." />
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} error={err('name')} autoComplete="name" />
          <TextInput label="Street and number" value={address.line1} onChange={set('line1')} error={err('address.line1')} autoComplete="address-line1" />
          <TextInput label="Address line 2" value={address.line2} onChange={set('line2')} error={err('address.line2')} autoComplete="address-line2" />
          <Grid>
            <Grid.Col span={{ base: 12, sm: 4 }}>
              <TextInput label="Postal code" value={address.postalCode} onChange={set('postalCode')} error={err('address.postalCode')} autoComplete="postal-code" />
            </Grid.Col>
            <Grid.Col span={{ base: 12, sm: 8 }}>
              <TextInput label="City" value={address.city} onChange={set('city')} error={err('address.city')} autoComplete="address-level2" />
            </Grid.Col>
            <Grid.Col span={{ base: 12, sm: 8 }}>
              <TextInput label="Region" value={address.region} onChange={set('region')} error={err('address.region')} autoComplete="address-level1" />
            </Grid.Col>
            <Grid.Col span={{ base: 12, sm: 4 }}>
              <TextInput label="Country" description="Two letters, e.g. DE" value={address.country} onChange={set('country')} error={err('address.country')} autoComplete="country" maxLength={2} />
            </Grid.Col>
          </Grid>
          <ProblemAlert error={save.error} shownFields={['name', ...ADDRESS_FIELDS.map((f) => `address.${f}`)]} title="Not saved" />
          {save.isSuccess && (
            <Alert color="green" variant="light" role="status">
              Saved.
            </Alert>
          )}
          <Button type="submit" loading={save.isPending} w="fit-content">
            Save
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}

function PasswordForm() {
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const [repeated, setRepeated] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/accounts/me/password', { body: { currentPassword, newPassword } })),
    onSuccess: () => {
      setCurrent('');
      setNew('');
      setRepeated('');
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const differ = newPassword !== repeated;
    setMismatch(differ);
    if (!differ) change.mutate();
  };

  return (
    <Paper withBorder p="lg" component="section" aria-labelledby="password-title">
      <form onSubmit={submit} noValidate>
        <Stack>
          <Title order={2} size="h3" id="password-title">
            Password
          </Title>
          <PasswordInput label="Current password" required value={currentPassword} onChange={(e) => setCurrent(e.currentTarget.value)} error={fieldError(change.error, 'currentPassword')} aria-invalid={!!fieldError(change.error, 'currentPassword')} autoComplete="current-password" />
          <PasswordInput label="New password" description="At least 12 characters" required value={newPassword} onChange={(e) => setNew(e.currentTarget.value)} error={fieldError(change.error, 'newPassword')} aria-invalid={!!fieldError(change.error, 'newPassword')} autoComplete="new-password" />
          <PasswordInput label="Repeat the new password" required value={repeated} onChange={(e) => setRepeated(e.currentTarget.value)} error={mismatch ? 'The two new passwords differ' : undefined} aria-invalid={mismatch} autoComplete="new-password" />
          <ProblemAlert error={change.error} shownFields={['currentPassword', 'newPassword']} title="Password not changed" />
          {change.isSuccess && (
            <Alert color="green" variant="light" role="status">
              Password changed. Your other sessions have ended.
            </Alert>
          )}
          <Button type="submit" loading={change.isPending} w="fit-content">
            Change password
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}
