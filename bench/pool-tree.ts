/**
 * Benchmark of the console's pool tree (issue 14, item 4) on 100,000 pools: where a caller's
 * tree starts, the children of a node with what the tree shows of each (children count, status,
 * kind, used/limit per meter), and a search by name whose hits carry their path.
 *
 *   npm run bench:pool-tree                         (or: npx tsx bench/pool-tree.ts)
 *   options: --driver postgres,pglite  --distributors 10  --dealers 100  --buildings 99  --requests 200  --keep  --seed 42
 *
 * PostgreSQL is BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
 * a fresh `lp_bench_tree_<random>` database is created, migrated, filled and dropped at the end
 * (kept with --keep). PGlite runs in memory, as `npm start` runs it on disk. It prints numbers;
 * it asserts nothing.
 *
 * Data (untimed). Through the API: a vendor root, its operator, its catalog (seats; apps, which
 * draw on seats), an admin of the first distributor. Then by SQL, for speed: `--distributors` ×
 * `--dealers` × `--buildings` pools under the root (default 10 × 100 × 99 = 100,010 pools with
 * the root), every distributor and dealer restricted with a license, usage on every building
 * (0–2 seats) summed up onto its ancestors as the claim engine keeps it; then VACUUM ANALYZE.
 *
 * Timed, over real HTTP (the app listening on 127.0.0.1, one request at a time, keep-alive), each
 * `--requests` times after a warm-up, the round trip as the client sees it and the server's own
 * time (Fastify's `reply.elapsedTime`), and the statements sent per request (PostgreSQL):
 *   - the reference: GET / of a Fastify hello-world in the same process, by the same client;
 *   - GET /v1/pools?top=true&tree=true (the tree's first screen), as the operator and as the admin;
 *   - GET /v1/pools?parentId=…&tree=true&limit=50: a random distributor's children (100), a
 *     random dealer's (99) — expanding a node;
 *   - GET /v1/pools?q=…&tree=true&limit=20: one building by its number (one hit), and a common
 *     fragment (thousands of hits, a page of 20), as the operator and as the admin (a subtree).
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { systemClock } from '../src/lib/clock.js';
import type { Deps } from '../src/lib/context.js';
import { SecretKeys } from '../src/lib/secret-keys.js';
import { ensureFirstSuperuser } from '../src/modules/accounts/accounts.service.js';
import { createScratchDatabase, prng } from '../test/concurrency/fleet.js';
import { seedPoolTree } from './pool-tree-data.js';
import { benchApi, BENCH_PASSWORD } from './api.js';
import { latencyStats, machineLine } from './report.js';

const { values: args } = parseArgs({
  options: {
    driver: { type: 'string', default: 'postgres,pglite' },
    distributors: { type: 'string', default: '10' },
    dealers: { type: 'string', default: '100' },
    buildings: { type: 'string', default: '99' },
    requests: { type: 'string', default: '200' },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});
const DRIVERS = args.driver!.split(',') as ('postgres' | 'pglite')[];
const DISTRIBUTORS = Number.parseInt(args.distributors!, 10);
const DEALERS = Number.parseInt(args.dealers!, 10);
const BUILDINGS = Number.parseInt(args.buildings!, 10);
const REQUESTS = Number.parseInt(args.requests!, 10);
const WARMUP = 20;
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SUPERUSER = { email: 'bench@licensepool.test', password: BENCH_PASSWORD };
const log = (line: string) => process.stdout.write(`${line}\n`);
const random = prng(Number.parseInt(args.seed!, 10));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const ms = (n: number) => n.toFixed(2).padStart(7);

// Statements sent through node-postgres, counted (PGlite has its own protocol and is not counted).
let statements = 0;
const originalQuery = pg.Client.prototype.query as (...a: unknown[]) => unknown;
pg.Client.prototype.query = function counted(this: pg.Client, ...a: unknown[]) {
  statements++;
  return originalQuery.apply(this, a);
} as typeof pg.Client.prototype.query;

/** A Fastify hello-world in this process: the reference every figure is read against. */
async function helloWorld() {
  const hello = Fastify({ logger: false });
  hello.get('/', async () => ({ hello: 'world' }));
  await hello.listen({ port: 0, host: '127.0.0.1' });
  return { base: `http://127.0.0.1:${(hello.server.address() as AddressInfo).port}`, close: () => hello.close() };
}

