/**
 * The queries of license lists (L9): filters, orders and keyset pages, for the JSON list and
 * the CSV export alike. Shaped for the indexes of migration 0010 — keep the expressions here
 * and in src/db/schema.ts identical, or PostgreSQL stops using them.
 *
 * A page is read in two steps: the ids of the page in order (the query that filters, sorts and
 * pages, on indexes alone where it can), then those rows. The first step:
 *
 * - The caller's reach or the subtree filter names the root (`root_id = …`), which leads every
 *   sort index: `(root_id, id)`, `(root_id, created_at, id)`, `(root_id, UNTIL, id)`, so a page
 *   reads about `limit` index entries plus those the other filters drop. UNTIL is
 *   `coalesce(valid_until, 'infinity')`: "no end" sorts after every date.
 * - A status filter is read per stored status, from `(root_id, status, <sort>, id)`, one branch
 *   each (`UNION ALL`, each branch sorted and limited, then merged): statuses are strongly tied
 *   to dates (expired licenses ended in the past, running ones end in the future), so one scan
 *   of the date order that drops the other statuses could read most of the table before the
 *   first match. The clock splits a stored status in two: before its end (it counts as itself)
 *   and after it (it counts as `expired`), a range of UNTIL in the same index.
 * - Text that PostgreSQL expects to be rare (`estimateTextMatches`) is found first, by a
 *   BitmapOr of trigram (pg_trgm) GIN indexes on `replace(key, '-', '')`, `name`,
 *   `request ->> 'partner'` and `pool_id` of the pools named (`findPoolIdsNamed`), and the page
 *   chosen among its matches; common text is checked row by row along the sort index.
 */
import { and, eq, gt, inArray, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Executor } from '../../db/client.js';
import { licenses, pools, type LicenseStatus } from '../../db/schema.js';
import { inSubtreesOf } from '../pools/pools.repo.js';
import type { LicenseRow } from '../state/state.repo.js';
import type { LicenseSort } from './licenses.schemas.js';

/**
 * Which licenses a caller reaches, as the list query checks it; 'all' for a superuser.
 * - `roots`: every license of these roots, bound or not (the roots' operators: a license on no
 *   pool belongs to them, as for reading one);
 * - `boundInRoots`: the licenses bound to any pool of these roots (any other role at a root);
 * - `subtrees`: the licenses bound to these pools or below (roles below a root), with the roots
 *   they are in (the condition names them too, so the root's sorted indexes serve the order).
 */
export type LicenseScope = 'all' | { roots: string[]; boundInRoots: string[]; subtrees: { ids: string[]; roots: string[] } };

/** A keyset position: the sort value of the last row seen (exact text; null for the id order) and its id. */
export interface ListPosition {
  value: string | null;
  id: string;
}

export interface LicenseListFilter {
  scope: LicenseScope;
  poolId?: string | undefined;
  /** A pool whose subtree's licenses to list, and its root. */
  subtree?: { id: string; rootId: string } | undefined;
  statuses?: readonly LicenseStatus[] | undefined;
  endsAfter?: Date | undefined;
  endsBefore?: Date | undefined;
  /** `text` as typed (name, partner), as a key fragment when it can be part of one, and the pools it names. */
  text?: LicenseText | undefined;
  sort: LicenseSort;
  after?: ListPosition | undefined;
  limit: number;
  now: Date;
}

export interface LicenseText {
  raw: string;
  keyFragment: string | null;
  /** The pools whose name contains the text (`findPoolIdsNamed`), or 'many'. */
  poolIds: string[] | 'many';
  /**
   * The roots to look in (undefined: all) and whether PostgreSQL expects the text to find few
   * licenses there (`estimateTextMatches`): then they are found first and the page is chosen
   * among them.
   */
  within: readonly string[] | undefined;
  rare: boolean;
}

export interface LicenseListRow {
  license: LicenseRow;
  /** The row's sort value as exact text (microseconds; `infinity` for no end), for the cursor. */
  sortValue: string | null;
  poolName: string | null;
}

/** "No end" sorts after every date; the expression of the indexes `licenses_*until_idx`. */
const UNTIL = sql`coalesce(${licenses.validUntil}, 'infinity'::timestamptz)`;
/**
 * The end of a license whose stored status still runs (null for any other): the expression of
 * `licenses_running_until_idx`. Its statistics are its own, so PostgreSQL knows that few running
 * licenses are past their end (the sweep writes them `expired` every minute), where the
 * statuses' and the ends' statistics apart would have it guess a sixth of the table.
 */
