import { sql } from 'drizzle-orm';
import { rowsOf, type Executor } from '../../db/client.js';

/**
 * Fixed-window counters in the database, so every process sharing it sees the same count
 * (an in-process limiter would give each replica its own allowance).
 */
export async function countInWindow(db: Executor, key: string, now: Date, windowMs: number): Promise<number> {
  const since = new Date(now.getTime() - windowMs);
  const rows = await rowsOf<{ count: number }>(
    db,
    sql`SELECT count FROM rate_limits WHERE key = ${key} AND window_start > ${since.toISOString()}::timestamptz`,
  );
  return rows[0]?.count ?? 0;
}

/** Adds one to the key's window (starting a new window when the old one has passed). */
export async function hitWindow(db: Executor, key: string, now: Date, windowMs: number): Promise<number> {
  const since = new Date(now.getTime() - windowMs).toISOString();
  const rows = await rowsOf<{ count: number }>(
    db,
    sql`INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, ${now.toISOString()}::timestamptz, 1)
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN rate_limits.window_start > ${since}::timestamptz THEN rate_limits.count + 1 ELSE 1 END,
          window_start = CASE WHEN rate_limits.window_start > ${since}::timestamptz THEN rate_limits.window_start ELSE EXCLUDED.window_start END
        RETURNING count`,
  );
  return rows[0]!.count;
}
