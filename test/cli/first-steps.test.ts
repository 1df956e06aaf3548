/**
 * The README's first steps, as a person follows them: `licensepool serve` on an embedded data
 * directory, `licensepool login` and `licensepool create-root` against it over HTTP. Real
 * processes throughout, as issue 13 happened between real processes: a second server and
 * `licensepool migrate` on the same directory are refused (one line naming the directory and the
 * holder's PID, nothing written), the pool survives a restart, and after `kill -9` the lock left
 * behind does not keep the next start out.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LOCK_FILE } from '../../src/db/data-dir-lock.js';
import { createScratchDatabase } from '../concurrency/fleet.js';
import { migratedPgliteDir, removePgliteDir, TEST_SECRET_KEY } from '../helpers.js';
import { builtServerEntry } from '../repo.js';
import { BIN, licensepool, ROOT } from './run.js';

const ADMIN = { email: 'admin@first-steps.test', password: 'a first-steps admin password' };
/** Bounds a start (PGlite opening) on a busy machine. */
const START_TIMEOUT_MS = 120_000;

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/** The test's environment without database settings of its own: each server gets exactly its own. */
const { DATABASE_URL: _url, LICENSEPOOL_DATA_DIR: _dir, ...inherited } = process.env;
const running = new Set<ChildProcess>();
after(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** `licensepool serve`; resolves once it listens, or rejects with what it printed when it ends first. */
function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (running.delete(child), resolve(code))));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" within ${START_TIMEOUT_MS} ms: ${out}`)), START_TIMEOUT_MS);
    // The start-up banner, with the address, is on standard error; the JSON log on standard output.
    const read = (d: string) => {
      out += d;
      const url = /listening on (http:\/\/[^ ]+) /.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, exited });
      }
    };
    child.stdout!.setEncoding('utf8').on('data', read);
    child.stderr!.setEncoding('utf8').on('data', read);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server ended (${code}) before listening: ${out}`));
    });
  });
}

async function stop(server: Server, signal: NodeJS.Signals): Promise<number | null> {
  server.child.kill(signal);
  return server.exited;
}

/** `licensepool login` with the admin's password on standard input: the token it prints. */
async function loginAsAdmin(url: string): Promise<string> {
  const login = await licensepool(['login', '--url', url, '--email', ADMIN.email], {}, `${ADMIN.password}\n`);
  assert.equal(login.code, 0, login.stderr);
  return login.stdout.trim();
}

const serverEnv = { HOST: '127.0.0.1', PORT: '0', LICENSEPOOL_ADMIN_EMAIL: ADMIN.email, LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'silent' };

describe('the README first steps, with real processes (pglite)', () => {
  let dataDir: string;
  let env: Record<string, string>;

  /** Names, sizes and times of every file in the data directory but the lock. */
  function listing(): string[] {
    return (readdirSync(dataDir, { recursive: true }) as string[])
      .filter((f) => f !== LOCK_FILE)
      .map((f) => {
        const s = statSync(join(dataDir, f));
        return `${f} ${s.isDirectory() ? 'dir' : `${s.size} ${s.mtimeMs}`}`;
      })
      .sort();
  }

  before(async () => {
    // The migrated schema and nothing else: what a first start leaves after migrating, without
    // the seconds of initdb.
    dataDir = await migratedPgliteDir();
    env = { ...serverEnv, LICENSEPOOL_DATA_DIR: dataDir };
  });
  after(() => removePgliteDir(dataDir));

  test('serve, log in, create-root over HTTP; a second opener is refused; the pool survives a restart and a kill -9', async () => {
    const server = await startServer(env);
    const api = (path: string, token: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const token = await loginAsAdmin(server.url);
    const cli = { LICENSEPOOL_URL: server.url, LICENSEPOOL_TOKEN: token };

    const created = await licensepool(['create-root', '--name', 'Vendor', '--operator-email', 'ops@vendor.example'], cli);
    assert.equal(created.code, 0, created.stderr);
    const rootId = created.stdout.split('\n')[0]!;
    assert.match(rootId, /^pool_/);
    assert.match(created.stdout, /^operator ops@vendor\.example: account created, password \S+ \(shown once\)$/m);
    const seen = await api(`/v1/pools/${rootId}`, token);
    assert.equal(seen.status, 200, 'the running server sees the pool');
    assert.equal(((await seen.json()) as { name: string }).name, 'Vendor');

    // Issue 13: a second process on the same directory. Refused before it reads or writes a byte.
    const holder = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
    assert.equal(holder.pid, server.child.pid);
    const files = listing();
    const [second, migrate] = await Promise.all([licensepool(['serve'], env), licensepool(['migrate'], env)]);
    for (const [what, run] of [['second server', second], ['migrate', migrate]] as const) {
      assert.notEqual(run.code, 0, `${what}: ${run.stdout}`);
      assert.equal(run.stdout, '', what);
      assert.equal(
        run.stderr,
        `the data directory ${dataDir} is in use by process ${server.child.pid} (a running licensepool server or command); stop it first, or send commands to the running server with --url\n`,
        what,
      );
    }
    // What `npm start` runs (node on dist/main.js, not through the CLI) is refused with the same one line.
    const direct = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [builtServerEntry()], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(direct.code, 1);
    assert.match(direct.stderr, new RegExp(`^the data directory ${dataDir} is in use by process ${server.child.pid} [^\\n]*\\n$`));
    assert.deepEqual(listing(), files, 'the refused processes wrote nothing');
    assert.equal((await api(`/v1/pools/${rootId}`, token)).status, 200, 'and the server still serves');

    // A restart: the pool was written where the server keeps it.
    assert.equal(await stop(server, 'SIGTERM'), 0);
    assert.throws(() => statSync(join(dataDir, LOCK_FILE)), /ENOENT/, 'a clean stop gives the lock back');
    const restarted = await startServer(env);
    const again = await fetch(`${restarted.url}/v1/pools/${rootId}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(again.status, 200, 'the pool survives a restart');

    // kill -9: no chance to give the lock back. The next start finds its holder gone and takes it over.
    await stop(restarted, 'SIGKILL');
    const stale = JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number };
    assert.equal(stale.pid, restarted.child.pid, 'the dead server left its lock');
    const third = await startServer(env);
    const after = await fetch(`${third.url}/v1/pools/${rootId}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(after.status, 200);
    assert.equal((JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number }).pid, third.child.pid);
    assert.equal(await stop(third, 'SIGTERM'), 0);
  });
});

if (process.env.TEST_DATABASE_URL) {
  describe('the README first steps, with real processes (postgres)', () => {
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    before(async () => {
      scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'lp_first_steps');
    });
    after(() => scratch.drop());

    test('serve, log in, create-root over HTTP; the pool survives a restart', async () => {
      // PostgreSQL wants the secret key given (the README's production set-up).
      const env = { ...serverEnv, DATABASE_URL: scratch.url, LICENSEPOOL_SECRET_KEY: TEST_SECRET_KEY };
      const server = await startServer(env);
      const token = await loginAsAdmin(server.url);
      const created = await licensepool(['create-root', '--name', 'Vendor', '--operator-email', 'ops@vendor.example', '--json'], { LICENSEPOOL_URL: server.url, LICENSEPOOL_TOKEN: token });
      assert.equal(created.code, 0, created.stderr);
      const rootId = JSON.parse(created.stdout).pool.id as string;
      assert.equal((await fetch(`${server.url}/v1/pools/${rootId}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      // Migrating beside the running server is fine on PostgreSQL (an advisory lock orders them).
      const migrate = await licensepool(['migrate'], { DATABASE_URL: scratch.url });
      assert.deepEqual([migrate.code, migrate.stdout], [0, 'migrations applied\n'], migrate.stderr);
      assert.equal(await stop(server, 'SIGTERM'), 0);
      const restarted = await startServer(env);
      assert.equal((await fetch(`${restarted.url}/v1/pools/${rootId}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal(await stop(restarted, 'SIGTERM'), 0);
    });
  });
}
