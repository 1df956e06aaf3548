/**
 * License lists (L9 [003]): filters by status (several, as the clock sees them), pool, subtree,
 * end-date range and text (key fragment, name, partner, pool name); sorts; keyset pages behind
 * an opaque cursor; and a CSV export streamed in batches, so memory stays flat whatever its size.
 * The SQL is in licenses-list.repo.ts.
 */
import { Readable } from 'node:stream';
import { can, type Principal } from '../../domain/access.js';
import { KEY_ALPHABET, normalizeLicenseKey } from '../../domain/license-keys.js';
import { effectiveStatus } from '../../domain/license-status.js';
import type { Executor } from '../../db/client.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { isIdOf } from '../../lib/ids.js';
import { iso } from '../../lib/time.js';
import { poolFor } from '../pools/pool-access.js';
import type { LicenseRow } from '../state/state.repo.js';
import {
  findBindingPools,
  findLicensePage,
  estimateTextMatches,
  findPoolIdsNamed,
  RARE_TEXT,
  type LicenseListFilter,
  type LicenseListRow,
  type LicenseScope,
  type LicenseText,
  type ListPosition,
} from './licenses-list.repo.js';
import type { ExportLicensesQuery, LicenseSort, ListLicensesQuery } from './licenses.schemas.js';

/** Rows per query of a CSV export: one batch is all the export holds in memory at a time. */
export const EXPORT_BATCH = 1000;

/**
 * What the caller reaches, for lists: a superuser everything; a root's operators every license
 * of the root, those on no pool too (a key not yet activated is theirs, as `GET /v1/licenses/{id}`
 * has it); any other role the licenses bound to its pool's subtree. Bindings below a root the
 * caller already reaches are folded into it, so the usual case is one `root_id = …`.
 */
async function scopeOf(db: Executor, principal: Principal): Promise<LicenseScope> {
  if (principal.superuser) return 'all';
  const bound = await findBindingPools(db, [...new Set(principal.bindings.map((b) => b.poolId))]);
  const roots = bound.filter((p) => p.parentId === null);
  const operated = roots.filter((r) => can(principal, r.path, 'operate')).map((r) => r.id);
  const reachedRoots = new Set(roots.map((r) => r.id));
  const below = bound.filter((p) => p.parentId !== null && !reachedRoots.has(p.path[0]!));
  return {
    roots: operated,
    boundInRoots: roots.map((r) => r.id).filter((id) => !operated.includes(id)),
    subtrees: { ids: below.map((p) => p.id), roots: [...new Set(below.map((p) => p.path[0]!))] },
  };
}

/** A key fragment as typed ("rf3pd-tw", "RF3 PD"), in the stored form's characters; null if no key can contain it. */
export function keyFragmentOf(text: string): string | null {
  const fragment = normalizeLicenseKey(text);
  if (fragment.length === 0) return null;
  for (const c of fragment) if (!KEY_ALPHABET.includes(c)) return null;
  return fragment;
}

type Filters = Omit<LicenseListFilter, 'after' | 'limit'>;

/** The text filter: as typed, as a key fragment, the pools it names, and whether it is rare. */
export async function textOf(db: Executor, raw: string, roots: readonly string[] | undefined): Promise<LicenseText> {
  const search = { raw, keyFragment: keyFragmentOf(raw), poolIds: await findPoolIdsNamed(db, raw, roots), within: roots };
  return { ...search, rare: (await estimateTextMatches(db, search)) <= RARE_TEXT };
}

/** The query's filters for this caller; 404/403 for a pool filter the caller may not read. */
async function filtersFor(deps: Deps, actor: Actor, query: ExportLicensesQuery, now: Date): Promise<Filters> {
  let scope: LicenseScope;
  let subtree: Filters['subtree'];
  if (query.poolId || query.subtree) {
    // Whoever reads a pool reads every license bound to it and below (roles hold for subtrees).
    if (query.poolId) await poolFor(deps.db, actor, query.poolId, 'read');
    if (query.subtree) {
      const pool = await poolFor(deps.db, actor, query.subtree, 'read');
      subtree = { id: pool.id, rootId: pool.rootId };
    }
    scope = 'all';
  } else {
    scope = await scopeOf(deps.db, actor.principal);
  }
  const raw = query.q?.trim();
  // Pools named by the text, among the roots the list can show.
  const roots = subtree
    ? [subtree.rootId]
    : scope === 'all'
      ? undefined
      : [...scope.roots, ...scope.boundInRoots, ...scope.subtrees.roots];
  return {
    scope,
    poolId: query.poolId,
    subtree,
    statuses: query.status,
    endsAfter: query.endsAfter ? new Date(query.endsAfter) : undefined,
    endsBefore: query.endsBefore ? new Date(query.endsBefore) : undefined,
    text: raw ? await textOf(deps.db, raw, roots) : undefined,
    sort: query.sort,
    now,
  };
}

/**
 * Cursors are opaque to clients: base64url of `[sort, sort value, id]` of the last row of the
 * page. The sort value is exact to the microsecond (or `infinity`: no end), so the next page
 * starts right after that row, whatever rows share its date.
 */
function encodeCursor(sort: LicenseSort, row: LicenseListRow): string {
  return Buffer.from(JSON.stringify([sort, row.sortValue, row.license.id])).toString('base64url');
}

const EXACT_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z$/;

