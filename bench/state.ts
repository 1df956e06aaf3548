/**
 * Benchmark of the pool tree on PostgreSQL (issue targets):
 *   - inserting a 100,000-pool tree of depth 6 in ≤ 60 s;
 *   - the state view of a pool in that tree in ≤ 50 ms;
 * plus the subtree list an admin sees, and EXPLAIN ANALYZE of the queries behind both.
 *
 *   npm run bench:state                      (or: npx tsx bench/state.ts)
 *   npm run bench:state -- --keep            keep the database afterwards and print its URL
 *   options: --fanout 6,6,6,6,6,12  --requests 2000  --concurrency 16  --insert-concurrency 12  --seed 42
 *
 * The server is BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
 * its database is only used to CREATE and DROP a fresh `lp_bench_<random>` database, which the
 * benchmark migrates, fills and drops at the end (kept with --keep). It prints numbers; it
 * asserts nothing.
 *
 * The tree: one vendor root at depth 0, leaves at depth 6 (7 levels). `--fanout` gives the
 * children per pool for depths 1…6; the default 6,6,6,6,6,12 makes 102,643 pools
 * (vendor → 6 distributors → 6 dealers → 6 companies → 6 sites → 6 buildings → 12 apartments),
 * so a distributor's subtree is 17,107 pools.
 *
 * What is timed against the targets:
 *   - insert: every pool through createPool (the service layer: authorization on the parent's
 *     path, the path computed from the locked parent, the audit row), as the root's operator,
 *     `--insert-concurrency` calls in flight. Depth by depth; inside a depth the order walks
 *     across parents (child 0 of every parent, then child 1, …), like many clients at once.
 *   - state view: GET /v1/pools/{id}/state over real HTTP (the app listening on 127.0.0.1),
 *     from a load generator in a worker thread, for random deepest leaves, sequentially and at
 *     `--concurrency`; and computeStateOf called directly.
 * Untimed setup in between: licenses through placeLicense on restricted pools along some paths
 * (meters users, devices and premium_users, which draws on users; features), pool_usage rows
 * for 3,000 leaves and their ancestors, every pool activated by one UPDATE, VACUUM ANALYZE.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { poolUsage } from '../src/db/schema.js';
import { ManualClock } from '../src/lib/clock.js';
import type { Actor, Deps } from '../src/lib/context.js';
import { SecretKeys } from '../src/lib/secret-keys.js';
import { ensureFirstSuperuser } from '../src/modules/accounts/accounts.service.js';
import { authenticate } from '../src/modules/auth/auth.service.js';
import { placeLicense } from '../src/modules/licenses/licenses.service.js';
import { findPool, type PoolRow } from '../src/modules/pools/pools.repo.js';
import { createPool } from '../src/modules/pools/pools.service.js';
import { computeStateOf } from '../src/modules/state/state.service.js';
import { prng } from '../test/concurrency/fleet.js';
import { latencyStats, machineLine, type LatencyStats } from './report.js';

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    keep: { type: 'boolean', default: false },
    fanout: { type: 'string', default: '6,6,6,6,6,12' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    'insert-concurrency': { type: 'string', default: '12' },
    seed: { type: 'string', default: '42' },
  },
});
const FANOUT = args.fanout!.split(',').map((s) => Number.parseInt(s, 10));
if (FANOUT.length === 0 || FANOUT.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bad --fanout ${args.fanout}`);
const DEPTH = FANOUT.length;
if (DEPTH < 4) throw new Error('--fanout needs at least 4 levels (licenses go on depths 1, 3 and the leaves)');
const REQUESTS = Number.parseInt(args.requests!, 10);
const CONCURRENCY = Number.parseInt(args.concurrency!, 10);
const INSERT_CONCURRENCY = Number.parseInt(args['insert-concurrency']!, 10);
const WARMUP = 200;
const LIST_REQUESTS = 500;
/** Leaves whose path carries restricted pools with licenses (at depths 1, 3 and the leaf). */
const LICENSED_LEAVES = 24;
const RESTRICTED_DEPTHS = [1, 3, DEPTH];
/** Leaves with units in use (added to the leaf and every ancestor, as the claim engine would). */
const LEAVES_IN_USE = 3000;

const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KINDS = ['vendor', 'distributor', 'dealer', 'company', 'site', 'building', 'apartment'];

