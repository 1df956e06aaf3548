/**
 * M2 exclusive membership and the M3 device registry: a second pool of the same root refuses an
 * account or device while the root's setting is on; a blocked device cannot join; reporting a
 * member device lost or stolen revokes its claims at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`membership and devices (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let flatA: string;
    let flatB: string;

    const add = (pool: string, body: unknown, token = v.operator.token) => call(t.app, 'POST', `/v1/pools/${pool}/members`, { token, body });
    const setExclusive = (on: boolean) => ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { exclusiveMembership: on } });
    const usedOf = async (poolId: string, meter: string) =>
      Number((await rowsOf<{ used: string | number }>(t.deps.db, sql`SELECT used FROM pool_usage WHERE pool_id = ${poolId} AND meter_key = ${meter}`))[0]?.used ?? 0);

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Door Systems', meters: [{ key: 'apps' }], features: ['door', 'guest'] });
      flatA = await childPool(t, v.operator.token, v.root, { name: 'Apartment A', restricted: true });
      flatB = await childPool(t, v.operator.token, v.root, { name: 'Apartment B', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${flatA}/licenses`, { token: v.operator.token, body: { limits: { apps: 5 }, features: ['door', 'guest'] } });
      await ok(t.app, 'POST', `/v1/pools/${flatB}/licenses`, { token: v.operator.token, body: { limits: { apps: 2 }, features: ['door'] } });
    });
    after(() => t.close());

    test('a root shows exclusive membership on by default; only its operators change it, and only on the root', async () => {
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${v.root}`, { token: v.operator.token })).exclusiveMembership, true);
      const child = await call(t.app, 'PATCH', `/v1/pools/${flatA}`, { token: v.operator.token, body: { exclusiveMembership: false } });
      assert.equal(child.status, 422);
      assert.equal(child.body.code, 'NOT_A_ROOT');
      const manager = await person(t, 'manager.a@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flatA}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
      assert.equal((await call(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: manager.token, body: { exclusiveMembership: false } })).status, 404);
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${v.root}`, { token: v.operator.token })).exclusiveMembership, true);
    });

    test('exclusive on: a second pool refuses the account and the device, without naming the first', async () => {
      const resident = await person(t, 'resident.one@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flatA}/members`, { token: v.operator.token, body: { email: resident.email } });
      const again = await add(flatB, { email: resident.email });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'MEMBER_IN_OTHER_POOL');
      assert.doesNotMatch(JSON.stringify(again.body), new RegExp(flatA));
      assert.equal((await add(flatA, { email: resident.email })).body.code, 'MEMBER_EXISTS', 'the same pool still says MEMBER_EXISTS');

      await ok(t.app, 'POST', `/v1/pools/${flatA}/members`, { token: v.operator.token, body: { device: { serial: 'WIDI-EX-1', type: 'WiDI' } } });
      const device = await add(flatB, { device: { serial: 'WIDI-EX-1', type: 'WiDI' } });
      assert.equal(device.status, 409);
      assert.equal(device.body.code, 'MEMBER_IN_OTHER_POOL');
      assert.doesNotMatch(JSON.stringify(device.body), new RegExp(flatA));
      const inB = await ok(t.app, 'GET', `/v1/pools/${flatB}/members`, { token: v.operator.token });
      assert.deepEqual(inB.data, []);
    });

    test('two pools adding the same account and device at once: exactly one wins', async () => {
      for (let round = 0; round < 5; round++) {
        const someone = await person(t, `racer.${round}@door.test`);
        const answers = await Promise.all([add(flatA, { email: someone.email }), add(flatB, { email: someone.email })]);
        assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], JSON.stringify(answers.map((a) => a.body)));
        assert.equal(answers.find((a) => a.status === 409)!.body.code, 'MEMBER_IN_OTHER_POOL');
        const serial = `RACE-${round}`;
        const devices = await Promise.all([add(flatA, { device: { serial, type: 'WiDI' } }), add(flatB, { device: { serial, type: 'WiDI' } })]);
        assert.deepEqual(devices.map((a) => a.status).sort(), [201, 409], JSON.stringify(devices.map((a) => a.body)));
      }
    });

    test('exclusive off: a second pool admits the account, whose entitlements are the strictest of its pools', async () => {
      await setExclusive(false);
      const twoHomes = await person(t, 'two.homes@door.test');
      const inA = await ok(t.app, 'POST', `/v1/pools/${flatA}/members`, { token: v.operator.token, body: { email: twoHomes.email } });
      const inB = await ok(t.app, 'POST', `/v1/pools/${flatB}/members`, { token: v.operator.token, body: { email: twoHomes.email } });
      for (const m of [inA, inB]) await ok(t.app, 'POST', `/v1/members/${m.id}/verify`, { token: v.operator.token });
      await ok(t.app, 'POST', '/v1/claims', { token: twoHomes.token, body: { memberId: inB.id, meter: 'apps', kind: 'assignment' } });
      const e = await ok(t.app, 'GET', `/v1/members/${inA.id}/entitlements`, { token: twoHomes.token });
      assert.deepEqual(
        e.features.map((f: any) => [f.key, f.enabled]),
        [['door', true], ['guest', false]],
        'features only if every pool gives them',
      );
      const apps = e.meters.find((m: any) => m.key === 'apps');
      assert.equal(apps.remaining, 1, 'the lower remaining count: B has 2, one taken');
      const device = await ok(t.app, 'POST', `/v1/pools/${flatB}/members`, { token: v.operator.token, body: { device: { serial: 'WIDI-EX-1', type: 'WiDI' } } });
      assert.equal(device.poolId, flatB, 'a device may join a second pool too');
      await setExclusive(true);
    });

    test('the registry: operators register and find devices; a duplicate serial is refused', async () => {
      const dev = await call(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-REG-1', type: 'WiDI' } });
      assert.equal(dev.status, 201, JSON.stringify(dev.body));
      assert.match(dev.body.id, /^dev_/);
      assert.deepEqual({ ...dev.body, id: undefined, createdAt: undefined }, { id: undefined, rootId: v.root, serial: 'SN-REG-1', type: 'WiDI', status: 'ok', createdAt: undefined });
      const dup = await call(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-REG-1', type: 'WiDI' } });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.code, 'DEVICE_EXISTS');
      const found = await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=SN-REG-1`, { token: v.operator.token });
      assert.deepEqual(found.data.map((d: any) => d.id), [dev.body.id]);
      const child = await call(t.app, 'GET', `/v1/pools/${flatA}/devices`, { token: v.operator.token });
      assert.equal(child.status, 422);
      assert.equal(child.body.code, 'NOT_A_ROOT');
    });

    test('a stolen device cannot join a pool', async () => {
      const dev = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-STOLEN', type: 'WiDI' } });
      const reported = await ok(t.app, 'POST', `/v1/devices/${dev.id}/report`, { token: v.operator.token, body: { status: 'stolen' } });
      assert.equal(reported.status, 'stolen');
      const refused = await add(flatA, { device: { serial: 'SN-STOLEN', type: 'WiDI' } });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'DEVICE_BLOCKED');
      const found = await ok(t.app, 'POST', `/v1/devices/${dev.id}/report`, { token: v.operator.token, body: { status: 'ok' } });
      assert.equal(found.status, 'ok');
      assert.equal((await add(flatA, { device: { serial: 'SN-STOLEN', type: 'WiDI' } })).status, 201, 'found again, it may join');
    });

    test('reporting a member device lost revokes its live claims at once and gives the units back', async () => {
      const member = await ok(t.app, 'POST', `/v1/pools/${flatA}/members`, { token: v.operator.token, body: { device: { serial: 'SN-LOST', type: 'WiDI' } } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      const [before, beforeRoot] = [await usedOf(flatA, 'apps'), await usedOf(v.root, 'apps')];
      const claims: string[] = [];
      for (let i = 0; i < 2; i++) claims.push((await ok(t.app, 'POST', '/v1/claims', { token: v.operator.token, body: { memberId: member.id, meter: 'apps', kind: 'assignment' } })).id);
      assert.equal(await usedOf(flatA, 'apps'), before + 2);

      const reported = await ok(t.app, 'POST', `/v1/devices/${member.device.id}/report`, { token: v.operator.token, body: { status: 'lost' } });
      assert.equal(reported.status, 'lost');
      for (const id of claims) {
        const claim = await ok(t.app, 'GET', `/v1/claims/${id}`, { token: v.operator.token });
        assert.equal(claim.status, 'revoked');
      }
      assert.equal(await usedOf(flatA, 'apps'), before);
      assert.equal(await usedOf(v.root, 'apps'), beforeRoot, 'the ancestors give the units back too');
      assert.deepEqual((await ok(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token })).drift, []);
      const again = await call(t.app, 'POST', '/v1/claims', { token: v.operator.token, body: { memberId: member.id, meter: 'apps', kind: 'assignment' } });
      assert.equal(again.status, 409, 'a lost device gets nothing more');
    });

    test("another vendor's operator and the pool's manager cannot use the registry", async () => {
      const other = await vendor(t, { name: 'Other Vendor' });
      const dev = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-PRIVATE', type: 'WiDI' } });
      for (const [method, url, body] of [
        ['POST', `/v1/pools/${v.root}/devices`, { serial: 'SN-X', type: 'WiDI' }],
        ['GET', `/v1/pools/${v.root}/devices`, undefined],
        ['POST', `/v1/devices/${dev.id}/report`, { status: 'stolen' }],
      ] as const) {
        const res = await call(t.app, method, url, { token: other.operator.token, body });
        assert.equal(res.status, 404, `${method} ${url}`);
      }
      const manager = await person(t, 'manager.b@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flatB}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
      assert.equal((await call(t.app, 'POST', `/v1/devices/${dev.id}/report`, { token: manager.token, body: { status: 'stolen' } })).status, 404);
      const still = await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=SN-PRIVATE`, { token: v.operator.token });
      assert.equal(still.data[0].status, 'ok');
    });

    test('bad input is refused with the field named, and nothing changes', async () => {
      const dev = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-BAD', type: 'WiDI' } });
      const cases = [
        ['POST', `/v1/pools/${v.root}/devices`, { serial: '', type: 'WiDI' }, 'body.serial'],
        ['POST', `/v1/pools/${v.root}/devices`, { serial: 'SN-Y' }, 'body.type'],
        ['POST', `/v1/devices/${dev.id}/report`, { status: 'broken' }, 'body.status'],
        ['PATCH', `/v1/pools/${v.root}`, { exclusiveMembership: 'yes' }, 'body.exclusiveMembership'],
      ] as const;
      for (const [method, url, body, field] of cases) {
        const res = await call(t.app, method, url, { token: v.operator.token, body });
        assert.equal(res.status, 422, `${method} ${url} ${JSON.stringify(res.body)}`);
        assert.ok(res.body.errors.some((e: any) => e.path === field), JSON.stringify(res.body.errors));
      }
      assert.equal((await call(t.app, 'POST', '/v1/devices/mem_nope/report', { token: v.operator.token, body: { status: 'lost' } })).status, 404);
      const list = await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=SN-Y`, { token: v.operator.token });
      assert.deepEqual(list.data, []);
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=SN-BAD`, { token: v.operator.token })).data[0].status, 'ok');
    });
  });
}
