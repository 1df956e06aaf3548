import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  checkAgainstParent,
  checkDrawCoverage,
  computeQuotaState,
  drawClosure,
  findDrawCycle,
  type QuotaLicense,
  type QuotaPool,
} from './quota.js';
import { effectiveStatus, isInEffect } from './license-status.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);

const pool = (id: string, restricted: boolean, extra: Partial<QuotaPool> = {}): QuotaPool => ({
  id,
  restricted,
  status: 'active',
  validUntil: null,
  ...extra,
});

let licenseSeq = 0;
const license = (poolId: string, limits: Record<string, number | null>, features: string[] = [], extra: Partial<QuotaLicense> = {}): QuotaLicense => ({
  id: `lic_${++licenseSeq}`,
  poolId,
  status: 'in_use',
  limits,
  features,
  validFrom: null,
  validUntil: null,
  ...extra,
});

const noUsage = new Map<string, Map<string, number>>();

describe('license status and effect', () => {
  test('a running license past its end reads as expired and is not in effect', () => {
    const l = license('p', {}, [], { validUntil: NOW });
    assert.equal(effectiveStatus(l, NOW), 'expired');
    assert.equal(isInEffect(l, NOW), false);
    assert.equal(isInEffect(l, day(-1)), true);
  });
  test('a license not yet started is not in effect', () => {
    assert.equal(isInEffect(license('p', {}, [], { validFrom: day(1) }), NOW), false);
  });
  test('suspended and finalized licenses are never in effect', () => {
    assert.equal(isInEffect(license('p', {}, [], { status: 'access_denied' }), NOW), false);
    assert.equal(isInEffect(license('p', {}, [], { status: 'finalized' }), NOW), false);
  });
});

describe('draws (C1, C3)', () => {
  const meters = [
    { key: 'seats', draws: [] },
    { key: 'product_a', draws: ['seats'] },
    { key: 'pro_a', draws: ['product_a'] },
  ];
  test('closure is transitive', () => {
    assert.deepEqual(drawClosure(meters).get('pro_a')?.sort(), ['product_a', 'seats']);
    assert.deepEqual(drawClosure(meters).get('seats'), []);
  });
  test('a cycle is found, naming its members', () => {
    assert.deepEqual(findDrawCycle(meters, { key: 'seats_x', draws: ['seats_x'] }), ['seats_x', 'seats_x']);
    const cyclic = [{ key: 'a', draws: ['b'] }, { key: 'b', draws: [] }];
    assert.deepEqual(findDrawCycle(cyclic, { key: 'b', draws: ['a'] }), ['b', 'a', 'b']);
    assert.equal(findDrawCycle(meters, { key: 'new', draws: ['pro_a', 'seats'] }), null);
  });
  test('a drawn meter must get at least as many units, transitively', () => {
    const closure = drawClosure(meters);
    assert.deepEqual(checkDrawCoverage({ pro_a: 5, seats: 4 }, closure), [{ meter: 'pro_a', drawnMeter: 'seats', limit: 5, drawnLimit: 4 }]);
    assert.deepEqual(checkDrawCoverage({ pro_a: 5, seats: 5, product_a: null }, closure), []);
    assert.deepEqual(checkDrawCoverage({ product_a: 3 }, closure), [], 'a meter the license does not name is not checked');
  });
});

