import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { CreateFeatureBody, CreateMeterBody, Feature, Meter, presentFeature, presentMeter } from './catalog.schemas.js';
import { createFeature, createMeter, listCatalog } from './catalog.service.js';

export const catalogRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['catalog'];
  app.post('/v1/pools/:id/meters', {
    schema: { tags, summary: 'Add a meter to a root\'s catalog', params: IdParams, body: CreateMeterBody, response: { 201: Meter, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentMeter(await createMeter(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/meters', {
    schema: { tags, summary: 'Meters of the pool\'s root catalog', params: IdParams, response: { 200: z.object({ data: z.array(Meter) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listCatalog(deps, actorOf(request), request.params.id)).meters.map(presentMeter) }));

  app.post('/v1/pools/:id/features', {
    schema: { tags, summary: 'Add a feature to a root\'s catalog', params: IdParams, body: CreateFeatureBody, response: { 201: Feature, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentFeature(await createFeature(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/features', {
    schema: { tags, summary: 'Features of the pool\'s root catalog', params: IdParams, response: { 200: z.object({ data: z.array(Feature) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listCatalog(deps, actorOf(request), request.params.id)).features.map(presentFeature) }));
};
