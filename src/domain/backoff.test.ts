import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './backoff.js';

const policy = { baseMs: 1_000, maxMs: 60_000 };

test('delays double per attempt up to the cap, each between half its step and the full step', () => {
  const steps = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000];
  steps.forEach((step, i) => {
    assert.equal(backoffDelay(policy, i + 1, 0), step / 2, `attempt ${i + 1}, least`);
    assert.equal(backoffDelay(policy, i + 1, 0.999999), step, `attempt ${i + 1}, most`);
  });
});

test('jitter spreads retries of jobs that failed together', () => {
  const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(policy, 5)));
  assert.ok(delays.size > 50, `${delays.size} distinct delays of 100`);
  for (const d of delays) assert.ok(d >= 8_000 && d <= 16_000, String(d));
});

test('huge attempt numbers stay at the cap (no overflow to Infinity or NaN)', () => {
  assert.equal(backoffDelay(policy, 10_000, 0.999999), 60_000);
  assert.equal(backoffDelay(policy, 0, 0), 500);
});
