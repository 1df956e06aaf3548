/**
 * The license list's filters, sort and page as URL search parameters (validated by the route), so
 * a filtered list can be bookmarked and shared; and their translation into the API's query of
 * GET /v1/licenses and GET /v1/licenses.csv.
 */
import type { paths } from '../../api/schema';

type ListQuery = NonNullable<paths['/v1/licenses']['get']['parameters']['query']>;
export type LicenseStatus = NonNullable<ListQuery['status']>[number];
export type LicenseSort = NonNullable<ListQuery['sort']>;

/** Seed 003's names of the statuses, in the order a license goes through them. */
export const STATUS_LABELS: Record<LicenseStatus, string> = {
  pending_provision: 'Pending provision',
  pending_start: 'Pending start',
  in_use: 'In use',
  access_denied: 'Access denied',
  expired: 'Expired',
  finalized: 'Contract finalized',
};
export const LICENSE_STATUSES = Object.keys(STATUS_LABELS) as LicenseStatus[];
const SORTS: readonly LicenseSort[] = ['id', 'createdAt', '-createdAt', 'validUntil', '-validUntil'];

export interface LicenseListSearch {
  status?: LicenseStatus[];
  /** End date on or after this day (YYYY-MM-DD, UTC). */
  endsFrom?: string;
  /** End date on or before this day (YYYY-MM-DD, UTC): the whole day counts. */
  endsTo?: string;
  q?: string;
  /** A pool: licenses bound to it or below it. */
  subtree?: string;
  sort?: LicenseSort;
  /** The API's keyset cursor of the page shown (absent: the first page). */
  cursor?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 200) : undefined);

/** `validateSearch` of the list route: anything unknown or malformed is dropped, never an error. */
export function licenseListSearch(raw: Record<string, unknown>): LicenseListSearch {
  const statuses = (Array.isArray(raw.status) ? raw.status : typeof raw.status === 'string' ? raw.status.split(',') : []).filter((s): s is LicenseStatus =>
    (LICENSE_STATUSES as unknown[]).includes(s),
  );
  const day = (v: unknown) => (typeof v === 'string' && DAY.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined);
  const sort = SORTS.includes(raw.sort as LicenseSort) ? (raw.sort as LicenseSort) : undefined;
  const search: LicenseListSearch = {};
  if (statuses.length > 0) search.status = [...new Set(statuses)];
  if (day(raw.endsFrom)) search.endsFrom = day(raw.endsFrom)!;
  if (day(raw.endsTo)) search.endsTo = day(raw.endsTo)!;
  if (text(raw.q)) search.q = text(raw.q)!;
  if (text(raw.subtree)) search.subtree = text(raw.subtree)!;
  if (sort && sort !== 'id') search.sort = sort;
  if (text(raw.cursor)) search.cursor = text(raw.cursor)!;
  return search;
}

/** The day after (YYYY-MM-DD): the API's `endsBefore` is exclusive, the list's "to" day is not. */
function dayAfter(day: string): string {
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

/** The filters and sort as the API takes them (the list's and the CSV export's). */
export function filterQuery(search: LicenseListSearch): Omit<ListQuery, 'limit' | 'cursor'> {
  return {
    ...(search.status ? { status: search.status } : {}),
    ...(search.endsFrom ? { endsAfter: `${search.endsFrom}T00:00:00Z` } : {}),
    ...(search.endsTo ? { endsBefore: `${dayAfter(search.endsTo)}T00:00:00Z` } : {}),
    ...(search.q ? { q: search.q } : {}),
    ...(search.subtree ? { subtree: search.subtree } : {}),
    ...(search.sort ? { sort: search.sort } : {}),
  };
}

/** The CSV export's address with the list's filters (a plain link: the session cookie authenticates a GET). */
export function exportHref(search: LicenseListSearch): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filterQuery(search))) params.set(name, Array.isArray(value) ? value.join(',') : String(value));
  const query = params.toString();
  return `/v1/licenses.csv${query ? `?${query}` : ''}`;
}

/** The detail page's tabs (the tab shown is in the URL, so a tab can be linked to). */
export const LICENSE_TABS = ['general', 'modules', 'upgrades', 'notifications', 'assignments'] as const;
export type LicenseTab = (typeof LICENSE_TABS)[number];

export function licenseDetailSearch(raw: Record<string, unknown>): { tab?: LicenseTab } {
  return (LICENSE_TABS as readonly unknown[]).includes(raw.tab) && raw.tab !== 'general' ? { tab: raw.tab as LicenseTab } : {};
}
