import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Problem } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';

export const systemRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['system'];
  app.get('/healthz', {
    schema: { tags, operationId: 'getHealth', description: 'Answers 200 while the process runs; it does not ask the database. For a load balancer\'s liveness probe.', summary: 'Liveness: the process answers', security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { tags, operationId: 'getReadiness', description: 'Answers 200 when the database answers a query, 503 NOT_READY otherwise. For a load balancer\'s readiness probe.', summary: 'Readiness: the database answers', security: [], response: { 200: z.object({ status: z.literal('ready') }), 503: Problem } },
  }, async () => {
    try {
      await deps.db.execute(sql`SELECT 1`);
    } catch {
      throw new AppError('NOT_READY', 'the database does not answer');
    }
    return { status: 'ready' as const };
  });
};
