import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, Problem, toPage } from '../../http/schemas.js';
import { rootFor } from '../pools/pool-access.js';
import type { Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { ClaimEngine, reconcileRoot } from './claims.engine.js';
import { Claim, CreateClaimBody, ListClaimsQuery, NewClaim, presentClaim } from './claims.schemas.js';
import { borrowFile, checkIn, createClaim, getClaim, heartbeat, listClaims, reconcileAllRoots } from './claims.service.js';
import { presentTicket, QueuedClaim } from '../queue/tickets.schemas.js';
import { queuedTicket } from '../queue/tickets.service.js';

export const claimRoutes: FastifyPluginAsyncZod<{ deps: Deps; maxBatch?: number | undefined }> = async (app, { deps, maxBatch }) => {
  const tags = ['claims'];
  // One engine per process: its batches are what turn many claims into one commit.
  const engine = new ClaimEngine(deps, { maxBatch });
  const present = (c: Parameters<typeof presentClaim>[0]) => presentClaim(c, deps.clock.now());

  app.post('/v1/claims', {
    schema: {
      tags,
      operationId: 'createClaim',
      description: 'Takes units of a meter for a member: a lease (with a time to live), an assignment or a borrow. 201 with the claim; 200 with the live lease this client already holds; 202 with a queue ticket when `queue: true` and the pool is full; 409 CLAIM_REFUSED with every reason otherwise.',
      summary: 'Take units of a meter for a member: 201 with the claim, 202 with a queue ticket (queue: true), or 409 with every reason',
      body: CreateClaimBody,
      response: { 201: NewClaim, 200: NewClaim, 202: QueuedClaim, 410: Problem, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const outcome = await createClaim(deps, engine, actorOf(request), request.body);
    app.licensingMetrics.claimDecided(outcome);
    if (outcome.type === 'refused') {
      const first = outcome.reasons[0]!;
      throw new AppError('CLAIM_REFUSED', `refused: ${outcome.reasons.map((r) => r.code).join(', ')}`, { reasons: outcome.reasons, firstReason: first.code });
    }
    if (outcome.type === 'queued') {
      const ticket = presentTicket(await queuedTicket(deps, outcome.ticket), deps.clock.now());
      return reply.code(202).send({ ticket, reasons: outcome.reasons });
    }
    if (outcome.type !== 'granted') throw new Error(`a claim request came back as ${outcome.type}`);
    // The live lease this client already holds is given back with 200, a new claim with 201.
    let file = {};
    if (outcome.claim.kind === 'borrow') {
      try {
        file = { licenseFile: await borrowFile(deps, outcome.claim) };
      } catch (err) {
        // Signed after the claim committed: a borrow without its file is of no use, and a retry
        // (a 5xx frees its Idempotency-Key) would take a second unit. Give this one back first.
        await checkIn(deps, engine, actorOf(request), outcome.claim.id);
        throw err;
      }
    }
    return reply.code(outcome.reused ? 200 : 201).send({ ...present(outcome.claim), ...file });
  });

  app.get('/v1/claims', {
    schema: { tags, operationId: 'listClaims', description: 'The live claims of a pool, of a member, or (neither given) all within your reach; cursor pages.', summary: 'Claims of a pool, of a member, or (neither given) all within your reach', querystring: ListClaimsQuery, response: { 200: Page(Claim), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listClaims(deps, actorOf(request), request.query), request.query.limit, present));

  app.get('/v1/claims/:id', {
    schema: { tags, operationId: 'getClaim', description: 'One claim: member, meter, kind, quantity, since, expiry and status.', summary: 'Read a claim', params: IdParams, response: { 200: Claim, ...ERROR_RESPONSES } },
  }, async (request) => present(await getClaim(deps, actorOf(request), request.params.id)));

  app.post('/v1/claims/:id/heartbeat', {
    schema: { tags, operationId: 'renewClaim', description: 'Renews a lease by its own time to live. 410 CLAIM_ENDED once it has ended (expired, revoked, checked in).', summary: 'Renew a lease by its own time to live; 410 when it has ended (expired, revoked, checked in)', params: IdParams, response: { 200: Claim, 410: Problem, ...ERROR_RESPONSES } },
  }, async (request) => present(await heartbeat(deps, actorOf(request), request.params.id)));

  app.delete('/v1/claims/:id', {
    schema: { tags, operationId: 'checkInClaim', description: 'Checks the claim in: its units go back to the pool. Idempotent: a claim already ended answers 204 as well.', summary: 'Check in: give the units back (idempotent)', params: IdParams, response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await checkIn(deps, engine, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });
};

const DriftRows = z.array(z.object({ poolId: z.string(), meter: z.string(), counted: z.number().int(), actual: z.number().int() }).meta({ id: 'CounterDrift' }));
const Drift = z.object({ drift: DriftRows, fixed: z.boolean() }).meta({ id: 'Drift' });
const DriftOfRoots = z.object({ data: z.array(z.object({ rootId: z.string(), drift: DriftRows })), fixed: z.boolean() }).meta({ id: 'DriftOfRoots' });

/** Reconcile (U1): operators of a root compare every usage counter with its live claims. */
export const reconcileRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  app.get('/v1/pools/:id/reconcile', {
    schema: { tags: ['claims'], operationId: 'getPoolDrift', description: 'Compares the pool tree\'s use counters with what its live claims add up to and lists every counter that differs (there should be none). Writes nothing.', summary: 'Counters that differ from the live claims (must be none)', params: IdParams, response: { 200: Drift, ...ERROR_RESPONSES } },
  }, async (request) => ({ drift: await reconcileRoot(deps, (await rootFor(deps.db, actorOf(request), request.params.id, 'usage counters')).id, { fix: false }), fixed: false }));
  app.post('/v1/pools/:id/reconcile', {
    schema: { tags: ['claims'], operationId: 'reconcilePool', description: 'Sets every differing use counter of the pool tree to what its live claims add up to, and lists what it fixed.', summary: 'Set every differing counter to what the live claims add up to', params: IdParams, response: { 200: Drift, ...ERROR_RESPONSES } },
  }, async (request) => ({ drift: await reconcileRoot(deps, (await rootFor(deps.db, actorOf(request), request.params.id, 'usage counters')).id, { fix: true }), fixed: true }));
  app.get('/v1/reconcile', {
    schema: { tags: ['claims'], operationId: 'listDrift', description: 'The counters that differ from the live claims in every root you operate (superusers: every root). Writes nothing.', summary: 'Counters that differ from the live claims, in every root you operate (superusers: every root)', response: { 200: DriftOfRoots, ...ERROR_RESPONSES } },
  }, async (request) => ({ data: await reconcileAllRoots(deps, actorOf(request), { fix: false }), fixed: false }));
  app.post('/v1/reconcile', {
    schema: { tags: ['claims'], operationId: 'reconcileRoots', description: 'Sets every differing counter right in every root you operate (superusers: every root), and lists what it fixed.', summary: 'Set every differing counter right, in every root you operate (superusers: every root)', response: { 200: DriftOfRoots, ...ERROR_RESPONSES } },
  }, async (request) => ({ data: await reconcileAllRoots(deps, actorOf(request), { fix: true }), fixed: true }));
};
