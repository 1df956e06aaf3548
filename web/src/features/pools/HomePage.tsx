import { Stack, Text, Title } from '@mantine/core';
import { PoolTree } from './PoolTree';

/**
 * The first page after logging in: the pool tree from where the person's tree starts (the pools
 * of their roles, or every root for a superuser), searchable by name; each pool links to its page.
 */
export function HomePage() {
  return (
    <Stack>
      <Title order={1}>Your pools</Title>
      <Text size="sm" c="dimmed">
        Open a pool with the arrow keys or its triangle; Enter or its name opens its page.
      </Text>
      <PoolTree />
    </Stack>
  );
}
