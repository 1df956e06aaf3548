/**
 * Running the `licensepool` command as a person does: a child process on an embedded database
 * directory or a scratch PostgreSQL database, which the test prepares through the API first
 * (`setUpThroughApi`) and reads back afterwards.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import type { Deps } from '../../src/lib/context.js';
import { ensureFirstSuperuser } from '../../src/modules/accounts/accounts.service.js';
import { createScratchDatabase } from '../concurrency/fleet.js';
import { migratedPgliteDir, ok, removePgliteDir, SUPERUSER, TEST_SECRET_KEY, testSecretKeys, type Backend, type TestApp } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'licensepool.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `licensepool` command with the database settings in `env` (and `input` on standard input). */
export function licensepool(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const { DATABASE_URL: _url, LICENSEPOOL_DATA_DIR: _dir, ...inherited } = process.env;
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

/** Where the command finds its database, and how the test opens the same one. */
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

/** The app on that database, for setting things up through the API as a person would. */
async function appOn(database: Database): Promise<TestApp> {
  await database.migrate();
  const deps: Deps = { db: database.db, clock: systemClock, log: pino({ level: 'silent' }), secretKeys: testSecretKeys() };
  await ensureFirstSuperuser(deps, SUPERUSER.email, SUPERUSER.password);
  const app = await buildApp({ deps });
  const login = await ok(app, 'POST', '/v1/auth/login', { body: SUPERUSER });
  const superuser = (await ok(app, 'POST', '/v1/tokens', { token: login.token, body: { name: 'cli test' } })).token;
  return { app, deps, clock: new ManualClock(), database, superuser, close: async () => void (await app.close()) };
}


/** Prepares the command's database through the API (`fn`), the command not running meanwhile. */
export async function setUpThroughApi<T>(storage: Awaited<ReturnType<typeof storageFor>>, fn: (t: TestApp) => Promise<T>): Promise<T> {
  const database = await storage.open();
  const t = await appOn(database);
  try {
    return await fn(t);
  } finally {
    await t.close();
    await database.close();
  }
}
