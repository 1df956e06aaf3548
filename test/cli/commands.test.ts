/**
 * Every `licensepool` command as a person meets it: `--help` prints and does nothing else,
 * `--version`, a mistake is one line on standard error and an exit code, an unknown id is the
 * API's 404; create-root, reconcile and login against a server. Real child processes; run side
 * by side, as each costs a second of start-up.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { backends, call, ok, PASSWORD, person, SUPERUSER, vendor } from '../helpers.js';
import { cliServer, licensepool, ROOT, type CliServer } from './run.js';

const UNKNOWN_POOL = 'pool_01h455vb4pex5vsknk084sn02q';
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

/** Every command and subcommand, as typed. */
const COMMANDS = [
  [],
  ['serve'],
  ['migrate'],
  ['login'],
  ['create-root'],
  ['reconcile'],
  ['members'],
  ['members', 'import'],
  ['licenses'],
  ['licenses', 'create'],
  ['licenses', 'list'],
  ['licenses', 'export'],
];

describe('licensepool --help and --version', () => {
  let server: CliServer;
  let work: string;
  before(async () => {
    server = await cliServer('pglite');
    work = await mkdtemp(join(tmpdir(), 'lp-cli-help-'));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  test('every command: --help prints its usage and exits 0, starting, migrating and writing nothing', async () => {
    const dataDir = join(work, 'data');
    const countRows = async () => (await rowsOf<{ n: number }>(server.t.deps.db, sql`SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM tokens) AS n`))[0]!.n;
    const before = await countRows();
    // A server or migration would open this directory (and create it); the HTTP commands would reach the test server.
    const env = { ...server.env, LICENSEPOOL_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
    const runs = await Promise.all(COMMANDS.map((c) => licensepool([...c, '--help'], env)));
    for (const [i, run] of runs.entries()) {
      const typed = ['licensepool', ...COMMANDS[i]!].join(' ');
      assert.equal(run.code, 0, `${typed} --help: ${run.stderr}`);
      assert.equal(run.stderr, '', typed);
      assert.match(run.stdout, new RegExp(`^Usage: ${typed} `), typed);
      assert.doesNotMatch(run.stdout, /listening|migrations applied/, typed);
    }
    assert.ok(!existsSync(dataDir), 'no database was opened');
    assert.equal(await countRows(), before, 'nothing was written through the API');
    // `help <command>` is the same.
    const help = await licensepool(['help', 'create-root'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: licensepool create-root \[options\]/);
    assert.match(help.stdout, /--operator-email <email>/);
  });

  test('--version prints the package version; no command, or an unknown one, or an unknown option, is a usage error (exit 2)', async () => {
    const [version, short, none, unknown, flag, noSub] = await Promise.all([
      licensepool(['--version'], {}),
      licensepool(['-V'], {}),
      licensepool([], {}),
      licensepool(['frobnicate'], {}),
      licensepool(['reconcile', '--frobnicate'], {}),
      licensepool(['licenses'], {}),
    ]);
    assert.deepEqual([version.code, version.stdout], [0, `${VERSION}\n`]);
    assert.deepEqual([short.code, short.stdout], [0, `${VERSION}\n`]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: licensepool /);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^error: unknown command 'frobnicate'/);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^error: unknown option '--frobnicate'/);
    assert.equal(noSub.code, 2);
    assert.match(noSub.stderr, /^Usage: licensepool licenses /);
  });

  test('no token, or no server at the URL: one line saying so', async () => {
    // A port nothing listens on: one just given back.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
    const [noToken, noServer, notOurs] = await Promise.all([
      licensepool(['licenses', 'list'], { LICENSEPOOL_URL: server.url }),
      licensepool(['licenses', 'list', '--url', closed, '--token', 'lpt_x'], {}),
      licensepool(['licenses', 'list', '--token', 'lpt_notatokenanyoneholds'], { LICENSEPOOL_URL: server.url }),
    ]);
    assert.deepEqual([noToken.code, noToken.stderr], [2, 'no API token: pass --token or set LICENSEPOOL_TOKEN (licensepool login prints one)\n']);
    assert.equal(noServer.code, 1);
    assert.equal(noServer.stderr, `cannot reach the server at ${closed}: ECONNREFUSED (is it running? --url / LICENSEPOOL_URL)\n`);
    assert.equal(notOurs.code, 1);
    assert.match(notOurs.stderr, /^UNAUTHENTICATED: [^\n]*\n$/);
  });
});

for (const backend of backends()) {
  describe(`licensepool against a server (${backend})`, () => {
    let server: CliServer;
    before(async () => {
      server = await cliServer(backend);
    });
    after(() => server.close());

    test('an unknown id is an error: one line with the API\'s detail, exit 1, nothing written', async () => {
      const env = server.env;
      const runs = await Promise.all([
        licensepool(['reconcile', '--root', 'nope'], env),
        licensepool(['reconcile', '--root', UNKNOWN_POOL, '--fix'], env),
        licensepool(['members', 'import', '-', '--pool', UNKNOWN_POOL], env, 'email\nada@example.test\n'),
        licensepool(['licenses', 'create', '--root', UNKNOWN_POOL], env),
        licensepool(['licenses', 'list', '--pool', UNKNOWN_POOL], env),
        licensepool(['licenses', 'export', '--subtree', UNKNOWN_POOL], env),
      ]);
      for (const run of runs) {
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /^NOT_FOUND: [^\n]+\n$/);
        assert.equal(run.stdout, '');
      }
      assert.equal(runs[0]!.stderr, 'NOT_FOUND: pool not found\n');
    });

    test('create-root: makes the root and its operator (created with a one-time password, or given one, or existing); the server sees it', async () => {
      const { t, env } = server;
      const existing = await person(t, 'existing.operator@vendor.test');
      const [fresh, chosen, known, json] = await Promise.all([
        licensepool(['create-root', '--name', 'Fresh Vendor', '--operator-email', 'fresh@vendor.test'], env),
        licensepool(['create-root', '--name', 'Chosen Vendor', '--operator-email', 'chosen@vendor.test', '--operator-name', 'Chosen One', '--operator-password', PASSWORD], env),
        licensepool(['create-root', '--name', 'Known Vendor', '--operator-email', existing.email], env),
        licensepool(['create-root', '--name', 'Json Vendor', '--operator-email', 'json@vendor.test', '--json'], env),
      ]);
      for (const run of [fresh, chosen, known, json]) assert.equal(run.code, 0, run.stderr);

      const [freshRoot, freshLine] = fresh.stdout.trim().split('\n');
      const password = /^operator fresh@vendor\.test: account created, password (\S+) \(shown once\)$/.exec(freshLine!)?.[1];
      assert.ok(password, fresh.stdout);
      const login = await ok(t.app, 'POST', '/v1/auth/login', { body: { email: 'fresh@vendor.test', password } });
      const pool = await ok(t.app, 'GET', `/v1/pools/${freshRoot}`, { token: login.token });
      assert.deepEqual([pool.name, pool.kind, pool.parentId], ['Fresh Vendor', 'vendor', null]);
      const roles = await ok(t.app, 'GET', `/v1/pools/${freshRoot}/roles`, { token: login.token });
      assert.deepEqual(roles.data.map((r: { email: string; role: string }) => [r.email, r.role]), [['fresh@vendor.test', 'operator']]);

      assert.equal(chosen.stdout.split('\n')[1], 'operator chosen@vendor.test: account created');
      await ok(t.app, 'POST', '/v1/auth/login', { body: { email: 'chosen@vendor.test', password: PASSWORD } });
      assert.equal(known.stdout.split('\n')[1], `operator ${existing.email}: the existing account`);
      await ok(t.app, 'GET', `/v1/pools/${known.stdout.split('\n')[0]}`, { token: existing.token });

      const answer = JSON.parse(json.stdout);
      assert.equal(answer.pool.name, 'Json Vendor');
      assert.equal(answer.operator.created, true);
      assert.equal(typeof answer.operator.password, 'string');
    });

    test('create-root: refused for a non-superuser, or a bad operator, and nothing is written', async () => {
      const { t } = server;
      const v = await vendor(t, { name: 'Plain Vendor' });
      const pools = async () => (await ok(t.app, 'GET', '/v1/pools?limit=200', { token: t.superuser })).data.length;
      const before = await pools();
      const [operator, badEmail, shortPassword, missing] = await Promise.all([
        licensepool(['create-root', '--name', 'Sneaky', '--operator-email', 'sneaky@vendor.test'], server.as(v.operator.token)),
        licensepool(['create-root', '--name', 'Bad', '--operator-email', 'not-an-email'], server.env),
        licensepool(['create-root', '--name', 'Short', '--operator-email', 'short@vendor.test', '--operator-password', 'short'], server.env),
        licensepool(['create-root', '--operator-email', 'x@vendor.test'], server.env),
      ]);
      assert.deepEqual([operator.code, operator.stderr], [1, 'FORBIDDEN: only a superuser creates root pools\n']);
      for (const run of [badEmail, shortPassword]) {
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /^VALIDATION_FAILED: body\.operator\.(email|password): [^\n]*\n$/);
      }
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^error: required option '--name <name>' not specified/);
      assert.equal(await pools(), before);
      const accounts = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'short@vendor.test', password: 'short' } });
      assert.equal(accounts.status, 401, 'no account was made');
    });

    test('reconcile: one root or every root, --fix sets drift right (exit 1 while drift is left), --json', async () => {
      const { t, env } = server;
      const v = await vendor(t, { name: 'Counting Vendor', meters: [{ key: 'seats' }] });
      // A counter out of step with the (no) live claims: what reconcile is for.
      await t.deps.db.execute(sql`INSERT INTO pool_usage (pool_id, meter_key, used) VALUES (${v.root}, 'seats', 3)
        ON CONFLICT (pool_id, meter_key) DO UPDATE SET used = 3`);
      const drifted = await licensepool(['reconcile', '--root', v.root], server.as(v.operator.token));
      assert.equal(drifted.code, 1, drifted.stderr);
      assert.equal(drifted.stdout, `${v.root}\t${v.root}\tseats\tcounted 3\tactual 0\n${v.root}: 1 counters drifted\n`);

      const all = await licensepool(['reconcile', '--json'], env);
      assert.equal(all.code, 1, all.stderr);
      const answer = JSON.parse(all.stdout);
      assert.equal(answer.fixed, false);
      assert.deepEqual(answer.data.find((r: { rootId: string }) => r.rootId === v.root).drift, [{ poolId: v.root, meter: 'seats', counted: 3, actual: 0 }]);

      const fixed = await licensepool(['reconcile', '--fix'], env);
      assert.equal(fixed.code, 0, fixed.stderr);
      assert.match(fixed.stdout, new RegExp(`^${v.root}: 1 counters drifted, fixed$`, 'm'));
      const clean = await licensepool(['reconcile', '--root', v.root], env);
      assert.deepEqual([clean.code, clean.stdout], [0, `${v.root}: 0 counters drifted\n`]);
    });

    test('login: prints an API token the other commands take; a wrong password is one line', async () => {
      const [good, wrong] = await Promise.all([
        licensepool(['login', '--email', SUPERUSER.email, '--token-name', 'my laptop'], { LICENSEPOOL_URL: server.url }, `${SUPERUSER.password}\n`),
        licensepool(['login', '--email', SUPERUSER.email, '--url', server.url], {}, 'not the password\n'),
      ]);
      assert.equal(good.code, 0, good.stderr);
      const token = good.stdout.trim();
      assert.match(token, /^\S+$/);
      const listed = await licensepool(['licenses', 'list', '--json'], server.as(token));
      assert.equal(listed.code, 0, listed.stderr);
      const tokens = await ok(server.t.app, 'GET', '/v1/tokens', { token });
      assert.ok(tokens.data.some((k: { name: string }) => k.name === 'my laptop'), JSON.stringify(tokens.data));
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^INVALID_CREDENTIALS: [^\n]*\n$|^UNAUTHENTICATED: [^\n]*\n$/);
    });
  });
}
