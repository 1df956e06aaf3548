/**
 * The license state view and the rules licenses must meet, as seeds 001 and 002 describe them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { poolUsage } from '../../src/db/schema.js';
import { backends, call, childPool, createTestApp, ok, vendor, type TestApp, type Tree } from '../helpers.js';

const meterOf = (state: any, key: string) => state.meters.find((m: any) => m.key === key);
const featureOf = (state: any, key: string) => state.features.find((f: any) => f.key === key);

async function counts(t: TestApp) {
  const [row] = await rowsOf<{ licenses: number; events: number }>(
    t.deps.db,
    sql`SELECT (SELECT count(*) FROM licenses)::int AS licenses, (SELECT count(*) FROM audit_events)::int AS events`,
  );
  return row!;
}

for (const backend of backends()) {
  describe(`license state (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    before(async () => {
      t = await createTestApp(backend);
      t.clock.set('2024-06-01T00:00:00Z');
    });
    after(() => t.close());

    describe('seed 001: SmartHome with 50 virtual numbers, A Residence, an apartment', () => {
      let residence: string;
      let apartment: string;
      let open: string;
      before(async () => {
        v = await vendor(t, {
          name: 'SmartHome',
          restricted: true,
          meters: [{ key: 'virtual_numbers' }, { key: 'sip_numbers' }, { key: 'mobile_apps', draws: ['sip_numbers'] }],
          features: ['sip_trunks', 'web_dialer', 'ukey2'],
        });
        const token = v.operator.token;
        await ok(t.app, 'POST', `/v1/pools/${v.root}/licenses`, {
          token,
          body: { name: 'SmartHome', limits: { virtual_numbers: 50, sip_numbers: 20, mobile_apps: 10 }, features: ['sip_trunks', 'web_dialer'] },
        });
        residence = await childPool(t, token, v.root, { name: 'A Residence', kind: 'building', restricted: true });
        await ok(t.app, 'POST', `/v1/pools/${residence}/licenses`, {
          token,
          body: {
            limits: { virtual_numbers: 50, sip_numbers: 20, mobile_apps: 10 },
            features: ['sip_trunks', 'web_dialer'],
            validFrom: '2024-01-01T00:00:00Z',
            validUntil: '2024-12-01T00:00:00Z',
          },
        });
        apartment = await childPool(t, token, residence, { name: 'Apartment 1', kind: 'apartment', restricted: true });
        await ok(t.app, 'POST', `/v1/pools/${apartment}/licenses`, {
          token,
          body: { limits: { virtual_numbers: 50 }, features: ['web_dialer'], validUntil: '2024-12-01T00:00:00Z' },
        });
        open = await childPool(t, token, v.root, { name: 'Unrestricted', kind: 'building', restricted: false });
        // One virtual number in use inside A Residence (but not in the apartment), as the claim
        // engine records it: on the pool where it is used and on every ancestor.
        await t.deps.db.insert(poolUsage).values([
          { poolId: v.root, meterKey: 'virtual_numbers', used: 1 },
          { poolId: residence, meterKey: 'virtual_numbers', used: 1 },
        ]);
      });

      test('the root: maximum 50, used 1, available 49, no time limit', async () => {
        const state = await ok(t.app, 'GET', `/v1/pools/${v.root}/state`, { token: v.operator.token });
        assert.equal(state.serving, true);
        assert.deepEqual(meterOf(state, 'virtual_numbers'), {
          key: 'virtual_numbers', limit: 50, effectiveLimit: 50, used: 1, available: 49, enabled: true, until: null, overLimit: false,
        });
        assert.deepEqual(featureOf(state, 'sip_trunks'), { key: 'sip_trunks', enabled: true, until: null });
        assert.deepEqual(featureOf(state, 'web_dialer'), { key: 'web_dialer', enabled: true, until: null });
        assert.deepEqual(featureOf(state, 'ukey2'), { key: 'ukey2', enabled: false, until: null });
        assert.equal(state.licenses.length, 1);
      });

      test('A Residence: maximum 50, used 1, available 49, until 1 December 2024', async () => {
        const state = await ok(t.app, 'GET', `/v1/pools/${residence}/state`, { token: v.operator.token });
        assert.deepEqual(meterOf(state, 'virtual_numbers'), {
          key: 'virtual_numbers', limit: 50, effectiveLimit: 50, used: 1, available: 49, enabled: true, until: '2024-12-01T00:00:00.000Z', overLimit: false,
        });
        assert.deepEqual(featureOf(state, 'web_dialer'), { key: 'web_dialer', enabled: true, until: '2024-12-01T00:00:00.000Z' });
      });

      test('the apartment: used 0 of its own, yet 49 available because the residence uses 1', async () => {
        const state = await ok(t.app, 'GET', `/v1/pools/${apartment}/state`, { token: v.operator.token });
        assert.deepEqual(meterOf(state, 'virtual_numbers'), {
          key: 'virtual_numbers', limit: 50, effectiveLimit: 50, used: 0, available: 49, enabled: true, until: '2024-12-01T00:00:00.000Z', overLimit: false,
        });
        // A restricted pool has only what its own licenses name: no SIP numbers, no sip_trunks.
        assert.equal(meterOf(state, 'sip_numbers').effectiveLimit, 0);
        assert.equal(meterOf(state, 'sip_numbers').enabled, false);
        assert.equal(featureOf(state, 'sip_trunks').enabled, false);
      });

      test('restriction off: no limit of its own, bounded only by its ancestors', async () => {
        const state = await ok(t.app, 'GET', `/v1/pools/${open}/state`, { token: v.operator.token });
        assert.deepEqual(meterOf(state, 'virtual_numbers'), {
          key: 'virtual_numbers', limit: null, effectiveLimit: 50, used: 0, available: 49, enabled: true, until: null, overLimit: false,
        });
        assert.equal(featureOf(state, 'sip_trunks').enabled, true);
        assert.equal(featureOf(state, 'ukey2').enabled, false, 'an unrestricted pool cannot have what its root lacks');
        assert.deepEqual(state.licenses, []);
      });

      test('a meter drawing on another is bounded by it (mobile apps by SIP numbers)', async () => {
        await t.deps.db.insert(poolUsage).values({ poolId: v.root, meterKey: 'sip_numbers', used: 15 });
        const state = await ok(t.app, 'GET', `/v1/pools/${open}/state`, { token: v.operator.token });
        assert.equal(meterOf(state, 'mobile_apps').effectiveLimit, 10);
        assert.equal(meterOf(state, 'mobile_apps').available, 5, 'only 5 SIP numbers are left for apps');
      });

      test('a suspended ancestor makes its whole subtree not serving, until resumed', async () => {
        await ok(t.app, 'POST', `/v1/pools/${residence}/suspend`, { token: v.operator.token });
        for (const id of [residence, apartment]) {
          const state = await ok(t.app, 'GET', `/v1/pools/${id}/state`, { token: v.operator.token });
          assert.equal(state.serving, false);
          assert.deepEqual(state.notServing, [{ code: 'POOL_NOT_ACTIVE', poolId: residence, status: 'suspended' }]);
        }
        const sibling = await ok(t.app, 'GET', `/v1/pools/${open}/state`, { token: v.operator.token });
        assert.equal(sibling.serving, true, 'the suspension does not reach a sibling');
        await ok(t.app, 'POST', `/v1/pools/${residence}/resume`, { token: v.operator.token });
        assert.equal((await ok(t.app, 'GET', `/v1/pools/${apartment}/state`, { token: v.operator.token })).serving, true);
      });

      test('a pool past its validUntil stops serving, and so does its subtree', async () => {
        await ok(t.app, 'PATCH', `/v1/pools/${residence}`, { token: v.operator.token, body: { validUntil: '2024-07-01T00:00:00Z' } });
        const before = await ok(t.app, 'GET', `/v1/pools/${apartment}/state`, { token: v.operator.token });
        assert.equal(before.serving, true);
        assert.equal(meterOf(before, 'virtual_numbers').until, '2024-07-01T00:00:00.000Z', 'the earliest end on the path');
        t.clock.set('2024-07-02T00:00:00Z');
        const after = await ok(t.app, 'GET', `/v1/pools/${apartment}/state`, { token: v.operator.token });
        assert.equal(after.serving, false);
        assert.deepEqual(after.notServing, [{ code: 'POOL_EXPIRED', poolId: residence, validUntil: '2024-07-01T00:00:00.000Z' }]);
        await ok(t.app, 'PATCH', `/v1/pools/${residence}`, { token: v.operator.token, body: { validUntil: null } });
        t.clock.set('2024-06-01T00:00:00Z');
      });

      describe('licenses a sub-pool may not have (L7, C3): 422 naming what is wrong, nothing written', () => {
        const refusals = [
          {
            name: 'more virtual numbers than the parent has',
            body: { limits: { virtual_numbers: 51 } },
            code: 'LIMIT_EXCEEDS_PARENT',
            mentions: 'virtual_numbers',
            violations: [{ code: 'LIMIT_EXCEEDS_PARENT', meter: 'virtual_numbers', limit: 51, parentLimit: 50 }],
          },
          {
            name: 'a feature the parent lacks',
            body: { limits: {}, features: ['web_dialer', 'ukey2'] },
            code: 'FEATURE_NOT_IN_PARENT',
            mentions: 'ukey2',
            // Every violation is listed; the most serious one names the refusal.
            violations: [
              { code: 'VALIDITY_OUTSIDE_PARENT', feature: 'web_dialer', validUntil: null, parentUntil: '2024-12-01T00:00:00.000Z' },
              { code: 'FEATURE_NOT_IN_PARENT', feature: 'ukey2' },
            ],
          },
          {
            name: 'fewer SIP numbers than mobile apps',
            body: { limits: { sip_numbers: 5, mobile_apps: 8 } },
            code: 'DRAWN_METER_TOO_LOW',
            mentions: 'sip_numbers',
            violations: [{ meter: 'mobile_apps', drawnMeter: 'sip_numbers', limit: 8, drawnLimit: 5 }],
          },
          {
            name: 'a license running past the parent\'s end',
            body: { limits: { virtual_numbers: 5 }, validUntil: '2025-01-01T00:00:00Z' },
            code: 'VALIDITY_OUTSIDE_PARENT',
            mentions: '2024-12-01',
            violations: [{ code: 'VALIDITY_OUTSIDE_PARENT', meter: 'virtual_numbers', validUntil: '2025-01-01T00:00:00.000Z', parentUntil: '2024-12-01T00:00:00.000Z' }],
          },
          {
            name: 'a meter not in the catalog',
            body: { limits: { cameras: 1 } },
            code: 'UNKNOWN_METER',
            mentions: 'cameras',
          },
        ];
        for (const r of refusals) {
          test(r.name, async () => {
            const before = await counts(t);
            const res = await call(t.app, 'POST', `/v1/pools/${apartment}/licenses`, { token: v.operator.token, body: r.body });
            assert.equal(res.status, 422);
            assert.match(String(res.headers['content-type']), /application\/problem\+json/);
            assert.equal(res.body.code, r.code);
            assert.match(res.body.detail, new RegExp(r.mentions));
            if (r.violations) assert.deepEqual(res.body.violations, r.violations);
            assert.deepEqual(await counts(t), before, 'nothing written');
          });
        }

        test('an upgrade is checked the same way and leaves the license as it was', async () => {
          const [license] = (await ok(t.app, 'GET', `/v1/licenses?poolId=${apartment}`, { token: v.operator.token })).data;
          const res = await call(t.app, 'PATCH', `/v1/licenses/${license.id}`, { token: v.operator.token, body: { limits: { virtual_numbers: 60 } } });
          assert.equal(res.status, 422);
          assert.equal(res.body.code, 'LIMIT_EXCEEDS_PARENT');
          assert.deepEqual((await ok(t.app, 'GET', `/v1/licenses/${license.id}`, { token: v.operator.token })).limits, { virtual_numbers: 50 });
        });
      });
    });

    describe('seed 001/002: licenses add up, and an expiring Premium falls back to Basic', () => {
      let building: string;
      let premium: any;
      before(async () => {
        v = await vendor(t, { name: 'Link', meters: [{ key: 'sip_numbers' }], features: ['web_dialer', 'remote_door_opening', 'siri'] });
        building = await childPool(t, v.operator.token, v.root, { name: 'Tower', kind: 'building', restricted: true });
        await ok(t.app, 'POST', `/v1/pools/${building}/licenses`, {
          token: v.operator.token,
          body: { name: 'Basic', limits: { sip_numbers: 10 }, features: ['web_dialer'] },
        });
        premium = await ok(t.app, 'POST', `/v1/pools/${building}/licenses`, {
          token: v.operator.token,
          body: { name: 'Premium', limits: { sip_numbers: 40 }, features: ['web_dialer', 'remote_door_opening'], validUntil: '2024-09-01T00:00:00Z' },
        });
      });

      test('two licenses on one pool add up; features are their union', async () => {
        const state = await ok(t.app, 'GET', `/v1/pools/${building}/state`, { token: v.operator.token });
        assert.equal(meterOf(state, 'sip_numbers').limit, 50);
        assert.equal(meterOf(state, 'sip_numbers').until, null, 'Basic has no end, so SIP numbers stay on');
        assert.deepEqual(featureOf(state, 'remote_door_opening'), { key: 'remote_door_opening', enabled: true, until: '2024-09-01T00:00:00.000Z' });
        assert.deepEqual(featureOf(state, 'web_dialer'), { key: 'web_dialer', enabled: true, until: null });
        assert.equal(featureOf(state, 'siri').enabled, false);
        assert.deepEqual(state.licenses.map((l: any) => l.name).sort(), ['Basic', 'Premium']);
      });

      test('when Premium ends, Basic is what remains in force', async () => {
        t.clock.set('2024-09-01T00:00:00Z');
        const state = await ok(t.app, 'GET', `/v1/pools/${building}/state`, { token: v.operator.token });
        assert.equal(meterOf(state, 'sip_numbers').limit, 10);
        assert.equal(featureOf(state, 'remote_door_opening').enabled, false);
        assert.equal(featureOf(state, 'web_dialer').enabled, true);
        assert.deepEqual(state.licenses.map((l: any) => l.name), ['Basic']);
        const ended = await ok(t.app, 'GET', `/v1/licenses/${premium.id}`, { token: v.operator.token });
        assert.equal(ended.status, 'expired');
        assert.equal(ended.inEffect, false);
        const expiredList = await ok(t.app, 'GET', `/v1/licenses?poolId=${building}&status=expired`, { token: v.operator.token });
        assert.deepEqual(expiredList.data.map((l: any) => l.id), [premium.id]);
      });

      test('the expiry sweep writes the transition into the license history', async () => {
        const { expireLicenses } = await import('../../src/modules/licenses/licenses.service.js');
        assert.ok((await expireLicenses(t.deps)) >= 1);
        assert.equal(await expireLicenses(t.deps), 0, 'each expiry is recorded once');
        const history = await ok(t.app, 'GET', `/v1/licenses/${premium.id}/history`, { token: v.operator.token });
        assert.deepEqual(history.data.map((e: any) => e.action), ['license.created', 'license.expired']);
        assert.deepEqual(history.data[1].after, { status: 'expired' });
        const res = await call(t.app, 'PATCH', `/v1/licenses/${premium.id}`, { token: v.operator.token, body: { limits: { sip_numbers: 1 } } });
        assert.equal(res.status, 409);
        assert.equal(res.body.code, 'LICENSE_ENDED');
      });

      test('every change is kept in the license history with who, before and after', async () => {
        t.clock.set('2024-10-01T00:00:00Z');
        const basic = (await ok(t.app, 'GET', `/v1/licenses?poolId=${building}&q=Basic`, { token: v.operator.token })).data[0];
        await ok(t.app, 'PATCH', `/v1/licenses/${basic.id}`, { token: v.operator.token, body: { limits: { sip_numbers: 12 }, features: ['web_dialer', 'siri'] } });
        await ok(t.app, 'POST', `/v1/licenses/${basic.id}/suspend`, { token: v.operator.token });
        const suspended = await ok(t.app, 'GET', `/v1/pools/${building}/state`, { token: v.operator.token });
        assert.equal(meterOf(suspended, 'sip_numbers').enabled, false, 'a suspended license gives nothing');
        await ok(t.app, 'POST', `/v1/licenses/${basic.id}/resume`, { token: v.operator.token });
        await ok(t.app, 'POST', `/v1/licenses/${basic.id}/finalize`, { token: v.operator.token });
        const again = await call(t.app, 'POST', `/v1/licenses/${basic.id}/resume`, { token: v.operator.token });
        assert.equal(again.status, 409);
        assert.equal(again.body.code, 'INVALID_TRANSITION');
        const history = (await ok(t.app, 'GET', `/v1/licenses/${basic.id}/history`, { token: v.operator.token })).data;
        assert.deepEqual(history.map((e: any) => e.action), ['license.created', 'license.updated', 'license.suspend', 'license.resume', 'license.finalize']);
        const upgrade = history[1];
        assert.equal(upgrade.actorId, v.operator.id);
        assert.deepEqual(upgrade.before.limits, { sip_numbers: 10 });
        assert.deepEqual(upgrade.after.limits, { sip_numbers: 12 });
        assert.deepEqual(upgrade.after.features, ['web_dialer', 'siri']);
        assert.deepEqual([history[2].before, history[2].after], [{ status: 'in_use' }, { status: 'access_denied' }]);
      });
    });
  });
}
