/**
 * Benchmark of license lists on PostgreSQL (issue 5's speed targets):
 *   - a filtered list over 1,000,000 licenses answers with p95 ≤ 100 ms;
 *   - a CSV export of 100,000 rows streams in constant memory.
 *
 *   npm run bench:licenses                   (or: npx tsx bench/licenses.ts)
 *   options: --licenses 1000000  --requests 100  --full-export  --keep  --seed 42
 *            --browser (also the console's list in Chromium, bench/console-licenses.ts; `npm run build` first)
 *            --browser-changes 40
 *
 * The server is BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
 * a fresh `lp_bench_lic_<random>` database is created, migrated, filled and dropped at the end
 * (kept with --keep). It prints numbers; it asserts nothing.
 *
 * Data (untimed). Through the API: a vendor root, its operator, a manager of one region. Then
 * by SQL, for speed: 10 regions × 100 cities × 10 sites (11,011 pools with the root), and
 * `--licenses` licenses by one INSERT … SELECT generate_series, spread over the 10,000 sites
 * (and 5 % on no pool: `pending_provision`). Statuses 5 % pending_provision, 5 % pending_start,
 * 65 % in_use (about 1 in 1,000 of them past its end, so `expired` by the clock only), 3 %
 * access_denied, 15 % expired, 7 % finalized; ends spread over the past 3 and next 5 years;
 * 80 % made by request, with a key, a partner (500 of them) and a distributor; names Basic,
 * Premium, Enterprise, Hospitality. The list indexes are dropped for the load and built again
 * from their own definitions (bulk builds are far faster than a million inserts into GIN
 * indexes); then VACUUM ANALYZE.
 *
 * Timed, over real HTTP (the app listening on 127.0.0.1, one request at a time, keep-alive):
 * GET /v1/licenses as the root's operator with each filter below, `--requests` times with
 * varied values (random dates, pools, key fragments), after a warm-up; the round trip as the
 * client sees it and the server's own time (Fastify's `reply.elapsedTime`). Then EXPLAIN
 * (ANALYZE, BUFFERS) of a representative query per filter, built by the same code the route runs.
 *
 * CSV: GET /v1/licenses.csv for about 10,000 and 100,000 licenses in use ending soon, and one
 * region's 100,000 (a subtree), with --full-export also all 1,000,000; the client reads the
 * stream and throws it away. Each export runs twice: once timed, once with a full GC every
 * 100 ms and the heap and RSS left recorded: constant memory means the same growth for 10,000
 * and 100,000 rows.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { openDatabase } from '../src/db/client.js';
import { systemClock } from '../src/lib/clock.js';
import type { Deps } from '../src/lib/context.js';
import { SecretKeys } from '../src/lib/secret-keys.js';
import { newId } from '../src/lib/ids.js';
import { ensureFirstSuperuser } from '../src/modules/accounts/accounts.service.js';
import { licensePageIdsQuery, type LicenseListFilter } from '../src/modules/licenses/licenses-list.repo.js';
import { textOf } from '../src/modules/licenses/licenses.list.js';
import { createScratchDatabase, prng } from '../test/concurrency/fleet.js';
import { benchApi, BENCH_PASSWORD } from './api.js';
import { timeConsoleFilterChanges } from './console-licenses.js';
import { latencyStats, machineLine } from './report.js';

const { values: args } = parseArgs({
  options: {
    licenses: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '100' },
    'full-export': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    browser: { type: 'boolean', default: false },
    'browser-changes': { type: 'string', default: '40' },
  },
});
const LICENSES = Number.parseInt(args.licenses!, 10);
const REQUESTS = Number.parseInt(args.requests!, 10);
const WARMUP = 10;
const REGIONS = 10;
const CITIES = 100;
const SITES = 10;
/** Partners: every first word with every second word, 500 names. */
const PARTNER_WORDS = [
  ['Acme', 'Nordic', 'Blue', 'Atlas', 'Vertex', 'Iberia', 'Orbit', 'Summit', 'Delta', 'Pioneer', 'Alpine', 'Coastal', 'Metro',
    'Quantum', 'Harbor', 'Crystal', 'Falcon', 'Granite', 'Horizon', 'Lumen', 'Meridian', 'Nova', 'Polar', 'Sierra', 'Zenith'],
  ['Networks', 'Integrations', 'Systems', 'Telecom', 'Solutions', 'Wireless', 'Connect', 'Hospitality', 'Digital', 'Partners',
    'Services', 'Technologies', 'Communications', 'Labs', 'Group', 'Infrastructure', 'Security', 'Data', 'Cloud', 'Media'],
] as const;
const PARTNERS = PARTNER_WORDS[0].length * PARTNER_WORDS[1].length;
const partnerName = (i: number) => `${PARTNER_WORDS[0][i % 25]} ${PARTNER_WORDS[1][Math.floor(i / 25) % 20]}`;
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SUPERUSER = { email: 'bench@licensepool.test', password: BENCH_PASSWORD };
const DAY = 86_400_000;
const log = (line: string) => process.stdout.write(`${line}\n`);
setFlagsFromString('--expose-gc');
/** A full garbage collection, so what the heap holds afterwards is what is still in use. */
const gc = runInNewContext('gc') as () => void;
const random = prng(Number.parseInt(args.seed!, 10));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const quantiles = latencyStats;
const ms = (n: number) => n.toFixed(1).padStart(6);
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

