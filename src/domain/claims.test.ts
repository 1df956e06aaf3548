import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { counterKey, decideClaim, touchedCounters, type ClaimContext, type ClaimSubject, type Counters } from './claims.js';
import { drawClosure, type QuotaLicense, type QuotaPool } from './quota.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const pool = (id: string, restricted = true, extra: Partial<QuotaPool> = {}): QuotaPool => ({ id, restricted, status: 'active', validUntil: null, ...extra });
const license = (poolId: string, limits: Record<string, number | null>): QuotaLicense => ({
  id: `lic_${poolId}`, poolId, status: 'in_use', limits, features: [], validFrom: null, validUntil: null,
});
const verified: ClaimSubject = { memberId: 'mem_1', memberStatus: 'verified', deviceStatus: null, access: { allowed: true } };

/** Applies a grant the way the engine does: every touched counter goes up. */
function take(ctx: ClaimContext, counters: Counters, meter: string, quantity = 1): boolean {
  const d = decideClaim(ctx, verified, { meter, quantity, kind: 'lease' }, counters);
  if (d.granted) for (const k of touchedCounters(ctx.path, meter, ctx.closure)) counters.set(k, (counters.get(k) ?? 0) + quantity);
  return d.granted;
}

describe('decideClaim', () => {
  test('seed 004: 10 seats shared by product A (at most 3) and product B', () => {
    const meters = [{ key: 'seats', draws: [] }, { key: 'product_a', draws: ['seats'] }, { key: 'product_b', draws: ['seats'] }];
    const ctx: ClaimContext = { path: [pool('root')], licenses: [license('root', { seats: 10, product_a: 3, product_b: null })], closure: drawClosure(meters), now: NOW };
    const counters: Counters = new Map();
    assert.deepEqual([1, 2, 3].map(() => take(ctx, counters, 'product_a')), [true, true, true]);
    const fourth = decideClaim(ctx, verified, { meter: 'product_a', quantity: 1, kind: 'lease' }, counters);
    assert.deepEqual(fourth, { granted: false, reasons: [{ code: 'LIMIT_REACHED', poolId: 'root', meter: 'product_a', limit: 3, used: 3 }] });
    let b = 0;
    while (take(ctx, counters, 'product_b')) b++;
    assert.equal(b, 7, 'B takes exactly the seats left');
    const next = decideClaim(ctx, verified, { meter: 'product_b', quantity: 1, kind: 'lease' }, counters);
    assert.deepEqual(next, { granted: false, reasons: [{ code: 'LIMIT_REACHED', poolId: 'root', meter: 'seats', limit: 10, used: 10 }] });
  });

  test('every reason is given, the nearest limiting pool first', () => {
    const meters = [{ key: 'sip', draws: [] }, { key: 'apps', draws: ['sip'] }];
    const ctx: ClaimContext = {
      path: [pool('root', true, { status: 'suspended' }), pool('flat', true, { maxBorrowDays: 7 })],
      licenses: [license('root', { sip: 1, apps: 1 }), license('flat', { sip: 1, apps: 1 })],
      closure: drawClosure(meters),
      now: NOW,
    };
    const counters: Counters = new Map([[counterKey('root', 'sip'), 1], [counterKey('flat', 'apps'), 1]]);
    const subject: ClaimSubject = { memberId: 'mem_9', memberStatus: 'pending', deviceStatus: 'stolen', access: { allowed: false, poolId: 'root', ruleId: 'acr_1', reason: 'the domain x.test is excluded' } };
    const d = decideClaim(ctx, subject, { meter: 'apps', quantity: 1, kind: 'borrow', borrowDays: 30 }, counters);
    assert.equal(d.granted, false);
    assert.deepEqual(!d.granted && d.reasons.map((r) => r.code), [
      'POOL_NOT_ACTIVE', 'MEMBER_NOT_VERIFIED', 'DEVICE_BLOCKED', 'ACCESS_RULE', 'BORROW_TOO_LONG', 'LIMIT_REACHED', 'LIMIT_REACHED',
    ]);
    assert.deepEqual(!d.granted && d.reasons.slice(5), [
      { code: 'LIMIT_REACHED', poolId: 'flat', meter: 'apps', limit: 1, used: 1 },
      { code: 'LIMIT_REACHED', poolId: 'root', meter: 'sip', limit: 1, used: 1 },
    ]);
  });

  test('borrowing needs the pool to allow it, for no longer than the strictest maxBorrowDays on the path', () => {
    const ctx = (root: number | null, leaf: number | null): ClaimContext => ({
      path: [pool('root', false, { maxBorrowDays: root }), pool('leaf', false, { maxBorrowDays: leaf })], licenses: [], closure: drawClosure([{ key: 'seats', draws: [] }]), now: NOW,
    });
    const borrow = (c: ClaimContext, days: number) => decideClaim(c, verified, { meter: 'seats', quantity: 1, kind: 'borrow', borrowDays: days }, new Map()).granted;
    assert.equal(borrow(ctx(null, null), 1), false, 'not enabled anywhere');
    assert.equal(borrow(ctx(30, 7), 7), true);
    assert.equal(borrow(ctx(30, 7), 8), false);
    assert.equal(borrow(ctx(5, 14), 6), false, 'an ancestor\'s stricter limit applies');
  });
});

