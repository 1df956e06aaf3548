import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { devices, members } from '../../db/schema.js';
import type { DeviceRow, MemberRow } from './members.repo.js';

/** Undefined when the root's registry already has the serial. */
export async function insertDevice(db: Executor, row: typeof devices.$inferInsert): Promise<DeviceRow | undefined> {
  const [inserted] = await db.insert(devices).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function findDevice(db: Executor, id: string, options: { lock?: boolean } = {}): Promise<DeviceRow | undefined> {
  const query = db.select().from(devices).where(eq(devices.id, id));
  const [row] = options.lock ? await query.for('no key update') : await query;
  return row;
}

export async function findDevicesOfRoot(db: Executor, rootId: string, f: { serial?: string | undefined; after?: string | undefined; limit: number }): Promise<DeviceRow[]> {
  const where: SQL[] = [eq(devices.rootId, rootId)];
  if (f.serial !== undefined) where.push(eq(devices.serial, f.serial));
  if (f.after) where.push(gt(devices.id, f.after));
  return db.select().from(devices).where(and(...where)).orderBy(asc(devices.id)).limit(f.limit);
}

export async function updateDeviceStatus(db: Executor, id: string, status: DeviceRow['status']): Promise<DeviceRow> {
  const [row] = await db.update(devices).set({ status }).where(eq(devices.id, id)).returning();
  return row!;
}

/** The device's memberships, locked in id order (after the device's row). */
export async function lockMembersOfDevice(tx: Executor, deviceId: string): Promise<MemberRow[]> {
  return tx.select().from(members).where(eq(members.deviceId, deviceId)).orderBy(asc(members.id)).for('update');
}
