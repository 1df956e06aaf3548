/**
 * Running the `licensepool` command as a person does: a child process talking to a server over
 * HTTP. The server is the app of a fresh test database listening on 127.0.0.1 in the test
 * process (cheap, and the test reads the same database back); test/cli/first-steps.test.ts
 * runs the server as a real process too.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import type { Deps } from '../../src/lib/context.js';
import { ensureFirstSuperuser } from '../../src/modules/accounts/accounts.service.js';
import { createScratchDatabase } from '../concurrency/fleet.js';
import { createTestApp, migratedPgliteDir, ok, removePgliteDir, SUPERUSER, TEST_SECRET_KEY, testSecretKeys, type Backend, type TestApp } from '../helpers.js';
import { REPO_ROOT } from '../repo.js';

export const ROOT = REPO_ROOT;
export const BIN = join(ROOT, 'bin', 'licensepool.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `licensepool` command with `env` over a clean environment (no database or server
 * settings of the test's own), `input` on standard input.
 */
export function licensepool(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const { DATABASE_URL: _url, LICENSEPOOL_DATA_DIR: _dir, LICENSEPOOL_URL: _server, LICENSEPOOL_TOKEN: _token, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...inherited, LOG_LEVEL: 'silent', LICENSEPOOL_SECRET_KEY: TEST_SECRET_KEY, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface CliServer {
  /** The test app behind the server, for setting things up and reading them back. */
  t: TestApp;
  url: string;
  /** LICENSEPOOL_URL and the superuser's LICENSEPOOL_TOKEN. */
  env: Record<string, string>;
  /** The same with another token. */
  as(token: string): Record<string, string>;
  close(): Promise<void>;
}

/** A fresh database's app listening on 127.0.0.1 (a free port), for the command to talk to. */
export async function cliServer(backend: Backend): Promise<CliServer> {
  const t = await createTestApp(backend);
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const as = (token: string) => ({ LICENSEPOOL_URL: address, LICENSEPOOL_TOKEN: token });
  return { t, url: address, env: as(t.superuser), as, close: () => t.close() };
}

/**
 * For the commands that open the database themselves (`migrate`, `secret-key rotate`): where the
 * command finds its database, and how the test opens the same one while the command is not running.
 */
export async function storageFor(backend: Backend): Promise<{ env: Record<string, string>; open(): Promise<Database>; dispose(): Promise<void> }> {
  if (backend === 'pglite') {
    const dir = await migratedPgliteDir();
    return {
      env: { LICENSEPOOL_DATA_DIR: dir },
      open: () => openDatabase({ driver: 'pglite', dataDir: dir }),
      dispose: () => removePgliteDir(dir),
    };
  }
  const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'lp_cli');
  return { env: { DATABASE_URL: scratch.url }, open: () => openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 2 }), dispose: scratch.drop };
}

/** Prepares a `storageFor` database through the API (`fn`), the command not running meanwhile. */
export async function setUpThroughApi<T>(storage: Awaited<ReturnType<typeof storageFor>>, fn: (t: TestApp) => Promise<T>): Promise<T> {
  const database = await storage.open();
  await database.migrate();
  const deps: Deps = { db: database.db, clock: systemClock, log: pino({ level: 'silent' }), secretKeys: testSecretKeys() };
  await ensureFirstSuperuser(deps, SUPERUSER.email, SUPERUSER.password);
  const app = await buildApp({ deps });
  const t: TestApp = { app, deps, clock: new ManualClock(), database, superuser: '', close: async () => void (await app.close()) };
  try {
    const login = await ok(app, 'POST', '/v1/auth/login', { body: SUPERUSER });
    t.superuser = (await ok(app, 'POST', '/v1/tokens', { token: login.token, body: { name: 'cli test' } })).token;
    return await fn(t);
  } finally {
    await app.close();
    await database.close();
  }
}
