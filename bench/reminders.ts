/**
 * Benchmark of the N1 reminder scan on PostgreSQL (issue 6's speed target): "finding the due
 * reminders among 1,000,000 licenses: ≤ 2 s".
 *
 *   npm run bench:reminders                  (or: npx tsx bench/reminders.ts)
 *   options: --licenses 1000000  --runs 20  --keep
 *
 * The server is BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
 * a fresh `lp_bench_rem_<random>` database is created, migrated, filled and dropped at the end
 * (kept with --keep). It prints numbers; it asserts nothing.
 *
 * Data (untimed), by SQL: a vendor root, 1,000 site pools, `--licenses` licenses spread over
 * them: 70 % in use, 3 % access denied, 15 % expired, 7 % finalized, 5 % pending (no end);
 * ends over the past 3 and next 5 years. A few pools carry rules of their own (daily from 10
 * days, weekly from 60), so the ranges searched are those of a live system.
 *
 * Timed: `findDueCandidates` (the due-finding query the `reminders.scan` job runs each
 * minute) at `--runs` random instants; then one whole scan (candidates, rules, claims, the
 * outbox rows and their jobs) in a transaction rolled back, and EXPLAIN (ANALYZE, BUFFERS) of
 * the query.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { openDatabase, rowsOf } from '../src/db/client.js';
import { newId } from '../src/lib/ids.js';
import { dueCandidatesQuery, findDueCandidates, offsetsInUse, scanReminders } from '../src/modules/notifications/reminders.scan.js';
import { createScratchDatabase } from '../test/concurrency/fleet.js';
import { machineLine } from './report.js';

const { values: args } = parseArgs({
  options: {
    licenses: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
  },
});
const LICENSES = Number.parseInt(args.licenses!, 10);
const RUNS = Number.parseInt(args.runs!, 10);
const SITES = 1_000;
const DAY = 86_400_000;
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (line: string) => process.stdout.write(`${line}\n`);
class Rollback extends Error {}

const scratch = await createScratchDatabase(SERVER_URL, 'lp_bench_rem');
const database = await openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 4 });
const admin = new pg.Client({ connectionString: scratch.url });
try {
  log(machineLine());
  await database.migrate();
  await admin.connect();
  log(`PostgreSQL: ${(await admin.query('SHOW server_version')).rows[0].server_version}`);

  const loadStart = performance.now();
  const root = newId('pool');
  await admin.query(
    `INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, queue)
     VALUES ($1, $1, NULL, ARRAY[$1], 0, 'Octopus', 'vendor', 'active', '{"enabled": false, "claimTimeoutSeconds": 300}')`,
    [root],
  );
  const sites = Array.from({ length: SITES }, () => newId('pool'));
  await admin.query(
    `INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, queue)
     SELECT u.id, $2, $2, ARRAY[$2, u.id], 1, 'Site ' || u.i, 'site', 'active', '{"enabled": false, "claimTimeoutSeconds": 300}'
     FROM unnest($1::text[]) WITH ORDINALITY AS u(id, i)`,
    [sites, root],
  );
  // A manager on every site, so the scan has recipients to mail.
  await admin.query(
    `INSERT INTO accounts (id, email, name, password_hash) SELECT 'acc_bench' || i, 'manager' || i || '@bench.test', 'Manager ' || i, 'x' FROM generate_series(1, $1::int) i`,
    [SITES],
  ).catch((err) => log(`(no managers: ${(err as Error).message})`));
  await admin.query(
    `INSERT INTO role_bindings (id, account_id, pool_id, role, created_at) SELECT 'rb_bench' || i, 'acc_bench' || i, ($1::text[])[i], 'manager', now() FROM generate_series(1, $2::int) i`,
    [sites, SITES],
  ).catch((err) => log(`(no role bindings: ${(err as Error).message})`));
  await admin.query('CREATE TEMP TABLE bench_sites (idx int PRIMARY KEY, id text NOT NULL)');
  await admin.query('INSERT INTO bench_sites SELECT i - 1, id FROM unnest($1::text[]) WITH ORDINALITY AS s(id, i)', [sites]);
  const now = new Date();
  await admin.query(
    `INSERT INTO licenses (id, root_id, pool_id, name, status, limits, features, valid_from, valid_until, created_at, updated_at)
     SELECT 'lic_0' || lpad(to_hex(g), 10, '0') || substr(md5(g::text), 1, 15), $1, s.id, 'Premium',
            CASE WHEN b < 5 THEN 'pending_start' WHEN b < 75 THEN 'in_use' WHEN b < 78 THEN 'access_denied' WHEN b < 93 THEN 'expired' ELSE 'finalized' END,
            '{}'::jsonb, ARRAY[]::text[],
            CASE WHEN b < 5 THEN NULL ELSE ends - interval '1 year' END,
            CASE WHEN b < 5 THEN NULL ELSE ends END,
            $2::timestamptz - interval '3 years', $2::timestamptz - interval '3 years'
     FROM (
       SELECT g, b, CASE WHEN b < 78 THEN $2::timestamptz + (u * 1826) * interval '1 day'
                         WHEN b < 93 THEN $2::timestamptz - (u * 1095) * interval '1 day'
                         ELSE $2::timestamptz + (u * 2900 - 1095) * interval '1 day' END AS ends
       FROM (SELECT g, (hashint4(g) & 2147483647) % 100 AS b, ((hashint4(g + 29) & 2147483647) % 1000000) / 1000000.0 AS u
             FROM generate_series(0, $3::int - 1) g) x
     ) y JOIN bench_sites s ON s.idx = g % ${SITES}`,
    [root, now.toISOString(), LICENSES],
  );
  await admin.query(
    `INSERT INTO reminder_rules (scope_id, scope_type, root_id, offsets, from_days, every, updated_at)
     VALUES ($1, 'pool', $3, NULL, 10, 'daily', now()), ($2, 'pool', $3, NULL, 60, 'weekly', now())`,
    [sites[0], sites[1], root],
  );
  await admin.query('VACUUM ANALYZE licenses');
  await admin.query('VACUUM ANALYZE pools');
  log(`data: ${LICENSES.toLocaleString('en')} licenses on ${SITES} pools, loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);

  const offsets = await database.db.transaction((tx) => offsetsInUse(tx));
  log(`offsets searched: ${offsets.general.join(' ')} (any license); ${offsets.extra.join(' ')} (under ${offsets.scopes.length} rules)`);
  const times: number[] = [];
  let found = 0;
  for (let i = 0; i < RUNS; i++) {
    const at = new Date(now.getTime() + Math.floor(Math.random() * 365) * DAY + Math.floor(Math.random() * DAY));
    const t0 = performance.now();
    const rows = await database.db.transaction((tx) => findDueCandidates(tx, at, offsets));
    // (one batch of at most 5,000: the scan reads further batches the same way, by keyset)
    times.push(performance.now() - t0);
    found += rows.length;
  }
  times.sort((a, b) => a - b);
  log(`due-finding query, ${RUNS} random instants: p50 ${times[Math.floor(RUNS / 2)]!.toFixed(1)} ms, max ${times[RUNS - 1]!.toFixed(1)} ms; ${Math.round(found / RUNS)} candidates on average (target ≤ 2 s)`);

  // One whole scan, rolled back: a day's first scan finds a day of occurrences.
  let scanned = 0;
  const t1 = performance.now();
  await database.db
    .transaction(async (tx) => {
      scanned = await scanReminders(tx, { publicUrl: 'https://licenses.example.test' }, now);
      throw new Rollback();
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
  log(`whole scan (candidates, rules, claims, outbox rows and jobs; rolled back): ${scanned} occurrences in ${(performance.now() - t1).toFixed(0)} ms`);

  const query = dueCandidatesQuery(now, offsets)!;
  const plan = await rowsOf<{ 'QUERY PLAN': string }>(database.db, sql`EXPLAIN (ANALYZE, BUFFERS) ${query}`);
  log('EXPLAIN (ANALYZE, BUFFERS) of the due-finding query:');
  for (const row of plan) log(`  ${row['QUERY PLAN']}`);
} finally {
  await admin.end().catch(() => {});
  await database.close();
  if (!args.keep) await scratch.drop();
  else log(`kept: ${scratch.url}`);
}
