/**
 * `licensepool members import FILE --pool ID [--atomic]` as a person runs it: the real command
 * in a child process, against a server whose database (embedded, or a scratch PostgreSQL
 * database) the test prepares through the API first and reads back afterwards.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../../src/db/client.js';
import { backends, childPool, ok, person, vendor } from '../helpers.js';
import { cliServer, licensepool, type CliServer } from './run.js';

for (const backend of backends()) {
  describe(`licensepool members import (${backend})`, () => {
    let server: CliServer;
    let env: Record<string, string>;
    let db: Db;
    let work: string;
    let pool: string;
    let operatorId: string;

    const membersOf = async (poolId: string) => Number((await rowsOf<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM members WHERE pool_id = ${poolId}`))[0]!.n);

    before(async () => {
      server = await cliServer(backend);
      const { t } = server;
      db = t.deps.db;
      work = await mkdtemp(join(tmpdir(), 'lp-cli-files-'));
      const v = await vendor(t, { name: 'Door Systems' });
      pool = await childPool(t, v.operator.token, v.root, { name: 'Block 7' });
      env = server.as(v.operator.token);
      operatorId = v.operator.id;
      await person(t, 'ada@block7.test');
      await t.deps.db.execute(sql`
        INSERT INTO accounts (id, email, name, password_hash)
        SELECT 'acc_cli' || lpad(i::text, 5, '0'), 'resident' || i || '@block7.test', 'Resident ' || i, 'not-a-hash'
        FROM generate_series(1, 700) AS i`);
      const stolen = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-STOLEN', type: 'WiDI' } });
      await ok(t.app, 'POST', `/v1/devices/${stolen.id}/report`, { token: v.operator.token, body: { status: 'stolen' } });
    });
    after(async () => {
      await server.close();
      await rm(work, { recursive: true, force: true });
    });

    test('imports a 1,200-row file: each failed row by line on stdout, a summary, exit 1', async () => {
      const lines = ['email,serial,type', 'ada@block7.test,,'];
      for (let i = 1; i <= 700; i++) lines.push(`resident${i}@block7.test,,`);
      for (let i = 1; i <= 493; i++) lines.push(`,SN-${String(i).padStart(4, '0')},WiDI`);
      lines.splice(100, 0, 'ghost@block7.test,,'); // line 101
      lines.splice(500, 0, ',SN-STOLEN,WiDI'); // line 501
      lines.splice(900, 0, 'resident5@block7.test,,'); // line 901: a duplicate of line 7
      lines.splice(1000, 0, 'not-an-email,,'); // line 1001
      const file = join(work, 'residents.csv');
      await writeFile(file, `${lines.join('\n')}\n`);

      const run = await licensepool(['members', 'import', file, '--pool', pool], env);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(
        run.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' ')),
        ['line 101 ACCOUNT_NOT_FOUND', 'line 501 DEVICE_BLOCKED', 'line 901 DUPLICATE_ROW', 'line 1001 VALIDATION_FAILED', '1194 imported, 4 failed, of 1198 rows'],
      );
      assert.match(run.stdout, /line 101\tACCOUNT_NOT_FOUND\tno account has the e-mail ghost@block7\.test/);
      assert.match(run.stdout, /line 901\tDUPLICATE_ROW\tline 7 names the same person/);
      assert.equal(run.stderr, '');
      assert.equal(await membersOf(pool), 1194);
      const [events] = await rowsOf<{ n: number; actors: string[] }>(
        db,
        sql`SELECT count(*)::int AS n, array_agg(DISTINCT actor_id) AS actors FROM audit_events WHERE pool_id = ${pool} AND action = 'member.added'`,
      );
      assert.deepEqual([events!.n, events!.actors], [1194, [operatorId]], 'the operator whose token the command used');
    });

    test('--atomic: one bad row and nothing is written; a clean file goes in whole, read from standard input', async () => {
      const file = join(work, 'atomic.csv');
      await writeFile(file, 'serial,type\nSN-A1,WiDI\nSN-STOLEN,WiDI\nSN-A2,WiDI\n');
      const refused = await licensepool(['members', 'import', file, '--pool', pool, '--atomic'], env);
      assert.equal(refused.code, 1);
      assert.deepEqual(refused.stdout.trim().split('\n'), ['line 3\tDEVICE_BLOCKED\tthe device SN-STOLEN is reported stolen', '0 imported, 1 failed: nothing was imported (--atomic)']);
      assert.equal(await membersOf(pool), 1194);
      assert.deepEqual(await rowsOf(db, sql`SELECT serial FROM devices WHERE serial IN ('SN-A1', 'SN-A2')`), [], 'no device registered either');

      const accepted = await licensepool(['members', 'import', '-', '--pool', pool, '--atomic'], env, 'serial,type\nSN-A1,WiDI\nSN-A2,WiDI\n');
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.equal(accepted.stdout, '2 imported, 0 failed, of 2 rows\n');
      assert.equal(await membersOf(pool), 1196);
    });

    test('mistakes in the command: usage (exit 2), an unknown pool, a missing file, a file without a header (exit 1)', async () => {
      const usage = await licensepool(['members', 'import', join(work, 'residents.csv')], env);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /required option '--pool <id>' not specified/);
      assert.match(usage.stderr, /Usage: licensepool members import \[options\] <file>/, 'the usage of the command');

      const unknown = await licensepool(['members', 'import', join(work, 'residents.csv'), '--pool', 'pool_01h455vb4pex5vsknk084sn02q'], env);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr, 'NOT_FOUND: pool not found\n');

      const missing = await licensepool(['members', 'import', join(work, 'nothing-here.csv'), '--pool', pool], env);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /cannot read .*nothing-here\.csv/);

      const headless = await licensepool(['members', 'import', '-', '--pool', pool], env, 'ada@block7.test\n');
      assert.equal(headless.code, 1);
      assert.match(headless.stderr, /^VALIDATION_FAILED: body: the first line must be a header[^\n]*\n$/);
      assert.equal(await membersOf(pool), 1196);
    });
  });
}
