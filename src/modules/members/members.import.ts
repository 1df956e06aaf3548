/**
 * Bulk import of members from a CSV file: addMember's rules for every row, decided set-based, a
 * batch of rows per statement, so that ten thousand rows take a few dozen statements rather than
 * ten thousand transactions. See docs/architecture.md ("Bulk import of members").
 */
import { parse } from 'csv-parse/sync';
import type { Executor } from '../../db/client.js';
import { isUnavailableDbError, refusalOfDbError } from '../../db/errors.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, type ErrorCode } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { runIsolated, type Settled } from '../../lib/isolate.js';
import { unstorableText } from '../../lib/text.js';
import { auditEventRow } from '../audit/audit.repo.js';
import { poolFor } from '../pools/pool-access.js';
import { findPool, type PoolRow } from '../pools/pools.repo.js';
import {
  findAccountIdsByEmails,
  findSubjectsElsewhere,
  insertAuditEvents,
  insertDevicesIfNew,
  insertMembersIfNew,
  lockAccountsForMembership,
  lockDevicesBySerials,
} from './members-import.repo.js';
import type { DeviceRow } from './members.repo.js';
import { ImportPersonRow } from './members-import.schemas.js';
import { DeviceInput } from './members.schemas.js';

/** Rows per transaction of an import that is not all-or-nothing. */
export const IMPORT_CHUNK_ROWS = 500;
/** Rows per statement. */
const BATCH_ROWS = 1000;

/** One data line of the file as written: a person (`email`) or a device (`serial` and `type`). */
export interface ImportRecord {
  /** The file's line the row starts on (the header is line 1). */
  line: number;
  email?: string | undefined;
  serial?: string | undefined;
  type?: string | undefined;
  /** Text in fields beyond the header's columns. */
  extraFields?: boolean;
}

export type ImportRowResult =
  | { line: number; status: 'added'; memberId: string }
  | { line: number; status: 'failed'; code: ErrorCode; detail: string };

export interface ImportResult {
  imported: number;
  failed: number;
  /** One result per data row, in line order. */
  rows: ImportRowResult[];
}

export interface ImportOptions {
  /** All or nothing: when any row is bad, nothing is written and IMPORT_REJECTED lists the bad rows. */
  atomic?: boolean;
}

type Subject = { line: number; email: string } | { line: number; serial: string; type: string };

const COLUMNS = ['email', 'serial', 'type'] as const;
type Column = (typeof COLUMNS)[number];

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

const fileError = (message: string) => new AppError('VALIDATION_FAILED', `body: ${message}`, { errors: [{ path: 'body', message }] });

/** Line breaks in `raw` before its last character's own terminator. */
function breaksWithin(raw: string): number {
  const breaks = raw.split('\n').length - 1;
  return raw.endsWith('\n') ? breaks - 1 : breaks;
}

/**
 * The rows of a CSV file. The first non-blank line is the header: it names the columns `email`,
 * or `serial` and `type`, or all three (any case; other columns are ignored). The separator is
 * what the header uses: a comma, else a semicolon, else a tab. Blank lines are skipped. A file
 * that cannot be read as CSV (a quote never closed), or has no usable header, is refused whole
 * (VALIDATION_FAILED), naming the line.
 */
export function parseMembersCsv(text: string): ImportRecord[] {
  // One kind of line break, so that lines are counted one way (one inside a quoted value becomes LF).
  const normalized = text.replace(/\r\n?/g, '\n');
  const firstLine = normalized.replace(/^\uFEFF/, '').split('\n').find((l) => l.trim() !== '') ?? '';
  const delimiter = [',', ';', '\t'].find((d) => firstLine.includes(d)) ?? ',';
  let parsed: { record: string[]; raw: string; info: { lines: number } }[];
  try {
    parsed = parse(normalized, { delimiter, bom: true, relax_quotes: true, relax_column_count: true, info: true, raw: true }) as unknown as typeof parsed;
  } catch (err) {
    const where = (err as { lines?: number }).lines;
    throw fileError(`not readable as CSV${where ? ` (line ${where})` : ''}: ${(err as Error).message}`);
  }
  let header: (Column | null)[] | undefined;
  const records: ImportRecord[] = [];
  for (const { record, raw, info } of parsed) {
    if (record.every((field) => field.trim() === '')) continue;
    const line = info.lines - breaksWithin(raw);
    if (!header) {
      header = readHeader(record, line);
      continue;
    }
    const out: ImportRecord = { line };
    record.forEach((field, i) => {
      const column = header![i];
      if (column) out[column] = field;
      else if (i >= header!.length && field.trim() !== '') out.extraFields = true;
    });
    records.push(out);
  }
  if (!header) throw fileError('the file is empty; its first line must be a header naming the columns email, or serial and type');
  return records;
}

