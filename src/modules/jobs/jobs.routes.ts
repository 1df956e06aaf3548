import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, PageQuery, Timestamp, toPage } from '../../http/schemas.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf } from '../../lib/ids.js';
import { iso } from '../../lib/time.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { findJob, findJobs, jobById, requeueJob, type JobRow } from './jobs.repo.js';
import { JOB_STATUSES } from '../../db/schema.js';

const JobsQuery = z
  .object({
    status: z.enum(JOB_STATUSES).optional().describe('`dead`: the jobs that gave up after their last attempt'),
    kind: z.string().min(1).max(64).optional().describe('e.g. `mail.send`, `notify`, `licenses.expire`'),
    ...PageQuery,
  })
  .strict();

const Job = z.object({
  id: z.string(),
  kind: z.string(),
  payload: z.record(z.string(), z.unknown()),
  status: z.enum(JOB_STATUSES),
  runAt: Timestamp.describe('Due from then (the next retry, for a failed attempt)'),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  lockedBy: z.string().nullable().describe('The worker running it'),
  lockedUntil: Timestamp.nullable().describe('Its lease: after this another worker takes it up'),
  lastError: z.string().nullable(),
  createdAt: Timestamp,
  finishedAt: Timestamp.nullable(),
}).meta({ id: 'Job' });

const presentJob = (j: JobRow): z.infer<typeof Job> => ({
  id: j.id,
  kind: j.kind,
  payload: j.payload,
  status: j.status,
  runAt: iso(j.runAt)!,
  attempts: j.attempts,
  maxAttempts: j.maxAttempts,
  lockedBy: j.lockedBy,
  lockedUntil: iso(j.lockedUntil),
  lastError: j.lastError,
  createdAt: iso(j.createdAt)!,
  finishedAt: iso(j.finishedAt),
});

/** Jobs belong to the deployment, not to a tree: superusers only; to anyone else there are none. */
async function retryJob(deps: Deps, actor: Actor, id: string): Promise<JobRow> {
  if (!actor.principal.superuser || !isIdOf('job', id)) throw notFound('job');
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const job = await findJob(tx, id);
    if (!job) throw notFound('job');
    const queued = await requeueJob(tx, jobById(id), now);
    if (!queued) throw new AppError('INVALID_TRANSITION', `the job is ${job.status}; only a dead one is retried`, { currentStatus: job.status });
    await insertAuditEvent(tx, actor, now, { action: 'job.retried', entityType: 'job', entityId: id, before: { status: 'dead', lastError: job.lastError }, after: { status: 'queued' } });
    return queued;
  });
}

export const jobRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['jobs'];
  app.get('/v1/jobs', {
    schema: { tags, operationId: 'listJobs', description: 'Background jobs, filtered by status (`?status=dead` lists the dead letters); superusers see them, anyone else an empty list.', summary: 'Background jobs (superusers; an empty list for anyone else): `?status=dead` lists the dead letters', querystring: JobsQuery, response: { 200: Page(Job), ...ERROR_RESPONSES } },
  }, async (request) => {
    const actor = actorOf(request);
    const q = request.query;
    const rows = actor.principal.superuser ? await findJobs(deps.db, { status: q.status, kind: q.kind, after: q.cursor, limit: q.limit + 1 }) : [];
    return toPage(rows, q.limit, presentJob);
  });

  app.post('/v1/jobs/:id/retry', {
    schema: { tags, operationId: 'retryJob', description: 'Queues a dead job again, due now, with a fresh set of attempts (superusers).', summary: 'Queue a dead job again, due now, with a fresh set of attempts (superusers)', params: IdParams, response: { 200: Job, ...ERROR_RESPONSES } },
  }, async (request) => presentJob(await retryJob(deps, actorOf(request), request.params.id)));
};
