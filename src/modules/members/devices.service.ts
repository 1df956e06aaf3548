import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { revokeClaimsOfMembers } from '../claims/claims.revoke.js';
import { poolFor, rootFor } from '../pools/pool-access.js';
import { findDevice, findDevicesOfRoot, insertDevice, lockMembersOfDevice, updateDeviceStatus } from './devices.repo.js';
import type { ListDevicesQuery, RegisterDeviceBody, ReportDeviceBody } from './devices.schemas.js';
import type { DeviceRow } from './members.repo.js';

const deviceAudit = (d: DeviceRow) => ({ entityType: 'device', entityId: d.id, rootId: d.rootId, poolId: d.rootId });

/** M3: the vendor's operators keep the root's device registry. */
export async function registerDevice(deps: Deps, actor: Actor, rootId: string, input: RegisterDeviceBody): Promise<DeviceRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'devices');
    const device = await insertDevice(tx, { id: newId('device'), rootId: root.id, serial: input.serial, type: input.type, createdAt: now });
    if (!device) throw new AppError('DEVICE_EXISTS', `the registry already has the serial ${input.serial}`);
    await insertAuditEvent(tx, actor, now, { action: 'device.registered', ...deviceAudit(device), after: device });
    return device;
  });
}

export async function listDevices(deps: Deps, actor: Actor, rootId: string, query: ListDevicesQuery): Promise<DeviceRow[]> {
  const root = await rootFor(deps.db, actor, rootId, 'devices');
  return findDevicesOfRoot(deps.db, root.id, { serial: query.serial, after: query.cursor, limit: query.limit + 1 });
}

/**
 * M3: a device reported lost or stolen is blocked, and every live claim of its memberships is
 * revoked in the same transaction. Locks: the device's row (adding it to a pool waits), then its
 * member rows in id order, then their claims and counters as revokeClaimsOfMembers does.
 */
export async function reportDevice(deps: Deps, actor: Actor, id: string, input: ReportDeviceBody): Promise<DeviceRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    if (!isIdOf('device', id)) throw notFound('device');
    const seen = await findDevice(tx, id);
    if (!seen) throw notFound('device');
    await poolFor(tx, actor, seen.rootId, 'operate', { what: 'device' });
    const device = (await findDevice(tx, id, { lock: true }))!;
    const updated = await updateDeviceStatus(tx, device.id, input.status);
    if (input.status !== 'ok') {
      await revokeClaimsOfMembers(tx, actor, await lockMembersOfDevice(tx, device.id), now, `the device was reported ${input.status}`);
    }
    await insertAuditEvent(tx, actor, now, { action: 'device.reported', ...deviceAudit(device), before: { status: device.status }, after: { status: updated.status } });
    return updated;
  });
}