function readHeader(record: string[], line: number): (Column | null)[] {
  const names = record.map((name) => name.trim().toLowerCase());
  const columns = names.map((name) => ((COLUMNS as readonly string[]).includes(name) ? (name as Column) : null));
  const twice = COLUMNS.find((c) => columns.filter((x) => x === c).length > 1);
  if (twice) throw fileError(`the header (line ${line}) names the column ${twice} twice`);
  const has = (c: Column) => columns.includes(c);
  if (!has('email') && !(has('serial') && has('type'))) {
    const seen = names.filter((n) => n !== '').slice(0, 5).join(', ');
    throw fileError(`the first line must be a header naming the columns email, or serial and type (line ${line} names: ${seen || 'nothing'})`);
  }
  if (has('serial') !== has('type')) throw fileError(`the header (line ${line}) names ${has('serial') ? 'serial without type' : 'type without serial'}; a device needs both`);
  return columns;
}

const failure = (line: number, code: ErrorCode, detail: string): ImportRowResult => ({ line, status: 'failed', code, detail });

function issuesOf(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
}

/**
 * Checks each record as the add-member route checks its body, and finds duplicates inside the
 * file (the later lines fail with DUPLICATE_ROW naming the first).
 */
function validateRecords(records: readonly ImportRecord[]): { subjects: Subject[]; failures: ImportRowResult[] } {
  const subjects: Subject[] = [];
  const failures: ImportRowResult[] = [];
  const firstLineOf = new Map<string, number>();
  for (const r of records) {
    const [email, serial, type] = [r.email?.trim() ?? '', r.serial?.trim() ?? '', r.type?.trim() ?? ''];
    if (r.extraFields) {
      failures.push(failure(r.line, 'VALIDATION_FAILED', 'the line has more fields than the header names'));
      continue;
    }
    // What PostgreSQL cannot store fails its line here, not the transaction of its chunk.
    const unstorable = Object.entries({ email, serial, type }).flatMap(([field, value]) => {
      const why = unstorableText(value);
      return why ? [`${field}: ${why}`] : [];
    });
    if (unstorable.length > 0) {
      failures.push(failure(r.line, 'VALIDATION_FAILED', unstorable.join('; ')));
      continue;
    }
    let subject: Subject;
    let key: string;
    if (email !== '' && (serial !== '' || type !== '')) {
      failures.push(failure(r.line, 'VALIDATION_FAILED', 'give either an e-mail or a serial and type, not both'));
      continue;
    } else if (email !== '') {
      const checked = ImportPersonRow.safeParse({ email });
      if (!checked.success) {
        failures.push(failure(r.line, 'VALIDATION_FAILED', issuesOf(checked.error)));
        continue;
      }
      subject = { line: r.line, email: checked.data.email };
      key = `email ${checked.data.email.toLowerCase()}`;
    } else if (serial !== '' || type !== '') {
      const checked = DeviceInput.safeParse({ serial, type });
      if (!checked.success) {
        failures.push(failure(r.line, 'VALIDATION_FAILED', issuesOf(checked.error)));
        continue;
      }
      subject = { line: r.line, ...checked.data };
      key = `serial ${checked.data.serial}`;
    } else {
      failures.push(failure(r.line, 'VALIDATION_FAILED', 'give an e-mail, or a serial and type'));
      continue;
    }
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      failures.push(failure(r.line, 'DUPLICATE_ROW', `line ${first} names the same ${'email' in subject ? 'person' : 'device'}`));
      continue;
    }
    firstLineOf.set(key, r.line);
    subjects.push(subject);
  }
  return { subjects, failures };
}

/** The pool locked for the writing transaction, checked as addMember checks it. */
async function lockPoolForImport(tx: Executor, actor: Actor, poolId: string): Promise<{ pool: PoolRow; exclusive: boolean }> {
  const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
  if (pool.status === 'closed') throw new AppError('INVALID_TRANSITION', 'the pool is closed');
  // M2: the root's setting, read as it is now (as addMember reads it).
  const root = pool.parentId === null ? pool : await findPool(tx, pool.rootId);
  return { pool, exclusive: root!.exclusiveMembership };
}

/**
 * Adds the subjects to the pool in the caller's transaction, which holds the pool's lock, and
 * returns one result per subject. Locks, in the global membership order: the accounts by id,
 * then the devices by serial (new serials registered first, in serial order).
 */