const RUNNING_UNTIL = sql`(CASE WHEN ${licenses.status} IN ('pending_provision', 'pending_start', 'in_use', 'access_denied') THEN ${licenses.validUntil} END)`;
const at = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/** The expression a sort orders by (then by id). */
function sortKey(sort: LicenseSort): SQL {
  const field = sort.replace(/^-/, '');
  if (field === 'validUntil') return UNTIL;
  if (field === 'createdAt') return sql`${licenses.createdAt}`;
  return sql`${licenses.id}`;
}

/** A timestamp as text that casts back to the very same instant (to_char keeps microseconds). */
const exactText = (ts: SQL) =>
  sql`CASE WHEN isfinite(${ts}) THEN to_char(${ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE 'infinity' END`;

/** LIKE's wildcards in `text` taken literally, the text anywhere in the value. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Licenses bound to these pools or below. `root_id` is implied by the pools but stated, so the
 * root-led indexes give the order: a large subtree then reads the sorted index and drops what
 * is outside (a semi-join), instead of every license of the subtree and a sort.
 */
function inSubtrees(poolIds: string[], rootIds: string[]): SQL {
  return and(inArray(licenses.rootId, rootIds), inArray(licenses.poolId, sql`(SELECT ${pools.id} FROM ${pools} WHERE ${inSubtreesOf(poolIds)})`))!;
}

function scopeCondition(scope: LicenseScope): SQL | undefined {
  if (scope === 'all') return undefined;
  const parts: SQL[] = [];
  if (scope.roots.length > 0) parts.push(inArray(licenses.rootId, scope.roots));
  if (scope.boundInRoots.length > 0) parts.push(and(inArray(licenses.rootId, scope.boundInRoots), isNotNull(licenses.poolId))!);
  if (scope.subtrees.ids.length > 0) parts.push(inSubtrees(scope.subtrees.ids, scope.subtrees.roots));
  // Reaching nothing lists nothing.
  if (parts.length === 0) return sql`false`;
  return parts.length === 1 ? parts[0] : sql`(${sql.join(parts, sql` OR `)})`;
}

/** At most this many pools named by a text go into the query as a list; more are a subquery. */
export const NAMED_POOLS_LISTED = 1000;

/**
 * The pools (of these roots; undefined: all) whose name contains `text`: their ids, or 'many'
 * beyond NAMED_POOLS_LISTED. Read before the list query, so PostgreSQL plans it knowing how
 * many pools there are: none (no condition at all) or a few make the text selective and its
 * indexes the way in; an unknown number would be guessed, and a wrong guess reads the whole
 * table along a sort index looking for rows that are not there.
 */
export async function findPoolIdsNamed(db: Executor, text: string, rootIds: readonly string[] | undefined): Promise<string[] | 'many'> {
  const named = await db
    .select({ id: pools.id })
    .from(pools)
    .where(and(sql`${pools.name} ILIKE ${containing(text)}`, rootIds ? inArray(pools.rootId, [...rootIds]) : undefined))
    .limit(NAMED_POOLS_LISTED + 1);
  return named.length > NAMED_POOLS_LISTED ? 'many' : named.map((p) => p.id);
}

/** The text in any of the searched fields, row by row or through the trigram indexes. */
function textSearch(text: Omit<LicenseText, 'rare'>): SQL {
  const pattern = containing(text.raw);
  const parts: SQL[] = [sql`${licenses.name} ILIKE ${pattern}`, sql`(${licenses.request} ->> 'partner') ILIKE ${pattern}`];
  if (text.poolIds === 'many') {
    // Common in pool names: the sort index is read and each row checked against the pools.
    parts.push(sql`${licenses.poolId} IN (SELECT named.id FROM ${pools} named WHERE named.name ILIKE ${pattern})`);
  } else if (text.poolIds.length > 0) {
    parts.push(inArray(licenses.poolId, text.poolIds));
  }
  // Keys are stored canonical (upper case, dashes); the fragment is normalized the same way.
  if (text.keyFragment) parts.push(sql`replace(${licenses.key}, '-', '') LIKE ${containing(text.keyFragment)}`);
  const search = sql`(${sql.join(parts, sql` OR `)})`;
  return text.within ? and(inArray(licenses.rootId, [...text.within]), search)! : search;
}

