/**
 * How long `npm start` takes to a healthy /readyz on the embedded database: on a fresh data
 * directory (initdb, every migration, the first superuser) and on the same directory again
 * (existing data). Each run spawns `npm start` as a person does (PORT=0, a temp directory), polls
 * /readyz every 20 ms, and stops the server with SIGTERM. Needs the build (`npm run build`).
 *
 *   npm run bench:start            # RUNS=5 by default
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 5);

/** CPU seconds a process and its children used so far (Linux /proc, clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const ticks = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };
  const children = (p: number) => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const tree = [pid, ...children(pid)];
  return tree.reduce((sum, p) => sum + ticks(p), 0) / 100;
}

/** Milliseconds from spawning `npm start` to /readyz answering 200, and the CPU seconds npm and the server used by then. */
async function timeToReady(dataDir: string): Promise<{ ms: number; cpu: number }> {
  const startedAt = performance.now();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LICENSEPOOL_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  let stderr = '';
  npm.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    for (;;) {
      if (npm.exitCode !== null) throw new Error(`npm start exited:\n${stderr}`);
      if (performance.now() - startedAt > 120_000) throw new Error(`not ready in 120 s:\n${stderr}`);
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url && (await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false))) return { ms: performance.now() - startedAt, cpu: cpuSeconds(npm.pid!) };
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    npm.kill('SIGTERM');
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fresh: { ms: number; cpu: number }[] = [];
const existing: { ms: number; cpu: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'licensepool-bench-start-'));
  try {
    fresh.push(await timeToReady(dir));
    existing.push(await timeToReady(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
// On a busy machine the wall time stretches with the load; the CPU time (npm and the server
// together, on one thread mostly) is what an idle machine's wall time comes close to.
const show = (runs: { ms: number; cpu: number }[]) =>
  `wall median ${(median(runs.map((r) => r.ms)) / 1000).toFixed(2)} s (${runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ')}), ` +
  `CPU median ${median(runs.map((r) => r.cpu)).toFixed(2)} s`;
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on 2 cores`);
console.log(`npm start → /readyz, fresh data directory:    ${show(fresh)}`);
console.log(`npm start → /readyz, existing data directory: ${show(existing)}`);