async function writeSubjects(
  tx: Executor,
  actor: Actor,
  target: { pool: PoolRow; exclusive: boolean },
  subjects: readonly Subject[],
  now: Date,
): Promise<ImportRowResult[]> {
  const { pool } = target;
  const results = new Map<number, ImportRowResult>();
  const fail = (s: Subject, code: ErrorCode, detail: string) => results.set(s.line, failure(s.line, code, detail));

  const people = subjects.filter((s): s is Extract<Subject, { email: string }> => 'email' in s);
  const accountOf = new Map<string, string>();
  for (const batch of chunksOf(people.map((p) => p.email.toLowerCase()), BATCH_ROWS)) {
    for (const a of await findAccountIdsByEmails(tx, batch)) accountOf.set(a.email, a.id);
  }
  for (const batch of chunksOf([...new Set(accountOf.values())].sort(), BATCH_ROWS)) await lockAccountsForMembership(tx, batch);

  const machines = subjects.filter((s): s is Extract<Subject, { serial: string }> => 'serial' in s).sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
  for (const batch of chunksOf(machines, BATCH_ROWS)) {
    await insertDevicesIfNew(tx, batch.map((m) => ({ id: newId('device'), rootId: pool.rootId, serial: m.serial, type: m.type, createdAt: now })));
  }
  const deviceOf = new Map<string, DeviceRow>();
  for (const batch of chunksOf(machines.map((m) => m.serial), BATCH_ROWS)) {
    for (const d of await lockDevicesBySerials(tx, pool.rootId, batch)) deviceOf.set(d.serial, d);
  }

  // addMember's checks, in its order: the account exists, the device is not blocked, then M2.
  const candidates: { subject: Subject; accountId?: string; deviceId?: string }[] = [];
  for (const s of subjects) {
    if ('email' in s) {
      const accountId = accountOf.get(s.email.toLowerCase());
      if (!accountId) fail(s, 'ACCOUNT_NOT_FOUND', `no account has the e-mail ${s.email}; the person must sign up first`);
      else candidates.push({ subject: s, accountId });
    } else {
      const device = deviceOf.get(s.serial)!;
      if (device.status !== 'ok') fail(s, 'DEVICE_BLOCKED', `the device ${s.serial} is reported ${device.status}`);
      else candidates.push({ subject: s, deviceId: device.id });
    }
  }
  let admitted = candidates;
  if (target.exclusive) {
    admitted = [];
    for (const batch of chunksOf(candidates, BATCH_ROWS)) {
      const elsewhere = await findSubjectsElsewhere(tx, pool.rootId, pool.id, {
        accountIds: batch.flatMap((c) => (c.accountId ? [c.accountId] : [])),
        deviceIds: batch.flatMap((c) => (c.deviceId ? [c.deviceId] : [])),
      });
      for (const c of batch) {
        // Not naming the other pool: it may belong to another customer of the vendor.
        if (c.accountId ? elsewhere.accountIds.has(c.accountId) : elsewhere.deviceIds.has(c.deviceId!)) {
          fail(c.subject, 'MEMBER_IN_OTHER_POOL', 'already a member of another pool of this vendor, and membership is exclusive');
        } else admitted.push(c);
      }
    }
  }

  // In line order, so member ids (time-sorted) follow the file.
  admitted.sort((a, b) => a.subject.line - b.subject.line);
  for (const batch of chunksOf(admitted, BATCH_ROWS)) {
    const inserted = await insertMembersIfNew(
      tx,
      batch.map((c) => ({ id: newId('member'), rootId: pool.rootId, poolId: pool.id, status: 'pending' as const, accountId: c.accountId ?? null, deviceId: c.deviceId ?? null, createdAt: now })),
    );
    const byAccount = new Map(inserted.filter((m) => m.accountId).map((m) => [m.accountId!, m]));
    const byDevice = new Map(inserted.filter((m) => m.deviceId).map((m) => [m.deviceId!, m]));
    for (const c of batch) {
      const member = c.accountId ? byAccount.get(c.accountId) : byDevice.get(c.deviceId!);
      if (member) results.set(c.subject.line, { line: c.subject.line, status: 'added', memberId: member.id });
      else fail(c.subject, 'MEMBER_EXISTS', 'already a member of this pool');
    }
    await insertAuditEvents(
      tx,
      inserted.map((m) =>
        auditEventRow(actor, now, { action: 'member.added', entityType: 'member', entityId: m.id, rootId: m.rootId, poolId: m.poolId, memberId: m.id, after: m }),
      ),
    );
  }
  return subjects.map((s) => results.get(s.line)!);
}

/** A failed write that one line may have caused: not a refusal of the whole import, nor a database out of reach. */
const lineMayBeAtFault = (err: unknown) => !(err instanceof AppError) && !isUnavailableDbError(err);

