/**
 * Set-based queries of the member import: each takes a batch of rows (callers keep batches to
 * about a thousand, well inside PostgreSQL's 65,535 bound parameters) and answers in one
 * statement. Locks follow the membership order (docs/architecture.md, "Membership").
 */
import { and, asc, eq, inArray, isNotNull, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts, auditEvents, devices, members } from '../../db/schema.js';
import type { AuditEventRow } from '../audit/audit.repo.js';
import type { DeviceRow, MemberRow } from './members.repo.js';

/** The accounts with these e-mails (given lower-cased), unlocked: `{ id, email }` with the e-mail lower-cased. */
export function findAccountIdsByEmails(db: Executor, emails: readonly string[]): Promise<{ id: string; email: string }[]> {
  if (emails.length === 0) return Promise.resolve([]);
  const lowered = sql<string>`lower(${accounts.email})`;
  return db.select({ id: accounts.id, email: lowered }).from(accounts).where(inArray(lowered, [...emails]));
}

/**
 * Locks the accounts' rows until the transaction ends, in id order (give them sorted across
 * batches): the bulk form of lockAccountForMembership.
 */
export async function lockAccountsForMembership(tx: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.select({ id: accounts.id }).from(accounts).where(inArray(accounts.id, [...ids])).orderBy(asc(accounts.id)).for('no key update');
}

/**
 * Registers the serials the root's registry lacks; the others are left as they are. Give the
 * rows sorted by serial (across batches too): concurrent imports then wait for each other's new
 * serials in one order.
 */
export async function insertDevicesIfNew(tx: Executor, rows: (typeof devices.$inferInsert)[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.insert(devices).values(rows).onConflictDoNothing();
}

/** The root's registry entries for these serials, locked in serial order until the transaction ends. */
export function lockDevicesBySerials(tx: Executor, rootId: string, serials: readonly string[]): Promise<DeviceRow[]> {
  if (serials.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(devices)
    .where(and(eq(devices.rootId, rootId), inArray(devices.serial, [...serials])))
    .orderBy(asc(devices.serial))
    .for('no key update');
}

/** Which of these accounts and devices are members (in any status) of a pool of the root other than `poolId`. */
export async function findSubjectsElsewhere(
  db: Executor,
  rootId: string,
  poolId: string,
  subjects: { accountIds: readonly string[]; deviceIds: readonly string[] },
): Promise<{ accountIds: Set<string>; deviceIds: Set<string> }> {
  const elsewhere = and(eq(members.rootId, rootId), ne(members.poolId, poolId));
  const accountIds = subjects.accountIds.length === 0
    ? []
    : await db.selectDistinct({ id: members.accountId }).from(members).where(and(elsewhere, inArray(members.accountId, [...subjects.accountIds]), isNotNull(members.accountId)));
  const deviceIds = subjects.deviceIds.length === 0
    ? []
    : await db.selectDistinct({ id: members.deviceId }).from(members).where(and(elsewhere, inArray(members.deviceId, [...subjects.deviceIds]), isNotNull(members.deviceId)));
  return { accountIds: new Set(accountIds.map((r) => r.id!)), deviceIds: new Set(deviceIds.map((r) => r.id!)) };
}

/** The rows inserted; a row whose account or device is already a member of its pool is left out. */
export function insertMembersIfNew(tx: Executor, rows: (typeof members.$inferInsert)[]): Promise<MemberRow[]> {
  if (rows.length === 0) return Promise.resolve([]);
  return tx.insert(members).values(rows).onConflictDoNothing().returning();
}

/** Appends audit events (rows from auditEventRow) in one statement, inside the transaction of the change. */
export async function insertAuditEvents(tx: Executor, rows: AuditEventRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.insert(auditEvents).values(rows);
}
