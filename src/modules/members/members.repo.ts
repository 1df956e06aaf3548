import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts, devices, members, type MemberStatus } from '../../db/schema.js';

export type MemberRow = typeof members.$inferSelect;
export type DeviceRow = typeof devices.$inferSelect;
export type MemberView = { member: MemberRow; account: typeof accounts.$inferSelect | null; device: DeviceRow | null };

function selectMembers(db: Executor) {
  return db
    .select({ member: members, account: accounts, device: devices })
    .from(members)
    .leftJoin(accounts, eq(accounts.id, members.accountId))
    .leftJoin(devices, eq(devices.id, members.deviceId));
}

export async function findMember(db: Executor, id: string, options: { lock?: boolean } = {}): Promise<MemberView | undefined> {
  if (options.lock) await db.select({ id: members.id }).from(members).where(eq(members.id, id)).for('update');
  const [row] = await selectMembers(db).where(eq(members.id, id));
  return row;
}

export async function findMembersOfPool(db: Executor, poolId: string, f: { status?: MemberStatus | undefined; after?: string | undefined; limit: number }) {
  const where: SQL[] = [eq(members.poolId, poolId)];
  if (f.status) where.push(eq(members.status, f.status));
  if (f.after) where.push(gt(members.id, f.after));
  return selectMembers(db).where(and(...where)).orderBy(asc(members.id)).limit(f.limit);
}

/** Undefined when the account or device is already a member of the pool. */
export async function insertMember(db: Executor, row: typeof members.$inferInsert): Promise<MemberRow | undefined> {
  const [inserted] = await db.insert(members).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function updateMemberRow(db: Executor, id: string, patch: Partial<typeof members.$inferInsert>): Promise<MemberRow> {
  const [row] = await db.update(members).set(patch).where(eq(members.id, id)).returning();
  return row!;
}

export async function deleteMemberRow(db: Executor, id: string): Promise<void> {
  await db.delete(members).where(eq(members.id, id));
}

/** The root's registry entry for a serial, created on first sight. */
export async function findOrCreateDevice(db: Executor, row: typeof devices.$inferInsert): Promise<DeviceRow> {
  await db.insert(devices).values(row).onConflictDoNothing();
  const [device] = await db.select().from(devices).where(and(eq(devices.rootId, row.rootId), eq(devices.serial, row.serial)));
  return device!;
}
