/**
 * Recurring maintenance on the job runner: each runs once per period across all processes (the
 * schedule row decides who), where a setInterval in every process ran it once per process.
 * The claim sweep (every second: leases running out, queue holds lapsing) stays on its
 * interval in src/main.ts: it is replica-safe already, its latency matters, and a job per
 * second would only add writes.
 */
import { deleteExpiredIdempotencyKeys } from '../../http/idempotency.js';
import type { Deps } from '../../lib/context.js';
import { expireLicenses } from '../licenses/licenses.service.js';
import { pruneJobs } from './jobs.repo.js';
import type { JobRunner } from './jobs.runner.js';

/** Finished jobs kept for reading: done ones a week, dead ones a month. */
export const JOB_RETENTION = { doneMs: 7 * 86_400_000, deadMs: 30 * 86_400_000 };
const PRUNE_BATCH = 10_000;

export function registerSweeps(runner: JobRunner, deps: Deps): void {
  runner
    // Licenses past their end: the transition written into their history (and mailed).
    .register('licenses.expire', async () => {
      await expireLicenses(deps);
    })
    .schedule('licenses.expire', { kind: 'licenses.expire', everySeconds: 60 })
    // Idempotency-Key answers older than a day.
    .register('idempotency.cleanup', async () => {
      await deleteExpiredIdempotencyKeys(deps);
    })
    .schedule('idempotency.cleanup', { kind: 'idempotency.cleanup', everySeconds: 300 })
    .register('jobs.prune', async (_ctx, db) => {
      // In batches, so one run never holds a long transaction; the next hour takes the rest.
      for (let i = 0; i < 10; i++) if ((await pruneJobs(db, deps.clock.now(), JOB_RETENTION, PRUNE_BATCH)) < PRUNE_BATCH) break;
    })
    .schedule('jobs.prune', { kind: 'jobs.prune', everySeconds: 3600 });
}
