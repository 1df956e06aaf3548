import { and, asc, count, eq, gt, inArray, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { newId } from '../../lib/ids.js';
import { jobSchedules, jobs, type JobStatus } from '../../db/schema.js';

export type JobRow = typeof jobs.$inferSelect;
export type ScheduleRow = typeof jobSchedules.$inferSelect;

/** What to run: `kind` names the handler, `payload` is its JSON input. */
export interface JobSpec {
  kind: string;
  payload?: Record<string, unknown>;
  /** Not before this instant (default: now). */
  runAt?: Date;
  /** Attempts before the job is `dead` (default 10). */
  maxAttempts?: number;
  /** At most one job with this key while its row exists (done jobs are kept 7 days, dead ones 30). */
  dedupeKey?: string;
}

export const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * Enqueues jobs; call it inside the transaction of the change that wants them, so they exist
 * exactly when the change does. A job whose dedupe key is taken is skipped. Returns the jobs
 * written.
 */
export async function enqueueJobs(tx: Executor, specs: readonly JobSpec[], now: Date): Promise<JobRow[]> {
  if (specs.length === 0) return [];
  return tx
    .insert(jobs)
    .values(
      specs.map((s) => ({
        id: newId('job'),
        kind: s.kind,
        payload: s.payload ?? {},
        status: 'queued' as const,
        runAt: s.runAt ?? now,
        attempts: 0,
        maxAttempts: s.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        dedupeKey: s.dedupeKey ?? null,
        createdAt: now,
        updatedAt: now,
      })),
    )
    .onConflictDoNothing()
    .returning();
}

/**
 * Takes up to `limit` due jobs of `kind` for `workerId` until `now + leaseMs`. SKIP LOCKED: two
 * workers claiming at once take different jobs, and neither waits for the other.
 */
export async function claimJobs(db: Executor, kind: string, limit: number, workerId: string, now: Date, leaseMs: number): Promise<JobRow[]> {
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, 'queued'), eq(jobs.kind, kind), lte(jobs.runAt, now)))
    .orderBy(asc(jobs.runAt), asc(jobs.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(jobs)
    .set({ status: 'running', attempts: sql`${jobs.attempts} + 1`, lockedBy: workerId, lockedUntil: new Date(now.getTime() + leaseMs), updatedAt: now })
    .where(inArray(jobs.id, due))
    .returning();
}

/** Still this worker's attempt: the lease was not lost to another worker meanwhile. */
const stillOurs = (job: JobRow, workerId: string) =>
  and(eq(jobs.id, job.id), eq(jobs.status, 'running'), eq(jobs.lockedBy, workerId), eq(jobs.attempts, job.attempts));

/** Marks the attempt done; false when the lease had been lost (another worker runs it again). */
export async function completeJob(db: Executor, job: JobRow, workerId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(jobs)
    // `locked_by` stays: who ran it.
    .set({ status: 'done', lockedUntil: null, lastError: null, finishedAt: now, updatedAt: now })
    .where(stillOurs(job, workerId))
    .returning({ id: jobs.id });
  return rows.length === 1;
}

/**
 * Records a failed attempt: queued again at `retryAt`, or `dead` when it was the last. Answers
 * the row as it now is, or undefined when the lease had been lost.
 */
export async function failJob(db: Executor, job: JobRow, workerId: string, now: Date, error: string, retryAt: Date): Promise<JobRow | undefined> {
  const last = sql`${jobs.attempts} >= ${jobs.maxAttempts}`;
  const [row] = await db
    .update(jobs)
    .set({
      status: sql`CASE WHEN ${last} THEN 'dead' ELSE 'queued' END`,
      runAt: sql`CASE WHEN ${last} THEN ${jobs.runAt} ELSE ${retryAt.toISOString()}::timestamptz END`,
      finishedAt: sql`CASE WHEN ${last} THEN ${now.toISOString()}::timestamptz ELSE NULL END`,
      lockedBy: null,
      lockedUntil: null,
      lastError: error,
      updatedAt: now,
    })
    .where(stillOurs(job, workerId))
    .returning();
  return row;
}

/**
 * Jobs of these kinds whose lease ran out (their worker died or hung) go back to the queue, due
 * now; the attempt counts, so a job that kills its worker every time ends `dead`. Answers the
 * rows changed.
 */
export async function reclaimExpiredLeases(db: Executor, kinds: readonly string[], now: Date): Promise<JobRow[]> {
  if (kinds.length === 0) return [];
  const last = sql`${jobs.attempts} >= ${jobs.maxAttempts}`;
  return db
    .update(jobs)
    .set({
      status: sql`CASE WHEN ${last} THEN 'dead' ELSE 'queued' END`,
      runAt: now,
      finishedAt: sql`CASE WHEN ${last} THEN ${now.toISOString()}::timestamptz ELSE NULL END`,
      lockedBy: null,
      lockedUntil: null,
      lastError: sql`'the lease of attempt ' || ${jobs.attempts} || ' ran out (worker ' || coalesce(${jobs.lockedBy}, '?') || ' stopped or took too long)'`,
      updatedAt: now,
    })
    .where(and(eq(jobs.status, 'running'), lte(jobs.lockedUntil, now), inArray(jobs.kind, [...kinds])))
    .returning();
}

/** Lengthens a running attempt's lease (long handlers); false when it is no longer ours. */
export async function extendLease(db: Executor, job: JobRow, workerId: string, until: Date): Promise<boolean> {
  const rows = await db.update(jobs).set({ lockedUntil: until }).where(stillOurs(job, workerId)).returning({ id: jobs.id });
  return rows.length === 1;
}

// ---------------------------------------------------------------------------------------------
// Schedules

export async function upsertSchedule(db: Executor, s: { name: string; kind: string; payload: Record<string, unknown>; everySeconds: number }, now: Date): Promise<void> {
  await db
    .insert(jobSchedules)
    .values({ ...s, nextRunAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: jobSchedules.name,
      // The next occurrence stays where it is; a shorter period brings it forward.
      set: {
        kind: s.kind,
        payload: s.payload,
        everySeconds: s.everySeconds,
        nextRunAt: sql`least(${jobSchedules.nextRunAt}, ${new Date(now.getTime() + s.everySeconds * 1000).toISOString()}::timestamptz)`,
        updatedAt: now,
      },
    });
}

/**
 * Moves each due schedule of `names` to its next occurrence and answers the ones moved. One
 * UPDATE: of processes doing this at once, each row is moved by exactly one (the others wait
 * for its lock, then find it no longer due), so each occurrence is enqueued once.
 */
export async function advanceDueSchedules(tx: Executor, names: readonly string[], now: Date): Promise<ScheduleRow[]> {
  if (names.length === 0) return [];
  return tx
    .update(jobSchedules)
    .set({ nextRunAt: sql`${now.toISOString()}::timestamptz + ${jobSchedules.everySeconds} * interval '1 second'`, lastRunAt: now, updatedAt: now })
    .where(and(inArray(jobSchedules.name, [...names]), lte(jobSchedules.nextRunAt, now)))
    .returning();
}

// ---------------------------------------------------------------------------------------------
// Reading, retrying, pruning

export async function findJob(db: Executor, id: string): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

export async function findJobs(db: Executor, f: { status?: JobStatus | undefined; kind?: string | undefined; after?: string | undefined; limit: number }) {
  const where: SQL[] = [];
  if (f.status) where.push(eq(jobs.status, f.status));
  if (f.kind) where.push(eq(jobs.kind, f.kind));
  if (f.after) where.push(gt(jobs.id, f.after));
  return db
    .select()
    .from(jobs)
    .where(and(...where))
    .orderBy(asc(jobs.id))
    .limit(f.limit);
}

/** A dead job queued again, due now, with a fresh set of attempts. */
export async function requeueJob(db: Executor, where: SQL, now: Date): Promise<JobRow | undefined> {
  const [row] = await db
    .update(jobs)
    .set({ status: 'queued', attempts: 0, runAt: now, lockedBy: null, lockedUntil: null, finishedAt: null, updatedAt: now })
    .where(and(where, eq(jobs.status, 'dead')))
    .returning();
  return row;
}

export const jobById = (id: string) => eq(jobs.id, id);
export const jobByDedupeKey = (key: string) => eq(jobs.dedupeKey, key);

/** Deletes finished jobs older than their retention, at most `limit` a call. */
export async function pruneJobs(db: Executor, now: Date, keep: { doneMs: number; deadMs: number }, limit: number): Promise<number> {
  const doneBefore = new Date(now.getTime() - keep.doneMs);
  const deadBefore = new Date(now.getTime() - keep.deadMs);
  const old = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(or(and(eq(jobs.status, 'done'), lte(jobs.finishedAt, doneBefore)), and(eq(jobs.status, 'dead'), lte(jobs.finishedAt, deadBefore))))
    .limit(limit);
  const rows = await db.delete(jobs).where(inArray(jobs.id, old)).returning({ id: jobs.id });
  return rows.length;
}

/**
 * Per kind and status: how many jobs, and for queued ones how late the most overdue is (seconds
 * past its `run_at`; 0 when none is due).
 */
export async function jobFigures(db: Executor, now: Date) {
  const at = sql`${now.toISOString()}::timestamptz`;
  return db
    .select({
      kind: jobs.kind,
      status: jobs.status,
      jobs: count(),
      lagSeconds: sql<number>`coalesce(extract(epoch FROM ${at} - min(${jobs.runAt}) FILTER (WHERE ${jobs.runAt} <= ${at})), 0)::float8`,
    })
    .from(jobs)
    .where(inArray(jobs.status, ['queued', 'running', 'dead']))
    .groupBy(jobs.kind, jobs.status);
}