describe('property: counters decide exactly as recounting the live claims would', () => {
  const meters = [{ key: 'seats', draws: [] }, { key: 'pro', draws: ['seats'] }, { key: 'other', draws: [] }];
  const closure = drawClosure(meters);
  // A fixed tree: root → a → a1, root → b.
  const paths: Record<string, QuotaPool[]> = {};
  const root = pool('root'), a = pool('a'), a1 = pool('a1', false), b = pool('b');
  paths.a1 = [root, a, a1];
  paths.a = [root, a];
  paths.b = [root, b];
  const arbLimits = fc.record({ seats: fc.nat(6), pro: fc.option(fc.nat(4), { nil: null }), other: fc.nat(3) });
  const arbOp = fc.oneof(
    fc.record({ op: fc.constant('take' as const), at: fc.constantFrom('a1', 'a', 'b'), meter: fc.constantFrom('seats', 'pro', 'other'), quantity: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ op: fc.constant('release' as const), index: fc.nat() }),
  );

  test('grants, refusals and counters match a reference that sums live claims', () => {
    fc.assert(
      fc.property(arbLimits, arbLimits, arbLimits, fc.array(arbOp, { maxLength: 60 }), (lr, la, lb, ops) => {
        const licenses = [license('root', lr), license('a', la), license('b', lb)];
        const counters: Counters = new Map();
        const live: { at: string; meter: string; quantity: number }[] = [];
        const limitOf = (poolId: string, meter: string) => {
          const l = licenses.find((x) => x.poolId === poolId);
          if (!l) return Infinity; // a1 is unrestricted
          const v = l.limits[meter];
          return v === null || v === undefined ? (v === null ? Infinity : 0) : v;
        };
        /** The reference: units on (pool, meter) = the live claims below the pool that take the meter. */
        const usedRef = (poolId: string, meter: string) =>
          live.filter((c) => paths[c.at]!.some((p) => p.id === poolId) && [c.meter, ...closure.get(c.meter)!].includes(meter)).reduce((s, c) => s + c.quantity, 0);
        for (const o of ops) {
          if (o.op === 'release') {
            if (live.length === 0) continue;
            const [c] = live.splice(o.index % live.length, 1);
            for (const k of touchedCounters(paths[c!.at]!, c!.meter, closure)) counters.set(k, counters.get(k)! - c!.quantity);
            continue;
          }
          const ctx: ClaimContext = { path: paths[o.at]!, licenses, closure, now: NOW };
          const decision = decideClaim(ctx, verified, { meter: o.meter, quantity: o.quantity, kind: 'lease' }, counters);
          const fits = ctx.path.every((p) => [o.meter, ...closure.get(o.meter)!].every((m) => usedRef(p.id, m) + o.quantity <= limitOf(p.id, m)));
          assert.equal(decision.granted, fits);
          if (decision.granted) {
            live.push({ at: o.at, meter: o.meter, quantity: o.quantity });
            for (const k of touchedCounters(ctx.path, o.meter, closure)) counters.set(k, (counters.get(k) ?? 0) + o.quantity);
          }
          for (const p of [root, a, a1, b]) {
            for (const m of ['seats', 'pro', 'other']) {
              assert.equal(counters.get(counterKey(p.id, m)) ?? 0, usedRef(p.id, m));
              assert.ok(usedRef(p.id, m) <= limitOf(p.id, m), 'used never exceeds a limit');
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
