import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { combineStrictest, computeEntitlements, membershipEntitlements, type Entitlements, type Membership } from './entitlements.js';
import type { QuotaLicense, QuotaPool } from './quota.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000);

const pool = (id: string, restricted: boolean, extra: Partial<QuotaPool> = {}): QuotaPool => ({ id, restricted, status: 'active', validUntil: null, ...extra });

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

const membership = (path: QuotaPool[], extra: Partial<Membership> = {}): Membership => ({
  memberId: 'mem_1',
  status: 'verified',
  deviceStatus: null,
  access: { allowed: true },
  path,
  held: [],
  ...extra,
});

// Seed 001: SIP numbers for apps (each mobile app takes a SIP number), door opening and guest access.
const meters = [
  { key: 'mobile_apps', draws: ['sip_numbers'] },
  { key: 'sip_numbers', draws: [] },
];
const features = ['guest_access', 'remote_door_opening'];
const usage = (rows: [string, string, number][]) => {
  const out = new Map<string, Map<string, number>>();
  for (const [poolId, meter, used] of rows) {
    if (!out.has(poolId)) out.set(poolId, new Map());
    out.get(poolId)!.set(meter, used);
  }
  return out;
};

const vendor = pool('root', true);
const building = pool('building', true, { validUntil: day(200) });
const apartment = pool('apartment', false);
const licenses = [
  license('root', { mobile_apps: 1000, sip_numbers: 1000 }, features),
  license('building', { mobile_apps: 10, sip_numbers: 50 }, ['remote_door_opening'], { validUntil: day(90) }),
  license('building', { sip_numbers: 5 }, [], { validUntil: day(30) }),
];
const catalog = { licenses, meters, features, now: NOW };

describe('entitlements of one membership (U6)', () => {
  test('after the whole ancestor chain: limits, what is left, what the member holds, and when each grant ends', () => {
    const e = membershipEntitlements(
      membership([vendor, building, apartment], { held: [{ meter: 'mobile_apps', quantity: 2 }, { meter: 'sip_numbers', quantity: 1 }] }),
      { ...catalog, usage: usage([['building', 'mobile_apps', 4], ['building', 'sip_numbers', 53], ['apartment', 'mobile_apps', 2], ['apartment', 'sip_numbers', 3]]) },
    );
    assert.equal(e.serving, true);
    assert.deepEqual(e.reasons, []);
    assert.deepEqual(e.until, day(200), "the building's validUntil");
    assert.deepEqual(e.meters, [
      // Bounded by the SIP numbers it draws on: 55 − 53 = 2 left, though 6 apps are free.
      { key: 'mobile_apps', limit: 10, used: 2, remaining: 2, until: day(90) },
      { key: 'sip_numbers', limit: 55, used: 3, remaining: 2, until: day(90) },
    ]);
    assert.deepEqual(e.features, [
      { key: 'guest_access', enabled: false, until: null },
      { key: 'remote_door_opening', enabled: true, until: day(90) },
    ]);
  });

  test('every reason it is not served, in the order a claim refusal gives them; the numbers stay visible', () => {
    const suspended = pool('building', true, { status: 'suspended', validUntil: day(-1) });
    const e = membershipEntitlements(
      membership([vendor, suspended, apartment], {
        status: 'pending',
        deviceStatus: 'stolen',
        access: { allowed: false, poolId: 'apartment', ruleId: 'acr_1', reason: 'the address x@rival.test is excluded' },
      }),
      { ...catalog, usage: usage([]) },
    );
    assert.equal(e.serving, false);
    assert.deepEqual(e.reasons, [
      { code: 'POOL_NOT_ACTIVE', poolId: 'building', status: 'suspended' },
      { code: 'POOL_EXPIRED', poolId: 'building', validUntil: day(-1).toISOString() },
      { code: 'MEMBER_NOT_VERIFIED', memberId: 'mem_1', status: 'pending' },
      { code: 'DEVICE_BLOCKED', memberId: 'mem_1', deviceStatus: 'stolen' },
      { code: 'ACCESS_RULE', poolId: 'apartment', ruleId: 'acr_1', detail: 'the address x@rival.test is excluded' },
    ]);
    assert.equal(e.meters.find((m) => m.key === 'sip_numbers')!.limit, 55);
  });

  test('an unrestricted path has no limits and every feature, with no end', () => {
    const e = membershipEntitlements(membership([pool('open', false)]), { licenses: [], meters, features, now: NOW, usage: usage([]) });
    assert.deepEqual(e.meters.map((m) => [m.limit, m.remaining, m.until]), [[null, null, null], [null, null, null]]);
    assert.deepEqual(e.features.map((f) => [f.enabled, f.until]), [[true, null], [true, null]]);
    assert.equal(e.until, null);
  });
});

