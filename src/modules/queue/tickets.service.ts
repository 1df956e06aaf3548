import type { Executor } from '../../db/client.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf } from '../../lib/ids.js';
import { decideAlone, serveQueuesAfter, type Outcome, type TicketOp, type TicketOutcome } from '../claims/claims.engine.js';
import { findClaim, findHolders, type ClaimRow, type Holder } from '../claims/claims.repo.js';
import { listScopeFor, mayActOnBehalfOf } from '../claims/claimants.js';
import { findTicket, findTickets, type TicketRow, type TicketView } from './tickets.repo.js';
import type { ListTicketsQuery } from './tickets.schemas.js';

/** A ticket is its member's business and its pool managers' (the self-or-manage rule of claims). */
async function ticketFor(db: Executor, actor: Actor, ticketId: string): Promise<TicketView> {
  if (!isIdOf('ticket', ticketId)) throw notFound('ticket');
  const view = await findTicket(db, ticketId);
  if (!view) throw notFound('ticket');
  await mayActOnBehalfOf(db, actor, view.memberId, view.poolId, 'ticket');
  return view;
}

export const getTicket = (deps: Deps, actor: Actor, ticketId: string) => ticketFor(deps.db, actor, ticketId);

/** The ticket a claim request was just given (the caller was authorized for it), as it is now: it may be held already. */
export async function queuedTicket(deps: Deps, ticket: TicketRow): Promise<TicketView> {
  return (await findTicket(deps.db, ticket.id)) ?? { ...ticket, position: null, holdStatus: null };
}

/**
 * Decides a redeem or cancel in a batch of its own, under the engine's locks. A ticket held
 * between the read and the batch answers `stale`; it is held at most once, so one more try
 * with the hold it now has decides it.
 */
async function decideTicket(deps: Deps, op: TicketOp): Promise<TicketOutcome> {
  let outcome: Outcome = await decideAlone(deps, op);
  if (outcome.type === 'stale') outcome = await decideAlone(deps, { ...op, holdClaimId: (await findTicket(deps.db, op.ticketId))!.holdClaimId });
  if (outcome.type !== 'ticket') throw new Error(`a ticket's ${op.type} came back as ${outcome.type}`);
  return outcome;
}

/**
 * The held units become the member's lease (with the ttl and fingerprint the ticket asked
 * for). Idempotent: a claimed ticket answers its lease again, `created` false.
 */
export async function claimTicket(deps: Deps, actor: Actor, ticketId: string): Promise<{ claim: ClaimRow; created: boolean }> {
  const view = await ticketFor(deps.db, actor, ticketId);
  const outcome = await decideTicket(deps, { type: 'redeem', actor, ticketId, holdClaimId: view.holdClaimId });
  const ticket = outcome.ticket!;
  switch (outcome.status) {
    case 'claimed':
      return { claim: outcome.claim ?? (await findClaim(deps.db, ticket.claimId!))!, created: outcome.changed };
    case 'waiting':
      throw new AppError('TICKET_NOT_HELD', 'the ticket is still waiting for units; claim it once it is held', { ticketStatus: 'waiting' });
    default:
      throw new AppError('TICKET_ENDED', `the ticket is ${outcome.status}`, { ticketStatus: outcome.status });
  }
}

/** Leaves the queue (idempotent): a held ticket's units go back, to the next ticket first. */
export async function cancelTicket(deps: Deps, actor: Actor, ticketId: string): Promise<void> {
  const view = await ticketFor(deps.db, actor, ticketId);
  const outcome = await decideTicket(deps, { type: 'cancel', actor, ticketId, holdClaimId: view.holdClaimId });
  // Either units came back or a head left its queue: the tickets behind may be served now.
  if (outcome.changed) await serveQueuesAfter(deps, [view.rootId]);
}

/** A page of tickets (limit + 1 rows, for toPage), each with its place in line, and who waits. */
export async function listTickets(deps: Deps, actor: Actor, query: ListTicketsQuery): Promise<{ rows: TicketView[]; holders: Map<string, Holder> }> {
  const scope = await listScopeFor(deps.db, actor, query);
  if (!scope) return { rows: [], holders: new Map() };
  const { poolId, ...rest } = scope;
  const rows = await findTickets(deps.db, {
    ...rest,
    ...(poolId ? (query.subtree === 'true' ? { subtreeOf: poolId } : { poolId }) : {}),
    ...(query.open === 'true' ? { statuses: ['waiting', 'held'] as const } : {}),
    ...(query.cursor ? { after: query.cursor } : {}),
    limit: query.limit + 1,
  });
  return { rows, holders: await findHolders(deps.db, rows.map((t) => t.memberId)) };
}
