import { Badge } from '@mantine/core';
import { STATUS_LABELS, type LicenseStatus as Status } from './search';

const COLOURS: Record<Status, string> = { pending_provision: 'blue', pending_start: 'blue', in_use: 'green', access_denied: 'orange', expired: 'gray', finalized: 'gray' };

/** A license's status in seed 003's words; the colour only in the dot. */
export function LicenseStatus({ status }: { status: Status }) {
  return (
    <Badge color={COLOURS[status]} variant="dot" tt="none">
      {STATUS_LABELS[status]}
    </Badge>
  );
}
