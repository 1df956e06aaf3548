import { Button, Checkbox, Group, NumberInput, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { ProblemAlert } from '../../components/ProblemAlert';
import { licenseFieldErrors, licenseFormFields } from './licenseErrors';
import type { License, LicenseTermsBody } from './queries';

export interface Catalog {
  meters: readonly { key: string; name: string; draws: string[] }[];
  features: readonly { key: string; name: string }[];
}

/** An ISO instant as a `datetime-local` value in the browser's time zone, to the second. */
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const at = new Date(iso);
  return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
}

const fromLocalInput = (value: string) => new Date(value).toISOString();

/**
 * The terms of a license [001]: units per meter of the root's catalog (empty: this license gives
 * none; a limit of its own that is "none", null, stays as it is until a number is typed), feature
 * check boxes, and the "License validity period" (off: from now, no end). Used to add a license
 * and to change one; the refusal of the API is shown at the fields it concerns.
 */
export function LicenseForm({
  catalog,
  license,
  error,
  pending,
  submitLabel,
  submitDisabled = false,
  onSubmit,
  onCancel,
}: {
  catalog: Catalog;
  license?: License;
  error: unknown;
  pending: boolean;
  submitLabel: string;
  /** While a confirmation elsewhere waits for an answer. */
  submitDisabled?: boolean;
  onSubmit: (body: LicenseTermsBody) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(license?.name ?? '');
  const [limits, setLimits] = useState<Record<string, number | '' | null>>(() =>
    Object.fromEntries(catalog.meters.map((m) => [m.key, license && m.key in license.limits ? license.limits[m.key]! : ''])),
  );
  const [features, setFeatures] = useState<string[]>(license?.features ?? []);
  const [validity, setValidity] = useState(Boolean(license?.validUntil));
  const [validFrom, setValidFrom] = useState(toLocalInput(license?.validFrom ?? null));
  const [validUntil, setValidUntil] = useState(toLocalInput(license?.validUntil ?? null));
  const errors = licenseFieldErrors(error, catalog.meters, catalog.features);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: LicenseTermsBody = {
      limits: Object.fromEntries(Object.entries(limits).filter((entry): entry is [string, number | null] => entry[1] !== '')),
      features,
    };
    if (name.trim()) body.name = name.trim();
    else if (license?.name) body.name = null;
    if (validity) {
      if (validFrom && validFrom !== toLocalInput(license?.validFrom ?? null)) body.validFrom = fromLocalInput(validFrom);
      if (validUntil) body.validUntil = fromLocalInput(validUntil);
    } else if (license?.validUntil) {
      body.validUntil = null;
    }
    onSubmit(body);
  };

  return (
    <form onSubmit={submit} noValidate>
      <Stack gap="md">
        <ProblemAlert error={error} shownFields={licenseFormFields(catalog.meters)} title="The license was not saved" />
        <TextInput label="Name" description='A label, e.g. "Basic" or "Premium"' value={name} onChange={(e) => setName(e.currentTarget.value)} error={errors.name} />
        <fieldset className="plain-fieldset">
          <legend>
            <Text fw={500} size="sm">
              Limits per meter
            </Text>
          </legend>
          {catalog.meters.length === 0 ? (
            <Text size="sm">The root's catalog has no meters.</Text>
          ) : (
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              {catalog.meters.map((m) => (
                <NumberInput
                  key={m.key}
                  label={m.name}
                  description={m.draws.length > 0 ? `Each also takes one of: ${m.draws.map((d) => catalog.meters.find((x) => x.key === d)?.name ?? d).join(', ')}` : 'Empty: none'}
                  placeholder={limits[m.key] === null ? 'no limit of its own' : undefined}
                  min={0}
                  allowDecimal={false}
                  allowNegative={false}
                  value={limits[m.key] ?? ''}
                  onChange={(value) => setLimits((l) => ({ ...l, [m.key]: typeof value === 'number' ? value : value === '' ? '' : Number(value) }))}
                  error={errors[`limits.${m.key}`] ?? errors.limits}
                />
              ))}
            </SimpleGrid>
          )}
        </fieldset>
        {catalog.features.length > 0 && (
          <Checkbox.Group label="Features" value={features} onChange={setFeatures} error={errors.features}>
            <SimpleGrid cols={{ base: 1, sm: 2 }} mt="xs">
              {catalog.features.map((f) => (
                <Checkbox key={f.key} value={f.key} label={f.name} />
              ))}
            </SimpleGrid>
          </Checkbox.Group>
        )}
        <Checkbox label="License validity period" checked={validity} onChange={(e) => setValidity(e.currentTarget.checked)} />
        {validity && (
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              type="datetime-local"
              step={1}
              label="Valid from"
              description="Empty: from now"
              value={validFrom}
              onChange={(e) => setValidFrom(e.currentTarget.value)}
              error={errors.validFrom}
            />
            <TextInput
              type="datetime-local"
              step={1}
              label="Valid until"
              description="Empty: no end"
              value={validUntil}
              onChange={(e) => setValidUntil(e.currentTarget.value)}
              error={errors.validUntil}
            />
          </SimpleGrid>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" color="teal.9" loading={pending} disabled={submitDisabled}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
