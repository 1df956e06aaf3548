import { z } from 'zod';
import { DEVICE_STATUSES } from '../../db/schema.js';
import { PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { DeviceRow } from './members.repo.js';
import { DeviceInput } from './members.schemas.js';

export const RegisterDeviceBody = DeviceInput.meta({ examples: [{ serial: 'SN-000123', type: 'AV-07' }] });
export type RegisterDeviceBody = z.infer<typeof RegisterDeviceBody>;

export const ListDevicesQuery = z
  .object({ serial: z.string().trim().min(1).max(100).optional().describe('Only the device with this serial'), ...PageQuery })
  .strict();
export type ListDevicesQuery = z.infer<typeof ListDevicesQuery>;

export const ReportDeviceBody = z
  .object({ status: z.enum(DEVICE_STATUSES).describe('lost or stolen blocks the device and revokes its claims at once; ok: found again') })
  .strict()
  .meta({ examples: [{ status: 'stolen' }] });
export type ReportDeviceBody = z.infer<typeof ReportDeviceBody>;

export const Device = z.object({
  id: z.string(),
  rootId: z.string(),
  serial: z.string(),
  type: z.string(),
  status: z.enum(DEVICE_STATUSES),
  createdAt: Timestamp,
}).meta({ id: 'Device' });

export function presentDevice(d: DeviceRow): z.infer<typeof Device> {
  return { id: d.id, rootId: d.rootId, serial: d.serial, type: d.type, status: d.status, createdAt: iso(d.createdAt)! };
}
