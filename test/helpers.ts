/**
 * Test harness: every test app gets a fresh database — a PGlite in its own temporary directory,
 * or a new database on the PostgreSQL server named by TEST_DATABASE_URL — with the real
 * migrations applied (each a copy of one database migrated once per set of migrations).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, rmSync, statSync, utimesSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp, type AppOptions } from '../src/app.js';
import { openDatabase, rowsOf, type Database, type Db } from '../src/db/client.js';
import { ManualClock } from '../src/lib/clock.js';
import type { Deps } from '../src/lib/context.js';
import { ensureFirstSuperuser } from '../src/modules/accounts/accounts.service.js';
import { createScratchDatabase } from './concurrency/fleet.js';
import { testSecretKeys } from './secret-key.js';
import { REPO_ROOT } from './repo.js';

export { TEST_SECRET_KEY, testSecretKeys } from './secret-key.js';

export type Backend = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL as well when TEST_DATABASE_URL is set. */
export function backends(): Backend[] {
  return process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

const MIGRATIONS = join(REPO_ROOT, 'src/db/migrations');
/** Test databases live in memory (tmpfs) where there is one, as the in-memory PGlite they stand for. */
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const TEMPLATE_PREFIX = 'licensepool-pglite-';
const COPY_PREFIX = 'licensepool-test-';
const DAY_MS = 86_400_000;
let pgliteTemplate: Promise<string> | undefined;
/** Copies this process made and has not removed yet: removed when it exits. */
const liveCopies = new Set<string>();
process.once('exit', () => {
  for (const dir of liveCopies) rmSync(dir, { recursive: true, force: true });
});

/**
 * The migrated PGlite data directory that test databases are copies of. A new PGlite runs
 * initdb, seconds of CPU per test file, where a copy opens in a fraction of that. Built once per
 * set of migration files and PGlite version in the temp directory and shared by the test
 * processes; it is moved into place whole, so none of them sees half of one.
 */
function migratedPgliteTemplate(): Promise<string> {
  pgliteTemplate ??= (async () => {
    const key = createHash('sha256');
    const pglitePackage = join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '..', 'package.json');
    key.update(JSON.parse(await readFile(pglitePackage, 'utf8')).version);
    key.update(await migrationsDigest());
    const template = join(tmpdir(), `${TEMPLATE_PREFIX}${key.digest('hex').slice(0, 16)}`);
    if (!existsSync(template)) await buildPgliteTemplate(template);
    // Its time of last use, which keeps it from being pruned.
    const now = new Date();
    utimesSync(template, now, now);
    return template;
  })();
  return pgliteTemplate;
}

/** A digest of the migration files: a template is built once per set of them. */
async function migrationsDigest(): Promise<string> {
  const key = createHash('sha256');
  for (const file of (await readdir(MIGRATIONS, { recursive: true })).filter((f) => /\.(sql|json)$/.test(f)).sort()) {
    key.update(`\0${file}\0`).update(await readFile(join(MIGRATIONS, file)));
  }
  return key.digest('hex');
}

async function buildPgliteTemplate(template: string): Promise<void> {
  // Templates of other migrations, and copies left by killed runs, not used for a day.
  for (const [dir, prefix] of [[tmpdir(), TEMPLATE_PREFIX], [SCRATCH, COPY_PREFIX]] as const) {
    for (const name of (await readdir(dir)).filter((n) => n.startsWith(prefix))) {
      const path = join(dir, name);
      // Gone meanwhile (another process pruning too): no time, nothing to remove.
      const lastUse = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lastUse > DAY_MS) await rm(path, { recursive: true, force: true });
    }
  }
  const building = await mkdtemp(join(tmpdir(), `${TEMPLATE_PREFIX}building-`));
  try {
    const database = await openDatabase({ driver: 'pglite', dataDir: building });
    try {
      await database.migrate();
    } finally {
      await database.close();
    }
    await rename(building, template);
  } catch (err) {
    await rm(building, { recursive: true, force: true });
    // Another test process built the same template first.
    if (!existsSync(template)) throw err;
  }
}

/** A new directory holding a migrated PGlite database (the schema, no data), for `removePgliteDir`. */
export async function migratedPgliteDir(): Promise<string> {
  const template = await migratedPgliteTemplate();
  const dir = await mkdtemp(join(SCRATCH, COPY_PREFIX));
  liveCopies.add(dir);
  // Synchronously: the asynchronous copy of its thousand small files takes several times longer.
  cpSync(template, dir, { recursive: true });
  return dir;
}