/**
 * A line's result from its smallest write: a database refusal of its data is the line's failure
 * (DATA_REJECTED, CONSTRAINT_VIOLATED); an unreachable database fails the import; anything else
 * fails the line alone as INTERNAL, logged.
 */
function resultOf(deps: Deps, subject: Subject, settled: Settled<ImportRowResult>): ImportRowResult {
  if (settled.ok) return settled.value;
  const err = settled.error;
  if (err instanceof AppError) return failure(subject.line, err.code, err.message);
  if (isUnavailableDbError(err)) throw err;
  const refusal = refusalOfDbError(err);
  if (refusal) return failure(subject.line, refusal.code, refusal.message);
  deps.log.error({ err, line: subject.line }, 'an import line could not be written');
  return failure(subject.line, 'INTERNAL', 'this line could not be written');
}

/**
 * Adds the members a CSV file (or its records) names to a pool, with addMember's rules for each
 * row: a person by the e-mail of an existing account, a device by serial and type (registered on
 * first sight), exclusive membership, `pending` until verified; one `member.added` event per
 * member. Every data row gets a result, by its line. Rows the file repeats fail as DUPLICATE_ROW.
 *
 * Not atomic (the default): rows are written IMPORT_CHUNK_ROWS per transaction, each holding the
 * pool's lock, so a long import lets single adds through between its chunks; the good rows go
 * in, the bad ones are reported. A chunk refused as a whole (the pool closed meanwhile, the
 * caller's role withdrawn) fails its rows and the rest with that code; a chunk the database
 * refuses is written again in halves down to single lines, so only the lines at fault fail.
 * Atomic: one transaction; any bad row (one the database refuses included, found the same way
 * with savepoints) rolls everything back and the answer is IMPORT_REJECTED with the bad rows.
 */
export async function importMembers(deps: Deps, actor: Actor, poolId: string, input: string | readonly ImportRecord[], options: ImportOptions = {}): Promise<ImportResult> {
  // Who may, before anything about the file is said (another tenant learns nothing).
  const seen = await poolFor(deps.db, actor, poolId, 'manage');
  if (seen.status === 'closed') throw new AppError('INVALID_TRANSITION', 'the pool is closed');
  const records = typeof input === 'string' ? parseMembersCsv(input) : input;
  const { subjects, failures } = validateRecords(records);
  const total = records.length;
  const results = [...failures];

  if (options.atomic) {
    await deps.db.transaction(async (tx) => {
      const target = await lockPoolForImport(tx, actor, poolId);
      const now = deps.clock.now();
      // Each part in a savepoint: a line the database refuses is found and named, and the
      // import is then rejected whole like any other bad line.
      const settled = await runIsolated(subjects, (part) => tx.transaction((sp) => writeSubjects(sp, actor, target, part, now)), { splittable: lineMayBeAtFault });
      results.push(...settled.map((r, i) => resultOf(deps, subjects[i]!, r)));
      const bad = results.filter((r) => r.status === 'failed').sort((a, b) => a.line - b.line);
      if (bad.length > 0) {
        throw new AppError('IMPORT_REJECTED', `${bad.length} of ${total} rows are bad, so nothing was imported`, { imported: 0, failed: bad.length, rows: bad });
      }
    });
  } else {
    const chunks = chunksOf(subjects, IMPORT_CHUNK_ROWS);
    for (const [i, chunk] of chunks.entries()) {
      // A chunk the database refuses is written again in halves, so only the lines at fault fail.
      const settled = await runIsolated(
        chunk,
        (part) => deps.db.transaction(async (tx) => writeSubjects(tx, actor, await lockPoolForImport(tx, actor, poolId), part, deps.clock.now())),
        { splittable: lineMayBeAtFault },
      );
      const refused = settled.find((r): r is { ok: false; error: AppError } => !r.ok && r.error instanceof AppError);
      if (refused) {
        // Refused as a whole (the pool closed meanwhile, the caller's role withdrawn): what of this
        // chunk was not written, and the rest. Parts written before the refusal stay reported as added.
        const err = refused.error;
        settled.forEach((r, j) => results.push(r.ok ? r.value : failure(chunk[j]!.line, err.code, err.message)));
        for (const s of chunks.slice(i + 1).flat()) results.push(failure(s.line, err.code, err.message));
        break;
      }
      results.push(...settled.map((r, j) => resultOf(deps, chunk[j]!, r)));
    }
  }
  results.sort((a, b) => a.line - b.line);
  const imported = results.filter((r) => r.status === 'added').length;
  return { imported, failed: results.length - imported, rows: results };
}
