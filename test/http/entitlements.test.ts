/**
 * U6: GET /v1/members/{id}/entitlements — a member's effective features and remaining counts,
 * with end dates, after its whole ancestor chain and M2's strictest rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, createTestApp, ok, person, residenceTree, vendor, verifiedMember, type TestApp, type Tree } from '../helpers.js';

const DAY_MS = 86_400_000;

for (const backend of backends()) {
  describe(`entitlements (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let building: string;
    let flatA: string;
    let flatB: string;
    let resident: Awaited<ReturnType<typeof person>>;
    let memberA: string;
    const at = (days: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + days * DAY_MS).toISOString();
    const entitlementsOf = (memberId: string, token = resident.token) => call(t.app, 'GET', `/v1/members/${memberId}/entitlements`, { token });
    const addVerified = (poolId: string, body: Parameters<typeof verifiedMember>[3]) => verifiedMember(t, v.operator.token, poolId, body);

    before(async () => {
      t = await createTestApp(backend);
      // Seed 001: a building with SIP numbers and mobile apps (each app takes a SIP number); a resident in two apartments.
      ({ v, building, flatA, flatB } = await residenceTree(t));
      resident = await person(t, 'resident@home.test');
      memberA = await addVerified(flatA, { email: resident.email });
    });
    after(() => t.close());

    test("a member sees its features and remaining counts after its whole ancestor chain, with end dates, as the state view counts them", async () => {
      const claim = await ok(t.app, 'POST', '/v1/claims', { token: resident.token, body: { memberId: memberA, meter: 'mobile_apps', kind: 'assignment' } });
      const res = await entitlementsOf(memberA);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {
        memberId: memberA,
        poolId: flatA,
        at: at(0),
        serving: true,
        reasons: [],
        until: at(200),
        features: [
          { key: 'guest_access', enabled: true, until: at(90) },
          { key: 'remote_door_opening', enabled: true, until: at(90) },
          { key: 'siri', enabled: false, until: null },
        ],
        meters: [
          // One app taken: one of each (an app takes a SIP number).
          { key: 'mobile_apps', limit: 10, used: 1, remaining: 9, until: at(90) },
          { key: 'sip_numbers', limit: 50, used: 1, remaining: 49, until: at(90) },
        ],
      });
      const state = await ok(t.app, 'GET', `/v1/pools/${flatA}/state`, { token: v.operator.token });
      for (const m of res.body.meters) {
        const s = state.meters.find((x: any) => x.key === m.key);
        assert.deepEqual([m.limit, m.remaining, m.until], [s.effectiveLimit, s.available, s.until], m.key);
      }
      // Another member's use lowers what is left to everyone, not what this member holds.
      const neighbour = await addVerified(flatA, { device: { serial: 'WIDI-1', type: 'WiDI' } });
      await ok(t.app, 'POST', '/v1/claims', { token: v.operator.token, body: { memberId: neighbour, meter: 'sip_numbers', kind: 'assignment', quantity: 4 } });
      const after4 = (await entitlementsOf(memberA)).body.meters.find((m: any) => m.key === 'sip_numbers');
      assert.deepEqual([after4.used, after4.remaining], [1, 45]);
      const device = await entitlementsOf(neighbour, v.operator.token);
      assert.deepEqual([device.body.serving, device.body.meters.find((m: any) => m.key === 'sip_numbers').used], [true, 4]);
      await ok(t.app, 'DELETE', `/v1/members/${neighbour}`, { token: v.operator.token });
      await ok(t.app, 'DELETE', `/v1/claims/${claim.id}`, { token: resident.token });
    });

    test('not served: every reason, with the codes and fields a claim refusal gives', async () => {
      const pending = await ok(t.app, 'POST', `/v1/pools/${flatA}/members`, { token: v.operator.token, body: { email: (await person(t, 'guest@rival.test')).email } });
      const rule = await ok(t.app, 'POST', `/v1/pools/${building}/access-rules`, { token: v.operator.token, body: { effect: 'exclude', match: 'domain', value: 'rival.test' } });
      await ok(t.app, 'POST', `/v1/pools/${building}/suspend`, { token: v.operator.token });
      const res = await entitlementsOf(pending.id, v.operator.token);
      assert.equal(res.body.serving, false);
      assert.deepEqual(res.body.reasons.map((r: any) => r.code), ['POOL_NOT_ACTIVE', 'MEMBER_NOT_VERIFIED', 'ACCESS_RULE']);
      const refused = await call(t.app, 'POST', '/v1/claims', { token: v.operator.token, body: { memberId: pending.id, meter: 'sip_numbers', kind: 'assignment' } });
      assert.deepEqual(res.body.reasons, refused.body.reasons, 'the same reasons as the claim refusal');
      assert.equal(res.body.reasons[2].ruleId, rule.id);
      // The numbers stay visible, so support sees what returns once the reasons are gone.
      assert.equal(res.body.meters.find((m: any) => m.key === 'sip_numbers').limit, 50);

      await ok(t.app, 'POST', `/v1/pools/${building}/resume`, { token: v.operator.token });
      await ok(t.app, 'DELETE', `/v1/pools/${building}/access-rules/${rule.id}`, { token: v.operator.token });
      assert.deepEqual((await entitlementsOf(memberA)).body.reasons, []);
      await ok(t.app, 'DELETE', `/v1/members/${pending.id}`, { token: v.operator.token });
    });

    test("M2: an account verified in two apartments gets the strictest of both, whichever membership is asked about", async () => {
      const pendingB = await ok(t.app, 'POST', `/v1/pools/${flatB}/members`, { token: v.operator.token, body: { email: resident.email } });
      const alone = (await entitlementsOf(memberA)).body;
      assert.equal(alone.meters.find((m: any) => m.key === 'mobile_apps').limit, 10, 'a pending membership does not count yet');
      await ok(t.app, 'POST', `/v1/members/${pendingB.id}/verify`, { token: v.operator.token });
      const claim = await ok(t.app, 'POST', '/v1/claims', { token: resident.token, body: { memberId: pendingB.id, meter: 'mobile_apps', kind: 'assignment' } });

      const fromA = (await entitlementsOf(memberA)).body;
      const fromB = (await entitlementsOf(pendingB.id)).body;
      assert.deepEqual(
        { ...fromA, memberId: undefined, poolId: undefined },
        { ...fromB, memberId: undefined, poolId: undefined },
        'one account, one answer',
      );
      assert.deepEqual(fromA.features, [
        { key: 'guest_access', enabled: false, until: null },
        { key: 'remote_door_opening', enabled: true, until: at(60) },
        { key: 'siri', enabled: false, until: null },
      ]);
      assert.deepEqual(fromA.meters, [
        { key: 'mobile_apps', limit: 2, used: 1, remaining: 1, until: at(60) },
        { key: 'sip_numbers', limit: 2, used: 1, remaining: 1, until: at(60) },
      ]);
      assert.equal(fromA.until, at(200));
      await ok(t.app, 'DELETE', `/v1/claims/${claim.id}`, { token: resident.token });
      await ok(t.app, 'DELETE', `/v1/members/${pendingB.id}`, { token: v.operator.token });
      assert.equal((await entitlementsOf(memberA)).body.meters.find((m: any) => m.key === 'mobile_apps').limit, 10);
    });

    test('who may ask: the member itself and its pool\'s managers; anyone else gets 404', async () => {
      assert.equal((await entitlementsOf(memberA)).status, 200);
      const manager = await person(t, 'manager@home.test');
      await ok(t.app, 'POST', `/v1/pools/${flatA}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
      assert.equal((await entitlementsOf(memberA, manager.token)).status, 200);
      const neighbour = await person(t, 'neighbour@home.test');
      await addVerified(flatA, { email: neighbour.email });
      const stranger = await vendor(t, { name: 'Rival' });
      for (const token of [neighbour.token, stranger.operator.token]) {
        const res = await entitlementsOf(memberA, token);
        assert.deepEqual([res.status, res.body.code], [404, 'NOT_FOUND']);
      }
      assert.equal((await entitlementsOf('mem_nope')).status, 404);
    });
  });
}