/** Removes a directory of `migratedPgliteDir` (its database closed). */
export async function removePgliteDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveCopies.delete(dir);
}

const PG_TEMPLATE_PREFIX = 'lp_template_';
let postgresTemplate: Promise<string> | undefined;

/**
 * The migrated PostgreSQL database that test databases are copies of (`CREATE DATABASE …
 * TEMPLATE`): a copy takes a fraction of the time a migration does. Built once per set of
 * migrations on the server and shared by the test processes; it is renamed into place when
 * complete, so none of them copies half of one, and takes no connections, so a copy never finds
 * it in use.
 */
function migratedPostgresTemplate(base: string): Promise<string> {
  postgresTemplate ??= (async () => {
    const name = `${PG_TEMPLATE_PREFIX}${(await migrationsDigest()).slice(0, 16)}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    const exists = async () => ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;
    // Its time of last use, which keeps it from being pruned.
    const touch = () => admin.query(`COMMENT ON DATABASE ${name} IS '${new Date().toISOString()}'`);
    try {
      if (await exists()) {
        await touch();
        return name;
      }
      // Templates of other migrations not used for a day (their comment is the time of last use).
      const stale = await admin.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE '${PG_TEMPLATE_PREFIX}%' AND datname <> $1
           AND coalesce(shobj_description(oid, 'pg_database'), '') < $2`,
        [name, new Date(Date.now() - DAY_MS).toISOString()],
      );
      for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      const building = await createScratchDatabase(base, `${PG_TEMPLATE_PREFIX}building`);
      try {
        const database = await openDatabase({ driver: 'postgres', url: building.url, poolSize: 1 });
        try {
          await database.migrate();
        } finally {
          await database.close();
        }
        await whenUnused(() => admin.query(`ALTER DATABASE ${building.name} RENAME TO ${name}`));
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      } catch (err) {
        await building.drop();
        // Another test process built the same template first.
        if (!(await exists())) throw err;
      }
      await touch();
      return name;
    } finally {
      await admin.end();
    }
  })();
  return postgresTemplate;
}

/** Runs `statement` again while PostgreSQL reports the database in use (a closed connection's backend may not have ended yet). */
async function whenUnused(statement: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await statement();
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A fresh, migrated database of the given kind, dropped again by `close()`. */
export async function openTestDatabase(backend: Backend): Promise<Database> {
  if (backend === 'pglite') {
    const dataDir = await migratedPgliteDir();
    const database = await openDatabase({ driver: 'pglite', dataDir });
    await database.migrate();
    return {
      ...database,
      async close() {
        await database.close();
        await removePgliteDir(dataDir);
      },
    };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const template = await migratedPostgresTemplate(base);
  const scratch = await createScratchDatabase(base, 'lp_test', template);
  const database = await openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 10 });
  await database.migrate();
  return {
    ...database,
    async close() {
      await database.close();
      await scratch.drop();
    },
  };
}

export const SUPERUSER = { email: 'root@licensepool.test', password: 'correct horse battery staple' };
export const PASSWORD = 'a long enough password';

export interface TestApp {
  app: FastifyInstance;
  deps: Deps;
  clock: ManualClock;
  database: Database;
  /** Bearer token of the first superuser. */
  superuser: string;
  close(): Promise<void>;
}

