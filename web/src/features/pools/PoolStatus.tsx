import { Badge } from '@mantine/core';

const COLOURS: Record<string, string> = { active: 'green', suspended: 'orange', closed: 'gray', applied: 'blue', initializing: 'blue' };

/** A pool's status as a badge (the word is the information; the colour only repeats it). */
export function PoolStatus({ status }: { status: string }) {
  return (
    <Badge color={COLOURS[status] ?? 'gray'} variant="outline" autoContrast>
      {status}
    </Badge>
  );
}
