import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runIsolated } from './isolate.js';

class Poisoned extends Error {}

/** A batch runner that fails whenever a poisoned item is in its batch, and counts its runs. */
function runner(poisoned: ReadonlySet<number>) {
  const runs: number[][] = [];
  const run = async (batch: readonly number[]) => {
    runs.push([...batch]);
    const bad = batch.find((i) => poisoned.has(i));
    if (bad !== undefined) throw new Poisoned(`item ${bad}`);
    return batch.map((i) => i * 10);
  };
  return { run, runs };
}

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

test('a batch without a poisoned item runs once and answers every item', async () => {
  const { run, runs } = runner(new Set());
  const settled = await runIsolated(items(256), run);
  assert.equal(runs.length, 1);
  assert.deepEqual(settled, items(256).map((i) => ({ ok: true, value: i * 10 })));
});

test('one poisoned item fails alone; every other gets its own result, in logarithmically many runs', async () => {
  for (const n of [2, 3, 7, 64, 256, 1000]) {
    for (const bad of [0, Math.floor(n / 2), n - 1]) {
      const { run, runs } = runner(new Set([bad]));
      const settled = await runIsolated(items(n), run);
      settled.forEach((s, i) => {
        if (i === bad) assert.ok(!s.ok && s.error instanceof Poisoned && s.error.message === `item ${bad}`, `item ${i} of ${n}`);
        else assert.deepEqual(s, { ok: true, value: i * 10 }, `item ${i} of ${n}`);
      });
      assert.ok(runs.length <= 1 + 2 * Math.ceil(Math.log2(n)), `${runs.length} runs for a batch of ${n}`);
      // Every good item was decided exactly once, in the order it came.
      const decided = runs.filter((r) => !r.includes(bad)).flat();
      assert.deepEqual(decided, items(n).filter((i) => i !== bad));
    }
  }
});

test('several poisoned items each fail alone, with O(k log n) runs', async () => {
  const poisoned = new Set([3, 100, 101, 200]);
  const { run, runs } = runner(poisoned);
  const settled = await runIsolated(items(256), run);
  assert.deepEqual(
    settled.flatMap((s, i) => (s.ok ? [] : [i])),
    [...poisoned],
  );
  assert.ok(runs.length <= 1 + 2 * poisoned.size * 8, `${runs.length} runs`);
});

test('a failure that no item caused is not split: every item of the run gets it, in one run', async () => {
  const down = new Error('connection refused');
  let calls = 0;
  const settled = await runIsolated(
    items(100),
    async () => {
      calls++;
      throw down;
    },
    { splittable: (err) => err !== down },
  );
  assert.equal(calls, 1);
  assert.ok(settled.every((s) => !s.ok && s.error === down));
});

test('an empty batch runs nothing; a runner answering the wrong number of results is a failure', async () => {
  assert.deepEqual(await runIsolated([], async () => { throw new Error('not called'); }), []);
  const settled = await runIsolated([1], async () => []);
  assert.ok(!settled[0]!.ok);
});
