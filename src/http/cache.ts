import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/**
 * Route `onRequest` hook for answers that carry a secret (a session or API token, a webhook
 * signing secret): `Cache-Control: no-store`, so no browser or shared cache keeps a copy. Set
 * before anything runs, so refusals and Idempotency-Key replays of the answer carry it too.
 */
export function noStore(_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  reply.header('cache-control', 'no-store');
  done();
}
