import { and, asc, eq, ne } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { devices, members } from '../../db/schema.js';

/** The pool's device members that are verified and not reported lost or stolen, in id order. */
export function findServedDevicesOfPool(db: Executor, poolId: string, exceptMemberId: string) {
  return db
    .select({ memberId: members.id, serial: devices.serial, type: devices.type })
    .from(members)
    .innerJoin(devices, eq(devices.id, members.deviceId))
    .where(and(eq(members.poolId, poolId), eq(members.status, 'verified'), eq(devices.status, 'ok'), ne(members.id, exceptMemberId)))
    .orderBy(asc(members.id));
}

/** The account's memberships, optionally in one root: the candidates when sync names no member. */
export async function findMemberIdsOfAccount(db: Executor, accountId: string, rootId: string | undefined): Promise<string[]> {
  const rows = await db
    .select({ id: members.id })
    .from(members)
    .where(and(eq(members.accountId, accountId), rootId === undefined ? undefined : eq(members.rootId, rootId)))
    .orderBy(asc(members.id))
    .limit(10);
  return rows.map((r) => r.id);
}
