import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParam, Page, PageQuery, Timestamp, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { iso } from '../../lib/time.js';
import { poolFor, reachOf } from '../pools/pool-access.js';
import { findAuditEvents } from './audit.repo.js';

const AuditQuery = z
  .object({
    poolId: IdParam.optional().describe('Events on this pool and its subtree'),
    licenseId: IdParam.optional(),
    memberId: IdParam.optional(),
    actorId: IdParam.optional(),
    ...PageQuery,
  })
  .strict();

const AuditEvent = z.object({
  id: z.string(),
  at: Timestamp,
  actorId: z.string().nullable(),
  tokenId: z.string().nullable(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  rootId: z.string().nullable(),
  poolId: z.string().nullable(),
  licenseId: z.string().nullable(),
  memberId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  requestId: z.string().nullable(),
}).meta({ id: 'AuditEvent' });

export const auditRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  app.get('/v1/audit', {
    schema: { tags: ['audit'], operationId: 'listAuditEvents', description: 'The audit trail of changes, filtered by pool (and its subtree), license, member or actor; only events inside your reach; cursor pages.', summary: 'The audit trail, filtered; only events inside your reach', querystring: AuditQuery, response: { 200: Page(AuditEvent), ...ERROR_RESPONSES } },
  }, async (request) => {
    const actor = actorOf(request);
    const q = request.query;
    if (q.poolId) await poolFor(deps.db, actor, q.poolId, 'read');
    const within = reachOf(actor);
    const rows = within && within.length === 0
      ? []
      : await findAuditEvents(deps.db, { subtreeOf: q.poolId, licenseId: q.licenseId, memberId: q.memberId, actorId: q.actorId, within, after: q.cursor, limit: q.limit + 1 });
    return toPage(rows, q.limit, (e) => ({ ...e, at: iso(e.at)! }));
  });
};
