import { and, asc, eq, gt, inArray, isNull, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts, claims, devices, members, pools, type MemberStatus } from '../../db/schema.js';

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

/**
 * The memberships whose entitlements combine under M2's strictest rule: the member itself and,
 * for a person, the account's other verified memberships in the same root; each with its pool's
 * path. The member itself comes first.
 */
export async function findMembershipsToCombine(db: Executor, member: MemberRow): Promise<{ member: MemberRow; path: string[] }[]> {
  const others = member.accountId
    ? and(eq(members.accountId, member.accountId), eq(members.rootId, member.rootId), eq(members.status, 'verified'))
    : undefined;
  const rows = await db
    .select({ member: members, path: pools.path })
    .from(members)
    .innerJoin(pools, eq(pools.id, members.poolId))
    .where(or(eq(members.id, member.id), others))
    .orderBy(asc(members.id));
  return [...rows.filter((r) => r.member.id === member.id), ...rows.filter((r) => r.member.id !== member.id)];
}

/** Units the members' live claims take, per member and meter asked for (expired leases not swept yet excluded). */
export function findHeldUnits(db: Executor, memberIds: readonly string[], now: Date): Promise<{ memberId: string; meter: string; quantity: number }[]> {
  return db
    .select({ memberId: claims.memberId, meter: claims.meterKey, quantity: sql<number>`sum(${claims.quantity})::int` })
    .from(claims)
    .where(and(inArray(claims.memberId, [...memberIds]), eq(claims.status, 'live'), or(isNull(claims.expiresAt), gt(claims.expiresAt, now))))
    .groupBy(claims.memberId, claims.meterKey);
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

/**
 * The root's registry entry for a serial, created on first sight, its row locked until the
 * transaction ends: adding it to a pool and reporting it lost or stolen take their turns.
 */
export async function findOrCreateDevice(tx: Executor, row: typeof devices.$inferInsert): Promise<DeviceRow> {
  await tx.insert(devices).values(row).onConflictDoNothing();
  const [device] = await tx.select().from(devices).where(and(eq(devices.rootId, row.rootId), eq(devices.serial, row.serial))).for('no key update');
  return device!;
}

/**
 * Locks the account's row until the transaction ends, so two pools adding the same account take
 * their turns (M2). NO KEY UPDATE: rows that merely reference the account are not held up.
 */
export async function lockAccountForMembership(tx: Executor, accountId: string): Promise<void> {
  await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId)).for('no key update');
}

/** Whether the account or device is a member (in any status) of a pool of the root other than `poolId`. */
export async function isMemberElsewhere(db: Executor, rootId: string, poolId: string, subject: { accountId: string } | { deviceId: string }): Promise<boolean> {
  const who = 'accountId' in subject ? eq(members.accountId, subject.accountId) : eq(members.deviceId, subject.deviceId);
  const [row] = await db
    .select({ id: members.id })
    .from(members)
    .where(and(who, eq(members.rootId, rootId), ne(members.poolId, poolId)))
    .limit(1);
  return row !== undefined;
}
