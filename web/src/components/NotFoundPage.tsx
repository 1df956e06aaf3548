import { Container, Stack, Text, Title } from '@mantine/core';
import { AnchorLink } from './links';

/** What a path without a page, or a thing the API does not show this person, looks like. */
export function NotFoundPage({ what = 'Page' }: { what?: string | undefined }) {
  return (
    <Container size="sm" py="xl">
      <Stack gap="sm">
        <Title order={1}>{what} not found</Title>
        <Text>It does not exist, or your roles do not let you see it.</Text>
        <AnchorLink to="/">
          Back to your pools
        </AnchorLink>
      </Stack>
    </Container>
  );
}
