import { Center, Loader, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** While a page's data loads: a spinner that screen readers announce by its label. */
export function Loading({ label }: { label: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Loader aria-label={label} />
    </Center>
  );
}

/** Nothing to show yet, and what would change that. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Stack gap={4} py="lg" align="flex-start">
      <Title order={3} size="h5">
        {title}
      </Title>
      {children && <Text size="sm">{children}</Text>}
    </Stack>
  );
}
