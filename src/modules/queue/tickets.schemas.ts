import { z } from 'zod';
import { TICKET_STATUSES, type TicketStatus } from '../../db/schema.js';
import { IdParam, PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import type { TicketRow, TicketView } from './tickets.repo.js';

export const ListTicketsQuery = z
  .object({
    poolId: IdParam.optional(),
    memberId: IdParam.optional(),
    ...PageQuery,
  })
  .strict();
export type ListTicketsQuery = z.infer<typeof ListTicketsQuery>;

export const Ticket = z.object({
  id: z.string(),
  rootId: z.string(),
  poolId: z.string().describe("The member's pool: its queue for the meter"),
  memberId: z.string(),
  meter: z.string(),
  quantity: z.number().int(),
  ttlSeconds: z.number().int().describe('The lease asked for: what the ticket becomes when claimed'),
  fingerprint: z.string().nullable(),
  status: z
    .enum(TICKET_STATUSES)
    .describe('waiting → held (units held for the member until heldUntil) → claimed (a lease); lapsed when a hold runs out unclaimed; cancelled. As of now: a hold past its end shows `lapsed`'),
  position: z.number().int().nullable().describe('1-based place among the waiting tickets of its pool and meter; null unless waiting'),
  heldUntil: Timestamp.nullable().describe('Held tickets: claim it before this'),
  claimId: z.string().nullable().describe('The lease the ticket became'),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  endedAt: Timestamp.nullable(),
}).meta({ id: 'Ticket' });

/** What a lease request that joined the queue is answered (202). */
export const QueuedClaim = z.object({
  ticket: Ticket,
  reasons: z.array(z.looseObject({ code: z.string() })).describe('Why it was not granted now (empty when the same client already held this ticket)'),
}).meta({ id: 'QueuedClaim' });

/** Statuses after which a ticket never changes. */
export const ENDED_TICKET_STATUSES: ReadonlySet<TicketStatus> = new Set(['claimed', 'lapsed', 'cancelled']);

/**
 * A ticket as the clock sees it: a held ticket whose hold ran out (swept or not) or ended
 * otherwise (revoked when a limit dropped) has lapsed; it can no longer be claimed.
 */
export function ticketStatusAt(t: TicketRow, holdStatus: string | null, now: Date): TicketStatus {
  if (t.status !== 'held') return t.status;
  return holdStatus !== 'live' || (t.heldUntil !== null && t.heldUntil <= now) ? 'lapsed' : 'held';
}

export function presentTicket(t: TicketView, now: Date): z.infer<typeof Ticket> {
  return {
    id: t.id,
    rootId: t.rootId,
    poolId: t.poolId,
    memberId: t.memberId,
    meter: t.meterKey,
    quantity: t.quantity,
    ttlSeconds: t.ttlSeconds,
    fingerprint: t.fingerprint,
    status: ticketStatusAt(t, t.holdStatus, now),
    position: t.position,
    heldUntil: iso(t.heldUntil),
    claimId: t.claimId,
    createdAt: iso(t.createdAt)!,
    updatedAt: iso(t.updatedAt)!,
    endedAt: iso(t.endedAt),
  };
}