describe('computeQuotaState examples', () => {
  const meters = [{ key: 'seats', draws: [] }, { key: 'product_a', draws: ['seats'] }];
  test('Nitro-LM: 10 seats shared, product A at most 3, B up to the seats left', () => {
    const root = pool('root', true);
    const usage = new Map([['root', new Map([['seats', 3], ['product_a', 3]])]]);
    const state = computeQuotaState({
      path: [root],
      licenses: [license('root', { seats: 10, product_a: 3 })],
      meters: [...meters, { key: 'product_b', draws: ['seats'] }],
      features: [],
      usage,
      now: NOW,
    });
    const a = state.meters.find((m) => m.key === 'product_a')!;
    const b = state.meters.find((m) => m.key === 'product_b')!;
    assert.equal(a.available, 0);
    assert.equal(b.limit, 0, 'a restricted pool has only what its licenses name');
  });
  test('a null limit in a license means no bound of its own: bounded by its draws', () => {
    const state = computeQuotaState({
      path: [pool('root', true)],
      licenses: [license('root', { seats: 10, product_a: null })],
      meters,
      features: [],
      usage: noUsage,
      now: NOW,
    });
    const a = state.meters.find((m) => m.key === 'product_a')!;
    assert.equal(a.limit, null);
    assert.equal(a.effectiveLimit, 10);
  });
  test('an unrestricted path gives everything without bound', () => {
    const state = computeQuotaState({ path: [pool('root', false), pool('c', false)], licenses: [], meters, features: ['x'], usage: noUsage, now: NOW });
    assert.deepEqual(
      state.meters.map((m) => [m.limit, m.effectiveLimit, m.available, m.enabled]),
      [[null, null, null, true], [null, null, null, true]],
    );
    assert.deepEqual(state.features, [{ key: 'x', enabled: true, until: null }]);
  });
  test('use above a lowered limit is reported, and nothing is available', () => {
    const usage = new Map([['root', new Map([['seats', 12]])]]);
    const state = computeQuotaState({ path: [pool('root', true)], licenses: [license('root', { seats: 10 })], meters, features: [], usage, now: NOW });
    assert.deepEqual(state.meters[0], { key: 'seats', limit: 10, effectiveLimit: 10, used: 12, available: 0, enabled: true, until: null, overLimit: true });
    assert.equal(state.meters[1]!.overLimit, true, 'product_a draws on the over-used seats');
  });
  test('the parent check (L7) uses the parent\'s effective state', () => {
    const parent = computeQuotaState({
      path: [pool('root', true), pool('dist', false)],
      licenses: [license('root', { seats: 10 }, ['f'], { validUntil: day(30) })],
      meters,
      features: ['f', 'g'],
      usage: noUsage,
      now: NOW,
    });
    assert.deepEqual(checkAgainstParent({ limits: { seats: 10 }, features: ['f'], validUntil: day(30) }, parent), []);
    assert.deepEqual(
      checkAgainstParent({ limits: { seats: 11, product_a: 1 }, features: ['g'], validUntil: day(10) }, parent),
      [
        { code: 'LIMIT_EXCEEDS_PARENT', meter: 'seats', limit: 11, parentLimit: 10 },
        { code: 'LIMIT_EXCEEDS_PARENT', meter: 'product_a', limit: 1, parentLimit: 0 },
        { code: 'FEATURE_NOT_IN_PARENT', feature: 'g' },
      ],
    );
    assert.deepEqual(checkAgainstParent({ limits: { seats: 1 }, features: [], validUntil: null }, parent), [
      { code: 'VALIDITY_OUTSIDE_PARENT', meter: 'seats', validUntil: null, parentUntil: day(30).toISOString() },
    ]);
  });
});

// ---- Properties against a simple reference model -------------------------------------------

const METERS = ['m0', 'm1', 'm2'];
const FEATURES = ['f0', 'f1', 'f2'];

const arbLicense = (poolIndex: number) =>
  fc.record({
    poolIndex: fc.constant(poolIndex),
    limits: fc.dictionary(fc.constantFrom(...METERS), fc.option(fc.nat(50), { nil: null, freq: 5 }), { maxKeys: 3 }),
    features: fc.uniqueArray(fc.constantFrom(...FEATURES), { maxLength: 3 }),
    status: fc.constantFrom('in_use', 'in_use', 'in_use', 'access_denied', 'finalized'),
    endsInDays: fc.option(fc.integer({ min: -10, max: 60 }), { nil: null }),
  });

const arbTree = fc.integer({ min: 1, max: 8 }).chain((depth) =>
  fc.record({
    restricted: fc.array(fc.boolean(), { minLength: depth, maxLength: depth }),
    licenses: fc.tuple(...Array.from({ length: depth }, (_, i) => fc.array(arbLicense(i), { maxLength: 3 }))).map((ls) => ls.flat()),
    used: fc.array(fc.array(fc.nat(20), { minLength: METERS.length, maxLength: METERS.length }), { minLength: depth, maxLength: depth }),
  }),
);

type Tree = { restricted: boolean[]; licenses: { poolIndex: number; limits: Record<string, number | null>; features: string[]; status: string; endsInDays: number | null }[]; used: number[][] };

function build(tree: Tree) {
  const path = tree.restricted.map((r, i) => pool(`p${i}`, r));
  const licenses = tree.licenses.map((l) =>
    license(`p${l.poolIndex}`, l.limits, l.features, {
      status: l.status as QuotaLicense['status'],
      validUntil: l.endsInDays === null ? null : day(l.endsInDays),
    }),
  );
  const usage = new Map(path.map((p, i) => [p.id, new Map(METERS.map((m, j) => [m, tree.used[i]![j]!]))]));
  return { path, licenses, usage };
}

/** The reference: the rules written the plainest way, one pool and one meter at a time. */
function referenceOwnLimit(tree: Tree, poolIndex: number, meter: string): number {
  if (!tree.restricted[poolIndex]) return Infinity;
  const alive = tree.licenses.filter(
    (l) => l.poolIndex === poolIndex && l.status === 'in_use' && (l.endsInDays === null || l.endsInDays > 0) && meter in l.limits,
  );
  if (alive.length === 0) return 0;
  if (alive.some((l) => l.limits[meter] === null)) return Infinity;
  return alive.reduce((sum, l) => sum + (l.limits[meter] as number), 0);
}

