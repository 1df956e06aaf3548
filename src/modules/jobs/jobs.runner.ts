/**
 * The background job runner (docs/notifications.md, "Background jobs"): jobs are rows in
 * `jobs`, claimed with FOR UPDATE SKIP LOCKED under a lease, so any number of processes on one
 * database share the work, no job is run by two workers at once, and a job whose worker died is
 * taken up again when its lease runs out. Failures retry with exponential backoff and jitter;
 * after `maxAttempts` a job is `dead` (listed by `GET /v1/jobs?status=dead`). Recurring work is
 * a row in `job_schedules` that exactly one process moves on per occurrence.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Executor } from '../../db/client.js';
import { backoffDelay, type Backoff } from '../../domain/backoff.js';
import type { Deps } from '../../lib/context.js';
import {
  advanceDueSchedules,
  claimJobs,
  completeJob,
  enqueueJobs,
  failJob,
  jobFigures,
  reclaimExpiredLeases,
  upsertSchedule,
  type JobRow,
} from './jobs.repo.js';

export interface JobContext {
  job: JobRow;
  payload: Record<string, unknown>;
  /** 1 on the first attempt. */
  attempt: number;
}

/**
 * Does the work of one job. Throwing fails the attempt (retried with backoff). A handler must be
 * safe to run again after a crash: a transactional one is (its writes and "done" commit
 * together); any other must make its effect idempotent (the mail sender checks the message's
 * status and keeps its Message-ID).
 */
export type JobHandler = (ctx: JobContext, db: Executor) => Promise<void>;

export interface HandlerOptions {
  /**
   * Run the handler inside one transaction that also marks the job done, so its database writes
   * happen exactly once even if a lease is lost midway. No network I/O in such a handler.
   */
  transactional?: boolean;
  /** Retry delays (default 10 s doubling up to 1 h, with jitter). */
  backoff?: Backoff;
  /** Jobs of this kind one process runs at once (default: the runner's concurrency). */
  concurrency?: number;
  /** When a job of this kind goes `dead`, in the transaction that records it. */
  onDead?: (tx: Executor, job: JobRow) => Promise<void>;
}

export interface RunnerOptions {
  /** Jobs one process runs at once, all kinds together (default 8). */
  concurrency?: number;
  /** How often an idle runner looks for due jobs, expired leases and schedules (default 1000 ms). */
  pollMs?: number;
  /** How long a claimed job is this worker's before another may take it up (default 5 min). */
  leaseMs?: number;
  /** Names this worker in `locked_by` (default host/pid/random). */
  workerId?: string;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 10_000, maxMs: 3_600_000 };

interface Registered {
  handler: JobHandler;
  options: HandlerOptions;
}

/** Thrown inside a transactional handler's transaction when the job stopped being ours: rolls it back. */
class LeaseLost extends Error {}

export class JobRunner {
  readonly workerId: string;
  /** Prometheus figures of the runner; served on /metrics (buildApp's `metrics`). */
  readonly registry = new Registry();
  readonly #deps: Deps;
  readonly #concurrency: number;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #handlers = new Map<string, Registered>();
  readonly #schedules = new Map<string, { kind: string; everySeconds: number; payload: Record<string, unknown> }>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #runningByKind = new Map<string, number>();
  /** Kinds whose last claim came back short: not asked again until the next poll. */
  readonly #exhausted = new Set<string>();
  #lastMaintenance = -Infinity;
  #loop: Promise<void> | null = null;
  #stopping = false;
  #wake: (() => void) | null = null;
  /** A job ended since the loop last looked: a slot is free. */
  #nudged = false;
  #schedulesWritten = false;
  readonly #processed: Counter<'kind'>;
  readonly #failed: Counter<'kind'>;
  readonly #dead: Counter<'kind'>;
  readonly #duration: Histogram<'kind'>;

