import { and, asc, eq, gt, inArray, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { poolIdsInSubtreesOf } from '../pools/pools.repo.js';
import { auditEvents } from '../../db/schema.js';
import type { Actor } from '../../lib/context.js';
import { newId } from '../../lib/ids.js';

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId: string;
  rootId?: string | null;
  poolId?: string | null;
  licenseId?: string | null;
  memberId?: string | null;
  before?: unknown;
  after?: unknown;
}

export type AuditEventRow = typeof auditEvents.$inferSelect;

/** The row of one event, for callers that write it inside a statement of their own. */
export function auditEventRow(actor: Actor, at: Date, entry: AuditEntry): AuditEventRow {
  return {
    id: newId('event'),
    at,
    actorId: actor.principal.accountId,
    tokenId: actor.tokenId,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId,
    rootId: entry.rootId ?? null,
    poolId: entry.poolId ?? null,
    licenseId: entry.licenseId ?? null,
    memberId: entry.memberId ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
    requestId: actor.requestId,
  };
}

/** Appends one event; call it inside the transaction of the change it records. */
export async function insertAuditEvent(tx: Executor, actor: Actor, at: Date, entry: AuditEntry): Promise<void> {
  await tx.insert(auditEvents).values(auditEventRow(actor, at, entry));
}

export interface AuditFilter {
  /** Events on this pool or anywhere in its subtree. */
  subtreeOf?: string | undefined;
  licenseId?: string | undefined;
  memberId?: string | undefined;
  actorId?: string | undefined;
  /** Only events on pools inside the subtrees of these pools (the caller's reach). */
  within?: readonly string[] | undefined;
  after?: string | undefined;
  limit: number;
}

export async function findAuditEvents(db: Executor, f: AuditFilter) {
  const where: SQL[] = [];
  const inSubtreeOf = (ids: readonly string[]) => inArray(auditEvents.poolId, poolIdsInSubtreesOf(db, ids));
  if (f.subtreeOf) where.push(inSubtreeOf([f.subtreeOf]));
  if (f.within) where.push(inSubtreeOf(f.within));
  if (f.licenseId) where.push(eq(auditEvents.licenseId, f.licenseId));
  if (f.memberId) where.push(eq(auditEvents.memberId, f.memberId));
  if (f.actorId) where.push(eq(auditEvents.actorId, f.actorId));
  if (f.after) where.push(gt(auditEvents.id, f.after));
  return db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(asc(auditEvents.id))
    .limit(f.limit);
}
