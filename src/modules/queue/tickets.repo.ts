import { and, asc, eq, getTableColumns, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import { textArray, type Executor } from '../../db/client.js';
import { claims, tickets, type TicketStatus } from '../../db/schema.js';
import { poolIdsInSubtreesOf } from '../pools/pools.repo.js';

export type TicketRow = typeof tickets.$inferSelect;

/** A ticket as read: with its place in its queue and the state of its hold, which the clock judges. */
export type TicketView = TicketRow & {
  /** 1-based among the waiting tickets of its pool and meter; null unless waiting. */
  position: number | null;
  /** The hold claim's status (`live`, or how it ended); null before the ticket is held. */
  holdStatus: string | null;
};

/** Waiting tickets of the same queue up to this one: the partial index on waiting tickets answers it. */
const position = sql<number | null>`CASE WHEN ${tickets.status} = 'waiting' THEN (
  SELECT count(*)::int FROM tickets w
  WHERE w.pool_id = ${tickets.poolId} AND w.meter_key = ${tickets.meterKey} AND w.status = 'waiting' AND w.id <= ${tickets.id}) END`;

function selectViews(db: Executor) {
  return db
    .select({ ...getTableColumns(tickets), position, holdStatus: claims.status })
    .from(tickets)
    .leftJoin(claims, eq(claims.id, tickets.holdClaimId));
}

export async function findTicket(db: Executor, id: string): Promise<TicketView | undefined> {
  const [row] = await selectViews(db).where(eq(tickets.id, id));
  return row;
}

export async function findTicketViews(db: Executor, ids: readonly string[]): Promise<TicketView[]> {
  if (ids.length === 0) return [];
  return selectViews(db).where(inArray(tickets.id, [...ids]));
}

export async function findTickets(
  db: Executor,
  f: { poolId?: string; subtreeOf?: string; within?: readonly string[]; memberId?: string; statuses?: readonly TicketStatus[]; after?: string; limit: number },
): Promise<TicketView[]> {
  const where: SQL[] = [];
  if (f.poolId) where.push(eq(tickets.poolId, f.poolId));
  if (f.subtreeOf) where.push(inArray(tickets.poolId, poolIdsInSubtreesOf(db, [f.subtreeOf])));
  if (f.within) where.push(inArray(tickets.poolId, poolIdsInSubtreesOf(db, f.within)));
  if (f.memberId) where.push(eq(tickets.memberId, f.memberId));
  if (f.statuses) where.push(inArray(tickets.status, [...f.statuses]));
  if (f.after) where.push(gt(tickets.id, f.after));
  return selectViews(db).where(and(...where)).orderBy(asc(tickets.id)).limit(f.limit);
}

/**
 * Tickets by id or by their hold claim, locked in id order. Claim batches lock claims, then
 * tickets, then counters; so does everything else that locks tickets.
 */
export async function lockTickets(tx: Executor, by: { ids?: readonly string[]; holdClaimIds?: readonly string[] }): Promise<TicketRow[]> {
  const ids = by.ids ?? [];
  const holds = by.holdClaimIds ?? [];
  if (ids.length === 0 && holds.length === 0) return [];
  return tx
    .select()
    .from(tickets)
    .where(or(ids.length > 0 ? inArray(tickets.id, [...ids]) : undefined, holds.length > 0 ? inArray(tickets.holdClaimId, [...holds]) : undefined))
    .orderBy(asc(tickets.id))
    .for('update');
}

/** The waiting tickets of these queues (pool, meter), oldest first. */
export async function findWaitingTickets(tx: Executor, queues: readonly { poolId: string; meter: string }[]) {
  if (queues.length === 0) return [];
  return tx
    .select({ id: tickets.id, poolId: tickets.poolId, meterKey: tickets.meterKey })
    .from(tickets)
    .where(
      and(
        eq(tickets.status, 'waiting'),
        sql`(${tickets.poolId}, ${tickets.meterKey}) IN (SELECT * FROM unnest(${textArray(queues.map((q) => q.poolId))}, ${textArray(queues.map((q) => q.meter))}))`,
      ),
    )
    .orderBy(asc(tickets.id));
}

/** Waiting and held tickets of these members: the same client asking again gets its ticket back. */
export async function findOpenTicketsOf(tx: Executor, memberIds: readonly string[]): Promise<TicketRow[]> {
  if (memberIds.length === 0) return [];
  return tx
    .select()
    .from(tickets)
    .where(and(inArray(tickets.memberId, [...memberIds]), inArray(tickets.status, ['waiting', 'held'])));
}

/** The first waiting ticket of every queue (of these roots, or of all). */
export async function findQueueHeads(db: Executor, rootIds?: readonly string[]): Promise<TicketRow[]> {
  if (rootIds && rootIds.length === 0) return [];
  return db
    .selectDistinctOn([tickets.poolId, tickets.meterKey])
    .from(tickets)
    .where(and(eq(tickets.status, 'waiting'), rootIds ? inArray(tickets.rootId, [...rootIds]) : undefined))
    .orderBy(tickets.poolId, tickets.meterKey, tickets.id);
}

export async function insertTickets(tx: Executor, rows: (typeof tickets.$inferInsert)[]): Promise<void> {
  if (rows.length > 0) await tx.insert(tickets).values(rows);
}

export async function updateTicketRow(tx: Executor, id: string, patch: Partial<typeof tickets.$inferInsert>): Promise<void> {
  await tx.update(tickets).set(patch).where(eq(tickets.id, id));
}

/** Tickets waiting in every queue (the root index's partial index covers it): for /metrics. */
export async function countWaitingTickets(db: Executor): Promise<number> {
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(tickets).where(eq(tickets.status, 'waiting'));
  return row?.count ?? 0;
}
