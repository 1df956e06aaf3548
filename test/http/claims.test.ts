import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { verifyLicense } from '@licensepool/client';
import { backends, call, childPool, createTestApp, ok, person, vendor, verifiedMember, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`claims (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let office: string;
    let user: Awaited<ReturnType<typeof person>>;
    let memberId: string;

    const usedOf = async (poolId: string, meter: string) =>
      (await rowsOf<{ used: string | number }>(t.deps.db, sql`SELECT used FROM pool_usage WHERE pool_id = ${poolId} AND meter_key = ${meter}`))[0]?.used ?? 0;
    const claim = (body: Record<string, unknown>, token = user.token) => call(t.app, 'POST', '/v1/claims', { token, body: { memberId, ...body } });

    before(async () => {
      t = await createTestApp(backend);
      // Seed 004: a pool of 10 seats shared by product A (at most 3) and product B.
      v = await vendor(t, {
        name: 'Nitro',
        meters: [{ key: 'seats' }, { key: 'product_a', draws: ['seats'] }, { key: 'product_b', draws: ['seats'] }],
      });
      office = await childPool(t, v.operator.token, v.root, { name: 'Office', restricted: true });
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { maxBorrowDays: 14 } });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: v.operator.token, body: { limits: { seats: 10, product_a: 3, product_b: null } } });
      user = await person(t, 'designer@acme.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email: user.email } });
      memberId = member.id;
    });
    after(() => t.close());

    test('seed 001: each mobile app takes its own SIP number, so apps run out when the SIP numbers do', async () => {
      const bas = await vendor(t, { name: 'BAS-IP', meters: [{ key: 'sip_numbers' }, { key: 'mobile_apps', draws: ['sip_numbers'] }] });
      const building = await childPool(t, bas.operator.token, bas.root, { name: 'Building 7', kind: 'building', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${building}/licenses`, { token: bas.operator.token, body: { limits: { sip_numbers: 5, mobile_apps: 5 } } });
      const resident = await person(t, 'resident@building7.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${building}/members`, { token: bas.operator.token, body: { email: resident.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: bas.operator.token });
      const take = (meter: string) => call(t.app, 'POST', '/v1/claims', { token: resident.token, body: { memberId: member.id, meter, kind: 'assignment' } });
      // Two SIP numbers go to intercom panels; then three apps, each with a SIP number of its own.
      assert.deepEqual([(await take('sip_numbers')).status, (await take('sip_numbers')).status], [201, 201]);
      const apps = [await take('mobile_apps'), await take('mobile_apps'), await take('mobile_apps')];
      assert.deepEqual(apps.map((r) => r.status), [201, 201, 201]);
      const fourth = await take('mobile_apps');
      assert.equal(fourth.status, 409);
      assert.deepEqual(fourth.body.reasons, [{ code: 'LIMIT_REACHED', poolId: building, meter: 'sip_numbers', limit: 5, used: 5 }]);
      const state = await ok(t.app, 'GET', `/v1/pools/${building}/state`, { token: bas.operator.token });
      assert.deepEqual(state.meters.map((m: any) => [m.key, m.used, m.available]), [['mobile_apps', 3, 0], ['sip_numbers', 5, 0]]);
      // Giving an app back frees its SIP number with it.
      await ok(t.app, 'DELETE', `/v1/claims/${apps[0]!.body.id}`, { token: resident.token });
      assert.equal((await take('sip_numbers')).status, 201);
    });

    test('a claim on a meter the catalog lacks is refused and leaves no counter behind (found by the fuzz, seed 763799505)', async () => {
      const rows = async () => rowsOf<{ pool_id: string; meter_key: string; used: number }>(t.deps.db, sql`SELECT pool_id, meter_key, used FROM pool_usage ORDER BY pool_id, meter_key`);
      const resident = await person(t, 'catalog@acme.test');
      const member = await verifiedMember(t, v.operator.token, office, { email: resident.email });
      const before = await rows();
      for (const kind of ['lease', 'borrow', 'assignment']) {
        const res = await call(t.app, 'POST', '/v1/claims', { token: resident.token, body: { memberId: member, meter: 'not_in_the_catalog', kind, ...(kind === 'borrow' ? { borrowDays: 1 } : {}) } });
        assert.equal(res.status, 409, kind);
        assert.deepEqual(res.body.reasons, [{ code: 'UNKNOWN_METER', meter: 'not_in_the_catalog' }], kind);
      }
      assert.deepEqual(await rows(), before);
    });

    test('a member not yet verified is refused, with the reason', async () => {
      const res = await claim({ meter: 'seats' });
      assert.equal(res.status, 409);
      assert.equal(res.body.code, 'CLAIM_REFUSED');
      assert.deepEqual(res.body.reasons, [{ code: 'MEMBER_NOT_VERIFIED', memberId, status: 'pending' }]);
      await ok(t.app, 'POST', `/v1/members/${memberId}/verify`, { token: v.operator.token });
    });

    test('seed 004: the 4th A is refused on product_a; B takes exactly the seats left; the next B is refused on seats', async () => {
      const a = [];
      for (let i = 0; i < 3; i++) a.push(await claim({ meter: 'product_a', kind: 'assignment' }));
      assert.deepEqual(a.map((r) => r.status), [201, 201, 201]);
      const fourth = await claim({ meter: 'product_a', kind: 'assignment' });
      assert.equal(fourth.status, 409);
      assert.deepEqual(fourth.body.reasons, [{ code: 'LIMIT_REACHED', poolId: office, meter: 'product_a', limit: 3, used: 3 }]);
      const b = [];
      for (let i = 0; i < 8; i++) b.push(await claim({ meter: 'product_b', kind: 'assignment' }));
      assert.deepEqual(b.map((r) => r.status), [201, 201, 201, 201, 201, 201, 201, 409]);
      assert.deepEqual(b[7]!.body.reasons, [{ code: 'LIMIT_REACHED', poolId: office, meter: 'seats', limit: 10, used: 10 }]);
      assert.equal(Number(await usedOf(office, 'seats')), 10);
      assert.equal(Number(await usedOf(v.root, 'seats')), 10, 'the root counts its subtree');
      const state = await ok(t.app, 'GET', `/v1/pools/${office}/state`, { token: v.operator.token });
      assert.deepEqual(state.meters.find((m: any) => m.key === 'seats'), { key: 'seats', limit: 10, effectiveLimit: 10, used: 10, available: 0, enabled: true, until: null, overLimit: false });

      // Checking in gives the units back, once: a second check-in changes nothing.
      assert.equal((await call(t.app, 'DELETE', `/v1/claims/${a[0]!.body.id}`, { token: user.token })).status, 204);
      assert.equal((await call(t.app, 'DELETE', `/v1/claims/${a[0]!.body.id}`, { token: user.token })).status, 204);
      assert.equal(Number(await usedOf(office, 'product_a')), 2);
      assert.equal(Number(await usedOf(office, 'seats')), 9);
      const released = await ok(t.app, 'GET', `/v1/claims/${a[0]!.body.id}`, { token: user.token });
      assert.deepEqual([released.status, released.endReason], ['released', 'checked in']);
      for (const r of [...a.slice(1), ...b.slice(0, 7)]) await ok(t.app, 'DELETE', `/v1/claims/${r.body.id}`, { token: user.token });
      assert.equal(Number(await usedOf(v.root, 'seats')), 0);
    });

    test('a lease runs out unless renewed; its units come back; its heartbeat then answers 410', async () => {
      const lease = await ok(t.app, 'POST', '/v1/claims', { token: user.token, body: { memberId, meter: 'seats', quantity: 10, ttlSeconds: 60 } });
      assert.equal(lease.expiresAt, new Date(t.clock.now().getTime() + 60_000).toISOString());
      t.clock.advance(50_000);
      const renewed = await ok(t.app, 'POST', `/v1/claims/${lease.id}/heartbeat`, { token: user.token });
      assert.equal(renewed.expiresAt, new Date(t.clock.now().getTime() + 60_000).toISOString());
      t.clock.advance(61_000);
      assert.equal((await ok(t.app, 'GET', `/v1/claims/${lease.id}`, { token: user.token })).status, 'expired', 'never live past its end');
      const gone = await call(t.app, 'POST', `/v1/claims/${lease.id}/heartbeat`, { token: user.token });
      assert.equal(gone.status, 410);
      assert.equal(gone.body.code, 'CLAIM_ENDED');
      // The expired lease's 10 seats are not yet swept, yet the next claim gets them.
      const next = await claim({ meter: 'seats', quantity: 10, ttlSeconds: 60 });
      assert.equal(next.status, 201);
      assert.equal(Number(await usedOf(office, 'seats')), 10);
      assert.equal((await ok(t.app, 'GET', `/v1/claims/${lease.id}`, { token: user.token })).endReason, 'not renewed in time');
      await ok(t.app, 'DELETE', `/v1/claims/${next.body.id}`, { token: user.token });
    });

    test('every heartbeat extends by the lease\'s own ttl, not more; the root bounds the ttl asked for', async () => {
      const lease = await ok(t.app, 'POST', '/v1/claims', { token: user.token, body: { memberId, meter: 'seats', ttlSeconds: 120 } });
      for (let i = 0; i < 3; i++) {
        t.clock.advance(100_000);
        const renewed = await ok(t.app, 'POST', `/v1/claims/${lease.id}/heartbeat`, { token: user.token });
        assert.equal(renewed.expiresAt, new Date(t.clock.now().getTime() + 120_000).toISOString());
        assert.equal(renewed.ttlSeconds, 120);
      }
      await ok(t.app, 'DELETE', `/v1/claims/${lease.id}`, { token: user.token });

      const tooLong = await claim({ meter: 'seats', ttlSeconds: 86_401 });
      assert.equal(tooLong.status, 409);
      assert.deepEqual(tooLong.body.reasons, [{ code: 'LEASE_TOO_LONG', poolId: v.root, ttlSeconds: 86_401, maxLeaseSeconds: 86_400 }]);
      const notRoot = await call(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { maxLeaseSeconds: 600 } });
      assert.deepEqual([notRoot.status, notRoot.body.code], [422, 'NOT_A_ROOT']);
      await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { maxLeaseSeconds: 600 } });
      assert.deepEqual((await claim({ meter: 'seats', ttlSeconds: 601 })).body.reasons, [{ code: 'LEASE_TOO_LONG', poolId: v.root, ttlSeconds: 601, maxLeaseSeconds: 600 }]);
      const fits = await claim({ meter: 'seats', ttlSeconds: 600 });
      assert.equal(fits.status, 201);
      await ok(t.app, 'DELETE', `/v1/claims/${fits.body.id}`, { token: user.token });
      await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { maxLeaseSeconds: null } });
    });

    test('the same client asking again gets its live lease back, not a second unit', async () => {
      const first = await claim({ meter: 'seats', fingerprint: 'laptop-7' });
      const again = await claim({ meter: 'seats', fingerprint: 'laptop-7' });
      assert.deepEqual([first.status, again.status], [201, 200]);
      assert.equal(again.body.id, first.body.id);
      const other = await claim({ meter: 'seats', fingerprint: 'phone-2' });
      assert.notEqual(other.body.id, first.body.id);
      assert.equal(Number(await usedOf(office, 'seats')), 2);
      for (const id of [first.body.id, other.body.id]) await ok(t.app, 'DELETE', `/v1/claims/${id}`, { token: user.token });
    });

    test('borrowing: up to the pool\'s maxBorrowDays, refused beyond with BORROW_TOO_LONG', async () => {
      const long = await claim({ meter: 'seats', kind: 'borrow', borrowDays: 15 });
      assert.equal(long.status, 409);
      assert.deepEqual(long.body.reasons, [{ code: 'BORROW_TOO_LONG', poolId: office, borrowDays: 15, maxBorrowDays: 14 }]);
      const ok14 = await claim({ meter: 'seats', kind: 'borrow', borrowDays: 14 });
      assert.equal(ok14.status, 201);
      assert.equal(ok14.body.expiresAt, new Date(t.clock.now().getTime() + 14 * 86_400_000).toISOString());
      await ok(t.app, 'DELETE', `/v1/claims/${ok14.body.id}`, { token: user.token });
    });

    test('a borrow comes with a signed license file that verifies offline, also after key rotation; a tampered one fails', async () => {
      const borrowed = await ok(t.app, 'POST', '/v1/claims', { token: user.token, body: { memberId, meter: 'seats', kind: 'borrow', borrowDays: 7 } });
      const jwks = await ok(t.app, 'GET', '/.well-known/jwks.json');
      const at = t.clock.now();
      const payload = await verifyLicense(borrowed.licenseFile, jwks, { rootId: v.root, currentDate: at });
      assert.deepEqual(
        { sub: payload.sub, jti: payload.jti, pool: payload.pool, meter: payload.meter, quantity: payload.quantity, kind: payload.kind, exp: payload.exp },
        { sub: memberId, jti: borrowed.id, pool: office, meter: 'seats', quantity: 1, kind: 'borrow', exp: Date.parse(borrowed.expiresAt) / 1000 },
      );
      // After rotation the old key still verifies (until retired); new borrows use the new key.
      await ok(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/rotate`, { token: v.operator.token });
      const rotatedJwks = await ok(t.app, 'GET', '/.well-known/jwks.json');
      await verifyLicense(borrowed.licenseFile, rotatedJwks, { currentDate: at });
      const second = await ok(t.app, 'POST', '/v1/claims', { token: user.token, body: { memberId, meter: 'seats', kind: 'borrow', borrowDays: 1 } });
      const kid = (file: string) => JSON.parse(Buffer.from(file.split('.')[0]!, 'base64url').toString()).kid;
      assert.notEqual(kid(second.licenseFile), kid(borrowed.licenseFile));
      await verifyLicense(second.licenseFile, rotatedJwks, { currentDate: at });
      // A file whose payload was changed (a longer borrow) fails; so does one past its end.
      const [header, , signature] = borrowed.licenseFile.split('.');
      const longer = Buffer.from(JSON.stringify({ ...payload, exp: payload.exp! + 86_400 * 365 })).toString('base64url');
      await assert.rejects(verifyLicense(`${header}.${longer}.${signature}`, rotatedJwks, { currentDate: at }), { code: 'INVALID_SIGNATURE' });
      await assert.rejects(verifyLicense(borrowed.licenseFile, rotatedJwks, { currentDate: new Date(Date.parse(borrowed.expiresAt) + 1000) }), { code: 'EXPIRED' });
      // Leases and assignments carry no file; returning a borrow early gives its seat back.
      assert.equal((await claim({ meter: 'seats', kind: 'assignment' })).body.licenseFile, undefined);
      for (const id of [borrowed.id, second.id]) assert.equal((await call(t.app, 'DELETE', `/v1/claims/${id}`, { token: user.token })).status, 204);
      const mine = (await ok(t.app, 'GET', `/v1/claims?memberId=${memberId}&live=true`, { token: user.token })).data;
      for (const c of mine) await ok(t.app, 'DELETE', `/v1/claims/${c.id}`, { token: user.token });
      assert.equal(Number(await usedOf(office, 'seats')), 0);
    });

    test('every failing reason at once: a suspended pool and an access rule', async () => {
      await ok(t.app, 'POST', `/v1/pools/${office}/access-rules`, { token: v.operator.token, body: { effect: 'include', match: 'domain', value: 'partner.test' } });
      await ok(t.app, 'POST', `/v1/pools/${office}/suspend`, { token: v.operator.token });
      const res = await claim({ meter: 'seats' });
      assert.deepEqual(res.body.reasons.map((r: any) => r.code), ['POOL_NOT_ACTIVE', 'ACCESS_RULE']);
      assert.equal(res.body.reasons[1].poolId, office);
      await ok(t.app, 'POST', `/v1/pools/${office}/resume`, { token: v.operator.token });
      const rules = (await ok(t.app, 'GET', `/v1/pools/${office}/access-rules`, { token: v.operator.token })).data;
      await ok(t.app, 'DELETE', `/v1/pools/${office}/access-rules/${rules[0].id}`, { token: v.operator.token });
      assert.equal((await claim({ meter: 'nonexistent_meter' })).body.reasons[0].code, 'UNKNOWN_METER');
    });

    test('60 claims at once against 10 seats: exactly 10 granted, and the counters equal the live claims', async () => {
      const answers = await Promise.all(Array.from({ length: 60 }, () => claim({ meter: 'seats', kind: 'assignment' })));
      assert.equal(answers.filter((r) => r.status === 201).length, 10);
      assert.ok(answers.every((r) => r.status === 201 || (r.status === 409 && r.body.reasons[0].code === 'LIMIT_REACHED')));
      const [live] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT coalesce(sum(quantity), 0)::int AS n FROM claims WHERE status = 'live' AND meter_key = 'seats'`);
      assert.equal(live!.n, 10);
      assert.equal(Number(await usedOf(office, 'seats')), 10);
      const listed = await ok(t.app, 'GET', `/v1/claims?poolId=${office}&live=true`, { token: v.operator.token });
      assert.equal(listed.data.length, 10);
    });

    test('reconcile: no drift after all of the above; a corrupted counter is reported and set right', async () => {
      const clean = await ok(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token });
      assert.deepEqual(clean, { drift: [], fixed: false });
      await t.deps.db.execute(sql`UPDATE pool_usage SET used = used + 3 WHERE pool_id = ${office} AND meter_key = 'seats'`);
      const found = await ok(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token });
      assert.deepEqual(found.drift, [{ poolId: office, meter: 'seats', counted: 13, actual: 10 }]);
      const fixed = await ok(t.app, 'POST', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token });
      assert.equal(fixed.fixed, true);
      assert.equal(Number(await usedOf(office, 'seats')), 10);
      assert.deepEqual((await ok(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token })).drift, []);
      assert.equal((await call(t.app, 'GET', `/v1/pools/${office}/reconcile`, { token: v.operator.token })).body.code, 'NOT_A_ROOT');
      assert.equal((await call(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: user.token })).status, 404);
    });

    test('only the member itself and the pool\'s managers act on its claims', async () => {
      const stranger = await person(t, 'stranger@elsewhere.test');
      const refused = await claim({ meter: 'seats' }, stranger.token);
      assert.equal(refused.status, 404);
      const mine = (await ok(t.app, 'GET', `/v1/claims?memberId=${memberId}&live=true`, { token: user.token })).data[0];
      assert.equal((await call(t.app, 'DELETE', `/v1/claims/${mine.id}`, { token: stranger.token })).status, 404);
      assert.equal((await call(t.app, 'POST', `/v1/claims/${mine.id}/heartbeat`, { token: stranger.token })).status, 404);
    });
  });
}
