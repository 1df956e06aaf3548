/** How the Licenses section writes numbers and instants (the browser's locale, to the minute). */
export const units = (n: number | null) => (n === null ? 'unlimited' : String(n));

export const instant = (at: string) => new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The seed's "time limit": "no time limit", or the end. */
export const timeLimit = (until: string | null) => (until ? `until ${instant(until)}` : 'no time limit');

/** A key's name from the catalog, or the key when the catalog does not have it (any more). */
export function nameOf(items: readonly { key: string; name: string }[] | undefined, key: string): string {
  return items?.find((i) => i.key === key)?.name ?? key;
}
