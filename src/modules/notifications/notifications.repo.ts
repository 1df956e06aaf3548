import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts, auditEvents, mailTemplates, notificationSettings, outbox, pools, roleBindings, type OutboxStatus, type Role } from '../../db/schema.js';
import { poolIdsInSubtreesOf } from '../pools/pools.repo.js';

export type OutboxRow = typeof outbox.$inferSelect;
export type TemplateRow = typeof mailTemplates.$inferSelect;
export type SettingsRow = typeof notificationSettings.$inferSelect;

// ---------------------------------------------------------------------------------------------
// Outbox

/** Writes messages; one whose dedupe key is taken is skipped. Answers the rows written. */
export async function insertMessages(tx: Executor, rows: (typeof outbox.$inferInsert)[]): Promise<OutboxRow[]> {
  if (rows.length === 0) return [];
  return tx.insert(outbox).values(rows).onConflictDoNothing({ target: outbox.dedupeKey }).returning();
}

export async function findMessage(db: Executor, id: string): Promise<OutboxRow | undefined> {
  const [row] = await db.select().from(outbox).where(eq(outbox.id, id));
  return row;
}

export interface OutboxFilter {
  to?: string | undefined;
  event?: string | undefined;
  status?: OutboxStatus | undefined;
  poolId?: string | undefined;
  licenseId?: string | undefined;
  /** Who may see what: messages about pools in these subtrees, or addressed to this account; undefined: all. */
  reach?: { subtreesOf: readonly string[]; accountId: string } | undefined;
  after?: string | undefined;
  limit: number;
}

export async function findMessages(db: Executor, f: OutboxFilter): Promise<OutboxRow[]> {
  const where: (SQL | undefined)[] = [];
  if (f.to) where.push(sql`lower(${outbox.toEmail}) = lower(${f.to})`);
  if (f.event) where.push(eq(outbox.event, f.event));
  if (f.status) where.push(eq(outbox.status, f.status));
  if (f.poolId) where.push(eq(outbox.poolId, f.poolId));
  if (f.licenseId) where.push(eq(outbox.licenseId, f.licenseId));
  if (f.reach) {
    where.push(
      or(
        eq(outbox.toAccountId, f.reach.accountId),
        f.reach.subtreesOf.length > 0 ? inArray(outbox.poolId, poolIdsInSubtreesOf(db, f.reach.subtreesOf)) : undefined,
      ),
    );
  }
  if (f.after) where.push(gt(outbox.id, f.after));
  return db
    .select()
    .from(outbox)
    .where(and(...where))
    .orderBy(asc(outbox.id))
    .limit(f.limit);
}

/** Marks a message sent; false when it was not pending (sent already, or given up). */
export async function markMessageSent(db: Executor, id: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(outbox)
    .set({ status: 'sent', sentAt: now, updatedAt: now, lastError: null, attempts: sql`${outbox.attempts} + 1` })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')))
    .returning({ id: outbox.id });
  return rows.length === 1;
}

export async function recordMessageAttempt(db: Executor, id: string, now: Date, error: string): Promise<void> {
  await db
    .update(outbox)
    .set({ attempts: sql`${outbox.attempts} + 1`, lastError: error, updatedAt: now })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')));
}

/** A message whose sending gave up (its job is dead): a dead letter, until retried. */
export async function markMessageFailed(db: Executor, id: string, now: Date, error: string | null): Promise<void> {
  await db
    .update(outbox)
    .set({ status: 'failed', updatedAt: now, ...(error ? { lastError: error } : {}) })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'pending')));
}

export async function markMessagePending(db: Executor, id: string, now: Date): Promise<OutboxRow | undefined> {
  const [row] = await db
    .update(outbox)
    .set({ status: 'pending', updatedAt: now })
    .where(and(eq(outbox.id, id), eq(outbox.status, 'failed')))
    .returning();
  return row;
}