/** A fresh database and app at 2026-01-01; `options` are buildApp's (e.g. `webhookTargets`). */
export async function createTestApp(backend: Backend, options: Omit<AppOptions, 'deps'> = {}): Promise<TestApp> {
  const database = await openTestDatabase(backend);
  const clock = new ManualClock('2026-01-01T00:00:00.000Z');
  const deps: Deps = { db: database.db, clock, log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), secretKeys: testSecretKeys() };
  await ensureFirstSuperuser(deps, SUPERUSER.email, SUPERUSER.password);
  const app = await buildApp({ deps, ...options });
  const superuser = await apiTokenFor(app, SUPERUSER.email, SUPERUSER.password);
  return {
    app,
    deps,
    clock,
    database,
    superuser,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

export interface Answer {
  status: number;
  body: any;
  headers: import('node:http').OutgoingHttpHeaders;
}

/** A body sent as it is with its own content type (a CSV file), where `call`'s `body` is sent as JSON. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

/** A CSV file as a request body. */
export const csvBody = (text: string) => new RawBody(text, 'text/csv');

/** One HTTP request through Fastify's inject (no socket), JSON in and out. */
export async function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  url: string,
  options: { token?: string | undefined; body?: unknown; headers?: Record<string, string>; rawBody?: string; remoteAddress?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.rawBody !== undefined) {
    payload = options.rawBody;
    headers['content-type'] ??= 'application/json';
  } else if (options.body instanceof RawBody) {
    payload = options.body.text;
    headers['content-type'] = options.body.contentType;
  } else if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await app.inject({
    method,
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
  const type = String(res.headers['content-type'] ?? '');
  const body = type.includes('json') && res.body ? JSON.parse(res.body) : res.body;
  return { status: res.statusCode, body, headers: res.headers };
}

/**
 * Logs in and creates an unscoped API token that never expires: tests move the clock by months,
 * past any session's end, as a program holding an API token would live through.
 */
async function apiTokenFor(app: FastifyInstance, email: string, password: string): Promise<string> {
  const login = await call(app, 'POST', '/v1/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login of ${email} failed: ${JSON.stringify(login.body)}`);
  const created = await call(app, 'POST', '/v1/tokens', { token: login.body.token, body: { name: 'tests' } });
  if (created.status !== 201) throw new Error(`token for ${email} failed: ${JSON.stringify(created.body)}`);
  return created.body.token;
}

/** Signs a person up; returns the account id and a bearer (API) token. */
export async function person(t: TestApp, email: string): Promise<{ id: string; email: string; token: string }> {
  const created = await call(t.app, 'POST', '/v1/accounts', { body: { email, name: email.split('@')[0], password: PASSWORD } });
  if (created.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(created.body)}`);
  return { id: created.body.id, email, token: await apiTokenFor(t.app, email, PASSWORD) };
}

/** Calls that must succeed: throws with the problem document otherwise. */
export async function ok(app: FastifyInstance, method: Parameters<typeof call>[1], url: string, options: Parameters<typeof call>[3] = {}) {
  const res = await call(app, method, url, options);
  if (res.status >= 300) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface Tree {
  root: string;
  operator: { id: string; email: string; token: string };
}

/** A vendor root with an operator and a catalog. */
export async function vendor(
  t: TestApp,
  options: {
    name?: string;
    restricted?: boolean;
    meters?: { key: string; draws?: string[] }[];
    features?: string[];
  } = {},
): Promise<Tree> {
  const name = options.name ?? 'Vendor';
  const root = await ok(t.app, 'POST', '/v1/pools', { token: t.superuser, body: { name, kind: 'vendor', restricted: options.restricted ?? false } });
  const operator = await person(t, `operator.${root.id}@licensepool.test`);
  await ok(t.app, 'POST', `/v1/pools/${root.id}/roles`, { token: t.superuser, body: { email: operator.email, role: 'operator' } });
  for (const m of options.meters ?? []) {
    await ok(t.app, 'POST', `/v1/pools/${root.id}/meters`, { token: operator.token, body: { key: m.key, name: m.key, draws: m.draws ?? [] } });
  }
  for (const f of options.features ?? []) {
    await ok(t.app, 'POST', `/v1/pools/${root.id}/features`, { token: operator.token, body: { key: f, name: f } });
  }
  return { root: root.id, operator };
}

/** A member added to the pool and verified by `token` (the root's operator); its id. */
export async function verifiedMember(t: TestApp, token: string, poolId: string, body: { email: string } | { device: { serial: string; type: string } }): Promise<string> {
  const member = await ok(t.app, 'POST', `/v1/pools/${poolId}/members`, { token, body });
  await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token });
  return member.id as string;
}

/** A child pool, activated. */
export async function childPool(t: TestApp, token: string, parentId: string, options: { name?: string; kind?: string; restricted?: boolean } = {}) {
  const pool = await ok(t.app, 'POST', '/v1/pools', {
    token,
    body: { name: options.name ?? 'Child', kind: options.kind ?? 'company', parentId, restricted: options.restricted ?? false },
  });
  await ok(t.app, 'POST', `/v1/pools/${pool.id}/activate`, { token });
  return pool.id as string;
}

export interface ResellerTree {
  root: string;
  operator: Tree['operator'];
  /** A distributor under the root, administered by `reseller`. */
  distributor: string;
  reseller: Awaited<ReturnType<typeof person>>;
  /** A customer's building under the distributor, with its manager and deputies. */
  customer: string;
  manager: Awaited<ReturnType<typeof person>>;
  deputies: Awaited<ReturnType<typeof person>>[];
}

/**
 * The chain notifications go down [001]: the vendor Acme, the distributor Alpine Distribution and
 * its admin (a reseller), the customer Sunset Towers with its manager and a deputy per e-mail.
 */
export async function resellerTree(t: TestApp, deputyEmails: readonly string[]): Promise<ResellerTree> {
  const { root, operator } = await vendor(t, { name: 'Acme', meters: [{ key: 'seats' }] });
  const distributor = await childPool(t, operator.token, root, { name: 'Alpine Distribution', kind: 'distributor' });
  const reseller = await person(t, 'reseller@alpine.test');
  await ok(t.app, 'POST', `/v1/pools/${distributor}/roles`, { token: operator.token, body: { email: reseller.email, role: 'admin' } });
  const customer = await childPool(t, reseller.token, distributor, { name: 'Sunset Towers', kind: 'building' });
  const manager = await person(t, 'manager@sunset.test');
  await ok(t.app, 'POST', `/v1/pools/${customer}/roles`, { token: reseller.token, body: { email: manager.email, role: 'manager' } });
  const deputies = [];
  for (const email of deputyEmails) {
    deputies.push(await person(t, email));
    await ok(t.app, 'POST', `/v1/pools/${customer}/deputies`, { token: manager.token, body: { email } });
  }
  return { root, operator, distributor, reseller, customer, manager, deputies };
}

/**
 * Seed 001's residence: a restricted vendor (SIP numbers, mobile apps drawing on them, maybe
 * more meters; guest access, door opening, siri) licensed 1,000 of each; the building "A
 * Residence" until day 200 with 50 SIP numbers and 10 apps until day 90; apartment A bound by the
 * building alone and apartment B restricted to 2 of each and door opening until day 60; exclusive
 * membership off (a resident may live in two apartments). Days count from 2026-01-01.
 */
export async function residenceTree(t: TestApp, extraMeters: readonly string[] = []) {
  const day = (n: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + n * 86_400_000).toISOString();
  const v = await vendor(t, {
    name: 'SmartHome',
    restricted: true,
    meters: [{ key: 'sip_numbers' }, { key: 'mobile_apps', draws: ['sip_numbers'] }, ...extraMeters.map((key) => ({ key }))],
    features: ['guest_access', 'remote_door_opening', 'siri'],
  });
  const token = v.operator.token;
  await ok(t.app, 'POST', `/v1/pools/${v.root}/licenses`, { token, body: { limits: { sip_numbers: 1000, mobile_apps: 1000 }, features: ['guest_access', 'remote_door_opening'] } });
  const building = await childPool(t, token, v.root, { name: 'A Residence', kind: 'building', restricted: true });
  await ok(t.app, 'PATCH', `/v1/pools/${building}`, { token, body: { validUntil: day(200) } });
  await ok(t.app, 'POST', `/v1/pools/${building}/licenses`, {
    token,
    body: { limits: { sip_numbers: 50, mobile_apps: 10 }, features: ['guest_access', 'remote_door_opening'], validUntil: day(90) },
  });
  await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token, body: { exclusiveMembership: false } });
  const flatA = await childPool(t, token, building, { name: 'Apartment A', kind: 'apartment' });
  const flatB = await childPool(t, token, building, { name: 'Apartment B', kind: 'apartment', restricted: true });
  await ok(t.app, 'POST', `/v1/pools/${flatB}/licenses`, { token, body: { limits: { sip_numbers: 2, mobile_apps: 2 }, features: ['remote_door_opening'], validUntil: day(60) } });
  return { v, building, flatA, flatB };
}

const digestQueries = new WeakMap<Db, ReturnType<typeof sql>>();

/**
 * Every table's row count and a digest of its rows, in one statement: equal digests mean no
 * row was added, removed or changed. Compared before and after requests that must write nothing.
 */
export async function tableDigest(db: Db): Promise<Record<string, string>> {
  let query = digestQueries.get(db);
  if (!query) {
    const tables = await rowsOf<{ name: string }>(
      db,
      sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    query = sql.join(
      tables.map(({ name }) => sql`SELECT ${name}::text AS name, count(*) || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS digest FROM ${sql.identifier(name)} x`),
      sql` UNION ALL `,
    );
    digestQueries.set(db, query);
  }
  const rows = await rowsOf<{ name: string; digest: string }>(db, query);
  return Object.fromEntries(rows.map((r) => [r.name, r.digest]));
}
