import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { pino } from 'pino';
import type { z } from 'zod';
import { loadConfig } from '../config.js';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf } from '../db/client.js';
import { systemClock } from '../lib/clock.js';
import { loadSecretKeys } from '../lib/secret-keys.js';
import { SECRET_KEY_USAGE, secretKeyCommand } from './secret-key.js';
import { SYSTEM_ACTOR, type Deps } from '../lib/context.js';
import { AppError } from '../lib/errors.js';
import { findAccountByEmail } from '../modules/accounts/accounts.repo.js';
import { createPool, grantRole } from '../modules/pools/pools.service.js';
import { reconcileRoot } from '../modules/claims/claims.engine.js';
import { importMembers } from '../modules/members/members.import.js';
import { exportLicensesCsv, listLicensesPage } from '../modules/licenses/licenses.list.js';
import { CreateLicenseBody, ExportLicensesQuery, ListLicensesQuery, presentLicense } from '../modules/licenses/licenses.schemas.js';
import { createLicense } from '../modules/licenses/licenses.service.js';

const USAGE = `usage: licensepool <command>

  serve                                   run the API and background work (same as npm start)
  migrate                                 apply database migrations and exit
  create-root --name NAME --operator-email EMAIL
                                          create a vendor root and make an existing account its operator
  reconcile [--root ID] [--fix]           compare every usage counter with the live claims (all roots
                                          unless --root); --fix sets them right; exit 1 on drift left
  members import FILE --pool ID [--atomic]
                                          add the members a CSV file names (header: email, or serial and
                                          type; FILE - reads standard input), pending, as addMember would;
                                          prints each failed row by line and a summary; --atomic writes
                                          nothing when any row is bad; exit 1 when any row failed
  licenses create --root ID [--name N] [--limits seats=5,rooms=20] [--features a,b]
                  [--term-months N] [--valid-until ISO] [--billing monthly|annual --contract-years 1-5]
                  [--start-rule on_activation|on_connections [--threshold N]]
                  [--pool ID] [--partner P] [--distributor D] [--access-points N] [--rooms N] [--modules a,b]
                  [--json]                make a license by request (pending_provision) and print its key
  licenses list [filters] [--limit N] [--cursor C] [--json]
                                          one page of licenses (filters: --status a,b --pool ID --subtree ID
                                          --ends-after ISO --ends-before ISO --q TEXT --sort id|createdAt|
                                          -createdAt|validUntil|-validUntil); --json prints the API's page
  licenses export [filters] [--out FILE]  every license the filters select, as CSV (stdout unless --out)
${SECRET_KEY_USAGE}

Storage: DATABASE_URL for PostgreSQL, otherwise the embedded database in LICENSEPOOL_DATA_DIR (./data).`;

