import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, Problem, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { Claim, presentClaim } from '../claims/claims.schemas.js';
import type { TicketView } from './tickets.repo.js';
import { ListTicketsQuery, presentTicket, Ticket } from './tickets.schemas.js';
import { cancelTicket, claimTicket, getTicket, listTickets } from './tickets.service.js';
import { TicketWatcher } from './tickets.watch.js';

/** Queue tickets (U4): a place in a pool's line for a meter, made by `POST /v1/claims` with `queue: true`. */
export const ticketRoutes: FastifyPluginAsyncZod<{ deps: Deps; eventsPollMs?: number | undefined }> = async (app, { deps, eventsPollMs }) => {
  const tags = ['queue'];
  const present = (v: TicketView) => presentTicket(v, deps.clock.now());
  const watcher = new TicketWatcher(deps, { pollMs: eventsPollMs });
  // Open event streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => watcher.close());

  app.get('/v1/tickets', {
    schema: { tags, operationId: 'listTickets', description: 'The queue tickets of a member, of a pool, or (neither given) all within your reach; cursor pages.', summary: 'Tickets of a member, of a pool, or (neither given) all within your reach', querystring: ListTicketsQuery, response: { 200: Page(Ticket), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listTickets(deps, actorOf(request), request.query), request.query.limit, present));

  app.get('/v1/tickets/:id', {
    schema: { tags, operationId: 'getTicket', description: 'One queue ticket: its status and its place in line.', summary: 'Read a ticket: its status and place in line', params: IdParams, response: { 200: Ticket, ...ERROR_RESPONSES } },
  }, async (request) => present(await getTicket(deps, actorOf(request), request.params.id)));

  app.post('/v1/tickets/:id/claim', {
    schema: {
      tags,
      operationId: 'claimTicket',
      description: 'Takes a held ticket\'s units as a lease: 201 with the claim (200 when already claimed). 409 TICKET_NOT_HELD while it waits; 410 TICKET_ENDED once lapsed or cancelled.',
      summary: "Take a held ticket's units as a lease: 201 (200 when already claimed); 409 TICKET_NOT_HELD while waiting; 410 TICKET_ENDED once lapsed or cancelled",
      params: IdParams,
      response: { 201: Claim, 200: Claim, 410: Problem, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { claim, created } = await claimTicket(deps, actorOf(request), request.params.id);
    return reply.code(created ? 201 : 200).send(presentClaim(claim, deps.clock.now()));
  });

  app.delete('/v1/tickets/:id', {
    schema: { tags, operationId: 'cancelTicket', description: 'Leaves the queue; a held ticket\'s units go to the next ticket. Idempotent: answers 204 for an ended ticket too.', summary: "Leave the queue (idempotent); a held ticket's units go to the next ticket", params: IdParams, response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await cancelTicket(deps, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  app.get('/v1/tickets/:id/events', {
    schema: {
      tags,
      operationId: 'followTicket',
      description: 'Server-sent events: `event: ticket` with the ticket now and at every change of its status or place; the stream ends once the ticket has ended.',
      summary: 'Follow a ticket (server-sent events): `event: ticket` with the ticket now and at every change of status or place; ends once the ticket has ended',
      params: IdParams,
      produces: ['text/event-stream'],
      response: { 200: z.string().describe('text/event-stream of `event: ticket` messages, each `data` a Ticket'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const view = await getTicket(deps, actorOf(request), request.params.id);
    const stream = watcher.open(view);
    // A stream is sent as it is, past the serializer; the 200 schema documents what flows in it.
    return reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(stream as unknown as string);
  });
};
