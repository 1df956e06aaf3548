/**
 * Benchmark of the claim engine (issue targets: ≥ 10,000 claim operations/s at p99 ≤ 50 ms on
 * PostgreSQL with durable commits, ≥ 60 % of a Fastify hello-world's rate, ≥ 3,000/s on the
 * embedded PGlite). Prints numbers; asserts nothing.
 *
 *   npm run bench:claims
 *   npm run bench:claims -- --duration 15 --warmup 3 --clients 64 --runs hello,postgres,naive,pglite
 *   npm run bench:claims -- --runs postgres --profile     where a claim request's time goes
 *
 * Every run starts real server processes (`node --import tsx src/main.ts`, one per run) and
 * drives them over keep-alive HTTP from this process, `--clients` requests in flight:
 *   - hello:    a minimal Fastify server (bench/hello-server.ts), GET /: the ceiling of HTTP here;
 *   - postgres: licensepool on a fresh PostgreSQL database (BENCH_DATABASE_URL, else
 *               DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
 *               that server is only used to CREATE and DROP `lp_bench_<random>`), group commit;
 *   - naive:    the same with LICENSEPOOL_CLAIM_BATCH_MAX=1, one commit per request;
 *   - pglite:   the same server without DATABASE_URL, its embedded database in a temp directory.
 * Each claim run builds the 5-level tree through the API (root → distributors → dealers →
 * companies → buildings; restricted root with the binding limit, restricted distributors,
 * some tight buildings; product_a and product_b draw on seats) with verified members, then
 * each client checks out (leases, a quarter assignments) while it holds fewer than two claims
 * and checks one in otherwise. Counted: checkouts (granted or refused) and check-ins, after
 * the warm-up. CPU per operation is read from /proc for the server, the PostgreSQL backends of
 * its database (not the rest of the server) and this process.
 *
 * --profile: each claim run's server runs with --cpu-prof and bench/count-queries.ts; the
 * benchmark prints the statements per operation, the server's CPU by area and by licensepool
 * function in the measured window, and (PostgreSQL) each step of a claim request timed alone.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { openDatabase } from '../src/db/client.js';
import { systemClock } from '../src/lib/clock.js';
import type { Deps } from '../src/lib/context.js';
import { SecretKeys } from '../src/lib/secret-keys.js';
import { authenticate } from '../src/modules/auth/auth.service.js';
import { ClaimEngine } from '../src/modules/claims/claims.engine.js';
import { claimantFor } from '../src/modules/claims/claimants.js';
import { checkIn, createClaim } from '../src/modules/claims/claims.service.js';
import {
  HttpClient,
  buildClaimTree,
  createScratchDatabase,
  prng,
  startServer,
  type ClaimTree,
  type ServerProcess,
  type TreeShape,
} from '../test/concurrency/fleet.js';
import { machineLine, quantile } from './report.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    clients: { type: 'string', default: '64' },
    runs: { type: 'string', default: 'hello,postgres,naive,pglite' },
    profile: { type: 'boolean', default: false },
  },
});
const DURATION_MS = Number(args.duration) * 1000;
const WARMUP_MS = Number(args.warmup) * 1000;
const CLIENTS = Number.parseInt(args.clients!, 10);
const RUNS = args.runs!.split(',');
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ADMIN = { email: 'admin@bench.test', password: 'benchmark admin password' };
const SHAPE: TreeShape = {
  fanout: [2, 2, 2, 3],
  rootLimits: { seats: 100, product_a: 40, product_b: null },
  level1Limits: { seats: 75, product_a: 30, product_b: null },
  tightLeafLimits: { seats: 3, product_a: 1, product_b: null },
  tightLeafEvery: 4,
  devicesPerLeaf: 3,
  people: 4,
};
const log = (line = '') => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Measuring

/** CPU seconds of a process (utime + stime), from /proc. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
/**
 * CPU seconds of the PostgreSQL backends serving `databaseUrl`'s database, by pid: other
 * databases on the same server (other people's tests) are not counted. No URL: none (PGlite).
 */
