/**
 * The dry run of a license change (issue 14, item 5): before saving a change that lowers a limit
 * below use, the console asks which live claims would be revoked; the answer is what saving does
 * (the same U5 rule), and nothing is written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, childPool, createTestApp, ok, person, tableDigest, verifiedMember, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`license change preview (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let office: string;
    let license: string;
    let manager: Awaited<ReturnType<typeof person>>;
    const leases: string[] = [];

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Nitro', meters: [{ key: 'seats' }, { key: 'product_a', draws: ['seats'] }] });
      const token = v.operator.token;
      office = await childPool(t, token, v.root, { name: 'Office', restricted: true });
      license = (await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token, body: { limits: { seats: 3, product_a: 3 } } })).id;
      manager = await person(t, 'manager@office.test');
      await ok(t.app, 'POST', `/v1/pools/${office}/roles`, { token, body: { email: manager.email, role: 'manager' } });
      for (const name of ['ann', 'ben', 'cat']) {
        const who = await person(t, `${name}@office.test`);
        const memberId = await verifiedMember(t, token, office, { email: who.email });
        // A second apart, so "newest" is plain to see.
        t.clock.advance(1000);
        leases.push((await ok(t.app, 'POST', '/v1/claims', { token: who.token, body: { memberId, meter: 'seats', ttlSeconds: 3600, fingerprint: `${name}-pc` } })).id);
      }
    });
    after(() => t.close());

    test('lowering a limit below use: the newest claims beyond it would be revoked, the state shows the result, nothing is written', async () => {
      const before = await tableDigest(t.deps.db);
      const preview = await ok(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: v.operator.token, body: { limits: { seats: 1, product_a: 1 } } });
      assert.deepEqual(await tableDigest(t.deps.db), before, 'a preview writes nothing');
      assert.deepEqual(preview.license.limits, { seats: 1, product_a: 1 });
      assert.deepEqual(preview.revokedClaims.map((c: any) => c.id), [leases[2], leases[1]], 'the newest first');
      assert.deepEqual(
        preview.revokedClaims.map((c: any) => ({ status: c.status, reason: c.endReason, email: c.holder.email, fingerprint: c.fingerprint })),
        [
          { status: 'revoked', reason: `the limit dropped below use: license ${license} was changed`, email: 'cat@office.test', fingerprint: 'cat-pc' },
          { status: 'revoked', reason: `the limit dropped below use: license ${license} was changed`, email: 'ben@office.test', fingerprint: 'ben-pc' },
        ],
      );
      const seats = preview.state.meters.find((m: any) => m.key === 'seats');
      assert.deepEqual({ limit: seats.limit, used: seats.used, available: seats.available, overLimit: seats.overLimit }, { limit: 1, used: 1, available: 0, overLimit: false });
      // The pool is as it was: three seats in use, the license unchanged.
      const state = await ok(t.app, 'GET', `/v1/pools/${office}/state`, { token: v.operator.token });
      assert.equal(state.meters.find((m: any) => m.key === 'seats').used, 3);
      assert.deepEqual((await ok(t.app, 'GET', `/v1/licenses/${license}`, { token: v.operator.token })).limits, { seats: 3, product_a: 3 });
    });

    test('a change that keeps every claim revokes none', async () => {
      const preview = await ok(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: v.operator.token, body: { limits: { seats: 5, product_a: 5 } } });
      assert.deepEqual(preview.revokedClaims, []);
      assert.equal(preview.state.meters.find((m: any) => m.key === 'seats').limit, 5);
    });

    test('a preview is refused as the change would be, at the field or meter concerned', async () => {
      const unknown = await call(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: v.operator.token, body: { limits: { nope: 1 } } });
      assert.deepEqual({ status: unknown.status, code: unknown.body.code, path: unknown.body.errors[0].path }, { status: 422, code: 'UNKNOWN_METER', path: 'body.limits.nope' });
      const drawn = await call(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: v.operator.token, body: { limits: { seats: 1, product_a: 2 } } });
      assert.equal(drawn.body.code, 'DRAWN_METER_TOO_LOW');
      const empty = await call(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: v.operator.token, body: {} });
      assert.equal(empty.status, 422);
    });

    test("the pool's manager may not preview what it may not change; another vendor does not see the license", async () => {
      const managers = await call(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: manager.token, body: { limits: { seats: 1 } } });
      assert.deepEqual({ status: managers.status, code: managers.body.code }, { status: 403, code: 'FORBIDDEN' });
      const other = await vendor(t, { name: 'Other', meters: [{ key: 'seats' }] });
      const stranger = await call(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: other.operator.token, body: { limits: { seats: 1 } } });
      assert.deepEqual({ status: stranger.status, code: stranger.body.code }, { status: 404, code: 'NOT_FOUND' });
      assert.equal((await call(t.app, 'POST', '/v1/licenses/lic_nope/preview', { token: v.operator.token, body: { limits: { seats: 1 } } })).status, 404);
    });

    test('saving the change revokes exactly the claims the preview named', async () => {
      const preview = await ok(t.app, 'POST', `/v1/licenses/${license}/preview`, { token: v.operator.token, body: { limits: { seats: 2, product_a: 2 } } });
      assert.deepEqual(preview.revokedClaims.map((c: any) => c.id), [leases[2]]);
      await ok(t.app, 'PATCH', `/v1/licenses/${license}`, { token: v.operator.token, body: { limits: { seats: 2, product_a: 2 } } });
      const live = await ok(t.app, 'GET', `/v1/claims?poolId=${office}&live=true`, { token: v.operator.token });
      assert.deepEqual(live.data.map((c: any) => c.id), [leases[0], leases[1]]);
      const revoked = await ok(t.app, 'GET', `/v1/claims/${leases[2]}`, { token: v.operator.token });
      assert.deepEqual({ status: revoked.status, endReason: revoked.endReason }, { status: 'revoked', endReason: preview.revokedClaims[0].endReason });
    });
  });
}