const scratch = await createScratchDatabase(SERVER_URL, 'lp_bench_lic');
const database = await openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 10 });
const admin = new pg.Client({ connectionString: scratch.url });
try {
  log(machineLine());
  await database.migrate();
  await admin.connect();
  log(`PostgreSQL: ${(await admin.query('SHOW server_version')).rows[0].server_version}`);
  const deps: Deps = { db: database.db, clock: systemClock, log: pino({ level: 'warn' }), secretKeys: SecretKeys.generate() };
  await ensureFirstSuperuser(deps, SUPERUSER.email, SUPERUSER.password);
  // --browser: the built console too (dist/web), for bench/console-licenses.ts.
  const app = await buildApp({ deps, ...(args.browser ? { consoleDir: fileURLToPath(new URL('../dist/web', import.meta.url)) } : {}) });
  const serverTimes: number[] = [];
  app.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === '/v1/licenses' && reply.statusCode === 200) serverTimes.push(reply.elapsedTime);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const client = benchApi(base);
  const { login, signUp } = client;
  const api = async (method: string, path: string, token: string | null, body?: unknown) => (await client.api(method, path, token, body)).json;

  // -------------------------------------------------------------------------------------------
  // Data
  const su = await login(SUPERUSER.email, SUPERUSER.password);
  const root = (await api('POST', '/v1/pools', su, { name: 'Octopus', kind: 'vendor', restricted: false })).id as string;
  const operator = await signUp('operator@octopus.test');
  await api('POST', `/v1/pools/${root}/roles`, su, { email: 'operator@octopus.test', role: 'operator' });

  const loadStart = performance.now();
  const regions = Array.from({ length: REGIONS }, () => newId('pool'));
  const cities = Array.from({ length: REGIONS * CITIES }, () => newId('pool'));
  const sites = Array.from({ length: REGIONS * CITIES * SITES }, () => newId('pool'));
  const insertLevel = (ids: string[], parentOf: (i: number) => string, nameOf: (i: number) => string, kind: string) =>
    admin.query(
      `INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, queue)
       SELECT u.id, p.root_id, p.id, p.path || u.id, p.depth + 1, u.name, $4, 'active', '{"enabled": false, "claimTimeoutSeconds": 300}'
       FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, parent, name) JOIN pools p ON p.id = u.parent`,
      [ids, ids.map((_, i) => parentOf(i)), ids.map((_, i) => nameOf(i)), kind],
    );
  await insertLevel(regions, () => root, (i) => `Region ${String(i + 1).padStart(2, '0')}`, 'distributor');
  await insertLevel(cities, (i) => regions[Math.floor(i / CITIES)]!, (i) => `City ${String(i + 1).padStart(4, '0')}`, 'company');
  await insertLevel(sites, (i) => cities[Math.floor(i / SITES)]!, (i) => `Hotel Site ${String(i + 1).padStart(6, '0')}`, 'site');
  await admin.query(`UPDATE pools SET status = 'active' WHERE id = $1`, [root]);
  const manager = await signUp('manager@octopus.test');
  await api('POST', `/v1/pools/${regions[0]}/roles`, operator, { email: 'manager@octopus.test', role: 'manager' });

  // The list indexes, dropped for the load and built again from their own definitions.
  const listIndexes = (
    await admin.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'licenses' AND indexname NOT IN ('licenses_pkey', 'licenses_key_key')`,
    )
  ).rows;
  // Statistics targets of index columns (migration 0011) go with the index: set them again.
  const targets = (
    await admin.query<{ index: string; column: number; target: number }>(
      `SELECT a.attrelid::regclass::text AS index, a.attnum AS column, a.attstattarget AS target FROM pg_attribute a
       JOIN pg_index i ON i.indexrelid = a.attrelid WHERE i.indrelid = 'licenses'::regclass AND a.attstattarget > 0`,
    )
  ).rows;
  for (const ix of listIndexes) await admin.query(`DROP INDEX ${ix.indexname}`);
  await admin.query('CREATE TEMP TABLE bench_sites (idx int PRIMARY KEY, id text NOT NULL)');
  await admin.query('INSERT INTO bench_sites SELECT i - 1, id FROM unnest($1::text[]) WITH ORDINALITY AS s(id, i)', [sites]);
  const now = new Date();
  // b: the license's kind (0–99); u: where its dates fall; years: its contract.
  await admin.query(
    `INSERT INTO licenses (id, root_id, pool_id, name, status, limits, features, valid_from, valid_until, key, term_months,
                           start_rule, connection_threshold, billing_interval, contract_years, request, activated_at, created_at, updated_at)
     SELECT 'lic_0' || lpad(to_hex(g), 10, '0') || substr(md5(g::text), 1, 15),
            $1,
            CASE WHEN b < 5 THEN NULL ELSE s.id END,
            (ARRAY['Basic', 'Premium', 'Enterprise', 'Hospitality'])[1 + g % 4],
            CASE WHEN b < 5 THEN 'pending_provision' WHEN b < 10 THEN 'pending_start' WHEN b < 75 THEN 'in_use'
                 WHEN b < 78 THEN 'access_denied' WHEN b < 93 THEN 'expired' ELSE 'finalized' END,
            jsonb_build_object('aps', 10 + g % 90),
            ARRAY['guest_access'],
            CASE WHEN b < 10 THEN NULL ELSE ends - make_interval(years => years) END,
            CASE WHEN b < 10 THEN NULL ELSE ends END,
            CASE WHEN keyed THEN substr(k, 1, 5) || '-' || substr(k, 6, 5) || '-' || substr(k, 11, 5) || '-' || substr(k, 16, 5) || '-' || substr(k, 21, 5) END,
            years * 12,
            CASE WHEN b BETWEEN 5 AND 9 THEN 'on_connections' ELSE 'on_activation' END,
            CASE WHEN b BETWEEN 5 AND 9 THEN 5 END,
            CASE WHEN keyed THEN (ARRAY['monthly', 'annual'])[1 + g % 2] END,
            CASE WHEN keyed THEN years END,
            CASE WHEN keyed THEN jsonb_build_object('partner', ($5::text[])[1 + g % 25] || ' ' || ($6::text[])[1 + (g / 25) % 20], 'distributor', 'Distributor ' || (g % 20),
                                                   'accessPoints', 10 + g % 90, 'modules', jsonb_build_array('guest_access')) END,
            CASE WHEN keyed AND b >= 5 THEN created + interval '1 day' END,
            created, created
     FROM (
       SELECT g, b, years, keyed, created,
              upper(translate(md5('k' || g), '0123456789abcdef', '3467acdefghjkmnp')) AS k,
              -- in_use / access_denied end in the next 5 years (about 1 in 1,000 just past: expired by the clock);
              -- expired ones in the past 3 years; finalized ones anywhere.
              CASE WHEN b < 78 THEN $2::timestamptz + (u * 1826 - 2) * interval '1 day'
                   WHEN b < 93 THEN $2::timestamptz - (u * 1095 + 1) * interval '1 day'
                   ELSE $2::timestamptz + (u * 2900 - 1095) * interval '1 day' END AS ends
       FROM (
         SELECT g, (hashint4(g) & 2147483647) % 100 AS b, 1 + (hashint4(g + 7) & 2147483647) % 5 AS years,
                (hashint4(g + 13) & 2147483647) % 5 <> 0 OR (hashint4(g) & 2147483647) % 100 < 10 AS keyed,
                ((hashint4(g + 29) & 2147483647) % 1000000) / 1000000.0 AS u,
                $2::timestamptz - interval '3 years' + (g * $3::float8) * interval '1 microsecond' AS created
         FROM generate_series(0, $4::int - 1) g
       ) x
     ) y
     JOIN bench_sites s ON s.idx = g % ${sites.length}`,
    [root, now.toISOString(), Math.floor((3 * 365 * DAY * 1000) / LICENSES), LICENSES, PARTNER_WORDS[0], PARTNER_WORDS[1]],
  );
  const inserted = performance.now();
  await admin.query('SET maintenance_work_mem = $$1GB$$');
  for (const ix of listIndexes) await admin.query(ix.indexdef);
  for (const t of targets) await admin.query(`ALTER INDEX ${t.index} ALTER COLUMN ${t.column} SET STATISTICS ${t.target}`);
  const indexed = performance.now();
  await admin.query('VACUUM ANALYZE licenses');
  await admin.query('VACUUM ANALYZE pools');
  const counts = (
    await admin.query<{ status: string; n: string }>(
      `SELECT CASE WHEN status <> 'finalized' AND valid_until <= now() THEN 'expired' ELSE status END AS status, count(*) AS n FROM licenses GROUP BY 1 ORDER BY 1`,
    )
  ).rows;
  log(
    `\nloaded ${LICENSES.toLocaleString('en')} licenses on ${(sites.length + cities.length + regions.length + 1).toLocaleString('en')} pools: ` +
      `insert ${((inserted - loadStart) / 1000).toFixed(1)} s, ${listIndexes.length} list indexes ${((indexed - inserted) / 1000).toFixed(1)} s, ` +
      `VACUUM ANALYZE ${((performance.now() - indexed) / 1000).toFixed(1)} s`,
  );
  log(`statuses as of now: ${counts.map((c) => `${c.status} ${Number(c.n).toLocaleString('en')}`).join(', ')}`);
  const sizes = (
    await admin.query<{ name: string; size: string }>(
      `SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size FROM pg_class c
       WHERE c.relname LIKE 'licenses%' OR c.relname = 'pools_name_trgm' ORDER BY pg_relation_size(c.oid) DESC`,
    )
  ).rows;
  log(`sizes: ${sizes.map((s) => `${s.name} ${s.size}`).join(', ')}`);

  // -------------------------------------------------------------------------------------------
  // Lists
  const someKeys = (await admin.query<{ key: string }>('SELECT key FROM licenses WHERE key IS NOT NULL ORDER BY id LIMIT 1000 OFFSET 5000')).rows.map(
    (r) => r.key,
  );
  const iso = (d: Date) => d.toISOString();
  const window = (days: number) => {
    const from = new Date(now.getTime() + Math.floor(random() * 700) * DAY);
    return { from: iso(from), to: iso(new Date(from.getTime() + days * DAY)) };
  };
  /** A key fragment as a person types it: 7 characters across a dash, lower case. */
  const keyFragment = () => {
    const key = pick(someKeys);
    const at = Math.floor(random() * 3) * 6 + 2;
    return key.slice(at, at + 8).toLowerCase();
  };
  const padded = (n: number, width: number) => String(n).padStart(width, '0');

  interface Case {
    name: string;
    token: string;
    url: () => string;
  }
  const op = operator;
  const cases: Case[] = [
    { name: 'no filter, id order (first page)', token: op, url: () => '/v1/licenses' },
    { name: 'status=in_use,pending_start', token: op, url: () => '/v1/licenses?status=in_use,pending_start' },
    { name: 'status=access_denied,finalized,pending_provision', token: op, url: () => '/v1/licenses?status=access_denied,finalized,pending_provision' },
    { name: 'status=expired (stored or by the clock)', token: op, url: () => '/v1/licenses?status=expired&sort=-validUntil' },
    {
      name: 'ends in a 30-day window (id order)',
      token: op,
      url: () => {
        const w = window(30);
        return `/v1/licenses?endsAfter=${w.from}&endsBefore=${w.to}`;
      },
    },
    {
      name: 'ends in a 30-day window, sort=validUntil',
      token: op,
      url: () => {
        const w = window(30);
        return `/v1/licenses?endsAfter=${w.from}&endsBefore=${w.to}&sort=validUntil`;
      },
    },
    {
      name: 'status=in_use,access_denied + ends within 90 days, sort=validUntil',
      token: op,
      url: () => `/v1/licenses?status=in_use,access_denied&endsBefore=${iso(new Date(now.getTime() + 90 * DAY))}&sort=validUntil`,
    },
    { name: 'subtree=region (100,000), sort=-validUntil', token: op, url: () => `/v1/licenses?subtree=${pick(regions)}&sort=-validUntil` },
    { name: 'subtree=city (1,000), sort=validUntil', token: op, url: () => `/v1/licenses?subtree=${pick(cities)}&sort=validUntil` },
    { name: 'poolId=site (100), status=in_use', token: op, url: () => `/v1/licenses?poolId=${pick(sites)}&status=in_use` },
    { name: 'q=key fragment ("xxx-xxxx", lower case)', token: op, url: () => `/v1/licenses?q=${encodeURIComponent(keyFragment())}` },
    { name: 'q=partner ("nordic telecom"; 1,600)', token: op, url: () => `/v1/licenses?q=${encodeURIComponent(partnerName(Math.floor(random() * PARTNERS)).toLowerCase())}` },
    { name: 'q=partner word ("telecom"; 40,000)', token: op, url: () => `/v1/licenses?q=${encodeURIComponent(pick(PARTNER_WORDS[1]).toLowerCase())}` },
    { name: 'q=pool name ("site 004711"; 100)', token: op, url: () => `/v1/licenses?q=${encodeURIComponent(`site ${padded(1 + Math.floor(random() * sites.length), 6)}`)}` },
    { name: 'q=name ("premium"; 250,000), sort=-createdAt', token: op, url: () => '/v1/licenses?q=premium&sort=-createdAt' },
    { name: 'q=partner + status=in_use, sort=validUntil', token: op, url: () => `/v1/licenses?q=${encodeURIComponent(partnerName(Math.floor(random() * PARTNERS)))}&status=in_use&sort=validUntil` },
    { name: 'q=name ("premium") + status=expired, sort=-validUntil', token: op, url: () => '/v1/licenses?q=premium&status=expired&sort=-validUntil' },
    { name: 'status=expired, sort=-createdAt', token: op, url: () => '/v1/licenses?status=expired&sort=-createdAt' },
    { name: 'status=pending_start,access_denied, sort=validUntil', token: op, url: () => '/v1/licenses?status=pending_start,access_denied&sort=validUntil' },
    { name: 'sort=-createdAt', token: op, url: () => '/v1/licenses?sort=-createdAt' },
    { name: "manager of a region (its reach), sort=validUntil", token: manager, url: () => '/v1/licenses?sort=validUntil' },
  ];

  log(`\n=== GET /v1/licenses over ${LICENSES.toLocaleString('en')} licenses: ${REQUESTS} requests per filter, one at a time, limit 50 (ms) ===`);
  log(`${'filter'.padEnd(66)} round trip: p50    p95    p99    max │ server p95   rows`);
  const allTrips: number[] = [];
  for (const c of cases) {
    for (let i = 0; i < WARMUP; i++) await api('GET', c.url(), c.token);
    serverTimes.length = 0;
    const trips: number[] = [];
    let rows = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const url = c.url();
      const t0 = performance.now();
      const page = await api('GET', url, c.token);
      trips.push(performance.now() - t0);
      rows += page.data.length;
    }
    allTrips.push(...trips);
    const q = quantiles(trips);
    const s = quantiles(serverTimes);
    log(`${c.name.padEnd(66)} ${ms(q.p50)} ${ms(q.p95)} ${ms(q.p99)} ${ms(q.max)} │ ${ms(s.p95)} ${(rows / REQUESTS).toFixed(1).padStart(6)}`);
  }

  // Walking pages: the cursor of each page gives the next, 10 pages deep.
  for (const sort of ['validUntil', '-createdAt'] as const) {
    const trips: number[] = [];
    for (let r = 0; r < 20; r++) {
      let cursor: string | null = null;
      for (let p = 0; p < 10; p++) {
        const t0 = performance.now();
        const page: { nextCursor: string | null } = await api('GET', `/v1/licenses?status=in_use&sort=${sort}&limit=100${cursor ? `&cursor=${cursor}` : ''}`, op);
        trips.push(performance.now() - t0);
        cursor = page.nextCursor;
      }
    }
    allTrips.push(...trips);
    const q = quantiles(trips);
    log(`${`status=in_use, sort=${sort}, limit 100, pages 1–10 by cursor`.padEnd(66)} ${ms(q.p50)} ${ms(q.p95)} ${ms(q.p99)} ${ms(q.max)} │`);
  }
  const all = quantiles(allTrips);
  log(`${'all of the above'.padEnd(66)} ${ms(all.p50)} ${ms(all.p95)} ${ms(all.p99)} ${ms(all.max)} │ (n=${allTrips.length})`);

  if (args.browser) {
    // -------------------------------------------------------------------------------------------
    // The console in Chromium: a filter change, end to end (bench/console-licenses.ts).
    const changes = Number.parseInt(args['browser-changes']!, 10);
    const figures = await timeConsoleFilterChanges(base, { email: 'operator@octopus.test', password: BENCH_PASSWORD }, changes, random);
    log('\n=== The console\'s license list in Chromium: a filter change until its rows are on screen (ms) ===');
    log(`login → list's first screen ${figures.firstScreen.toFixed(0)} ms`);
    log(`${''.padEnd(40)}    p50    p95    p99    max`);
    for (const [title, q] of [['status check box toggled', figures.byStatus], ['end date range typed', figures.byDate], ['all changes', figures.all]] as const) {
      log(`${title.padEnd(40)} ${ms(q.p50)} ${ms(q.p95)} ${ms(q.p99)} ${ms(q.max)} (n=${q.n})`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // EXPLAIN of the queries the route runs, as the root's operator reaches them.
  const scope = { roots: [root], boundInRoots: [], subtrees: { ids: [], roots: [] } };
  const filter = (f: Partial<LicenseListFilter>): LicenseListFilter => ({ scope, sort: 'id', limit: 51, now, ...f });
  const w30 = window(30);
  const fragment = keyFragment();
  const text = (raw: string) => textOf(database.db, raw, [root]);
  const plans: [string, LicenseListFilter][] = [
    ['status=access_denied,finalized,pending_provision', filter({ statuses: ['access_denied', 'finalized', 'pending_provision'] })],
    ['ends in a 30-day window (id order)', filter({ endsAfter: new Date(w30.from), endsBefore: new Date(w30.to) })],
    ['ends in a 30-day window, sort=validUntil, second page', filter({ endsAfter: new Date(w30.from), endsBefore: new Date(w30.to), sort: 'validUntil', after: { value: w30.from.replace('Z', '000Z'), id: 'lic_00000000000000000000000000' } })],
    ['subtree=region, sort=-validUntil', filter({ scope: 'all', subtree: { id: regions[3]!, rootId: root }, sort: '-validUntil' })],
    ['subtree=city, sort=validUntil', filter({ scope: 'all', subtree: { id: cities[42]!, rootId: root }, sort: 'validUntil' })],
    ['q=key fragment', filter({ text: await text(fragment) })],
    ['q=partner, status=in_use, sort=validUntil', filter({ text: await text('nordic telecom'), statuses: ['in_use'], sort: 'validUntil' })],
    ['status=expired, sort=-validUntil', filter({ statuses: ['expired'], sort: '-validUntil' })],
    ['status=expired, sort=-createdAt', filter({ statuses: ['expired'], sort: '-createdAt' })],
    ['status=in_use, sort=validUntil, after a cursor', filter({ statuses: ['in_use'], sort: 'validUntil', after: { value: new Date(now.getTime() + 400 * DAY).toISOString().replace('Z', '000Z'), id: 'lic_00000000000000000000000000' } })],
    ['q=pool name, sort=validUntil', filter({ text: await text('site 004711'), sort: 'validUntil' })],
    ['q=name "premium", sort=-createdAt', filter({ text: await text('premium'), sort: '-createdAt' })],
    ["manager of a region, sort=validUntil", filter({ scope: { roots: [], boundInRoots: [], subtrees: { ids: [regions[0]!], roots: [root] } }, sort: 'validUntil' })],
  ];
  for (const [title, f] of plans) {
    const { sql, params } = new PgDialect().sqlToQuery(licensePageIdsQuery(f));
    log(`\n=== EXPLAIN (ANALYZE, BUFFERS): ${title} ===`);
    const res = await admin.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params as unknown[]);
    for (const row of res.rows as { 'QUERY PLAN': string }[]) log(`   ${row['QUERY PLAN']}`);
  }

  // -------------------------------------------------------------------------------------------
  // CSV exports: time and memory.
  log('\n=== GET /v1/licenses.csv: streamed, read and dropped by the client ===');
  const days = (n: number) => iso(new Date(now.getTime() + n * DAY));
  const exports: [string, string][] = [
    ['in_use, ending in the next 30 days', `/v1/licenses.csv?status=in_use&endsBefore=${days(30)}&sort=validUntil`],
    ['in_use, ending in the next 300 days', `/v1/licenses.csv?status=in_use&endsBefore=${days(300)}&sort=validUntil`],
    ['one region (subtree)', `/v1/licenses.csv?subtree=${regions[1]}`],
    ...(args['full-export'] ? ([['everything', '/v1/licenses.csv']] as [string, string][]) : []),
  ];
  /**
   * Reads one export to its end. With `sampleLive`, every 100 ms a full GC runs and the heap and
   * RSS left are recorded: memory still in use, not garbage V8 has not collected yet (which
   * grows with the bytes streamed and says nothing of what the export holds).
   */
  const readExport = async (url: string, sampleLive: boolean) => {
    gc();
    const before = process.memoryUsage();
    let liveHeap = before.heapUsed;
    let liveRss = before.rss;
    const sampler = sampleLive
      ? setInterval(() => {
          gc();
          const m = process.memoryUsage();
          liveHeap = Math.max(liveHeap, m.heapUsed);
          liveRss = Math.max(liveRss, m.rss);
        }, 100)
      : null;
    const t0 = performance.now();
    const res = await fetch(base + url, { headers: { authorization: `Bearer ${op}` } });
    if (!res.ok || !res.body) throw new Error(`${url} → ${res.status}`);
    let bytes = 0;
    let lines = 0;
    let firstByte = 0;
    for await (const chunk of res.body) {
      if (bytes === 0) firstByte = performance.now() - t0;
      bytes += chunk.byteLength;
      for (const b of chunk) if (b === 10) lines++;
    }
    const took = performance.now() - t0;
    if (sampler) clearInterval(sampler);
    return { rows: lines - 1, bytes, took, firstByte, before, liveHeap, liveRss };
  };
  for (const [title, url] of exports) {
    const timed = await readExport(url, false);
    const live = await readExport(url, true);
    log(
      `${title.padEnd(52)} ${timed.rows.toLocaleString('en').padStart(9)} rows, ${mib(timed.bytes).padStart(9)} in ${(timed.took / 1000).toFixed(2)} s ` +
        `(first byte ${timed.firstByte.toFixed(0)} ms, ${Math.round((timed.rows / timed.took) * 1000).toLocaleString('en')} rows/s); ` +
        `live heap ${mib(live.before.heapUsed)} → peak ${mib(live.liveHeap)} (+${mib(live.liveHeap - live.before.heapUsed)}), ` +
        `RSS ${mib(live.before.rss)} → peak ${mib(live.liveRss)} (+${mib(live.liveRss - live.before.rss)})`,
    );
  }
  await app.close();
} finally {
  await admin.end().catch(() => {});
  await database.close();
  if (args.keep) log(`\nkept: ${scratch.url}`);
  else await scratch.drop();
}