  constructor(deps: Deps, options: RunnerOptions = {}) {
    this.#deps = deps;
    this.#concurrency = options.concurrency ?? 8;
    this.#pollMs = options.pollMs ?? 1000;
    this.#leaseMs = options.leaseMs ?? 300_000;
    this.workerId = options.workerId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
    const registers = [this.registry];
    this.#processed = new Counter({ name: 'licensepool_jobs_processed_total', help: 'Jobs this process completed, by kind', labelNames: ['kind'], registers });
    this.#failed = new Counter({ name: 'licensepool_jobs_failed_total', help: 'Failed job attempts in this process, by kind (each is retried or ends dead)', labelNames: ['kind'], registers });
    this.#dead = new Counter({ name: 'licensepool_jobs_dead_total', help: 'Jobs that ended dead in this process after their last attempt, by kind', labelNames: ['kind'], registers });
    this.#duration = new Histogram({
      name: 'licensepool_job_duration_seconds',
      help: 'Time a job attempt took, by kind',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
    const figures = () => jobFigures(this.#deps.db, this.#deps.clock.now()).catch(() => []);
    new Gauge({
      name: 'licensepool_jobs',
      help: 'Jobs in the database (every process), by kind and status: queued, running, dead',
      labelNames: ['kind', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const f of await figures()) this.set({ kind: f.kind, status: f.status }, Number(f.jobs));
      },
    });
    new Gauge({
      name: 'licensepool_jobs_lag_seconds',
      help: 'How long the most overdue queued job of each kind has waited past its run time',
      labelNames: ['kind'],
      registers,
      async collect() {
        this.reset();
        for (const f of await figures()) if (f.status === 'queued') this.set({ kind: f.kind }, Number(f.lagSeconds));
      },
    });
  }

  /** Runs jobs of `kind` in this process. Register before `start()`. */
  register(kind: string, handler: JobHandler, options: HandlerOptions = {}): this {
    this.#handlers.set(kind, { handler, options });
    return this;
  }

  /** Enqueues a job of `kind` every `everySeconds` (one per occurrence across all processes). */
  schedule(name: string, s: { kind: string; everySeconds: number; payload?: Record<string, unknown> }): this {
    this.#schedules.set(name, { kind: s.kind, everySeconds: s.everySeconds, payload: s.payload ?? {} });
    this.#schedulesWritten = false;
    return this;
  }