/** Text expected to find at most this many licenses is searched first, through its indexes. */
export const RARE_TEXT = 5000;

/**
 * How many licenses PostgreSQL expects the text to find: its own estimate (EXPLAIN, planning
 * only, about a millisecond), from the trigram indexes' and the columns' statistics.
 *
 * Why ask: with a sort and other filters, PostgreSQL weighs reading the sort index row by row
 * (checking the text on each) against finding the text's matches and sorting them, and its
 * costs lean to the first whenever a partner's name has many common trigrams; when the text is
 * rare that reads tens of thousands of rows for 50. Its estimate of the *number* of matches is
 * good (migration 0011 keeps every partner's share), so the choice is made on that: rare text
 * is found first (`id = ANY(…)` of its matches, one bitmap scan), common text is checked along
 * the sort, where matches come soon.
 */
export async function estimateTextMatches(db: Executor, text: Omit<LicenseText, 'rare'>): Promise<number> {
  const [plan] = await rowsOf<{ 'QUERY PLAN': unknown }>(db, sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${licenses} WHERE ${textSearch(text)}`);
  const raw = plan?.['QUERY PLAN'];
  const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as [{ Plan: { 'Plan Rows': number } }];
  return parsed[0].Plan['Plan Rows'];
}

function textCondition(text: LicenseText): SQL {
  if (!text.rare) return textSearch(text);
  // One InitPlan: the matches, through the trigram indexes; then the page among them by id.
  return sql`${licenses.id} = ANY(ARRAY(SELECT ${licenses.id} FROM ${licenses} WHERE ${textSearch(text)}))`;
}

/** Stored statuses that count as themselves until their end, and as `expired` from it on (RUNNING_UNTIL). */
const RUNNING: readonly LicenseStatus[] = ['pending_provision', 'pending_start', 'in_use', 'access_denied'];

/** A part of a status filter, read as one branch: a stored status (either side of its end, or before it), or running statuses past their end. */
export type StatusBranch =
  | { kind: 'stored'; status: LicenseStatus; beforeEndOnly: boolean }
  | { kind: 'pastEnd'; statuses: LicenseStatus[] };

/**
 * The branches that hold exactly the licenses showing the asked statuses now, as
 * `effectiveStatus` (src/domain/license-status.ts) reads them: `finalized` stays whatever its
 * dates; a stored `expired` is expired; any other status is itself before its end and `expired`
 * from its end on.
 */
export function statusBranches(statuses: readonly LicenseStatus[]): StatusBranch[] {
  const before = new Set<LicenseStatus>();
  const after = new Set<LicenseStatus>();
  for (const status of statuses) {
    if (RUNNING.includes(status)) before.add(status);
    if (status === 'expired') for (const running of RUNNING) after.add(running);
  }
  const branches: StatusBranch[] = [];
  for (const status of ['expired', 'finalized'] as const) if (statuses.includes(status)) branches.push({ kind: 'stored', status, beforeEndOnly: false });
  for (const status of RUNNING) {
    if (before.has(status)) branches.push({ kind: 'stored', status, beforeEndOnly: !after.has(status) });
  }
  const pastOnly = RUNNING.filter((s) => after.has(s) && !before.has(s));
  if (pastOnly.length > 0) branches.push({ kind: 'pastEnd', statuses: pastOnly });
  return branches;
}

/** The statuses asked as one condition (the branches', OR-ed), for a few candidates. */
function statusCondition(statuses: readonly LicenseStatus[], now: Date): SQL {
  const parts = statusBranches(statuses).map((branch) => {
    if (branch.kind === 'pastEnd') return and(sql`${RUNNING_UNTIL} <= ${at(now)}`, inArray(licenses.status, branch.statuses))!;
    return branch.beforeEndOnly ? and(eq(licenses.status, branch.status), sql`${UNTIL} > ${at(now)}`)! : eq(licenses.status, branch.status);
  });
  return sql`(${sql.join(parts, sql` OR `)})`;
}

/**
 * The ids of one page (or export batch) in `f.sort` order after `f.after`, with each one's
 * sort value as exact text; bench/licenses.ts EXPLAINs it.
 */
export function licensePageIdsQuery(f: LicenseListFilter): SQL {
  const where: SQL[] = [];
  const scope = scopeCondition(f.scope);
  if (scope) where.push(scope);
  if (f.poolId) where.push(eq(licenses.poolId, f.poolId));
  if (f.subtree) {
    where.push(
      f.subtree.id === f.subtree.rootId ? and(eq(licenses.rootId, f.subtree.id), isNotNull(licenses.poolId))! : inSubtrees([f.subtree.id], [f.subtree.rootId]),
    );
  }
  // On the sort expression, so the validUntil order's index serves the range too.
  if (f.endsAfter || f.endsBefore) where.push(isNotNull(licenses.validUntil));
  if (f.endsAfter) where.push(sql`${UNTIL} >= ${at(f.endsAfter)}`);
  if (f.endsBefore) where.push(sql`${UNTIL} < ${at(f.endsBefore)}`);
  if (f.text) where.push(textCondition(f.text));

  const key = sortKey(f.sort);
  const descending = f.sort.startsWith('-');
  const dir = descending ? sql`DESC` : sql`ASC`;
  if (f.after) {
    const cmp = descending ? sql`<` : sql`>`;
    if (f.sort === 'id') where.push(descending ? lt(licenses.id, f.after.id) : gt(licenses.id, f.after.id));
    else where.push(sql`(${key}, ${licenses.id}) ${cmp} (${f.after.value}::timestamptz, ${f.after.id})`);
  }
  const order = sql`ORDER BY k ${dir}, id ${dir} LIMIT ${f.limit}`;
  const sortValue = f.sort === 'id' ? sql`NULL::text` : exactText(key);
  const select = (conditions: SQL[]) =>
    sql`SELECT ${licenses.id} AS id, ${sortValue} AS sort_value, ${key} AS k FROM ${licenses} WHERE ${and(...conditions) ?? sql`true`}`;

  if (!f.statuses || f.statuses.length === 0) return sql`${select(where)} ${order}`;
  // Rare text: its few matches are the candidates, their statuses checked one by one.
  if (f.text?.rare) return sql`${select([...where, statusCondition(f.statuses, f.now)])} ${order}`;
  const branches = statusBranches(f.statuses).map((branch) => {
    if (branch.kind === 'stored') {
      const conditions = [...where, eq(licenses.status, branch.status)];
      if (branch.beforeEndOnly) conditions.push(sql`${UNTIL} > ${at(f.now)}`);
      return sql`(${select(conditions)} ${order})`;
    }
    // Past their end and not yet swept: few. Read by their end, then sorted: an order's scan
    // would read the whole status to find them.
    const conditions = [...where, sql`${RUNNING_UNTIL} <= ${at(f.now)}`];
    if (branch.statuses.length < RUNNING.length) conditions.push(inArray(licenses.status, branch.statuses));
    return sql`(SELECT * FROM (${select(conditions)} ORDER BY ${RUNNING_UNTIL}) ended ${order})`;
  });
  return sql`SELECT id, sort_value, k FROM (${sql.join(branches, sql` UNION ALL `)}) page ${order}`;
}

/** One page (or export batch) of licenses in `f.sort` order after `f.after`. */
export async function findLicensePage(db: Executor, f: LicenseListFilter, options: { withPoolName?: boolean } = {}): Promise<LicenseListRow[]> {
  const page = await rowsOf<{ id: string; sort_value: string | null }>(db, licensePageIdsQuery(f));
  if (page.length === 0) return [];
  const ids = page.map((r) => r.id);
  const query = db
    .select({ license: licenses, poolName: options.withPoolName ? pools.name : sql<null>`NULL` })
    .from(licenses)
    .$dynamic();
  const rows = await (options.withPoolName ? query.leftJoin(pools, eq(pools.id, licenses.poolId)) : query).where(inArray(licenses.id, ids));
  const byId = new Map(rows.map((r) => [r.license.id, r]));
  // A row deleted between the two reads is left out (licenses are never deleted today).
  return page.flatMap((p) => {
    const row = byId.get(p.id);
    return row ? [{ license: row.license, poolName: row.poolName as string | null, sortValue: p.sort_value }] : [];
  });
}

/** Which of these pools are roots, and each one's path (to fold bindings under a reached root). */
export function findBindingPools(db: Executor, ids: readonly string[]) {
  if (ids.length === 0) return Promise.resolve([]);
  return db.select({ id: pools.id, parentId: pools.parentId, path: pools.path }).from(pools).where(inArray(pools.id, [...ids]));
}
