/**
 * Faults with real server processes: a process killed (SIGKILL) while it holds an
 * Idempotency-Key lets the key go at once (PostgreSQL, two processes; registered only with
 * TEST_DATABASE_URL), and SIGTERM on the embedded database under load answers every request
 * (PGlite, one process).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migratedPgliteDir, removePgliteDir } from '../helpers.js';
import { createScratchDatabase, HttpClient, startServer, type ScratchDatabase, type ServerProcess } from './fleet.js';

const ADMIN = { email: 'admin@faults.test', password: 'faults admin password' };
const base = process.env.TEST_DATABASE_URL;

if (base) {
  describe('a process killed while it holds an Idempotency-Key (2 processes, PostgreSQL)', () => {
    let scratch: ScratchDatabase;
    let servers: ServerProcess[] = [];
    before(async () => {
      scratch = await createScratchDatabase(base, 'lp_faults');
      const env = { DATABASE_URL: scratch.url, LICENSEPOOL_ADMIN_EMAIL: ADMIN.email, LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, LICENSEPOOL_WORKERS: 'false', LOG_LEVEL: 'warn' };
      // Migrations run under an advisory lock: the two may start together.
      servers = await Promise.all([startServer({ env, timeoutMs: 90_000 }), startServer({ env, timeoutMs: 90_000 })]);
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await scratch.drop();
    });

    test('a retry on the other process takes the key over within 2 s of the kill and runs the request', async (t) => {
      const [doomed, survivor] = servers as [ServerProcess, ServerProcess];
      const toDoomed = new HttpClient(doomed.url, 2);
      const toSurvivor = new HttpClient(survivor.url, 2);
      const blocker = new pg.Client({ connectionString: scratch.url });
      await blocker.connect();
      try {
        const token = (await toSurvivor.ok('POST', '/v1/auth/login', { body: ADMIN })).token as string;
        const root = await toSurvivor.ok('POST', '/v1/pools', { token, body: { name: 'Vendor', kind: 'vendor', restricted: false } });
        const suspend = (client: HttpClient) =>
          client.request('POST', `/v1/pools/${root.id}/suspend`, { token, headers: { 'idempotency-key': 'suspend-once' } });

        // The first request holds the key, then waits for the pool's row, which the test holds.
        await blocker.query('BEGIN');
        await blocker.query('SELECT id FROM pools WHERE id = $1 FOR UPDATE', [root.id]);
        const stuck = suspend(toDoomed).catch((err: NodeJS.ErrnoException) => ({ status: 0, body: err.code }));
        for (let i = 0; ; i++) {
          const { rows } = await blocker.query('SELECT status_code FROM idempotency_keys WHERE key = $1', ['suspend-once']);
          if (rows.length === 1) {
            assert.equal(rows[0].status_code, null, 'in progress');
            break;
          }
          assert.ok(i < 200, 'the first request never took the key');
          await sleep(25);
        }
        const busy = await suspend(toSurvivor);
        assert.equal(busy.status, 409, 'while its process lives, the key is in use');
        assert.equal(busy.body.code, 'IDEMPOTENCY_KEY_IN_USE');

        process.kill(doomed.pid, 'SIGKILL');
        const killedAt = performance.now();
        await blocker.query('ROLLBACK');
        assert.equal((await stuck).status, 0, 'the killed process never answered');
        let answer = await suspend(toSurvivor);
        while (answer.status === 409 && performance.now() - killedAt < 2_000) {
          await sleep(50);
          answer = await suspend(toSurvivor);
        }
        const took = performance.now() - killedAt;
        assert.equal(answer.status, 200, `answered ${answer.status} ${JSON.stringify(answer.body)} ${Math.round(took)} ms after the kill`);
        assert.equal(answer.body.status, 'suspended');
        assert.ok(took < 2_000, `took ${Math.round(took)} ms`);
        t.diagnostic(`answered by the other process ${Math.round(took)} ms after the kill`);
        const replay = await suspend(toSurvivor);
        assert.deepEqual([replay.status, replay.body.status], [200, 'suspended'], 'then the answer is kept for retries');
        const { rows: events } = await blocker.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'pool.suspend' AND entity_id = $1`, [root.id]);
        assert.equal(events[0].n, 1, 'suspended once');
      } finally {
        await blocker.end();
        toDoomed.close();
        toSurvivor.close();
      }
    });
  });
}

describe('SIGTERM on the embedded database under load (1 process, PGlite)', () => {
  const CLIENTS = 64;
  let dataDir: string;
  let server: ServerProcess;
  before(async () => {
    dataDir = await migratedPgliteDir();
    server = await startServer({
      timeoutMs: 90_000,
      env: { DATABASE_URL: undefined, LICENSEPOOL_DATA_DIR: dataDir, LICENSEPOOL_ADMIN_EMAIL: ADMIN.email, LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, LICENSEPOOL_WORKERS: 'false', LOG_LEVEL: 'warn' },
    });
  });
  after(async () => {
    await server.stop();
    await removePgliteDir(dataDir);
  });

  test(`${CLIENTS} keep-alive clients: every request gets an HTTP answer, none is reset`, async (t) => {
    const setup = new HttpClient(server.url, 1);
    const token = (await setup.ok('POST', '/v1/auth/login', { body: ADMIN })).token as string;
    setup.close();
    const http = new HttpClient(server.url, CLIENTS);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let terminating = false;
    let termAt = 0;
    let answeredAfterTerm = 0;
    // A well-behaved keep-alive client: it goes on until the server says it is closing (an answer
    // with `Connection: close`, or 503) or refuses the connection (it has stopped listening).
    const client = async (i: number) => {
      for (let n = 0; n < 10_000; n++) {
        try {
          const res = i % 2 === 0
            ? await http.request('GET', '/v1/pools?limit=20', { token })
            : await http.request('POST', '/v1/pools', { token, body: { name: `Vendor ${i}.${n}`, kind: 'vendor', restricted: false } });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (terminating) answeredAfterTerm++;
          if (res.status !== 200 && res.status !== 201 && res.status !== 503) failures.push(`${res.status} ${JSON.stringify(res.body)}`);
          if (res.status === 503 || res.headers.connection === 'close') return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // Refused: the listener is closed, and the request was never sent.
          if (terminating && code === 'ECONNREFUSED') return;
          failures.push(`${code ?? ''} ${(err as Error).message} (client ${i}, request ${n}, ${terminating ? `${Math.round(performance.now() - termAt)} ms after SIGTERM` : 'before SIGTERM'})`);
          return;
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    // Let the load run, then ask the server to stop in the middle of it.
    while ([...statuses.values()].reduce((a, b) => a + b, 0) < 2 * CLIENTS && failures.length === 0) await sleep(20);
    terminating = true;
    termAt = performance.now();
    const stopped = server.stop(15_000);
    await load;
    await stopped;
    http.close();
    assert.deepEqual(failures, [], `every request answered; statuses ${JSON.stringify(Object.fromEntries(statuses))}; server: ${server.errors.join("\n").slice(0, 2000)}`);
    t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${answeredAfterTerm} answered after SIGTERM`);
    assert.ok(answeredAfterTerm >= CLIENTS / 2, `requests in flight at SIGTERM answered: ${answeredAfterTerm}`);
  });
});