function badCursor(message: string): AppError {
  return new AppError('VALIDATION_FAILED', `querystring.cursor: ${message}`, { errors: [{ path: 'querystring.cursor', message }] });
}

function decodeCursor(sort: LicenseSort, cursor: string): ListPosition {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not a cursor this list gave');
  }
  if (!Array.isArray(parts) || parts.length !== 3) throw badCursor('not a cursor this list gave');
  const [cursorSort, value, id] = parts as unknown[];
  if (cursorSort !== sort) throw badCursor(`the cursor is for another order (${String(cursorSort)}); keep the sort of the first page`);
  if (typeof id !== 'string' || !isIdOf('license', id)) throw badCursor('not a cursor this list gave');
  if (sort === 'id') {
    if (value !== null) throw badCursor('not a cursor this list gave');
    return { value: null, id };
  }
  if (value === 'infinity' && sort.endsWith('validUntil')) return { value, id };
  const exact = typeof value === 'string' ? EXACT_TIME.exec(value) : null;
  // The date must exist (no 30 February), or PostgreSQL would refuse it.
  if (!exact || new Date(`${exact[1]}Z`).toISOString() !== `${exact[1]}Z`) throw badCursor('not a cursor this list gave');
  return { value: value as string, id };
}

/** One page of licenses the caller reaches, and the cursor of the next (null on the last). */
export async function listLicensesPage(deps: Deps, actor: Actor, query: ListLicensesQuery): Promise<{ rows: LicenseRow[]; nextCursor: string | null }> {
  const after = query.cursor ? decodeCursor(query.sort, query.cursor) : undefined;
  const filters = await filtersFor(deps, actor, query, deps.clock.now());
  const rows = await findLicensePage(deps.db, { ...filters, after, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  return { rows: page.map((r) => r.license), nextCursor: rows.length > query.limit ? encodeCursor(query.sort, page[page.length - 1]!) : null };
}

/** The CSV columns, in order. */
export const CSV_COLUMNS = [
  'id',
  'key',
  'status',
  'poolId',
  'poolName',
  'partner',
  'distributor',
  'accessPoints',
  'rooms',
  'modules',
  'features',
  'limits',
  'validFrom',
  'validUntil',
  'termMonths',
  'billing',
  'contractYears',
] as const;

/** One license as a CSV record: lists space-separated, limits as `meter=units` (`unlimited` for null). */
function csvRecord(row: LicenseListRow, now: Date): (string | number | null)[] {
  const l = row.license;
  const request = l.request ?? null;
  const limits = Object.entries(l.limits)
    .map(([meter, units]) => `${meter}=${units ?? 'unlimited'}`)
    .join(' ');
  const record: Record<(typeof CSV_COLUMNS)[number], string | number | null> = {
    id: l.id,
    key: l.key,
    status: effectiveStatus(l, now),
    poolId: l.poolId,
    poolName: row.poolName,
    partner: request?.partner ?? null,
    distributor: request?.distributor ?? null,
    accessPoints: request?.accessPoints ?? null,
    rooms: request?.rooms ?? null,
    modules: (request?.modules ?? []).join(' '),
    features: l.features.join(' '),
    limits,
    validFrom: iso(l.validFrom),
    validUntil: iso(l.validUntil),
    termMonths: l.termMonths,
    billing: l.billingInterval,
    contractYears: l.billingInterval ? l.contractYears : null,
  };
  return CSV_COLUMNS.map((c) => record[c]);
}

/**
 * CSV options. RFC 4180 (CRLF, quotes doubled). A byte-order mark, so spreadsheet programs read
 * the file as UTF-8. `escape_formulas`: a cell starting with = + - @ (or a tab, a carriage return,
 * or their full-width forms) gets a leading `'`, so a name like `=HYPERLINK(…)` is shown as text,
 * never run as a formula (CSV injection); numbers are left as they are.
 */
const CSV_OPTIONS = { record_delimiter: 'windows', escape_formulas: true } as const;

/**
 * The licenses the caller reaches, as CSV, in the list's order and with its filters. Checks the
 * query and reads the first batch before anything is sent, so refusals are problem documents;
 * then one batch of `EXPORT_BATCH` rows at a time, each read only when the client has taken
 * the last (backpressure), by keyset as the pages are: memory stays that of one batch. Rows
 * changed during the export appear as they were when their batch was read. Every status is
 * judged at the export's start.
 */
export async function exportLicensesCsv(
  deps: Deps,
  actor: Actor,
  query: ExportLicensesQuery,
  options: { batchSize?: number } = {},
): Promise<Readable> {
  const batchSize = options.batchSize ?? EXPORT_BATCH;
  const now = deps.clock.now();
  const filters = await filtersFor(deps, actor, query, now);
  const batch = (after?: ListPosition) => findLicensePage(deps.db, { ...filters, after, limit: batchSize }, { withPoolName: true });
  let rows = await batch();
  async function* chunks(): AsyncGenerator<string> {
    // Loaded on the first export, not at the server's start.
    const { stringify } = await import('csv-stringify/sync');
    yield stringify([[...CSV_COLUMNS]], { ...CSV_OPTIONS, bom: true });
    for (;;) {
      if (rows.length > 0) yield stringify(rows.map((r) => csvRecord(r, now)), CSV_OPTIONS);
      if (rows.length < batchSize) return;
      const last = rows[rows.length - 1]!;
      rows = await batch({ value: last.sortValue, id: last.license.id });
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
