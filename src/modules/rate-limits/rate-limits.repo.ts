import { sql } from 'drizzle-orm';
import { rowsOf, textArray, type Executor } from '../../db/client.js';

/**
 * Fixed-window counters in the database, so every process sharing it sees the same count
 * (an in-process limiter would give each replica its own allowance).
 */

/** One counter after a hit: its count in the current window and when that window began. */
export interface WindowCount {
  key: string;
  count: number;
  windowStart: Date;
}

/**
 * Adds one to each key's window (starting a new window where the old one has passed) and answers
 * the counts, in one statement: concurrent hits never read the same count, so N attempts at once
 * are N. The keys must be distinct.
 */
export async function hitWindows(db: Executor, keys: readonly string[], now: Date, windowMs: number): Promise<WindowCount[]> {
  const since = new Date(now.getTime() - windowMs).toISOString();
  const start = now.toISOString();
  const rows = await rowsOf<{ key: string; count: number; window_start: string | Date }>(
    db,
    sql`INSERT INTO rate_limits (key, window_start, count)
        SELECT key, ${start}::timestamptz, 1 FROM unnest(${textArray(keys)}) AS key
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN rate_limits.window_start > ${since}::timestamptz THEN rate_limits.count + 1 ELSE 1 END,
          window_start = CASE WHEN rate_limits.window_start > ${since}::timestamptz THEN rate_limits.window_start ELSE EXCLUDED.window_start END
        RETURNING key, count, window_start`,
  );
  const byKey = new Map(rows.map((r) => [r.key, { key: r.key, count: Number(r.count), windowStart: new Date(r.window_start) }]));
  return keys.map((key) => byKey.get(key)!);
}

/** Takes back one hit from each counter, if its window is still the one the hit landed in. */
export async function refundWindows(db: Executor, hits: readonly WindowCount[]): Promise<void> {
  for (const hit of hits) {
    await db.execute(
      sql`UPDATE rate_limits SET count = count - 1
          WHERE key = ${hit.key} AND window_start = ${hit.windowStart.toISOString()}::timestamptz AND count > 0`,
    );
  }
}

/** Whole seconds until a counter's window has passed (at least 1): the `Retry-After` of a refusal. */
export function secondsUntilWindowEnds(hit: WindowCount, now: Date, windowMs: number): number {
  return Math.max(1, Math.ceil((hit.windowStart.getTime() + windowMs - now.getTime()) / 1000));
}
