import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Problem } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';

export const systemRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['system'];
  app.get('/healthz', {
    schema: { tags, summary: 'Liveness: the process answers', security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { tags, summary: 'Readiness: the database answers', security: [], response: { 200: z.object({ status: z.literal('ready') }), 503: Problem } },
  }, async () => {
    try {
      await deps.db.execute(sql`SELECT 1`);
    } catch {
      throw new AppError('NOT_READY', 'the database does not answer');
    }
    return { status: 'ready' as const };
  });
};