describe("M2's strictest rule over an account's memberships", () => {
  const entitlements = (over: Partial<Entitlements>): Entitlements => ({
    serving: true,
    reasons: [],
    until: null,
    features: [
      { key: 'guest_access', enabled: true, until: null },
      { key: 'remote_door_opening', enabled: true, until: day(90) },
    ],
    meters: [{ key: 'sip_numbers', limit: 50, used: 1, remaining: 40, until: day(90) }],
    ...over,
  });

  test('one membership is its own result', () => {
    const one = entitlements({});
    assert.deepEqual(combineStrictest([one]), one);
  });

  test('a feature only if every pool gives it; the lowest limit and remaining count; the earliest end; what is held adds up', () => {
    const a = entitlements({ until: day(300) });
    const b = entitlements({
      until: day(100),
      features: [
        { key: 'guest_access', enabled: false, until: null },
        { key: 'remote_door_opening', enabled: true, until: day(20) },
      ],
      meters: [{ key: 'sip_numbers', limit: 30, used: 2, remaining: 45, until: null }],
    });
    assert.deepEqual(combineStrictest([a, b]), {
      serving: true,
      reasons: [],
      until: day(100),
      features: [
        { key: 'guest_access', enabled: false, until: null },
        { key: 'remote_door_opening', enabled: true, until: day(20) },
      ],
      meters: [{ key: 'sip_numbers', limit: 30, used: 3, remaining: 40, until: day(90) }],
    });
  });

  test('unlimited gives way to any number; a meter off anywhere is off, with no end date', () => {
    const a = entitlements({ meters: [{ key: 'sip_numbers', limit: null, used: 0, remaining: null, until: null }] });
    const b = entitlements({ meters: [{ key: 'sip_numbers', limit: 7, used: 0, remaining: 7, until: day(9) }] });
    assert.deepEqual(combineStrictest([a, b]).meters, [{ key: 'sip_numbers', limit: 7, used: 0, remaining: 7, until: day(9) }]);
    const off = entitlements({ meters: [{ key: 'sip_numbers', limit: 0, used: 0, remaining: 0, until: null }] });
    assert.deepEqual(combineStrictest([b, off]).meters, [{ key: 'sip_numbers', limit: 0, used: 0, remaining: 0, until: null }]);
  });

  test('served only where every membership is; a reason about a shared ancestor is given once', () => {
    const rootDown = { code: 'POOL_NOT_ACTIVE' as const, poolId: 'root', status: 'suspended' };
    const a = entitlements({ serving: false, reasons: [rootDown] });
    const b = entitlements({ serving: false, reasons: [rootDown, { code: 'MEMBER_NOT_VERIFIED', memberId: 'mem_2', status: 'rejected' }] });
    const combined = combineStrictest([a, b, entitlements({})]);
    assert.equal(combined.serving, false);
    assert.deepEqual(combined.reasons, [rootDown, { code: 'MEMBER_NOT_VERIFIED', memberId: 'mem_2', status: 'rejected' }]);
  });

  test('two apartments of one building: the account gets what the stricter apartment leaves it', () => {
    const restrictedFlat = pool('flat_b', true);
    const result = computeEntitlements({
      memberships: [
        membership([vendor, building, apartment], { memberId: 'mem_a', held: [{ meter: 'mobile_apps', quantity: 1 }] }),
        membership([vendor, building, restrictedFlat], { memberId: 'mem_b', held: [{ meter: 'sip_numbers', quantity: 1 }] }),
      ],
      licenses: [...licenses, license('flat_b', { mobile_apps: 2, sip_numbers: 2 }, ['guest_access'])],
      meters,
      features,
      usage: usage([['building', 'mobile_apps', 1], ['building', 'sip_numbers', 2], ['flat_b', 'sip_numbers', 1]]),
      now: NOW,
    });
    assert.deepEqual(result.meters, [
      { key: 'mobile_apps', limit: 2, used: 1, remaining: 1, until: day(90) },
      { key: 'sip_numbers', limit: 2, used: 2, remaining: 1, until: day(90) },
    ]);
    // Guest access: flat_b's license gives it, the building does not. Door opening: the other way round.
    assert.deepEqual(result.features.map((f) => [f.key, f.enabled]), [['guest_access', false], ['remote_door_opening', false]]);
    assert.equal(result.serving, true);
  });
});