  get kinds(): string[] {
    return [...this.#handlers.keys()];
  }

  /** Starts polling; resolves once the schedules are written. */
  async start(): Promise<void> {
    if (this.#loop) return;
    this.#stopping = false;
    await this.#writeSchedules();
    this.#loop = this.#run();
  }

  /**
   * Stops claiming and waits up to `graceMs` for the jobs in hand. A job still running after that
   * keeps its lease until it runs out, and another process takes it up then.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    this.#loop = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inflight]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Runs due jobs until none is left (tests, the CLI): each round claims what is due and waits
   * for it, so jobs enqueued by jobs run too. Answers how many ran.
   */
  async drain(maxRounds = 10_000): Promise<number> {
    await this.#writeSchedules();
    let ran = 0;
    for (let round = 0; round < maxRounds; round++) {
      const claimed = await this.tick(true);
      ran += claimed;
      await Promise.allSettled([...this.#inflight]);
      if (claimed === 0) return ran;
    }
    throw new Error(`jobs still due after ${maxRounds} rounds`);
  }

  /**
   * One round: (every poll interval, or when `maintenance`) expired leases back to the queue and
   * due schedules enqueued; then claims due jobs into the free slots and starts them. Answers how
   * many were claimed.
   */
  async tick(maintenance = false): Promise<number> {
    const db = this.#deps.db;
    const now = this.#deps.clock.now();
    const kinds = this.kinds;
    if (maintenance || performance.now() - this.#lastMaintenance >= this.#pollMs) {
      this.#lastMaintenance = performance.now();
      this.#exhausted.clear();
      // A job that ends dead here gets its onDead in the same transaction, as below.
      const reclaimed = await db.transaction(async (tx) => {
        const rows = await reclaimExpiredLeases(tx, kinds, now);
        for (const job of rows.filter((j) => j.status === 'dead')) await this.#onDead(tx, job);
        return rows;
      });
      for (const job of reclaimed.filter((j) => j.status === 'dead')) this.#countDead(job);
      if (reclaimed.length > 0) this.#deps.log.warn({ jobs: reclaimed.map((j) => j.id) }, 'jobs whose lease ran out are queued again');
      const names = [...this.#schedules.keys()];
      if (names.length > 0) {
        await db.transaction(async (tx) => {
          const due = await advanceDueSchedules(tx, names, now);
          await enqueueJobs(
            tx,
            due.map((s) => ({ kind: s.kind, payload: s.payload, dedupeKey: `schedule:${s.name}:${now.toISOString()}`, maxAttempts: 3 })),
            now,
          );
        });
      }
    }
    let claimed = 0;
    // Every kind gets its turn, starting from a different one each round.
    const start = Math.floor(Math.random() * Math.max(kinds.length, 1));
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(start + i) % kinds.length]!;
      if (this.#exhausted.has(kind)) continue;
      const { options } = this.#handlers.get(kind)!;
      const free = Math.min(this.#concurrency - this.#inflight.size, (options.concurrency ?? this.#concurrency) - (this.#runningByKind.get(kind) ?? 0));
      if (free <= 0) continue;
      const jobs = await claimJobs(db, kind, free, this.workerId, now, this.#leaseMs);
      if (jobs.length < free) this.#exhausted.add(kind);
      claimed += jobs.length;
      for (const job of jobs) this.#launch(job);
    }
    return claimed;
  }

  #launch(job: JobRow): void {
    this.#runningByKind.set(job.kind, (this.#runningByKind.get(job.kind) ?? 0) + 1);
    const done = this.#execute(job).finally(() => {
      this.#inflight.delete(done);
      this.#runningByKind.set(job.kind, this.#runningByKind.get(job.kind)! - 1);
      this.#nudged = true;
      this.#wake?.();
    });
    this.#inflight.add(done);
  }

  async #execute(job: JobRow): Promise<void> {
    const { handler, options } = this.#handlers.get(job.kind)!;
    const db = this.#deps.db;
    const ctx: JobContext = { job, payload: job.payload, attempt: job.attempts };
    const stopTimer = this.#duration.startTimer({ kind: job.kind });
    try {
      if (options.transactional) {
        await db.transaction(async (tx) => {
          await handler(ctx, tx);
          if (!(await completeJob(tx, job, this.workerId, this.#deps.clock.now()))) throw new LeaseLost();
        });
      } else {
        await handler(ctx, db);
        if (!(await completeJob(db, job, this.workerId, this.#deps.clock.now()))) this.#deps.log.warn({ job: job.id, kind: job.kind }, 'a job finished after its lease ran out; another worker runs it again');
      }
      this.#processed.inc({ kind: job.kind });
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.#deps.log.warn({ job: job.id, kind: job.kind }, 'a job lost its lease; its work was rolled back');
        return;
      }
      this.#failed.inc({ kind: job.kind });
      // PostgreSQL text holds no NUL, and an error may quote what a remote server sent.
      const message = (err instanceof Error ? err.message : String(err)).replaceAll('\u0000', '').slice(0, 2000) || 'failed';
      const now = this.#deps.clock.now();
      const retryAt = new Date(now.getTime() + backoffDelay(options.backoff ?? DEFAULT_BACKOFF, job.attempts));
      try {
        // The job ends dead and its onDead (a delivery marked failed) commit together, so
        // neither happens without the other.
        const row = await db.transaction(async (tx) => {
          const failed = await failJob(tx, job, this.workerId, now, message, retryAt);
          if (failed?.status === 'dead') await this.#onDead(tx, failed);
          return failed;
        });
        if (row?.status === 'dead') this.#countDead(row);
        this.#deps.log.warn({ job: job.id, kind: job.kind, attempt: job.attempts, err: message, status: row?.status }, 'job attempt failed');
      } catch (recordErr) {
        // The lease runs out and the job is retried: nothing is lost.
        this.#deps.log.error({ err: recordErr, job: job.id }, 'could not record a failed job attempt');
      }
    } finally {
      stopTimer();
    }
  }

  async #onDead(tx: Executor, job: JobRow): Promise<void> {
    await this.#handlers.get(job.kind)?.options.onDead?.(tx, job);
  }

  #countDead(job: JobRow): void {
    this.#dead.inc({ kind: job.kind });
    this.#deps.log.error({ job: job.id, kind: job.kind, attempts: job.attempts, err: job.lastError }, 'job is dead after its last attempt');
  }

  async #writeSchedules(): Promise<void> {
    if (this.#schedulesWritten) return;
    const now = this.#deps.clock.now();
    for (const [name, s] of this.#schedules) await upsertSchedule(this.#deps.db, { name, ...s }, now);
    this.#schedulesWritten = true;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#nudged = false;
      let claimed = 0;
      try {
        claimed = await this.tick();
      } catch (err) {
        this.#deps.log.error({ err }, 'job runner round failed');
      }
      if (this.#stopping) break;
      // More may be due while slots are free (some claimed, or a job ended during the round): go
      // on at once; otherwise wait for a slot or a poll.
      if ((claimed > 0 || this.#nudged) && this.#inflight.size < this.#concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#pollMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = null;
    }
  }
}
