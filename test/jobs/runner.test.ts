/**
 * The job runner on the database: claims with SKIP LOCKED, leases that run out when a worker
 * dies, retries with backoff, dead jobs visible and retried through the API, schedules that
 * enqueue each occurrence once however many processes tick, figures on /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { buildApp } from '../../src/app.js';
import { rowsOf } from '../../src/db/client.js';
import { claimJobs, completeJob, enqueueJobs, findJob } from '../../src/modules/jobs/jobs.repo.js';
import { JobRunner } from '../../src/modules/jobs/jobs.runner.js';
import { backends, call, createTestApp, ok, vendor, type TestApp } from '../helpers.js';

const SECOND = 1000;

for (const backend of backends()) {
  describe(`job runner (${backend})`, () => {
    let t: TestApp;

    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    const enqueue = (kind: string, payload: Record<string, unknown> = {}, extra: { maxAttempts?: number; dedupeKey?: string } = {}) =>
      t.deps.db.transaction((tx) => enqueueJobs(tx, [{ kind, payload, ...extra }], t.clock.now()));

    test('a job runs once; its dedupe key keeps a second one out while the first exists', async () => {
      const ran: unknown[] = [];
      const runner = new JobRunner(t.deps).register('echo', async ({ payload }) => {
        ran.push(payload.n);
      });
      const [first] = await enqueue('echo', { n: 1 }, { dedupeKey: 'echo:1' });
      assert.ok(first);
      assert.deepEqual(await enqueue('echo', { n: 2 }, { dedupeKey: 'echo:1' }), [], 'same key: skipped');
      assert.equal(await runner.drain(), 1);
      assert.deepEqual(ran, [1]);
      const job = await findJob(t.deps.db, first.id);
      assert.equal(job?.status, 'done');
      assert.equal(job?.attempts, 1);
      assert.equal(job?.lockedBy, runner.workerId, 'who ran it stays on the row');
      assert.equal(await runner.drain(), 0, 'nothing runs twice');
    });

    test('a failing job is retried with growing, jittered delays, and runs when its time comes', async () => {
      let calls = 0;
      const runner = new JobRunner(t.deps).register(
        'flaky',
        async () => {
          calls++;
          if (calls < 3) throw new Error(`boom ${calls}`);
        },
        { backoff: { baseMs: 10 * SECOND, maxMs: 60 * SECOND } },
      );
      const [job] = await enqueue('flaky');
      await runner.drain();
      let row = (await findJob(t.deps.db, job!.id))!;
      assert.equal(row.status, 'queued');
      assert.equal(row.lastError, 'boom 1');
      const wait1 = row.runAt.getTime() - t.clock.now().getTime();
      assert.ok(wait1 >= 5 * SECOND && wait1 <= 10 * SECOND, `first retry in ${wait1} ms`);
      assert.equal(await runner.drain(), 0, 'not due before its time');
      t.clock.advance(wait1);
      await runner.drain();
      row = (await findJob(t.deps.db, job!.id))!;
      const wait2 = row.runAt.getTime() - t.clock.now().getTime();
      assert.ok(wait2 >= 10 * SECOND && wait2 <= 20 * SECOND, `second retry in ${wait2} ms`);
      t.clock.advance(wait2);
      await runner.drain();
      row = (await findJob(t.deps.db, job!.id))!;
      assert.equal(row.status, 'done');
      assert.equal(row.attempts, 3);
      assert.equal(calls, 3);
    });

    test('after its last attempt a job is dead: listed for superusers, hidden from others, retried on request', async () => {
      let dead: string | null = null;
      let fail = true;
      const runner = new JobRunner(t.deps).register(
        'doomed',
        async () => {
          if (fail) throw new Error('always');
        },
        {
          backoff: { baseMs: SECOND, maxMs: SECOND },
          onDead: async (_tx, job) => {
            dead = job.id;
          },
        },
      );
      const [job] = await enqueue('doomed', {}, { maxAttempts: 3 });
      for (let i = 0; i < 3; i++) {
        await runner.drain();
        t.clock.advance(2 * SECOND);
      }
      const row = (await findJob(t.deps.db, job!.id))!;
      assert.equal(row.status, 'dead');
      assert.equal(row.attempts, 3);
      assert.equal(dead, job!.id, 'onDead ran');

      const listed = await ok(t.app, 'GET', '/v1/jobs?status=dead&kind=doomed', { token: t.superuser });
      assert.deepEqual(listed.data.map((j: any) => [j.id, j.status, j.lastError]), [[job!.id, 'dead', 'always']]);
      const tree = await vendor(t, { name: 'Jobs vendor' });
      assert.deepEqual((await ok(t.app, 'GET', '/v1/jobs?status=dead', { token: tree.operator.token })).data, [], 'jobs belong to the deployment');
      assert.equal((await call(t.app, 'POST', `/v1/jobs/${job!.id}/retry`, { token: tree.operator.token })).status, 404);

      const retried = await ok(t.app, 'POST', `/v1/jobs/${job!.id}/retry`, { token: t.superuser });
      assert.deepEqual([retried.status, retried.attempts], ['queued', 0]);
      assert.equal((await call(t.app, 'POST', `/v1/jobs/${job!.id}/retry`, { token: t.superuser })).body.code, 'INVALID_TRANSITION', 'only a dead job');
      fail = false;
      await runner.drain();
      assert.equal((await findJob(t.deps.db, job!.id))!.status, 'done');
    });

    test("a worker that dies holding a job: the job is taken up again once its lease runs out, and the dead worker's late finish is ignored", async () => {
      const [job] = await enqueue('crashy', { n: 7 });
      // Worker "ghost" claims it and then never finishes (its process died).
      const [claimed] = await claimJobs(t.deps.db, 'crashy', 10, 'ghost', t.clock.now(), 60 * SECOND);
      assert.equal(claimed?.id, job!.id);
      const ran: string[] = [];
      const runner = new JobRunner(t.deps, { leaseMs: 60 * SECOND }).register('crashy', async (ctx) => {
        ran.push(`${ctx.job.id}#${ctx.attempt}`);
      });
      assert.equal(await runner.drain(), 0, 'still leased: nobody else takes it');
      t.clock.advance(61 * SECOND);
      assert.equal(await runner.drain(), 1);
      assert.deepEqual(ran, [`${job!.id}#2`], 'the lost attempt counts');
      const row = (await findJob(t.deps.db, job!.id))!;
      assert.equal(row.status, 'done');
      assert.equal(row.lockedBy, runner.workerId);
      assert.equal(await completeJob(t.deps.db, claimed!, 'ghost', t.clock.now()), false, 'the ghost cannot complete it now');
      assert.equal((await findJob(t.deps.db, job!.id))!.lockedBy, runner.workerId);
    });

    test('two runners on one database share a backlog: every job runs exactly once', async () => {
      const seen = new Map<number, number>();
      const handler = async ({ payload }: { payload: Record<string, unknown> }) => {
        const n = Number(payload.n);
        seen.set(n, (seen.get(n) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 1));
      };
      const a = new JobRunner(t.deps, { concurrency: 4 }).register('share', handler);
      const b = new JobRunner(t.deps, { concurrency: 4 }).register('share', handler);
      await t.deps.db.transaction((tx) => enqueueJobs(tx, Array.from({ length: 300 }, (_, n) => ({ kind: 'share', payload: { n } })), t.clock.now()));
      const [ranA, ranB] = await Promise.all([a.drain(), b.drain()]);
      assert.equal(ranA + ranB, 300);
      assert.equal(seen.size, 300);
      assert.ok([...seen.values()].every((c) => c === 1), 'no job ran twice');
      const [left] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM jobs WHERE kind = 'share' AND status <> 'done'`);
      assert.equal(left!.n, 0);
    });

    test('a schedule enqueues each occurrence once, however many runners tick', async () => {
      let runs = 0;
      const make = () => new JobRunner(t.deps).register('tick', async () => void runs++).schedule('every-minute', { kind: 'tick', everySeconds: 60 });
      const runners = [make(), make(), make()];
      for (let minute = 0; minute < 4; minute++) {
        for (const r of runners) await r.drain();
        t.clock.advance(60 * SECOND);
      }
      assert.equal(runs, 4, 'one run per minute, not one per runner');
      const [row] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM jobs WHERE kind = 'tick'`);
      assert.equal(row!.n, 4);
    });

    test('the figures are on /metrics: processed and failed by kind, what waits in the database, how late', async () => {
      const runner = new JobRunner(t.deps).register('measured', async ({ payload }) => {
        if (payload.fail) throw new Error('no');
      });
      await enqueue('measured');
      await enqueue('measured', { fail: true });
      await runner.drain();
      await enqueue('measured', {}, {});
      t.clock.advance(5 * SECOND);
      const app = await buildApp({ deps: t.deps, metrics: [runner.registry] });
      try {
        const res = await app.inject({ method: 'GET', url: '/metrics' });
        assert.equal(res.statusCode, 200);
        const text = res.body;
        assert.match(text, /licensepool_jobs_processed_total\{kind="measured"\} 1/);
        assert.match(text, /licensepool_jobs_failed_total\{kind="measured"\} 1/);
        assert.match(text, /licensepool_jobs\{kind="measured",status="queued"\} 2/);
        assert.match(text, /licensepool_jobs_lag_seconds\{kind="measured"\} 5/);
        assert.match(text, /licensepool_http_request_duration_seconds/, 'the HTTP figures are still there');
      } finally {
        await app.close();
      }
    });

    test('start and stop: a started runner picks up work by itself and stops with grace', async () => {
      const done: number[] = [];
      const runner = new JobRunner(t.deps, { pollMs: 10 }).register('live', async ({ payload }) => {
        await new Promise((r) => setTimeout(r, 20));
        done.push(Number(payload.n));
      });
      await runner.start();
      await enqueue('live', { n: 1 });
      await enqueue('live', { n: 2 });
      for (let i = 0; i < 200 && done.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      await runner.stop();
      assert.deepEqual(done.sort(), [1, 2]);
      await enqueue('live', { n: 3 });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(done.sort(), [1, 2], 'a stopped runner claims nothing');
    });
  });
}
