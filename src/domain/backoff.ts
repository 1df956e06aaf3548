/**
 * Retry delays of background jobs: exponential, capped, with "equal jitter" (half the delay
 * fixed, half random), so retries of many jobs that failed together (an SMTP server down) spread
 * out instead of returning in one burst, and none comes back sooner than half its step.
 */
export interface Backoff {
  /** The delay after the first failed attempt. */
  baseMs: number;
  /** No delay is longer. */
  maxMs: number;
}

/** The delay before attempt `attempt + 1`, after `attempt` (≥ 1) failed; `random` in [0, 1). */
export function backoffDelay(policy: Backoff, attempt: number, random: number = Math.random()): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52));
  return Math.round(step / 2 + (step / 2) * random);
}
