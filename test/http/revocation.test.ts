/**
 * U5: when a pool's limit drops below its use, the newest claims beyond it are revoked in the
 * same transaction, and their holders learn it on the next heartbeat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { expireLicenses } from '../../src/modules/licenses/licenses.service.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`revocation when a limit drops below use (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let user: Awaited<ReturnType<typeof person>>;

    const usedOf = async (poolId: string, meter: string) =>
      Number((await rowsOf<{ used: string | number }>(t.deps.db, sql`SELECT used FROM pool_usage WHERE pool_id = ${poolId} AND meter_key = ${meter}`))[0]?.used ?? 0);
    const drift = async () => (await ok(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token })).drift;

    /** A verified member of `pool` for `user`. */
    async function memberOf(pool: string, who = user) {
      const member = await ok(t.app, 'POST', `/v1/pools/${pool}/members`, { token: v.operator.token, body: { email: who.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      return member.id as string;
    }
    async function leases(memberId: string, meter: string, n: number) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        ids.push((await ok(t.app, 'POST', '/v1/claims', { token: user.token, body: { memberId, meter, ttlSeconds: 3600 } })).id);
        t.clock.advance(1000); // distinct creation instants: "newest" is unambiguous
      }
      return ids;
    }
    const statusOf = async (id: string) => (await ok(t.app, 'GET', `/v1/claims/${id}`, { token: user.token })).status;

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Octopus', meters: [{ key: 'seats' }, { key: 'product_a', draws: ['seats'] }] });
      user = await person(t, 'holder@tenant.test');
      // One holder joins a pool in each test: M2's exclusive membership off.
      await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { exclusiveMembership: false } });
    });
    after(() => t.close());

    test('a license ends: the pool falls back to its Basic license and the newest claims beyond it are revoked', async () => {
      const pool = await childPool(t, v.operator.token, v.root, { name: 'Apartment 1', restricted: true });
      const basic = await ok(t.app, 'POST', `/v1/pools/${pool}/licenses`, { token: v.operator.token, body: { name: 'Basic', limits: { seats: 3 } } });
      const premium = await ok(t.app, 'POST', `/v1/pools/${pool}/licenses`, { token: v.operator.token, body: { name: 'Premium', limits: { seats: 5 } } });
      const memberId = await memberOf(pool);
      const ids = await leases(memberId, 'seats', 8);
      assert.equal(await usedOf(pool, 'seats'), 8);

      await ok(t.app, 'POST', `/v1/licenses/${premium.id}/finalize`, { token: v.operator.token });
      assert.equal(await usedOf(pool, 'seats'), 3);
      assert.equal(await usedOf(v.root, 'seats'), 3, 'the ancestors give the units back too');
      assert.deepEqual(await Promise.all(ids.map(statusOf)), ['live', 'live', 'live', 'revoked', 'revoked', 'revoked', 'revoked', 'revoked']);

      // The holder of a revoked lease learns it on its next heartbeat; the others go on.
      const gone = await call(t.app, 'POST', `/v1/claims/${ids[7]}/heartbeat`, { token: user.token });
      assert.equal(gone.status, 410);
      assert.equal(gone.body.code, 'CLAIM_ENDED');
      assert.match(gone.body.detail, /revoked: the limit dropped below use: license .* was finalized/);
      assert.equal((await call(t.app, 'POST', `/v1/claims/${ids[0]}/heartbeat`, { token: user.token })).status, 200);
      const state = await ok(t.app, 'GET', `/v1/pools/${pool}/state`, { token: v.operator.token });
      assert.deepEqual(state.meters.find((m: any) => m.key === 'seats'), { key: 'seats', limit: 3, effectiveLimit: 3, used: 3, available: 0, enabled: true, until: null, overLimit: false });
      const audit = await ok(t.app, 'GET', `/v1/audit?poolId=${pool}`, { token: v.operator.token });
      const event = audit.data.find((e: any) => e.action === 'claims.revoked');
      assert.deepEqual(event.after.claims.map((c: any) => c.id).sort(), ids.slice(3).sort());
      assert.deepEqual(await drift(), []);
      for (const id of ids) await ok(t.app, 'DELETE', `/v1/claims/${id}`, { token: user.token });
      await ok(t.app, 'POST', `/v1/licenses/${basic.id}/finalize`, { token: v.operator.token });
    });

    test('a parent\'s limit cut revokes the newest claims anywhere in its subtree, and claims of meters drawing on it', async () => {
      const dealer = await childPool(t, v.operator.token, v.root, { name: 'Dealer', restricted: true });
      const license = await ok(t.app, 'POST', `/v1/pools/${dealer}/licenses`, { token: v.operator.token, body: { limits: { seats: 4, product_a: null } } });
      const left = await childPool(t, v.operator.token, dealer, { name: 'Left' });
      const right = await childPool(t, v.operator.token, dealer, { name: 'Right' });
      const other = await person(t, 'other@tenant.test');
      const inLeft = await memberOf(left);
      const inRight = await memberOf(right, other);
      const a = await leases(inLeft, 'seats', 1);
      const b = (await ok(t.app, 'POST', '/v1/claims', { token: other.token, body: { memberId: inRight, meter: 'product_a', kind: 'assignment' } })).id;
      t.clock.advance(1000);
      const c = await leases(inLeft, 'seats', 2);
      assert.equal(await usedOf(dealer, 'seats'), 4);

      await ok(t.app, 'PATCH', `/v1/licenses/${license.id}`, { token: v.operator.token, body: { limits: { seats: 2, product_a: null } } });
      assert.equal(await usedOf(dealer, 'seats'), 2);
      assert.deepEqual([await statusOf(a[0]!), (await ok(t.app, 'GET', `/v1/claims/${b}`, { token: other.token })).status], ['live', 'live']);
      assert.deepEqual(await Promise.all(c.map(statusOf)), ['revoked', 'revoked']);
      // Cut once more: now the assignment of product_a (which takes a seat) is the newest left.
      await ok(t.app, 'PATCH', `/v1/licenses/${license.id}`, { token: v.operator.token, body: { limits: { seats: 1, product_a: null } } });
      assert.equal((await ok(t.app, 'GET', `/v1/claims/${b}`, { token: other.token })).status, 'revoked');
      assert.equal(await usedOf(dealer, 'product_a'), 0);
      assert.equal(await usedOf(right, 'seats'), 0);
      assert.equal(await statusOf(a[0]!), 'live');
      assert.deepEqual(await drift(), []);
      await ok(t.app, 'DELETE', `/v1/claims/${a[0]}`, { token: user.token });
    });

    test('M4: removing a member revokes its claims at once and gives their units back', async () => {
      const pool = await childPool(t, v.operator.token, v.root, { name: 'Flat 9' });
      const leaving = await person(t, 'leaving@tenant.test');
      const memberId = await memberOf(pool, leaving);
      const claim = (body: Record<string, unknown>) => ok(t.app, 'POST', '/v1/claims', { token: leaving.token, body: { memberId, ...body } });
      const ids = [(await claim({ meter: 'seats', ttlSeconds: 600 })).id, (await claim({ meter: 'product_a', kind: 'assignment' })).id];
      assert.equal(await usedOf(v.root, 'seats'), 2);
      await ok(t.app, 'DELETE', `/v1/members/${memberId}`, { token: v.operator.token });
      assert.equal(await usedOf(v.root, 'seats'), 0);
      assert.equal(await usedOf(pool, 'product_a'), 0);
      for (const id of ids) {
        const c = await ok(t.app, 'GET', `/v1/claims/${id}`, { token: v.operator.token });
        assert.deepEqual([c.status, c.endReason], ['revoked', 'the member was removed']);
      }
      assert.ok([404, 410].includes((await call(t.app, 'POST', `/v1/claims/${ids[0]}/heartbeat`, { token: leaving.token })).status), 'its next heartbeat is refused');
      assert.deepEqual(await drift(), []);
    });

    test('a license that runs out by the clock revokes at the expiry sweep; turning restriction on revokes too', async () => {
      const pool = await childPool(t, v.operator.token, v.root, { name: 'Shop' });
      const until = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
      await ok(t.app, 'POST', `/v1/pools/${pool}/licenses`, { token: v.operator.token, body: { limits: { seats: 2 }, validUntil: until } });
      const memberId = await memberOf(pool, await person(t, 'shop@tenant.test').then(async (p) => { user = p; return p; }));
      const ids = await leases(memberId, 'seats', 2);
      assert.deepEqual(await Promise.all(ids.map(statusOf)), ['live', 'live'], 'an unrestricted pool is bound by its ancestors only');

      await ok(t.app, 'PATCH', `/v1/pools/${pool}`, { token: v.operator.token, body: { restricted: true } });
      assert.deepEqual(await Promise.all(ids.map(statusOf)), ['live', 'live'], 'its license gives 2: nothing beyond');
      t.clock.advance(3_600_000);
      assert.ok((await expireLicenses(t.deps)) >= 1);
      assert.deepEqual(await Promise.all(ids.map(statusOf)), ['revoked', 'revoked']);
      assert.equal(await usedOf(pool, 'seats'), 0);
      assert.deepEqual(await drift(), []);
    });
  });
}
