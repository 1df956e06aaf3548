import type { FieldError } from './errors.js';

/** A UTF-16 surrogate without its other half: no character, and nothing UTF-8 can carry. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why PostgreSQL would not store `value` as it is, or null when it would: `text` and `jsonb`
 * hold no U+0000, and a lone surrogate is either refused (a jsonb `\ud800` escape fails the whole
 * statement) or silently turned into U+FFFD on the way to the server.
 */
export function unstorableText(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (LONE_SURROGATE.test(value)) return 'must not contain a lone UTF-16 surrogate (not a character)';
  return null;
}

/** Every string in `value` (objects and arrays walked) that PostgreSQL would not store, by its path under `at`. */
export function unstorableFields(value: unknown, at: string, found: FieldError[] = []): FieldError[] {
  if (typeof value === 'string') {
    const message = unstorableText(value);
    if (message) found.push({ path: at, message });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => unstorableFields(item, `${at}.${i}`, found));
  } else if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    for (const [key, item] of Object.entries(value)) {
      if (unstorableText(key)) found.push({ path: `${at}.${key}`, message: `the field name ${unstorableText(key)}` });
      unstorableFields(item, `${at}.${key}`, found);
    }
  }
  return found;
}
