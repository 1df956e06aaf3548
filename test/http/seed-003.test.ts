/**
 * Seed 003 end to end: the vendor makes a license by request (a key, pending_provision); the
 * location's manager sends the key (pending_start); the license starts once 5 distinct devices
 * have connected (in_use, end = start + the contract years); suspended, claims and sync are
 * refused (LICENSE_ACCESS_DENIED); resumed; at its end it expires and the location falls back to
 * its other license.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateLicenseKey } from '../../src/domain/license-keys.js';
import { expireLicenses } from '../../src/modules/licenses/licenses.service.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

const DAY_MS = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

for (const backend of backends()) {
  describe(`seed 003 walk-through: license request to expiry (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Octopus', meters: [{ key: 'access_points' }, { key: 'rooms' }, { key: 'users' }], features: ['guest', 'analytics'] });
    });
    after(() => t.close());

    test('create → activate → 5 connections → in use → suspend → resume → expired, with fallback', async () => {
      const op = v.operator.token;
      const hotel = await childPool(t, op, v.root, { name: 'Hotel Mar', kind: 'location', restricted: true });
      const manager = await person(t, 'manager@hotel-mar.test');
      await ok(t.app, 'POST', `/v1/pools/${hotel}/roles`, { token: op, body: { email: manager.email, role: 'manager' } });
      // A basic license the hotel falls back to: users and nothing else, with no end.
      await ok(t.app, 'POST', `/v1/pools/${hotel}/licenses`, { token: op, body: { name: 'Basic', limits: { users: 2 }, features: [] } });
      const guest = await person(t, 'guest@hotel-mar.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${hotel}/members`, { token: op, body: { email: guest.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: op });

      // 1. The request: 2 contract years, billed monthly; 40 APs, 120 rooms; Guest module.
      const created = await call(t.app, 'POST', '/v1/licenses', {
        token: op,
        body: {
          rootId: v.root,
          limits: { access_points: 40, rooms: 120, users: 50 },
          features: ['guest'],
          startRule: { type: 'on_connections', threshold: 5 },
          billing: { interval: 'monthly', contractYears: 2 },
          request: { poolId: hotel, partner: 'Wifi Partners SL', distributor: 'Big Distribution SA', accessPoints: 40, rooms: 120, modules: ['guest'] },
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const license = created.body;
      assert.equal(license.status, 'pending_provision');
      assert.equal(license.poolId, null);
      assert.match(license.key, /^[34679ACDEFGHJKMNPRTVWXY]{5}(-[34679ACDEFGHJKMNPRTVWXY]{5}){4}$/);
      assert.equal(license.termMonths, 24);
      assert.deepEqual(license.startRule, { type: 'on_connections', threshold: 5 });
      assert.deepEqual(license.billing, { interval: 'monthly', contractYears: 2 });
      assert.equal(license.request.partner, 'Wifi Partners SL');

      // 2. Send Key: mistyped, unknown, then right (typed in lower case, without dashes).
      const key: string = license.key;
      const typo = key.slice(0, 3) + (key[3] === 'A' ? 'C' : 'A') + key.slice(4);
      const mistyped = await call(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key: typo, poolId: hotel } });
      assert.equal(mistyped.status, 422);
      assert.equal(mistyped.body.code, 'KEY_INVALID');
      const unknown = await call(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key: generateLicenseKey(), poolId: hotel } });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, 'KEY_NOT_FOUND');
      const activated = await ok(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key: key.replaceAll('-', ' ').toLowerCase(), poolId: hotel } });
      assert.equal(activated.id, license.id);
      assert.equal(activated.status, 'pending_start');
      assert.equal(activated.poolId, hotel);
      assert.equal(activated.validFrom, null);
      const again = await call(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key, poolId: hotel } });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'KEY_ALREADY_ACTIVATED');
      // No route moves it: PATCH has no poolId.
      assert.equal((await call(t.app, 'PATCH', `/v1/licenses/${license.id}`, { token: op, body: { poolId: v.root } })).status, 422);

      // 3. Connections: 4 distinct devices (one connects twice) do not start it; the 5th does.
      t.clock.set(new Date(START + 10 * DAY_MS));
      for (const serial of ['AP-1', 'AP-2', 'AP-2', 'AP-3', 'AP-4']) {
        const res = await ok(t.app, 'POST', `/v1/pools/${hotel}/connections`, { token: manager.token, body: { serial } });
        assert.equal(res.licenses[0].status, 'pending_start');
      }
      assert.equal((await ok(t.app, 'GET', `/v1/licenses/${license.id}`, { token: manager.token })).status, 'pending_start');
      const state = await ok(t.app, 'GET', `/v1/pools/${hotel}/state`, { token: op });
      assert.equal(state.meters.find((m: { key: string }) => m.key === 'access_points').limit, 0, 'a license pending its start gives nothing yet');
      t.clock.set(new Date(START + 12 * DAY_MS));
      const fifth = await ok(t.app, 'POST', `/v1/pools/${hotel}/connections`, { token: manager.token, body: { serial: 'AP-5' } });
      assert.deepEqual(fifth.licenses, [{ id: license.id, status: 'in_use', connections: 5, threshold: 5 }]);
      const started = await ok(t.app, 'GET', `/v1/licenses/${license.id}`, { token: manager.token });
      assert.equal(started.status, 'in_use');
      assert.equal(started.validFrom, new Date(START + 12 * DAY_MS).toISOString());
      assert.equal(started.validUntil, '2028-01-13T00:00:00.000Z', 'start + 2 contract years');
      const running = await ok(t.app, 'GET', `/v1/pools/${hotel}/state`, { token: op });
      assert.equal(running.meters.find((m: { key: string }) => m.key === 'access_points').limit, 40);
      assert.equal(running.features.find((f: { key: string }) => f.key === 'guest').enabled, true);
      const lease = await ok(t.app, 'POST', '/v1/claims', { token: guest.token, body: { memberId: member.id, meter: 'rooms', ttlSeconds: 600 } });

      // 4. Suspended: the service stops; claims and sync are refused with LICENSE_ACCESS_DENIED.
      assert.equal((await ok(t.app, 'POST', `/v1/licenses/${license.id}/suspend`, { token: op })).status, 'access_denied');
      const claim = await call(t.app, 'POST', '/v1/claims', { token: guest.token, body: { memberId: member.id, meter: 'users', ttlSeconds: 600 } });
      assert.equal(claim.status, 409);
      assert.deepEqual(claim.body.reasons.map((r: { code: string }) => r.code), ['LICENSE_ACCESS_DENIED']);
      assert.deepEqual(claim.body.reasons[0], { code: 'LICENSE_ACCESS_DENIED', poolId: hotel, licenseId: license.id });
      const sync = await call(t.app, 'POST', '/v1/sync', { token: guest.token, body: {} });
      assert.equal(sync.status, 409);
      assert.deepEqual(sync.body.reasons, [{ code: 'LICENSE_ACCESS_DENIED', poolId: hotel, licenseId: license.id }]);
      // The room lease went with the limit the suspended license gave.
      assert.equal((await call(t.app, 'POST', `/v1/claims/${lease.id}/heartbeat`, { token: guest.token })).status, 410);

      // 5. Resumed: served again.
      assert.equal((await ok(t.app, 'POST', `/v1/licenses/${license.id}/resume`, { token: op })).status, 'in_use');
      await ok(t.app, 'POST', '/v1/sync', { token: guest.token, body: {} });
      await ok(t.app, 'POST', '/v1/claims', { token: guest.token, body: { memberId: member.id, meter: 'rooms', ttlSeconds: 600 } });

      // 6. The end: expired (cut-off), its limits gone; the hotel falls back to Basic.
      t.clock.set(new Date('2028-01-13T00:00:00.000Z'));
      const ended = await ok(t.app, 'GET', `/v1/licenses/${license.id}`, { token: op });
      assert.equal(ended.status, 'expired');
      assert.equal(await expireLicenses(t.deps), 1);
      const fallback = await ok(t.app, 'GET', `/v1/pools/${hotel}/state`, { token: op });
      assert.equal(fallback.meters.find((m: { key: string }) => m.key === 'access_points').limit, 0);
      assert.equal(fallback.meters.find((m: { key: string }) => m.key === 'users').limit, 2);
      assert.equal(fallback.features.find((f: { key: string }) => f.key === 'guest').enabled, false);
      await ok(t.app, 'POST', '/v1/claims', { token: guest.token, body: { memberId: member.id, meter: 'users', ttlSeconds: 600 } });
      const ended2 = await call(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key, poolId: hotel } });
      assert.equal(ended2.body.code, 'LICENSE_ENDED');
      assert.equal((await call(t.app, 'POST', `/v1/licenses/${license.id}/resume`, { token: op })).status, 409);

      // Every step is in the license's history.
      const history = await ok(t.app, 'GET', `/v1/licenses/${license.id}/history?limit=50`, { token: op });
      assert.deepEqual(
        history.data.map((e: { action: string }) => e.action),
        ['license.created', 'license.activated', 'license.started', 'license.suspend', 'license.resume', 'license.expired'],
      );
    });

    test('activation: another vendor\'s key is not found, a finalized key has ended, only managers of the pool send keys, attempts are limited', async () => {
      const op = v.operator.token;
      const shop = await childPool(t, op, v.root, { name: 'Shop', restricted: true });
      const other = await vendor(t, { name: 'Rival', meters: [{ key: 'users' }] });
      const rivalKey = (await ok(t.app, 'POST', '/v1/licenses', { token: other.operator.token, body: { rootId: other.root, limits: { users: 1 } } })).key;
      const manager = await person(t, 'manager@shop.test');
      await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: op, body: { email: manager.email, role: 'manager' } });
      const foreign = await call(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key: rivalKey, poolId: shop } });
      assert.equal(foreign.body.code, 'KEY_NOT_FOUND');

      const finalized = await ok(t.app, 'POST', '/v1/licenses', { token: op, body: { rootId: v.root, limits: { users: 1 }, billing: { interval: 'annual', contractYears: 1 } } });
      await ok(t.app, 'POST', `/v1/licenses/${finalized.id}/finalize`, { token: op });
      const endedKey = await call(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key: finalized.key, poolId: shop } });
      assert.equal(endedKey.status, 409);
      assert.equal(endedKey.body.code, 'LICENSE_ENDED');

      // An on_activation license starts at once; its end is start + term.
      const now = t.clock.now();
      const direct = await ok(t.app, 'POST', '/v1/licenses', { token: op, body: { rootId: v.root, limits: { users: 3 }, termMonths: 1 } });
      const stranger = await person(t, 'stranger@shop.test');
      assert.equal((await call(t.app, 'POST', '/v1/licenses/activate', { token: stranger.token, body: { key: direct.key, poolId: shop } })).status, 404);
      const bound = await ok(t.app, 'POST', '/v1/licenses/activate', { token: manager.token, body: { key: direct.key, poolId: shop } });
      assert.equal(bound.status, 'in_use');
      assert.equal(bound.validFrom, now.toISOString());
      const month = new Date(now);
      month.setUTCMonth(month.getUTCMonth() + 1);
      assert.equal(bound.validUntil, month.toISOString());

      // Mistyped keys count: the 21st attempt in 15 minutes is refused before the key is judged.
      const guesser = await person(t, 'guesser@shop.test');
      await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: op, body: { email: guesser.email, role: 'deputy' } });
      for (let i = 0; i < 20; i++) {
        const res = await call(t.app, 'POST', '/v1/licenses/activate', { token: guesser.token, body: { key: 'AAAAA-AAAAA-AAAAA-AAAAA-AAAAA', poolId: shop }, remoteAddress: '10.9.9.9' });
        assert.equal(res.body.code, 'KEY_INVALID');
      }
      const limited = await call(t.app, 'POST', '/v1/licenses/activate', { token: guesser.token, body: { key: direct.key, poolId: shop }, remoteAddress: '10.9.9.9' });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.code, 'TOO_MANY_ATTEMPTS');
      assert.equal(limited.headers['retry-after'], '900', 'seconds until the window frees');
    });
  });
}
