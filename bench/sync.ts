/**
 * Benchmark of sync on PostgreSQL (issue 4's target): a member whose pool has 1,000 verified
 * devices syncs in ≤ 100 ms of server time.
 *
 *   npm run bench:sync                       (or: npx tsx bench/sync.ts)
 *   options: --devices 1000  --requests 200  --concurrency 1
 *
 * The server is BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
 * a fresh `lp_bench_sync_<random>` database is created, migrated, filled and dropped at the end.
 *
 * Setup (untimed), all through the HTTP API: a vendor root with a catalog of 3 meters, 4
 * features and 20 packages; a restricted customer pool two levels down with a license; a person
 * and `--devices` WiDI members, every one verified.
 *
 * What is timed, for `--requests` syncs of that person after 20 warm-up syncs:
 *   - server time: Fastify's `reply.elapsedTime` for POST /v1/sync, from the request's arrival to
 *     the last byte of the answer handed to the socket (routing, auth, queries, signing every
 *     token, serializing the answer);
 *   - round trip: the same measured by the client over 127.0.0.1 (adds the transfer and parsing);
 *   - the parts: the sync service alone (no HTTP) and signing alone (1,001 tokens).
 * It prints numbers; it asserts nothing.
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { openDatabase } from '../src/db/client.js';
import { systemClock } from '../src/lib/clock.js';
import type { Deps } from '../src/lib/context.js';
import { SecretKeys } from '../src/lib/secret-keys.js';
import { ensureFirstSuperuser } from '../src/modules/accounts/accounts.service.js';
import { authenticate } from '../src/modules/auth/auth.service.js';
import { signLicenses } from '../src/modules/signing/signing.service.js';
import { sync } from '../src/modules/sync/sync.service.js';
import { benchApi, BENCH_PASSWORD } from './api.js';
import { latencyStats, machineLine } from './report.js';
import { createScratchDatabase } from '../test/concurrency/fleet.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '1' },
  },
});
const DEVICES = Number.parseInt(args.devices!, 10);
const REQUESTS = Number.parseInt(args.requests!, 10);
const CONCURRENCY = Number.parseInt(args.concurrency!, 10);
const WARMUP = 20;
const SERVER_URL = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SUPERUSER = { email: 'bench@licensepool.test', password: BENCH_PASSWORD };
const log = (line: string) => process.stdout.write(`${line}\n`);

function stats(samples: number[]) {
  const { p50, p95, p99, max, mean, n } = latencyStats(samples);
  return `p50 ${p50.toFixed(1)}  p95 ${p95.toFixed(1)}  p99 ${p99.toFixed(1)}  max ${max.toFixed(1)}  mean ${mean.toFixed(1)} ms (n=${n})`;
}

async function timed(count: number, width: number, task: () => Promise<void>): Promise<number[]> {
  const durations: number[] = [];
  let left = count;
  const worker = async () => {
    while (left-- > 0) {
      const t0 = performance.now();
      await task();
      durations.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return durations;
}

const scratch = await createScratchDatabase(SERVER_URL, 'lp_bench_sync');
const database = await openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 10 });
try {
  await database.migrate();
  const deps: Deps = { db: database.db, clock: systemClock, log: pino({ level: 'warn' }), secretKeys: SecretKeys.generate() };
  await ensureFirstSuperuser(deps, SUPERUSER.email, SUPERUSER.password);
  const app = await buildApp({ deps });
  const serverTimes: number[] = [];
  app.addHook('onResponse', async (request, reply) => {
    if (request.url === '/v1/sync' && reply.statusCode === 200) serverTimes.push(reply.elapsedTime);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const { api, login, signUp } = benchApi(base);

  // Setup through the API.
  const setupStart = performance.now();
  const su = await login(SUPERUSER.email, SUPERUSER.password);
  const root = (await api('POST', '/v1/pools', su, { name: 'record', kind: 'vendor', restricted: false })).json.id as string;
  const op = await signUp('operator@record.test');
  await api('POST', `/v1/pools/${root}/roles`, su, { email: 'operator@record.test', role: 'operator' });
  for (const key of ['users', 'widi', 'rooms']) await api('POST', `/v1/pools/${root}/meters`, op, { key, name: key, draws: [] });
  for (const key of ['i_record', 'statistics', 'elevator', 'guest_access']) await api('POST', `/v1/pools/${root}/features`, op, { key, name: key });
  for (let i = 0; i < 20; i++) {
    await api('POST', `/v1/pools/${root}/packages`, op, {
      name: `pkg-${i}`, version: '1.0.0', deviceType: i % 2 ? 'WiDI' : 'STA', sha256: 'a'.repeat(64), size: 1_000_000 + i,
      url: `https://downloads.record.test/pkg-${i}.bin`, ...(i % 3 === 0 ? { meter: 'widi' } : { feature: i % 3 === 1 ? 'i_record' : 'statistics' }),
    });
  }
  const reseller = (await api('POST', '/v1/pools', op, { name: 'Reseller', kind: 'distributor', parentId: root, restricted: false })).json.id as string;
  await api('POST', `/v1/pools/${reseller}/activate`, op);
  const pool = (await api('POST', '/v1/pools', op, { name: 'ACME', kind: 'company', parentId: reseller, restricted: true })).json.id as string;
  await api('POST', `/v1/pools/${pool}/activate`, op);
  await api('POST', `/v1/pools/${pool}/licenses`, op, { limits: { users: 50, widi: DEVICES, rooms: 100 }, features: ['i_record', 'elevator'], validUntil: '2099-01-01T00:00:00Z' });
  const user = await signUp('user@acme.test');
  const member = (await api('POST', `/v1/pools/${pool}/members`, op, { email: 'user@acme.test' })).json.id as string;
  await api('POST', `/v1/members/${member}/verify`, op);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < DEVICES) {
        const i = next++;
        const device = (await api('POST', `/v1/pools/${pool}/members`, op, { device: { serial: `WD-${String(i).padStart(6, '0')}`, type: 'WiDI' } })).json.id as string;
        await api('POST', `/v1/members/${device}/verify`, op);
      }
    }),
  );
  await database.db.execute(sql`VACUUM ANALYZE`);
  log(`setup: ${DEVICES} verified devices in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);

  // Warm up (JIT, prepared statements, caches), then time.
  let bytes = 0;
  let tokens = 0;
  for (let i = 0; i < WARMUP; i++) {
    const answer = await api('POST', '/v1/sync', user, {});
    bytes = answer.bytes;
    tokens = answer.json.tokens.length;
  }
  serverTimes.length = 0;
  const roundTrips = await timed(REQUESTS, CONCURRENCY, async () => {
    await api('POST', '/v1/sync', user, {});
  });

  const { actor } = (await authenticate(deps, user, 'req_bench'))!;
  const serviceTimes = await timed(REQUESTS, 1, async () => {
    await sync(deps, actor, {});
  });
  const payloads = Array.from({ length: tokens }, (_, i) => ({ pool, sub: `mem_${i}`, subject: 'device', device: { serial: `WD-${i}`, type: 'WiDI' }, features: { i_record: null }, limits: { widi: { limit: DEVICES, until: null } }, end: null, refreshBy: 0 }));
  const signingTimes = await timed(50, 1, async () => {
    await signLicenses(deps, root, payloads, { expiresAt: new Date(Date.now() + 86_400_000) });
  });

  log(`${machineLine()}; PostgreSQL at ${new URL(SERVER_URL).host}`);
  log(`sync of a member whose pool has ${DEVICES} verified devices: ${tokens} tokens, ${(bytes / 1024).toFixed(0)} KiB answer, concurrency ${CONCURRENCY}`);
  log(`  server time (reply.elapsedTime)   ${stats(serverTimes)}`);
  log(`  round trip over 127.0.0.1         ${stats(roundTrips)}`);
  log(`  sync service alone (no HTTP)      ${stats(serviceTimes)}`);
  log(`  signing ${tokens} tokens alone       ${stats(signingTimes)}`);
  log(`target: server time ≤ 100 ms`);
  await app.close();
} finally {
  await database.close();
  await scratch.drop();
}
