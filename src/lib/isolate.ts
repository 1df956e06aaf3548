/**
 * Batch isolation: many requests written in one transaction must not fail together because one
 * of them is bad. Pure and generic; the callers (the claim engine, the member import, the
 * reminder scan, the notify job) say what a batch run is and which failures may be an item's.
 */

/** What became of one item: its own result, or the error of the smallest run it was in. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface IsolateOptions {
  /**
   * Whether a failed run may have been caused by one of its items, so that splitting it helps.
   * False (the database is unreachable, the caller's own refusal of the whole run): every item of
   * that run gets the error as it is, and no smaller run is tried. Default: always.
   */
  splittable?: (error: unknown) => boolean;
}

/**
 * Runs `items` through `runBatch` as one batch; if that fails, runs each half on its own, and so
 * on down to single items, so that only the items at fault get an error and every other gets its
 * own result. Halves run one after the other, first half first, so the order the items came in is
 * the order they are decided in. `runBatch` must answer one result per item, in order, and must
 * leave nothing behind when it throws (a rolled-back transaction).
 *
 * Cost: one run when nothing fails; with one bad item among n, 1 + 2·⌈log₂ n⌉ runs at most; with k
 * bad items, O(k·log n).
 */
export async function runIsolated<T, R>(
  items: readonly T[],
  runBatch: (batch: readonly T[]) => Promise<readonly R[]>,
  options: IsolateOptions = {},
): Promise<Settled<R>[]> {
  if (items.length === 0) return [];
  try {
    const values = await runBatch(items);
    if (values.length !== items.length) throw new Error(`a batch of ${items.length} answered ${values.length} results`);
    return values.map((value) => ({ ok: true, value }));
  } catch (error) {
    if (items.length === 1 || !(options.splittable?.(error) ?? true)) return items.map(() => ({ ok: false, error }));
    const half = Math.ceil(items.length / 2);
    const first = await runIsolated(items.slice(0, half), runBatch, options);
    const second = await runIsolated(items.slice(half), runBatch, options);
    return [...first, ...second];
  }
}
