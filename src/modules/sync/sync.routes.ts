import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { SyncBody, SyncResult } from './sync.schemas.js';
import { sync } from './sync.service.js';

export const syncRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  app.post('/v1/sync', {
    schema: {
      tags: ['sync'],
      operationId: 'syncLicenses',
      description: 'A verified member\'s app fetches its signed licenses: one for itself, one per verified device of its pool, and the packages it is entitled to. 409 SYNC_REFUSED with `reasons` when it may not.',
      summary: "A verified member's app fetches its signed licenses: one for itself, one per verified device of its pool, and the packages it is entitled to",
      body: SyncBody,
      response: { 200: SyncResult, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    try {
      const result = await sync(deps, actorOf(request), request.body);
      app.licensingMetrics.syncAnswered('ok');
      return result;
    } catch (err) {
      app.licensingMetrics.syncAnswered(err instanceof AppError && err.code === 'SYNC_REFUSED' ? 'refused' : 'error');
      throw err;
    }
  });
};