/** Messages not yet sent, by status (the outbox gauge). */
export async function countUnsent(db: Executor): Promise<{ status: OutboxStatus; count: number }[]> {
  return db
    .select({ status: outbox.status, count: sql<number>`count(*)::int` })
    .from(outbox)
    .where(inArray(outbox.status, ['pending', 'failed']))
    .groupBy(outbox.status);
}

// ---------------------------------------------------------------------------------------------
// Templates

export async function findTemplates(db: Executor, rootId: string, events?: readonly string[]): Promise<TemplateRow[]> {
  return db
    .select()
    .from(mailTemplates)
    .where(and(eq(mailTemplates.rootId, rootId), events ? inArray(mailTemplates.event, [...events]) : undefined))
    .orderBy(asc(mailTemplates.event));
}

export async function upsertTemplate(db: Executor, row: typeof mailTemplates.$inferInsert): Promise<TemplateRow> {
  const [saved] = await db
    .insert(mailTemplates)
    .values(row)
    .onConflictDoUpdate({
      target: [mailTemplates.rootId, mailTemplates.event],
      set: { subject: row.subject, textBody: row.textBody, htmlBody: row.htmlBody, updatedBy: row.updatedBy, updatedAt: row.updatedAt },
    })
    .returning();
  return saved!;
}

export async function deleteTemplate(db: Executor, rootId: string, event: string): Promise<TemplateRow | undefined> {
  const [row] = await db
    .delete(mailTemplates)
    .where(and(eq(mailTemplates.rootId, rootId), eq(mailTemplates.event, event)))
    .returning();
  return row;
}

// ---------------------------------------------------------------------------------------------
// Settings

export async function findSettings(db: Executor, rootId: string): Promise<SettingsRow | undefined> {
  const [row] = await db.select().from(notificationSettings).where(eq(notificationSettings.rootId, rootId));
  return row;
}

export async function upsertSettings(db: Executor, row: typeof notificationSettings.$inferInsert): Promise<SettingsRow> {
  const [saved] = await db
    .insert(notificationSettings)
    .values(row)
    .onConflictDoUpdate({ target: notificationSettings.rootId, set: { notifyParentAdmins: row.notifyParentAdmins, updatedBy: row.updatedBy, updatedAt: row.updatedAt } })
    .returning();
  return saved!;
}

// ---------------------------------------------------------------------------------------------
// Who and what a message is about

export interface RoleHolder {
  accountId: string;
  email: string;
  name: string;
  poolId: string;
  role: Role;
}

/** Accounts holding any of `roles` at any of `poolIds`. */
export async function findRoleHolders(db: Executor, wanted: readonly { poolIds: readonly string[]; roles: readonly Role[] }[]): Promise<RoleHolder[]> {
  const clauses = wanted.filter((w) => w.poolIds.length > 0 && w.roles.length > 0).map((w) => and(inArray(roleBindings.poolId, [...w.poolIds]), inArray(roleBindings.role, [...w.roles])));
  if (clauses.length === 0) return [];
  return db
    .select({ accountId: accounts.id, email: accounts.email, name: accounts.name, poolId: roleBindings.poolId, role: roleBindings.role })
    .from(roleBindings)
    .innerJoin(accounts, eq(accounts.id, roleBindings.accountId))
    .where(or(...clauses))
    .orderBy(asc(roleBindings.id));
}

export async function findAccountsByIds(db: Executor, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.select({ id: accounts.id, email: accounts.email, name: accounts.name }).from(accounts).where(inArray(accounts.id, [...ids]));
}

export async function findPoolsByIds(db: Executor, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.select({ id: pools.id, name: pools.name, parentId: pools.parentId, rootId: pools.rootId, path: pools.path }).from(pools).where(inArray(pools.id, [...ids]));
}

export async function findAuditEvent(db: Executor, id: string) {
  const [row] = await db.select().from(auditEvents).where(eq(auditEvents.id, id));
  return row;
}