async function runOn(driver: 'postgres' | 'pglite') {
  const scratch = driver === 'postgres' ? await createScratchDatabase(SERVER_URL, 'lp_bench_tree') : undefined;
  const database: Database = scratch ? await openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 10 }) : await openDatabase({ driver: 'pglite' });
  const hello = await helloWorld();
  try {
    await database.migrate();
    const db = database.db;
    const deps: Deps = { db, clock: systemClock, log: pino({ level: 'warn' }), secretKeys: SecretKeys.generate() };
    await ensureFirstSuperuser(deps, SUPERUSER.email, SUPERUSER.password);
    const app = await buildApp({ deps });
    const serverTimes = new Map<string, number[]>();
    let current = '';
    app.addHook('onResponse', async (request, reply) => {
      if (request.routeOptions.url === '/v1/pools' && reply.statusCode === 200) serverTimes.get(current)?.push(reply.elapsedTime);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const client = benchApi(base);
    const api = async (method: string, path: string, token: string | null, body?: unknown) => (await client.api(method, path, token, body)).json;

    // -----------------------------------------------------------------------------------------
    // Data
    const su = await client.login(SUPERUSER.email, SUPERUSER.password);
    const { root, operator, distributors, dealers, buildings, total, loadSeconds } = await seedPoolTree(db, client, su, { distributors: DISTRIBUTORS, dealers: DEALERS, buildings: BUILDINGS });
    log(`\n== ${driver}: ${total.toLocaleString('en')} pools loaded by SQL in ${loadSeconds.toFixed(1)} s`);

    const reseller = await client.signUp('admin@distributor01.test');
    await api('POST', `/v1/pools/${distributors[0]}/roles`, operator, { email: 'admin@distributor01.test', role: 'admin' });
    const firstDealers = dealers.slice(0, DEALERS);

    // -----------------------------------------------------------------------------------------
    // Timed
    interface Case {
      name: string;
      url: () => string;
      token: string | null;
      base?: string;
    }
    const cases: Case[] = [
      { name: 'reference: Fastify hello-world GET /', url: () => '/', token: null, base: hello.base },
      { name: 'first screen: top=true&tree=true (operator)', url: () => '/v1/pools?top=true&tree=true', token: operator },
      { name: 'first screen: top=true&tree=true (admin)', url: () => '/v1/pools?top=true&tree=true', token: reseller },
      { name: `expand the root (${DISTRIBUTORS} children)`, url: () => `/v1/pools?parentId=${root}&tree=true&limit=50`, token: operator },
      { name: `expand a distributor (${DEALERS} children, a page of 50)`, url: () => `/v1/pools?parentId=${pick(distributors)}&tree=true&limit=50`, token: operator },
      { name: `expand a dealer (${BUILDINGS} children, a page of 50)`, url: () => `/v1/pools?parentId=${pick(dealers)}&tree=true&limit=50`, token: operator },
      { name: 'expand a dealer (admin of its distributor)', url: () => `/v1/pools?parentId=${pick(firstDealers)}&tree=true&limit=50`, token: reseller },
      {
        name: 'search one building by number (operator)',
        url: () => `/v1/pools?q=${encodeURIComponent(`Building ${String(1 + Math.floor(random() * buildings.length)).padStart(6, '0')}`)}&tree=true&limit=20`,
        token: operator,
      },
      { name: 'search a common fragment "ing 01" (operator)', url: () => `/v1/pools?q=${encodeURIComponent('ing 01')}&tree=true&limit=20`, token: operator },
      { name: 'search a common fragment "ing 00" (admin, a subtree)', url: () => `/v1/pools?q=${encodeURIComponent('ing 00')}&tree=true&limit=20`, token: reseller },
    ];
    log(`${'request'.padEnd(58)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)} ms  server p50  statements/request  items`);
    for (const c of cases) {
      current = c.name;
      serverTimes.set(c.name, []);
      const fetchOnce = async () => {
        const res = await fetch((c.base ?? base) + c.url(), { headers: c.token ? { authorization: `Bearer ${c.token}` } : {} });
        const body = (await res.json()) as { data?: unknown[] };
        if (!res.ok) throw new Error(`${c.url()} → ${res.status} ${JSON.stringify(body)}`);
        return body.data?.length ?? 0;
      };
      for (let i = 0; i < WARMUP; i++) await fetchOnce();
      serverTimes.set(c.name, []);
      const samples: number[] = [];
      let items = 0;
      const before = statements;
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = performance.now();
        items = await fetchOnce();
        samples.push(performance.now() - t0);
      }
      const perRequest = driver === 'postgres' && c.base === undefined ? ((statements - before) / REQUESTS).toFixed(1) : '–';
      const s = latencyStats(samples);
      const server = serverTimes.get(c.name)!;
      const serverP50 = server.length > 0 ? latencyStats(server).p50 : Number.NaN;
      log(`${c.name.padEnd(58)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)}     ${Number.isNaN(serverP50) ? '     –' : ms(serverP50)}  ${perRequest.padStart(18)}  ${String(items).padStart(5)}`);
    }
    await app.close();
  } finally {
    await hello.close();
    await database.close();
    if (scratch) {
      if (args.keep) log(`kept: ${scratch.url}`);
      else await scratch.drop();
    }
  }
}

log(machineLine());
for (const driver of DRIVERS) await runOn(driver);