async function withDeps<T>(fn: (deps: Deps) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase(
    config.databaseUrl ? { driver: 'postgres', url: config.databaseUrl } : { driver: 'pglite', dataDir: config.dataDir },
  );
  try {
    await database.migrate();
    // On PostgreSQL without LICENSEPOOL_SECRET_KEY the keys are unavailable: only what signs or rotates fails.
    const { keys } = await loadSecretKeys({ secretKey: config.secretKey, previousSecretKey: config.previousSecretKey, dataDir: config.databaseUrl ? null : config.dataDir });
    return await fn({ db: database.db, clock: systemClock, log: pino({ level: config.logLevel }), secretKeys: keys });
  } finally {
    await database.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const { serve } = await import('../main.js');
        await serve();
        return 0;
      }
      case 'migrate':
        await withDeps(async () => undefined);
        process.stdout.write('migrations applied\n');
        return 0;
      case 'create-root': {
        const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, 'operator-email': { type: 'string' } } });
        if (!values.name || !values['operator-email']) throw new UsageError('create-root needs --name and --operator-email');
        const operatorEmail = values['operator-email'];
        const root = await withDeps(async (deps) => {
          if (!(await findAccountByEmail(deps.db, operatorEmail))) {
            throw new AppError('ACCOUNT_NOT_FOUND', `no account has the e-mail ${operatorEmail}; sign up first (POST /v1/accounts)`);
          }
          const pool = await createPool(deps, SYSTEM_ACTOR, { name: values.name!, kind: 'vendor', restricted: false });
          await grantRole(deps, SYSTEM_ACTOR, pool.id, { email: operatorEmail, role: 'operator' });
          return pool;
        });
        process.stdout.write(`${root.id}\n`);
        return 0;
      }
      case 'reconcile': {
        const { values } = parseArgs({ args: rest, options: { root: { type: 'string' }, fix: { type: 'boolean', default: false } } });
        const left = await withDeps(async (deps) => {
          const roots = values.root
            ? [values.root]
            : (await rowsOf<{ id: string }>(deps.db, sql`SELECT id FROM pools WHERE parent_id IS NULL ORDER BY id`)).map((r) => r.id);
          let remaining = 0;
          for (const rootId of roots) {
            const drift = await reconcileRoot(deps, rootId, { fix: values.fix });
            for (const d of drift) process.stdout.write(`${rootId}\t${d.poolId}\t${d.meter}\tcounted ${d.counted}\tactual ${d.actual}${values.fix ? '\tfixed' : ''}\n`);
            process.stdout.write(`${rootId}: ${drift.length} counters drifted${values.fix && drift.length > 0 ? ', fixed' : ''}\n`);
            if (!values.fix) remaining += drift.length;
          }
          return remaining;
        });
        return left > 0 ? 1 : 0;
      }
      case 'members':
        return await membersCommand(rest);
      case 'licenses':
        return await licensesCommand(rest);
      case 'secret-key':
        return await secretKeyCommand(rest, withDeps);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command: ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof AppError) {
      process.stderr.write(`${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

class UsageError extends Error {}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  let text = '';
  for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk;
  return text;
}

/**
 * Progress of a long import on standard error: a bar on a terminal; otherwise (a log, a pipe) a
 * plain line at every tenth of the way, so the output stays readable.
 */
function progressReporter(): { update(p: { done: number; total: number }): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ stream: process.stderr, format: 'importing [{bar}] {percentage}% | {value}/{total} rows | {eta}s left', hideCursor: true }, Presets.shades_classic);
    let started = false;
    return {
      update({ done, total }) {
        if (!started) bar.start(total, done);
        else bar.update(done);
        started = true;
      },
      stop: () => started && bar.stop(),
    };
  }
  let shown = -1;
  return {
    update({ done, total }) {
      const tenth = total === 0 ? 10 : Math.floor((done * 10) / total);
      if (tenth === shown) return;
      shown = tenth;
      process.stderr.write(`importing: ${done} of ${total} rows\n`);
    },
    stop() {},
  };
}

async function membersCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'import') throw new UsageError(sub ? `unknown members command: ${sub}` : 'members needs a command: import');
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { pool: { type: 'string' }, atomic: { type: 'boolean', default: false } } });
  if (positionals.length !== 1 || !values.pool) throw new UsageError('members import needs one FILE and --pool ID');
  let text: string;
  try {
    text = await readInput(positionals[0]!);
  } catch (err) {
    process.stderr.write(`cannot read ${positionals[0]}: ${(err as Error).message}\n`);
    return 1;
  }
  const progress = progressReporter();
  const printFailures = (rows: readonly { line: number; status: string; code?: string; detail?: string }[]) => {
    for (const r of rows) if (r.status === 'failed') process.stdout.write(`line ${r.line}\t${r.code}\t${r.detail}\n`);
  };
  try {
    const result = await withDeps((deps) => importMembers(deps, SYSTEM_ACTOR, values.pool!, text, { atomic: values.atomic, onProgress: (p) => progress.update(p) }));
    progress.stop();
    printFailures(result.rows);
    process.stdout.write(`${result.imported} imported, ${result.failed} failed, of ${result.rows.length} rows\n`);
    return result.failed > 0 ? 1 : 0;
  } catch (err) {
    progress.stop();
    if (!(err instanceof AppError && err.code === 'IMPORT_REJECTED')) throw err;
    const rows = err.extras.rows as { line: number; status: string; code?: string; detail?: string }[];
    printFailures(rows);
    process.stdout.write(`0 imported, ${rows.length} failed: nothing was imported (--atomic)\n`);
    return 1;
  }
}

const LIST_OPTIONS = {
  status: { type: 'string' },
  pool: { type: 'string' },
  subtree: { type: 'string' },
  'ends-after': { type: 'string' },
  'ends-before': { type: 'string' },
  q: { type: 'string' },
  sort: { type: 'string' },
} as const;

/** The CLI's flags as the API's query fields (checked by the route's own schema). */
function listFields(values: Record<string, string | boolean | undefined>) {
  const raw = {
    status: values.status,
    poolId: values.pool,
    subtree: values.subtree,
    endsAfter: values['ends-after'],
    endsBefore: values['ends-before'],
    q: values.q,
    sort: values.sort,
    limit: values.limit,
    cursor: values.cursor,
  };
  return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
}

function parseOrUsage<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('\n'));
  return parsed.data;
}

/** `seats=5,rooms=20,sip=unlimited` → { seats: 5, rooms: 20, sip: null }. */
function parseLimits(text: string | undefined): Record<string, number | null> | undefined {
  if (text === undefined) return undefined;
  return Object.fromEntries(
    text.split(',').filter(Boolean).map((pair) => {
      const [key, value] = pair.split('=');
      if (!key || value === undefined) throw new UsageError(`--limits takes meter=count pairs, not ${pair}`);
      return [key.trim(), value.trim() === 'unlimited' ? null : Number(value)];
    }),
  );
}

const list = (text: string | undefined) => (text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean));
const integer = (text: string | undefined) => (text === undefined ? undefined : Number(text));

async function licensesCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        options: {
          root: { type: 'string' },
          name: { type: 'string' },
          limits: { type: 'string' },
          features: { type: 'string' },
          'term-months': { type: 'string' },
          'valid-until': { type: 'string' },
          billing: { type: 'string' },
          'contract-years': { type: 'string' },
          'start-rule': { type: 'string' },
          threshold: { type: 'string' },
          pool: { type: 'string' },
          partner: { type: 'string' },
          distributor: { type: 'string' },
          'access-points': { type: 'string' },
          rooms: { type: 'string' },
          modules: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
      if (!values.root) throw new UsageError('licenses create needs --root');
      const request = {
        poolId: values.pool,
        partner: values.partner,
        distributor: values.distributor,
        accessPoints: integer(values['access-points']),
        rooms: integer(values.rooms),
        modules: list(values.modules),
      };
      const body = parseOrUsage(CreateLicenseBody, {
        rootId: values.root,
        name: values.name,
        limits: parseLimits(values.limits),
        features: list(values.features),
        termMonths: integer(values['term-months']),
        validUntil: values['valid-until'],
        startRule: values['start-rule'] ? { type: values['start-rule'], threshold: integer(values.threshold) } : undefined,
        billing: values.billing || values['contract-years'] ? { interval: values.billing, contractYears: integer(values['contract-years']) } : undefined,
        request: Object.values(request).some((v) => v !== undefined) ? request : undefined,
      });
      const license = await withDeps(async (deps) => presentLicense(await createLicense(deps, SYSTEM_ACTOR, body), deps.clock.now()));
      process.stdout.write(values.json ? `${JSON.stringify(license)}\n` : `${license.key}\t${license.id}\t${license.status}\n`);
      return 0;
    }
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { ...LIST_OPTIONS, limit: { type: 'string' }, cursor: { type: 'string' }, json: { type: 'boolean', default: false } } });
      const query = parseOrUsage(ListLicensesQuery, listFields(values));
      const page = await withDeps(async (deps) => {
        const { rows, nextCursor } = await listLicensesPage(deps, SYSTEM_ACTOR, query);
        return { data: rows.map((l) => presentLicense(l, deps.clock.now())), nextCursor };
      });
      if (values.json) {
        process.stdout.write(`${JSON.stringify(page)}\n`);
        return 0;
      }
      for (const l of page.data) {
        process.stdout.write(`${[l.id, l.key ?? '-', l.status, l.poolId ?? '-', l.validUntil ?? '-', l.name ?? ''].join('\t')}\n`);
      }
      if (page.nextCursor) process.stderr.write(`more: --cursor ${page.nextCursor}\n`);
      return 0;
    }
    case 'export': {
      const { values } = parseArgs({ args: rest, options: { ...LIST_OPTIONS, out: { type: 'string' } } });
      const query = parseOrUsage(ExportLicensesQuery, listFields(values));
      await withDeps(async (deps) => {
        const csv = await exportLicensesCsv(deps, SYSTEM_ACTOR, query);
        await pipeline(csv, values.out ? createWriteStream(values.out) : process.stdout);
      });
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown licenses command: ${sub}` : 'licenses needs create, list or export');
  }
}
