import { Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { poolNameQuery } from './queries';

/**
 * A pool chosen by typing part of its name: the API searches the pools the person may read
 * (within one root when `rootId` is given), so it stays quick however many pools there are.
 */
export function PoolPicker({
  label,
  description,
  value,
  onChange,
  rootId,
  error,
}: {
  label: string;
  description?: string;
  value: string | null;
  onChange: (id: string | null) => void;
  rootId?: string | undefined;
  error?: string | undefined;
}) {
  const [typed, setTyped] = useState('');
  const [q] = useDebouncedValue(typed.trim(), 250);
  const chosenName = useQuery({ ...poolNameQuery(value ?? ''), enabled: !!value }).data;
  const found = useQuery({
    queryKey: ['pools', 'pick', rootId ?? null, q],
    queryFn: () => unwrap(api.GET('/v1/pools', { params: { query: { limit: 50, ...(rootId ? { rootId } : {}), ...(q ? { q } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  const options = new Map((found.data?.data ?? []).map((p) => [p.id, { value: p.id, label: `${p.name} (${p.kind})` }]));
  if (value && !options.has(value)) options.set(value, { value, label: chosenName ?? value });
  return (
    <Select
      label={label}
      description={description}
      data={[...options.values()]}
      value={value}
      onChange={onChange}
      searchable
      searchValue={typed}
      onSearchChange={setTyped}
      filter={({ options }) => options}
      clearable
      placeholder="Any pool"
      nothingFoundMessage={found.isFetching ? 'Searching…' : 'No pool by that name'}
      error={error}
    />
  );
}