function referenceHasFeature(tree: Tree, poolIndex: number, feature: string): boolean {
  if (!tree.restricted[poolIndex]) return true;
  return tree.licenses.some(
    (l) => l.poolIndex === poolIndex && l.status === 'in_use' && (l.endsInDays === null || l.endsInDays > 0) && l.features.includes(feature),
  );
}

const finite = (n: number) => (n === Infinity ? null : n);

describe('properties of the tree arithmetic', () => {
  const meters = METERS.map((key) => ({ key, draws: [] }));

  test('effective limit is the minimum of the own limits over the path', () => {
    fc.assert(
      fc.property(arbTree, (tree) => {
        const { path, licenses, usage } = build(tree);
        const state = computeQuotaState({ path, licenses, meters, features: FEATURES, usage, now: NOW });
        for (const m of state.meters) {
          const expected = Math.min(...path.map((_, i) => referenceOwnLimit(tree, i, m.key)));
          assert.equal(m.effectiveLimit, finite(expected));
          assert.equal(m.limit, finite(referenceOwnLimit(tree, path.length - 1, m.key)));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('available is the least headroom over the path, never negative, never above the effective limit', () => {
    fc.assert(
      fc.property(arbTree, (tree) => {
        const { path, licenses, usage } = build(tree);
        const state = computeQuotaState({ path, licenses, meters, features: FEATURES, usage, now: NOW });
        for (const [j, m] of state.meters.entries()) {
          const headroom = Math.min(...path.map((_, i) => referenceOwnLimit(tree, i, m.key) - tree.used[i]![j]!));
          assert.equal(m.available, headroom === Infinity ? null : Math.max(0, headroom));
          assert.equal(m.overLimit, headroom < 0);
          if (m.available !== null) assert.ok(m.effectiveLimit !== null && m.available <= m.effectiveLimit);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a feature is on exactly when every pool on the path gives it (intersection)', () => {
    fc.assert(
      fc.property(arbTree, (tree) => {
        const { path, licenses, usage } = build(tree);
        const state = computeQuotaState({ path, licenses, meters, features: FEATURES, usage, now: NOW });
        for (const f of state.features) {
          assert.equal(f.enabled, path.every((_, i) => referenceHasFeature(tree, i, f.key)));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('fallback: once a license has ended the state is as if it had never been', () => {
    fc.assert(
      fc.property(arbTree, fc.nat(), (tree, pick) => {
        fc.pre(tree.licenses.length > 0);
        const index = pick % tree.licenses.length;
        const ended = { ...tree, licenses: tree.licenses.map((l, i) => (i === index ? { ...l, endsInDays: -1 } : l)) };
        const without = { ...tree, licenses: tree.licenses.filter((_, i) => i !== index) };
        const a = build(ended);
        const b = build(without);
        const stateOf = (x: ReturnType<typeof build>) =>
          computeQuotaState({ ...x, meters, features: FEATURES, now: NOW });
        // License ids differ between the two builds; the reasons must name the same pools.
        const strip = (s: ReturnType<typeof stateOf>) => ({
          ...s,
          notServing: s.notServing.map((r) => ({ ...r, licenseId: undefined })),
          meters: s.meters.map(({ until: _, ...m }) => m),
          features: s.features.map(({ until: _, ...f }) => f),
        });
        assert.deepEqual(strip(stateOf(a)), strip(stateOf(b)));
      }),
      { numRuns: 300 },
    );
  });

  test('a license in access_denied on the path stops the service, naming its pool and license, until its end', () => {
    fc.assert(
      fc.property(arbTree, (tree) => {
        const { path, licenses, usage } = build(tree);
        const state = computeQuotaState({ path, licenses, meters, features: FEATURES, usage, now: NOW });
        const denied = licenses.filter((l) => l.status === 'access_denied' && (l.validUntil === null || l.validUntil > NOW));
        assert.deepEqual(
          state.notServing.filter((r) => r.code === 'LICENSE_ACCESS_DENIED'),
          path.flatMap((p) => denied.filter((l) => l.poolId === p.id).map((l) => ({ code: 'LICENSE_ACCESS_DENIED', poolId: p.id, licenseId: l.id }))),
        );
        if (denied.length > 0) assert.equal(state.serving, false);
      }),
      { numRuns: 300 },
    );
  });

  test('the end date is never later than the earliest pool validUntil on the path', () => {
    fc.assert(
      fc.property(arbTree, fc.integer({ min: 1, max: 90 }), fc.nat(), (tree, endsIn, at) => {
        const built = build(tree);
        const index = at % built.path.length;
        built.path[index] = { ...built.path[index]!, validUntil: day(endsIn) };
        const state = computeQuotaState({ ...built, meters, features: FEATURES, now: NOW });
        for (const x of [...state.meters, ...state.features]) {
          if (x.enabled) assert.ok(x.until !== null && x.until <= day(endsIn));
        }
      }),
      { numRuns: 300 },
    );
  });
});