// ---------------------------------------------------------------------------------------------
// Small tools

// Seeded, so two runs build and read the same tree shape.
const random = prng(Number.parseInt(args.seed!, 10));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const randInt = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

type Stats = LatencyStats;
const stats = latencyStats;
const ms = (v: number) => v.toFixed(2);

/** CPU seconds used so far by this process, and per PostgreSQL process (by pid) on the machine. */
interface CpuMark {
  node: number;
  postgres: Map<string, number>;
}
function cpuNow(): CpuMark {
  const u = process.cpuUsage();
  const postgres = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      const fields = stat.slice(close + 2).split(' ');
      postgres.set(pid, (Number(fields[11]) + Number(fields[12])) / 100); // utime + stime, in ticks of 10 ms
    } catch {
      // the process ended meanwhile
    }
  }
  return { node: (u.user + u.system) / 1e6, postgres };
}
/** CPU used since `start`; a backend that exited in between is not counted (the pool keeps them open while busy). */
const cpuSince = (start: CpuMark) => {
  const now = cpuNow();
  let postgres = 0;
  for (const [pid, s] of now.postgres) postgres += s - (start.postgres.get(pid) ?? 0);
  return { node: now.node - start.node, postgres };
};
const cpuText = (c: { node: number; postgres: number }, per: number, unit: string) =>
  `CPU node ${c.node.toFixed(1)} s + postgres ${c.postgres.toFixed(1)} s = ${(((c.node + c.postgres) / per) * 1000).toFixed(2)} ms per ${unit}`;
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Runs `count` tasks with at most `width` in flight; returns each task's duration in ms and the wall time. */
async function runPool(count: number, width: number, task: (i: number) => Promise<void>): Promise<{ durations: number[]; wallMs: number }> {
  const durations = new Array<number>(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t0 = performance.now();
      await task(i);
      durations[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
  return { durations, wallMs: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Database lifecycle

const dbName = `lp_bench_${randomBytes(5).toString('hex')}`;
const dbUrl = (() => {
  const u = new URL(SERVER_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
let database: Database | undefined;
let server: { close(): Promise<unknown> } | undefined;
let created = false;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: SERVER_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function cleanup(): Promise<void> {
  await client?.terminate();
  client = undefined;
  const app = server;
  server = undefined;
  await app?.close().catch(() => {});
  const db = database;
  database = undefined;
  await db?.close().catch(() => {});
  if (!created) return;
  if (args.keep) {
    log(`\nkept the database: ${dbUrl}`);
    return;
  }
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
  created = false;
  log(`\ndropped the database ${dbName}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Capturing the SQL a piece of code sends, to EXPLAIN exactly that

interface Captured {
  text: string;
  values: unknown[];
}
let capturing: Captured[] | null = null;
const clientProto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
const originalQuery = clientProto.query;
clientProto.query = function (this: unknown, ...a: unknown[]) {
  if (capturing) {
    // pg accepts query(text, values) and query({ text, values? }, values?); drizzle uses the latter.
    const [first, second] = a;
    if (typeof first === 'string') capturing.push({ text: first, values: Array.isArray(second) ? second : [] });
    else if (first && typeof first === 'object' && 'text' in first) {
      const q = first as { text: string; values?: unknown[] };
      capturing.push({ text: q.text, values: Array.isArray(second) ? second : (q.values ?? []) });
    }
  }
  return originalQuery.apply(this, a);
};

async function capture(fn: () => Promise<unknown>): Promise<Captured[]> {
  capturing = [];
  try {
    await fn();
    return capturing.filter((q) => /^\s*(select|with)\b/i.test(q.text));
  } finally {
    capturing = null;
  }
}

async function explain(queries: Captured[], title: string): Promise<void> {
  log(`\n=== EXPLAIN (ANALYZE, BUFFERS): ${title} ===`);
  log('(tokens, accounts, role_bindings, licenses, meters and features hold a handful of rows here, so PostgreSQL rightly reads them whole)');
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    for (const q of queries) {
      log(`\n-- ${q.text.length > 240 ? `${q.text.slice(0, 240)}…` : q.text}`);
      const res = await c.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${q.text}`, q.values as unknown[]);
      for (const row of res.rows as { 'QUERY PLAN': string }[]) log(`   ${row['QUERY PLAN']}`);
    }
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

let baseUrl = '';
async function http(method: string, path: string, token: string | null, body?: unknown): Promise<any> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * The load generator runs in a worker thread, so the server's event loop does not also carry
 * the client's work (in a deployment the clients are elsewhere). Each call sends the given GETs,
 * `concurrency` at a time, and answers with every request's latency in ms and the wall time.
 */
const CLIENT_SOURCE = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ urls, token, concurrency }) => {
  const durations = new Array(urls.length);
  let next = 0;
  let failed = null;
  const started = performance.now();
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (i >= urls.length) return;
      const t0 = performance.now();
      const res = await fetch(urls[i], { headers: token ? { authorization: 'Bearer ' + token } : {} });
      await res.arrayBuffer();
      durations[i] = performance.now() - t0;
      if (res.status !== 200) failed = urls[i] + ' -> ' + res.status;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, loop));
  parentPort.postMessage({ durations, wallMs: performance.now() - started, failed });
});
`;
let client: Worker | undefined;
async function load(urls: string[], token: string, concurrency: number): Promise<{ durations: number[]; wallMs: number }> {
  client ??= new Worker(CLIENT_SOURCE, { eval: true });
  const worker = client;
  const answer = await new Promise<{ durations: number[]; wallMs: number; failed: string | null }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage({ urls: urls.map((u) => `${baseUrl}${u}`), token, concurrency });
  });
  worker.removeAllListeners('error');
  if (answer.failed) throw new Error(`request failed: ${answer.failed}`);
  return answer;
}

async function loginAs(email: string, password: string): Promise<string> {
  return (await http('POST', '/v1/auth/login', null, { email, password })).token as string;
}

// ---------------------------------------------------------------------------------------------
// The benchmark

interface Row {
  what: string;
  target: string;
  value: string;
  verdict?: string;
}

/** Which of p50 / p95 / p99 stay within `limit` ms. */
function latencyVerdict(st: Stats, limit: number): string {
  const over = (['p50', 'p95', 'p99'] as const).filter((k) => st[k] > limit);
  return over.length === 0 ? 'met (p99)' : `MISSED (${over.join(', ')} over)`;
}

async function main(): Promise<void> {
  log(`licensepool state benchmark — ${new Date().toISOString()}`);
  log(machineLine());
  const serverVersion = await admin(async (c) => {
    const v = (await c.query('SHOW server_version')).rows[0].server_version as string;
    const sc = (await c.query('SHOW synchronous_commit')).rows[0].synchronous_commit as string;
    const sb = (await c.query('SHOW shared_buffers')).rows[0].shared_buffers as string;
    await c.query(`CREATE DATABASE ${dbName}`);
    return `PostgreSQL ${v} (synchronous_commit=${sc}, shared_buffers=${sb})`;
  });
  created = true;
  log(`database: ${serverVersion}, fresh database ${dbName}`);

  database = await openDatabase({ driver: 'postgres', url: dbUrl, poolSize: 20 });
  await database.migrate();
  const clock = new ManualClock('2026-01-01T00:00:00.000Z');
  const deps: Deps = { db: database.db, clock, log: pino({ level: 'silent' }), secretKeys: SecretKeys.generate() };

  // --- Accounts, root, catalog: through HTTP like a vendor would -----------------------------
  const superuser = { email: 'root@bench.test', password: 'bench superuser password' };
  await ensureFirstSuperuser(deps, superuser.email, superuser.password);
  const app = await buildApp({ deps });
  server = app;
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const suToken = await loginAs(superuser.email, superuser.password);

  const password = 'a long enough bench password';
  const root = await http('POST', '/v1/pools', suToken, { name: 'Vendor', kind: 'vendor' });
  await http('POST', '/v1/accounts', null, { email: 'operator@bench.test', name: 'Operator', password });
  await http('POST', `/v1/pools/${root.id}/roles`, suToken, { email: 'operator@bench.test', role: 'operator' });
  const opToken = await loginAs('operator@bench.test', password);
  for (const m of [
    { key: 'users', name: 'Users', draws: [] },
    { key: 'devices', name: 'Devices', draws: [] },
    { key: 'premium_users', name: 'Premium users', draws: ['users'] },
  ]) {
    await http('POST', `/v1/pools/${root.id}/meters`, opToken, m);
  }
  for (const f of ['reports', 'api', 'sso']) await http('POST', `/v1/pools/${root.id}/features`, opToken, { key: f, name: f });
  const operator: Actor = (await authenticate(deps, opToken, 'bench'))!.actor;

  // --- The tree shape ------------------------------------------------------------------------
  const counts = [1];
  for (const f of FANOUT) counts.push(counts[counts.length - 1]! * f);
  const total = counts.reduce((a, b) => a + b, 0);
  /** Leaves under one pool of depth d: product of the fan-outs below it. */
  const leavesUnder = (d: number) => FANOUT.slice(d).reduce((a, b) => a * b, 1);
  const ancestorIndex = (leaf: number, d: number) => Math.floor(leaf / leavesUnder(d));
  const licensedLeaves = new Set<number>();
  while (licensedLeaves.size < Math.min(LICENSED_LEAVES, counts[DEPTH]!)) licensedLeaves.add(Math.floor(random() * counts[DEPTH]!));
  const restricted = RESTRICTED_DEPTHS.map(() => new Set<number>());
  for (const leaf of licensedLeaves) RESTRICTED_DEPTHS.forEach((d, k) => restricted[k]!.add(ancestorIndex(leaf, d)));
  const isRestricted = (d: number, i: number) => RESTRICTED_DEPTHS.some((rd, k) => rd === d && restricted[k]!.has(i));

  log(
    `\ntree: depth ${DEPTH} (root at depth 0, leaves at depth ${DEPTH}), fan-out ${FANOUT.join('×')}, ` +
      `${total.toLocaleString('en')} pools; pools per depth ${counts.map((c) => c.toLocaleString('en')).join(' / ')}`,
  );
  log(
    `restricted pools with licenses on ${licensedLeaves.size} leaf paths at depths ${RESTRICTED_DEPTHS.join(', ')}: ` +
      `${restricted.reduce((a, s) => a + s.size, 0)} pools`,
  );

  // --- Insert: createPool through the service layer (authorization, path, audit row) ---------
  // Depth by depth (a child needs its parent); inside a depth the order walks across parents
  // (child 0 of every parent, then child 1, …), like many clients working in different places.
  const ids: string[][] = [[root.id as string]];
  log(`\ninserting ${(total - 1).toLocaleString('en')} pools with createPool, ${INSERT_CONCURRENCY} in parallel, as the root's operator…`);
  const insertStart = performance.now();
  const insertCpu0 = cpuNow();
  let done = 0;
  let lastReport = insertStart;
  const insertDurations: number[] = [];
  for (let d = 1; d <= DEPTH; d++) {
    const f = FANOUT[d - 1]!;
    const parents = ids[d - 1]!;
    const level = new Array<string>(counts[d]!);
    const n = counts[d]!;
    const { durations } = await runPool(n, INSERT_CONCURRENCY, async (k) => {
      const j = Math.floor(k / parents.length);
      const p = k % parents.length;
      const i = p * f + j;
      const pool = await createPool(deps, operator, {
        name: `${KINDS[d] ?? 'pool'} ${d}.${i}`,
        kind: KINDS[d] ?? 'pool',
        parentId: parents[p]!,
        restricted: isRestricted(d, i),
      });
      level[i] = pool.id;
      done++;
      const now = performance.now();
      if (now - lastReport > 10_000) {
        lastReport = now;
        log(`  ${done.toLocaleString('en')} pools, ${((now - insertStart) / 1000).toFixed(1)} s, ${Math.round(done / ((now - insertStart) / 1000))} pools/s`);
      }
    });
    insertDurations.push(...durations);
    ids.push(level);
  }
  const insertSeconds = (performance.now() - insertStart) / 1000;
  const insertRate = (total - 1) / insertSeconds;
  const insertLatency = stats(insertDurations);
  const insertCpu = cpuSince(insertCpu0);
  log(`inserted ${(total - 1).toLocaleString('en')} pools in ${insertSeconds.toFixed(1)} s: ${Math.round(insertRate)} pools/s`);
  log(`  createPool latency: p50 ${ms(insertLatency.p50)} ms, p99 ${ms(insertLatency.p99)} ms, max ${ms(insertLatency.max)} ms`);
  log(`  ${cpuText(insertCpu, total - 1, 'pool')}`);

  // --- Licenses (top-down, through placeLicense so every L7 check runs), usage, activation ---
  const setupStart = performance.now();
  const terms: Record<number, { name: string; limits: Record<string, number | null>; features: string[]; validUntil: string }[]> = {
    1: [
      { name: 'Distribution', limits: { users: 20_000, devices: 40_000, premium_users: 4_000 }, features: ['reports', 'api', 'sso'], validUntil: '2028-01-01T00:00:00Z' },
      { name: 'Premium add-on', limits: { premium_users: 1_000, devices: 1_000 }, features: [], validUntil: '2027-01-01T00:00:00Z' },
    ],
    3: [{ name: 'Company', limits: { users: 2_000, devices: 4_000, premium_users: 500 }, features: ['reports', 'api'], validUntil: '2027-06-01T00:00:00Z' }],
    [DEPTH]: [{ name: 'Apartment', limits: { users: 50, devices: 100, premium_users: 10 }, features: ['reports'], validUntil: '2027-01-01T00:00:00Z' }],
  };
  let licenseCount = 0;
  for (const [k, d] of RESTRICTED_DEPTHS.entries()) {
    for (const i of [...restricted[k]!].sort((a, b) => a - b)) {
      for (const t of terms[d] ?? []) {
        await placeLicense(deps, operator, ids[d]![i]!, t);
        licenseCount++;
      }
    }
  }

  const usage = new Map<string, Map<string, number>>();
  const useAt = (poolId: string, meter: string, units: number) => {
    let m = usage.get(poolId);
    if (!m) usage.set(poolId, (m = new Map()));
    m.set(meter, (m.get(meter) ?? 0) + units);
  };
  const busyLeaves = new Set<number>(licensedLeaves);
  while (busyLeaves.size < Math.min(LEAVES_IN_USE, counts[DEPTH]!)) busyLeaves.add(Math.floor(random() * counts[DEPTH]!));
  for (const leaf of busyLeaves) {
    const premium = randInt(0, 3);
    const users = premium + randInt(1, 7); // a premium user also takes a user (premium_users draws users)
    const devices = randInt(0, 20);
    for (let d = 0; d <= DEPTH; d++) {
      const poolId = ids[d]![ancestorIndex(leaf, d)]!;
      useAt(poolId, 'users', users);
      useAt(poolId, 'premium_users', premium);
      useAt(poolId, 'devices', devices);
    }
  }
  const usageRows = [...usage].flatMap(([poolId, m]) => [...m].map(([meterKey, used]) => ({ poolId, meterKey, used })));
  for (let i = 0; i < usageRows.length; i += 2000) await deps.db.insert(poolUsage).values(usageRows.slice(i, i + 2000));

  // Activation is not part of "inserting": one UPDATE puts the whole tree in service.
  const pgc = new pg.Client({ connectionString: dbUrl });
  await pgc.connect();
  await pgc.query(`UPDATE pools SET status = 'active' WHERE status = 'initializing'`);
  await pgc.query('VACUUM ANALYZE');
  const sizes = (
    await pgc.query(
      `SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname IN ('pools','audit_events','licenses','pool_usage') ORDER BY relname`,
    )
  ).rows as { relname: string; n_live_tup: string }[];
  const indexSizes = (
    await pgc.query(
      `SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) AS size FROM pg_stat_user_indexes WHERE relname = 'pools' ORDER BY indexrelname`,
    )
  ).rows as { indexrelname: string; size: string }[];
  await pgc.end();
  log(
    `setup (not timed against a target): ${licenseCount} licenses via placeLicense, ${usageRows.length} pool_usage rows on ${busyLeaves.size} leaf paths, ` +
      `all pools activated, VACUUM ANALYZE — ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
  );
  log(`rows: ${sizes.map((r) => `${r.relname} ${Number(r.n_live_tup).toLocaleString('en')}`).join(', ')}`);
  log(`pools indexes: ${indexSizes.map((r) => `${r.indexrelname} ${r.size}`).join(', ')}`);

  // --- State view through HTTP ---------------------------------------------------------------
  const leaves = ids[DEPTH]!;
  const licensedLeafIds = [...licensedLeaves].map((i) => leaves[i]!);
  // Uniform over all leaves, with one pick in ten from the leaves under licensed paths.
  const chooseLeaf = () => (random() < 0.1 ? pick(licensedLeafIds) : pick(leaves));
  const sample = await http('GET', `/v1/pools/${licensedLeafIds[0]}/state`, opToken);
  log(`\nsample state of a licensed leaf: serving=${sample.serving}, meters ${sample.meters
    .map((m: any) => `${m.key} limit=${m.limit} effective=${m.effectiveLimit} used=${m.used} available=${m.available}`)
    .join('; ')}, features ${sample.features.map((f: any) => `${f.key}=${f.enabled}`).join(' ')}, ${sample.licenses.length} license(s)`);

  const stateUrls = (n: number) => Array.from({ length: n }, () => `/v1/pools/${chooseLeaf()}/state`);
  log(
    `\nstate view over HTTP (client in a worker thread, operator token): ${WARMUP} warm-up requests, ` +
      `then ${REQUESTS} sequential, then ${REQUESTS} at concurrency ${CONCURRENCY}…`,
  );
  await load(stateUrls(WARMUP), opToken, 1);
  let cpu0 = cpuNow();
  const seq = await load(stateUrls(REQUESTS), opToken, 1);
  const seqCpu = cpuSince(cpu0);
  const seqStats = stats(seq.durations);
  const seqRate = REQUESTS / (seq.wallMs / 1000);
  await load(stateUrls(WARMUP), opToken, CONCURRENCY);
  cpu0 = cpuNow();
  const conc = await load(stateUrls(REQUESTS), opToken, CONCURRENCY);
  const concCpu = cpuSince(cpu0);
  log(`  sequential: ${cpuText(seqCpu, REQUESTS, 'request')} (the client thread included)`);
  log(`  concurrency ${CONCURRENCY}: ${cpuText(concCpu, REQUESTS, 'request')} (the client thread included)`);
  const concStats = stats(conc.durations);
  const concRate = REQUESTS / (conc.wallMs / 1000);

  // Calibration at the same concurrency: the HTTP floor (no database, no token) and a plain
  // pool read (authentication's 2 queries + 1), against the state view's 2 + 1 + 5 queries.
  const calibration: { name: string; rate: number; stats: Stats; cpuMs: number }[] = [];
  for (const [name, urls, token] of [
    ['GET /healthz (no token, no query)', Array<string>(REQUESTS).fill('/healthz'), ''],
    ['GET /v1/pools/{leaf} (3 queries)', stateUrls(REQUESTS).map((u) => u.replace(/\/state$/, '')), opToken],
  ] as const) {
    await load(urls.slice(0, WARMUP), token, CONCURRENCY);
    const c0 = cpuNow();
    const run = await load([...urls], token, CONCURRENCY);
    const used = cpuSince(c0);
    calibration.push({ name, rate: REQUESTS / (run.wallMs / 1000), stats: stats(run.durations), cpuMs: ((used.node + used.postgres) / REQUESTS) * 1000 });
  }

  // --- computeStateOf alone -------------------------------------------------------------------
  const statePools: PoolRow[] = [];
  for (let i = 0; i < REQUESTS; i++) statePools.push((await findPool(deps.db, chooseLeaf()))!);
  const at = clock.now();
  await runPool(WARMUP, 1, async (i) => void (await computeStateOf(deps.db, statePools[i % statePools.length]!, at)));
  cpu0 = cpuNow();
  const direct = stats((await runPool(REQUESTS, 1, async (i) => void (await computeStateOf(deps.db, statePools[i]!, at)))).durations);
  const directCpu = cpuSince(cpu0);
  log(`computeStateOf alone: ${cpuText(directCpu, REQUESTS, 'call')}`);

  // --- Subtree lists as an admin bound at a depth-1 pool (and one at depth 3) ---------------
  const adminPool1 = ids[1]![0]!;
  const adminPool3 = ids[3]![ancestorIndex(0, 3)]!;
  await http('POST', '/v1/accounts', null, { email: 'admin1@bench.test', name: 'Distributor admin', password });
  await http('POST', `/v1/pools/${adminPool1}/roles`, opToken, { email: 'admin1@bench.test', role: 'admin' });
  await http('POST', '/v1/accounts', null, { email: 'admin3@bench.test', name: 'Company admin', password });
  await http('POST', `/v1/pools/${adminPool3}/roles`, opToken, { email: 'admin3@bench.test', role: 'admin' });
  const admin1 = await loginAs('admin1@bench.test', password);
  const admin3 = await loginAs('admin3@bench.test', password);
  const subtree1 = 1 + FANOUT.slice(1).reduce((acc, _, k) => acc + FANOUT.slice(1, k + 2).reduce((a, b) => a * b, 1), 0);
  const subtree3 = 1 + FANOUT.slice(3).reduce((acc, _, k) => acc + FANOUT.slice(3, k + 4).reduce((a, b) => a * b, 1), 0);
  // A cursor in the middle of the depth-1 subtree (ids sort by creation time).
  const midCursor = (await http('GET', `/v1/pools?limit=500`, admin1)).data.at(-1).id as string;
  const aboveLeaves = ids[DEPTH - 1]![ancestorIndex(0, DEPTH - 1)]!;

  const listCases: { name: string; token: string; url: string }[] = [
    { name: `list, admin at depth 1 (${subtree1.toLocaleString('en')}-pool reach), first page`, token: admin1, url: '/v1/pools' },
    { name: 'list, admin at depth 1, page after 500 (cursor)', token: admin1, url: `/v1/pools?cursor=${midCursor}` },
    { name: 'list, admin at depth 1, ?parentId=<its depth-1 pool>', token: admin1, url: `/v1/pools?parentId=${adminPool1}` },
    { name: `list, admin at depth 1, ?parentId=<a depth-${DEPTH - 1} pool>`, token: admin1, url: `/v1/pools?parentId=${aboveLeaves}` },
    { name: `list, admin at depth 3 (${subtree3.toLocaleString('en')}-pool reach), first page`, token: admin3, url: '/v1/pools' },
    { name: 'list, operator at root, ?parentId=<root>', token: opToken, url: `/v1/pools?parentId=${root.id}` },
  ];
  const listResults: { name: string; stats: Stats; rows: number }[] = [];
  for (const c of listCases) {
    const first = await http('GET', c.url, c.token);
    await load(Array(50).fill(c.url), c.token, 1);
    listResults.push({ name: c.name, stats: stats((await load(Array(LIST_REQUESTS).fill(c.url), c.token, 1)).durations), rows: first.data.length });
  }

  // --- EXPLAIN ANALYZE of exactly what the code sends ----------------------------------------
  const leafPool = (await findPool(deps.db, licensedLeafIds[0]!))!;
  await explain(await capture(() => computeStateOf(deps.db, leafPool, at)), `computeStateOf of a licensed leaf (depth ${leafPool.depth})`);
  await explain(
    await capture(() => fetch(`${baseUrl}/v1/pools`, { headers: { authorization: `Bearer ${admin1}` } }).then((r) => r.arrayBuffer())),
    'GET /v1/pools as an admin at depth 1 (authentication, then the subtree list with path && ARRAY[…])',
  );
  await explain(
    (await capture(() => fetch(`${baseUrl}/v1/pools?parentId=${aboveLeaves}`, { headers: { authorization: `Bearer ${admin1}` } }).then((r) => r.arrayBuffer()))).slice(-1),
    `GET /v1/pools?parentId=<depth-${DEPTH - 1} pool> as an admin at depth 1 (the list query only)`,
  );
  await explain(
    (await capture(() => fetch(`${baseUrl}/v1/pools`, { headers: { authorization: `Bearer ${admin3}` } }).then((r) => r.arrayBuffer()))).slice(-1),
    'GET /v1/pools as an admin at depth 3 (the list query only)',
  );
  const subtreeQuery = {
    text: 'SELECT count(*) FROM pools WHERE path @> ARRAY[$1]::text[]',
    values: [adminPool1],
  };
  await explain([subtreeQuery], 'a subtree by `path @> ARRAY[id]` (GIN), counted');

  // --- Summary --------------------------------------------------------------------------------
  const rows: Row[] = [
    { what: `insert ${(total - 1).toLocaleString('en')} pools (depth ${DEPTH}), createPool ×${INSERT_CONCURRENCY}`, target: '≤ 60 s', value: `${insertSeconds.toFixed(1)} s`, verdict: total - 1 < 100_000 ? 'n/a (< 100,000 pools)' : insertSeconds <= 60 ? 'met' : 'MISSED' },
    { what: 'insert rate', target: '≥ 1,667 pools/s', value: `${Math.round(insertRate).toLocaleString('en')} pools/s`, verdict: insertRate >= 100_000 / 60 ? 'met' : 'MISSED' },
    { what: 'createPool latency p50 / p99', target: '', value: `${ms(insertLatency.p50)} / ${ms(insertLatency.p99)} ms` },
    { what: 'insert CPU per pool: node + postgres', target: '', value: `${ms((insertCpu.node / (total - 1)) * 1000)} + ${ms((insertCpu.postgres / (total - 1)) * 1000)} ms` },
    { what: 'state view HTTP, seq: p50 / p95 / p99 / max', target: '≤ 50 ms', value: `${ms(seqStats.p50)} / ${ms(seqStats.p95)} / ${ms(seqStats.p99)} / ${ms(seqStats.max)} ms`, verdict: latencyVerdict(seqStats, 50) },
    { what: 'state view HTTP, seq: throughput', target: '', value: `${Math.round(seqRate).toLocaleString('en')} req/s` },
    { what: `state view HTTP, ×${CONCURRENCY}: p50 / p95 / p99 / max`, target: '≤ 50 ms', value: `${ms(concStats.p50)} / ${ms(concStats.p95)} / ${ms(concStats.p99)} / ${ms(concStats.max)} ms`, verdict: latencyVerdict(concStats, 50) },
    { what: `state view HTTP, ×${CONCURRENCY}: throughput`, target: '', value: `${Math.round(concRate).toLocaleString('en')} req/s` },
    { what: 'state view CPU per request: node (server + client thread) + postgres', target: '', value: `${ms((concCpu.node / REQUESTS) * 1000)} + ${ms((concCpu.postgres / REQUESTS) * 1000)} ms` },
    ...calibration.map((c) => ({
      what: `for scale, ${c.name} ×${CONCURRENCY}: p50 / p99, req/s, CPU/req`,
      target: '',
      value: `${ms(c.stats.p50)} / ${ms(c.stats.p99)} ms, ${Math.round(c.rate)}/s, ${ms(c.cpuMs)} ms`,
    })),
    { what: 'computeStateOf alone: p50 / p99 / max', target: '', value: `${ms(direct.p50)} / ${ms(direct.p99)} / ${ms(direct.max)} ms` },
    { what: 'computeStateOf CPU per call: node + postgres', target: '', value: `${ms((directCpu.node / REQUESTS) * 1000)} + ${ms((directCpu.postgres / REQUESTS) * 1000)} ms` },
    ...listResults.map((r) => ({ what: `${r.name}: p50 / p99 (${r.rows} rows)`, target: '', value: `${ms(r.stats.p50)} / ${ms(r.stats.p99)} ms` })),
  ];
  const w0 = Math.max(...rows.map((r) => r.what.length));
  const w1 = Math.max(6, ...rows.map((r) => r.target.length));
  const w2 = Math.max(6, ...rows.map((r) => r.value.length));
  log('\n=== Summary ===');
  log(`${availableParallelism()} cores, ${serverVersion}; server, client and PostgreSQL on the same machine`);
  log(`tree: ${total.toLocaleString('en')} pools, depth ${DEPTH}, fan-out ${FANOUT.join('×')}; ${REQUESTS} state requests per run on random leaves (depth ${DEPTH})`);
  log(`${'measure'.padEnd(w0)}  ${'target'.padEnd(w1)}  ${'result'.padEnd(w2)}  verdict`);
  log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(w2)}  ${'-'.repeat(7)}`);
  for (const r of rows) log(`${r.what.padEnd(w0)}  ${r.target.padEnd(w1)}  ${r.value.padEnd(w2)}  ${r.verdict ?? ''}`.trimEnd());
  log(
    `\nAt ×${CONCURRENCY} the requests queue for the CPUs: latency ≈ concurrency / throughput ` +
      `(${CONCURRENCY} / ${Math.round(concRate)} req/s = ${ms((CONCURRENCY / concRate) * 1000)} ms). The insert is CPU-bound too: ` +
      `${ms(((insertCpu.node + insertCpu.postgres) / (total - 1)) * 1000)} ms of CPU per pool on ${availableParallelism()} cores ` +
      `allows at most ${Math.round((availableParallelism() / ((insertCpu.node + insertCpu.postgres) / (total - 1))))} pools/s.`,
  );
}

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
// Nothing should be left running; should a stray socket keep the loop alive, stop anyway.
setTimeout(() => process.exit(), 2_000).unref();
