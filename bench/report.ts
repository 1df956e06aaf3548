/** What every benchmark prints the same way: latency quantiles and the machine it ran on. */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

/** The `q` quantile (nearest rank) of ascending `sorted` samples; NaN when there are none. */
export const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;

export interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Cores, CPU model, memory, Node and the load average now: figures mean little without them. */
export function machineLine(): string {
  return (
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`
  );
}
