/** A day as people read it (the browser's language), or a dash when there is none. */
export const day = (at: string | null | undefined) => (at ? new Date(at).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' }) : '—');

/** A moment with its time. */
export const moment = (at: string | null | undefined) => (at ? new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');

/** A limit: a number, or "unlimited" for none of its own. */
export const units = (n: number | null | undefined) => (n === null || n === undefined ? '—' : String(n));