async function backendsCpu(databaseUrl: string | undefined): Promise<Map<number, number>> {
  if (!databaseUrl) return new Map();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return new Map(rows.map((r) => [r.pid, cpuOf(r.pid)]));
  } finally {
    await client.end();
  }
}
const cpuSince = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((sum, [pid, s]) => sum + s - (before.get(pid) ?? s), 0);

interface Result {
  label: string;
  ops: number;
  seconds: number;
  p50: number;
  p99: number;
  granted: number;
  refused: number;
  failures: number;
  /** CPU ms per operation: server, PostgreSQL, load generator. */
  cpu: { server: number; postgres: number; client: number };
  /** The measured window on the monotonic clock (µs), which the server's CPU profile shares. */
  windowUs: [number, number];
}


/**
 * Runs `clients` loops of `step` for the warm-up and then the measured duration; `step`
 * returns what the operation came to ('granted', 'refused', 'done' or 'failed').
 */
async function drive(
  label: string,
  server: ServerProcess,
  step: (client: number) => Promise<'granted' | 'refused' | 'done' | 'failed'>,
  options: { databaseUrl?: string | undefined; onWindow?: (edge: 'start' | 'end') => void } = {},
): Promise<Result> {
  const latencies: number[] = [];
  const counts = { granted: 0, refused: 0, done: 0, failed: 0 };
  let measuring = false;
  let stop = false;
  let marks = { server: 0, postgres: new Map<number, number>(), client: 0 };
  const loops = Array.from({ length: CLIENTS }, async (_, i) => {
    while (!stop) {
      // Counted: operations started and answered inside the window (not the warm-up's
      // connection storm, which on PGlite kept some first requests waiting for seconds).
      const counted = measuring;
      const started = performance.now();
      const outcome = await step(i);
      if (counted && !stop) {
        latencies.push(performance.now() - started);
        counts[outcome]++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const clientCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  marks = { server: cpuOf(server.pid), postgres: await backendsCpu(options.databaseUrl), client: clientCpu() };
  options.onWindow?.('start');
  measuring = true;
  const windowStart = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  await new Promise((r) => setTimeout(r, DURATION_MS));
  stop = true;
  options.onWindow?.('end');
  const windowEnd = Number(process.hrtime.bigint() / 1000n);
  const seconds = (performance.now() - started) / 1000;
  const pgSeconds = cpuSince(marks.postgres, await backendsCpu(options.databaseUrl));
  const serverSeconds = cpuOf(server.pid) - marks.server;
  const clientSeconds = clientCpu() - marks.client;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const ops = latencies.length;
  const per = (s: number) => (s * 1000) / Math.max(1, ops);
  return {
    label,
    ops,
    seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    granted: counts.granted,
    refused: counts.refused,
    failures: counts.failed,
    cpu: { server: per(serverSeconds), postgres: per(pgSeconds), client: per(clientSeconds) },
    windowUs: [windowStart, windowEnd],
  };
}

// ---------------------------------------------------------------------------------------------
// Runs

async function helloWorld(): Promise<Result> {
  const server = await startServer({ command: ['--import', 'tsx', 'bench/hello-server.ts'], readyPath: '/', env: {} });
  const http = new HttpClient(server.url, CLIENTS);
  try {
    return await drive('Fastify hello-world (GET /)', server, async () => ((await http.request('GET', '/')).status === 200 ? 'done' : 'failed'));
  } finally {
    http.close();
    await server.stop();
  }
}

/** Checkout while holding fewer than two claims, check-in otherwise: the root stays near its limit. */
function claimMix(http: HttpClient, tree: ClaimTree) {
  const held: string[][] = Array.from({ length: CLIENTS }, () => []);
  const randoms = Array.from({ length: CLIENTS }, (_, i) => prng(7 + i));
  return async (client: number): Promise<'granted' | 'refused' | 'done' | 'failed'> => {
    const random = randoms[client]!;
    const member = tree.members[client % tree.members.length]!;
    const mine = held[client]!;
    if (mine.length === 0 || (mine.length < 2 && random() < 0.5)) {
      const r = random();
      const meter = r < 0.6 ? 'seats' : r < 0.85 ? 'product_a' : 'product_b';
      const kind = random() < 0.75 ? 'lease' : 'assignment';
      const res = await http.request('POST', '/v1/claims', { token: member.token, body: { memberId: member.id, meter, kind, ...(kind === 'lease' ? { ttlSeconds: 300 } : {}) } });
      if (res.status === 201) {
        mine.push(res.body.id);
        return 'granted';
      }
      return res.status === 409 ? 'refused' : 'failed';
    }
    const id = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
    return (await http.request('DELETE', `/v1/claims/${id}`, { token: member.token })).status === 204 ? 'done' : 'failed';
  };
}

interface Profile {
  dir: string;
  queryLog: string;
}

/**
 * Each step of a claim request on its own, one call at a time on an idle server, against the
 * benchmark's database: wall time per call (p50, mean) and CPU per call of this process (query
 * building, driver) and of PostgreSQL.
 */
async function stepCosts(url: string, tree: ClaimTree) {
  const database = await openDatabase({ driver: 'postgres', url, poolSize: 4 });
  const deps: Deps = { db: database.db, clock: systemClock, log: pino({ level: 'silent' }), secretKeys: SecretKeys.generate() };
  const engine = new ClaimEngine(deps);
  const person = tree.members[0]!;
  const device = tree.members.find((m) => m.token === tree.operatorToken)!;
  const actorOf = async (token: string) => (await authenticate(deps, token, 'req_bench'))!.actor;
  const operator = await actorOf(tree.operatorToken);
  const self = await actorOf(person.token);
  const N = 400;
  const steps: [string, () => Promise<unknown>][] = [
    ['round trip (SELECT 1)', () => deps.db.execute(sql`SELECT 1`)],
    ['auth: token + account + role bindings (one statement)', () => authenticate(deps, tree.operatorToken, 'req_bench')],
    ['claimant, acting for itself (cached after the first call)', () => claimantFor(deps.db, self, person.id)],
    ['claimant, a manager acting for a device (cached; bindings decide)', () => claimantFor(deps.db, operator, device.id)],
    [
      'createClaim + checkIn (service, one request at a time: one batch each)',
      async () => {
        const outcome = await createClaim(deps, engine, operator, { memberId: device.id, meter: 'seats', kind: 'assignment', quantity: 1, ttlSeconds: 900, queue: false });
        if (outcome.type === 'granted') await checkIn(deps, engine, operator, outcome.claim.id);
      },
    ],
  ];
  log('  each step alone, one call at a time (idle server):');
  log('     p50 ms   mean ms   node CPU ms   postgres CPU ms   step');
  try {
    for (const [name, fn] of steps) {
      for (let i = 0; i < 20; i++) await fn();
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      const pg0 = await backendsCpu(url);
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        await fn();
        times.push(performance.now() - t);
      }
      const cpu = process.cpuUsage(cpu0);
      const pgSeconds = cpuSince(pg0, await backendsCpu(url));
      times.sort((a, b) => a - b);
      const mean = times.reduce((a, b) => a + b, 0) / N;
      log(
        `    ${quantile(times, 0.5).toFixed(3).padStart(7)}  ${mean.toFixed(3).padStart(8)}  ${((cpu.user + cpu.system) / 1000 / N).toFixed(3).padStart(12)}  ` +
          `${((pgSeconds * 1000) / N).toFixed(3).padStart(16)}   ${name}`,
      );
    }
  } finally {
    await database.close();
  }
}

async function claimRun(label: string, options: { database: 'postgres' | 'pglite'; batchMax?: number; profile?: Profile }): Promise<Result> {
  const scratch = options.database === 'postgres' ? await createScratchDatabase(SERVER_URL, 'lp_bench') : undefined;
  const dataDir = options.database === 'pglite' ? mkdtempSync(join(tmpdir(), 'lp-bench-pglite-')) : undefined;
  let server: ServerProcess | undefined;
  try {
    server = await startServer({
      env: {
        DATABASE_URL: scratch?.url,
        LICENSEPOOL_DATA_DIR: dataDir,
        LICENSEPOOL_ADMIN_EMAIL: ADMIN.email,
        LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password,
        LICENSEPOOL_CLAIM_BATCH_MAX: options.batchMax === undefined ? undefined : String(options.batchMax),
        LICENSEPOOL_BENCH_QUERY_LOG: options.profile?.queryLog,
        LOG_LEVEL: 'warn',
      },
      extraNodeArgs: options.profile ? ['--cpu-prof', '--cpu-prof-dir', options.profile.dir, '--import', './bench/count-queries.ts'] : [],
      timeoutMs: 60_000,
      // The benchmark measures the code as it is, built or not.
      fromSource: true,
    });
    const setup = new HttpClient(server.url, 8);
    const tree = await buildClaimTree(setup, ADMIN, SHAPE).finally(() => setup.close());
    // A fresh client for the load: sockets left over from the set-up skewed the first requests.
    const http = new HttpClient(server.url, CLIENTS);
    try {
      const pid = server.pid;
      const result = await drive(label, server, claimMix(http, tree), {
        databaseUrl: scratch?.url,
        ...(options.profile ? { onWindow: () => process.kill(pid, 'SIGWINCH') } : {}),
      });
      const drift = await http.ok('GET', `/v1/pools/${tree.root}/reconcile`, { token: tree.operatorToken });
      if (drift.drift.length > 0) log(`  ${label}: reconcile found drift ${JSON.stringify(drift.drift)}`);
      if (server.errors.length > 0) log(`  ${label}: the server logged errors:\n${server.errors.slice(0, 5).join('\n')}`);
      if (options.profile && scratch) await stepCosts(scratch.url, tree);
      return result;
    } finally {
      http.close();
    }
  } finally {
    await server?.stop(30_000);
    await scratch?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Where the time goes (--profile)

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * The server's CPU in the measured window by area (node_modules/<pkg>, node internals, native
 * functions, licensepool's src/…) and its top licensepool functions, self time.
 */
function reportCpuProfile(dir: string, result: Result) {
  // One profile per thread (tsx's loader runs in a worker): the main thread's is the largest.
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) {
    log('  no CPU profile was written');
    return;
  }
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let active = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (at < result.windowUs[0] || at > result.windowUs[1]) return;
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') return;
    active += us;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const area =
      pkg ??
      (url.includes('/src/')
        ? `licensepool ${url.slice(url.indexOf('/src/') + 1).split('/').slice(0, 3).join('/')}`
        : url.startsWith('node:')
          ? 'node internals (http, net, streams)'
          : url === '' && !functionName.startsWith('(')
            ? `native ${functionName}`
            : functionName.startsWith('(')
              ? functionName
              : url);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    if (url.includes('/src/')) {
      const name = `${functionName || '(anonymous)'} ${url.slice(url.indexOf('/src/') + 1)}:${lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    }
  });
  if (active === 0) {
    log('  the CPU profile has no samples in the measured window');
    return;
  }
  log(`  server CPU in the window: ${(active / 1000 / result.ops).toFixed(3)} ms per operation; by area (self time):`);
  for (const [area, us] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 14)) {
    log(`    ${((100 * us) / active).toFixed(1).padStart(5)} %  ${(us / 1000 / result.ops).toFixed(3)} ms/op  ${area}`);
  }
  log('  top licensepool functions (self time):');
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    log(`    ${((100 * us) / active).toFixed(1).padStart(5)} %  ${name}`);
  }
}

/** The statements the server sent in the window: the difference of the snapshots taken at its start and end. */
function reportQueries(queryLog: string, result: Result) {
  const [first, last] = readFileSync(queryLog, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { shape: string; count: number; ms: number }[]);
  if (!last || last.length === 0) {
    log('  no statements went through node-postgres (the embedded database is called in-process)');
    return;
  }
  const before = new Map((first ?? []).map((t) => [t.shape, t]));
  const window = (last ?? [])
    .map((t) => ({ shape: t.shape, count: t.count - (before.get(t.shape)?.count ?? 0), ms: t.ms - (before.get(t.shape)?.ms ?? 0) }))
    .filter((t) => t.count > 0);
  const total = window.reduce((s, t) => s + t.count, 0);
  log(`  statements in the window: ${(total / result.ops).toFixed(2)} per operation; by count (ms each is under load: it includes waiting for the event loop):`);
  log('      per op   ms each   statement');
  for (const t of window.sort((a, b) => b.count - a.count).slice(0, 20)) {
    log(`    ${(t.count / result.ops).toFixed(3).padStart(8)}  ${(t.ms / t.count).toFixed(3).padStart(8)}   ${t.shape}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Main

log(`bench:claims — ${CLIENTS} clients, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured per run`);
log(`${machineLine()} before the start`);
log('server, load generator and PostgreSQL share this machine; each run starts its own server process\n');

const results: Result[] = [];
/** With --profile, the claim runs are profiled (and marked so in their label). */
function profiled(): Profile | undefined {
  if (!args.profile) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lp-bench-profile-'));
  return { dir, queryLog: join(dir, 'queries.jsonl') };
}
const byRun: Record<string, (profile?: Profile) => Promise<Result>> = {
  hello: helloWorld,
  postgres: (profile) => claimRun('claims, PostgreSQL, group commit', { database: 'postgres', profile }),
  naive: (profile) => claimRun('claims, PostgreSQL, naive (BATCH_MAX=1)', { database: 'postgres', batchMax: 1, profile }),
  pglite: (profile) => claimRun('claims, embedded PGlite', { database: 'pglite', profile }),
};
for (const run of RUNS) {
  const fn = byRun[run];
  if (!fn) throw new Error(`unknown run ${run}: one of ${Object.keys(byRun).join(', ')}`);
  const profile = run === 'hello' ? undefined : profiled();
  const result = await fn(profile);
  results.push(result);
  log(`${result.label}: ${Math.round(result.ops / result.seconds)} ops/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms${profile ? ' (profiled)' : ''}`);
  if (profile) {
    reportQueries(profile.queryLog, result);
    reportCpuProfile(profile.dir, result);
    log(`  (the profile files are in ${profile.dir})\n`);
  }
}

const rate = (r: Result) => r.ops / r.seconds;
const hello = results.find((r) => r.label.startsWith('Fastify'));
const naive = results.find((r) => r.label.includes('naive'));
log('\n| run | ops/s | p50 ms | p99 ms | granted | refused | failed | of hello-world | CPU ms/op: server + postgres + client |');
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of results) {
  const share = hello && r !== hello ? `${((100 * rate(r)) / rate(hello)).toFixed(1)} %` : '';
  log(
    `| ${r.label} | ${Math.round(rate(r))} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.granted} | ${r.refused} | ${r.failures} | ${share} | ` +
      `${r.cpu.server.toFixed(3)} + ${r.cpu.postgres.toFixed(3)} + ${r.cpu.client.toFixed(3)} |`,
  );
}
const batched = results.find((r) => r.label.startsWith('claims, PostgreSQL, group commit'));
const pglite = results.find((r) => r.label.includes('PGlite'));
log('\ntargets:');
if (batched) {
  log(`  PostgreSQL ≥ 10,000 ops/s: ${Math.round(rate(batched))}; p99 ≤ 50 ms: ${batched.p99.toFixed(1)} ms`);
  if (hello) log(`  ≥ 60 % of hello-world: ${((100 * rate(batched)) / rate(hello)).toFixed(1)} %`);
  if (naive) log(`  group commit ÷ naive: ${(rate(batched) / rate(naive)).toFixed(2)}×`);
}
if (pglite) log(`  PGlite ≥ 3,000 ops/s: ${Math.round(rate(pglite))}`);
