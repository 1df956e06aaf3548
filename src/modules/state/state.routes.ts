import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Timestamp } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { iso } from '../../lib/time.js';
import { License, presentLicense } from '../licenses/licenses.schemas.js';
import { getPoolState } from './state.service.js';

const Count = z.number().int().nullable();

export const PoolState = z.object({
  poolId: z.string(),
  at: Timestamp,
  serving: z.boolean().describe('The pool and every ancestor are active and inside their validUntil'),
  notServing: z.array(z.object({ code: z.string(), poolId: z.string(), status: z.string().optional(), validUntil: z.string().optional(), licenseId: z.string().optional() })),
  meters: z.array(
    z.object({
      key: z.string(),
      limit: Count.describe("The pool's own limit; null: none of its own"),
      effectiveLimit: Count.describe('After every ancestor and every meter drawn on; null: unlimited'),
      used: z.number().int().describe("Units in use in the pool's subtree"),
      available: Count.describe('Units that can still be taken here, after ancestors\' use; null: unlimited'),
      enabled: z.boolean(),
      until: Timestamp.nullable().describe('When the grant ends; null: no end'),
      overLimit: z.boolean(),
    }),
  ),
  features: z.array(z.object({ key: z.string(), enabled: z.boolean(), until: Timestamp.nullable() })),
  licenses: z.array(License).describe("The pool's own licenses in effect"),
}).meta({ id: 'PoolState' });

export const stateRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  app.get('/v1/pools/:id/state', {
    schema: { tags: ['pools'], operationId: 'getPoolState', description: 'The License state panel: per meter its status, end, maximum, used and available, and per feature whether it is enabled and until when, after the limits of the whole ancestor chain.', summary: 'License state: limits, use and features after the whole ancestor chain', params: IdParams, response: { 200: PoolState, ...ERROR_RESPONSES } },
  }, async (request) => {
    const { pool, at, state, licensesInEffect } = await getPoolState(deps, actorOf(request), request.params.id);
    return {
      poolId: pool.id,
      at: at.toISOString(),
      serving: state.serving,
      notServing: state.notServing,
      meters: state.meters.map((m) => ({ ...m, until: iso(m.until) })),
      features: state.features.map((f) => ({ ...f, until: iso(f.until) })),
      licenses: licensesInEffect.map((l) => presentLicense(l, at)),
    };
  });
};
