import { Badge } from '@mantine/core';

const COLOURS: Record<string, string> = { active: 'green', suspended: 'orange', closed: 'gray', applied: 'blue', initializing: 'blue' };

/** A pool's status as a badge: the word in the text colour, the colour only in its dot. */
export function PoolStatus({ status }: { status: string }) {
  return (
    <Badge color={COLOURS[status] ?? 'gray'} variant="dot" tt="none">
      {status}
    </Badge>
  );
}
