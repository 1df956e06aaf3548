/**
 * Preloaded into a server by `npm run bench:claims -- --profile`: counts every statement sent
 * through node-postgres and the time until its answer, and appends the tally so far as a JSON
 * line to LICENSEPOOL_BENCH_QUERY_LOG on SIGWINCH and on exit. Measures; changes nothing it counts.
 */
import { appendFileSync } from 'node:fs';
import pg from 'pg';

const target = process.env.LICENSEPOOL_BENCH_QUERY_LOG;
if (!target) throw new Error('LICENSEPOOL_BENCH_QUERY_LOG is not set');

const tally = new Map<string, { count: number; ms: number }>();
const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;

/** A statement's shape: whitespace squeezed, its first 140 characters. */
const shapeOf = (q: unknown) => {
  const text = typeof q === 'string' ? q : ((q as { text?: string } | null)?.text ?? '?');
  return text.replace(/\s+/g, ' ').trim().slice(0, 140);
};

pg.Client.prototype.query = function patched(this: pg.Client, ...args: unknown[]) {
  const shape = shapeOf(args[0]);
  const started = performance.now();
  const settle = () => {
    const entry = tally.get(shape) ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += performance.now() - started;
    tally.set(shape, entry);
  };
  // pg-pool answers through a callback, transactions through a promise.
  const last = args.length - 1;
  if (typeof args[last] === 'function') {
    const callback = args[last] as (...a: unknown[]) => unknown;
    args[last] = (...a: unknown[]) => {
      settle();
      return callback(...a);
    };
    return original.apply(this, args);
  }
  const result = original.apply(this, args);
  if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(settle, settle);
  return result;
} as typeof pg.Client.prototype.query;

/** One JSON line per snapshot: SIGWINCH takes one (the benchmark's window edges; SIGUSR2 would shut the server down through close-with-grace), and exiting takes the last. */
const snapshot = () => appendFileSync(target, `${JSON.stringify([...tally].map(([shape, v]) => ({ shape, ...v })))}\n`);
process.on('SIGWINCH', snapshot);
process.once('exit', snapshot);
