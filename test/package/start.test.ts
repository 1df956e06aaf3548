/**
 * `npm start` as an operator (or a process manager) runs it: SIGTERM or SIGINT to the npm
 * process reaches the server, which answers the request it is in the middle of, and then the
 * server and npm are gone within 10 s, no process of the tree left. `npm start` is
 * `exec node dist/main.js`: npm forwards the signal to its child, and `exec` makes that child the
 * server itself rather than a `sh -c` that would die and leave the server running. Needs the
 * build (`npm test` builds first).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createScratchDatabase } from '../concurrency/fleet.js';
import { backends, TEST_SECRET_KEY } from '../helpers.js';
import { REPO_ROOT } from '../repo.js';

const ROOT = REPO_ROOT;
const ADMIN = { email: 'admin@localhost.localdomain', password: 'a start-up test password' };
const START_TIMEOUT_MS = 90_000;
const LOGINS_PER_BATCH = 8;

interface Started {
  npm: ChildProcess;
  url: string;
  /** The server's JSON log lines (stdout), as they come. */
  logLines: string[];
  /** The person-readable banner (stderr). */
  banner: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `npm start` on PORT=0, resolved once the banner names the address and /readyz answers 200. */
async function npmStart(env: Record<string, string>): Promise<Started> {
  const { DATABASE_URL: _url, LICENSEPOOL_DATA_DIR: _dir, PORT: _port, ...inherited } = process.env;
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: '0', LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const logLines: string[] = [];
  let stdout = '';
  npm.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = stdout.split('\n');
    stdout = lines.pop()!;
    logLines.push(...lines.filter((l) => l.startsWith('{')));
  });
  let stderr = '';
  npm.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const until = Date.now() + START_TIMEOUT_MS;
  let url: string | undefined;
  for (;;) {
    if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}:\n${stderr}`);
    if (Date.now() > until) {
      npm.kill('SIGKILL');
      throw new Error(`npm start was not ready within ${START_TIMEOUT_MS} ms:\n${stderr}`);
    }
    url ??= /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
    if (url) {
      const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
      if (ready) return { npm, url, logLines, banner: () => stderr, exited };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The process and its descendants, now (Linux: `ps`). */
function processTree(pid: number): number[] {
  const ps = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of ps.stdout.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return tree;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Logs in over a connection of its own (no keep-alive), so every login is its own request in flight. */
async function login(url: string): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(ADMIN),
  });
  return { status: res.status, ...((await res.json()) as { token?: string }) };
}

/** Resolves once a new connection to the server is refused: it has stopped listening. */
async function listenerClosed(url: string, timeoutMs = 10_000): Promise<void> {
  const { hostname, port } = new URL(url);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(Number(port), hostname);
      probe.once('connect', () => {
        probe.destroy();
        resolve(false);
      });
      probe.once('error', () => resolve(true));
    });
    if (refused) return;
    if (Date.now() > until) throw new Error('the server still takes connections');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of backends()) {
  describe(`npm start and signals (${backend})`, () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      test(`${signal} to the npm process: the requests in hand are answered, then everything exits within 10 s`, async () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'licensepool-start-'));
        const scratch = backend === 'postgres' ? await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'lp_start') : null;
        try {
          const started = await npmStart(scratch ? { DATABASE_URL: scratch.url, LICENSEPOOL_SECRET_KEY: TEST_SECRET_KEY } : { LICENSEPOOL_DATA_DIR: dataDir });
          const { npm, url } = started;
          const tree = processTree(npm.pid!);
          assert.equal(tree.length, 2, `npm and the server itself, no shell between: ${tree.join(', ')}`);
          assert.match(started.banner(), /First start: log in as admin@localhost\.localdomain with LICENSEPOOL_ADMIN_PASSWORD/);

          // Logins hash with argon2 (tens of ms of CPU each): send a batch, wait until the server has
          // taken all of it, and signal while some are still unanswered (another batch if none is).
          let takenSoFar = 0;
          let inFlight: Promise<{ status: number; token?: string }>[] = [];
          for (let round = 0; round < 10 && inFlight.length === 0; round++) {
            const batch = Array.from({ length: LOGINS_PER_BATCH }, () => {
              const answer = { done: false, promise: login(url) };
              answer.promise.finally(() => (answer.done = true)).catch(() => {});
              return answer;
            });
            takenSoFar += LOGINS_PER_BATCH;
            await waitFor('the server to take the logins', () => started.logLines.filter((l) => l.includes('"url":"/v1/auth/login"')).length >= takenSoFar);
            inFlight = batch.filter((a) => !a.done).map((a) => a.promise);
            if (inFlight.length === 0) await Promise.all(batch.map((a) => a.promise));
          }
          assert.ok(inFlight.length > 0, 'some logins were in flight when the signal was sent');
          npm.kill(signal);
          const signalledAt = Date.now();
          const answers = await Promise.all(inFlight);
          assert.deepEqual(answers.map((a) => a.status), answers.map(() => 200), 'every login in flight at the signal was answered');
          assert.ok(answers.every((a) => a.token));
          await listenerClosed(url);

          const { at } = await started.exited;
          assert.ok(at - signalledAt < 10_000, `npm exited ${at - signalledAt} ms after ${signal}`);
          assert.ok(started.logLines.some((l) => l.includes(`"signal":"${signal}"`)), `the server logged the ${signal} it got from npm`);
          await waitFor('no process of the tree left', () => tree.every((pid) => !alive(pid)), 2_000).catch(() => {});
          assert.deepEqual(tree.filter(alive), [], 'a process of the npm start tree is still running');
          const refused = await fetch(`${url}/healthz`).then(
            () => false,
            () => true,
          );
          assert.ok(refused, 'nothing answers on the port any more');
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
          await scratch?.drop();
        }
      });
    }
  });
}
