/**
 * The console's live claims and queue (issue 14, item 8): who holds what in a pool and its
 * subtree, the queue's tickets with their places, and force-release by an operator or admin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { backends, call, createTestApp, ok, person, resellerTree, verifiedMember, vendor, type ResellerTree, type TestApp } from '../helpers.js';

for (const backend of backends()) {
  describe(`live claims and force-release (${backend})`, () => {
    let t: TestApp;
    let r: ResellerTree;
    let alice: { id: string; email: string; token: string; memberId: string };
    let bob: { id: string; email: string; token: string; memberId: string };
    let deviceMember: string;
    let aliceLease: string;
    let deviceAssignment: string;
    let bobTicket: string;

    const usedOf = async (poolId: string, meter: string) =>
      Number((await rowsOf<{ used: string | number }>(t.deps.db, sql`SELECT used FROM pool_usage WHERE pool_id = ${poolId} AND meter_key = ${meter}`))[0]?.used ?? 0);

    before(async () => {
      t = await createTestApp(backend);
      r = await resellerTree(t, []);
      const operator = r.operator.token;
      // The customer has two seats and a queue.
      await ok(t.app, 'PATCH', `/v1/pools/${r.customer}`, { token: operator, body: { restricted: true, queue: { enabled: true, claimTimeoutSeconds: 300 } } });
      await ok(t.app, 'POST', `/v1/pools/${r.customer}/licenses`, { token: operator, body: { limits: { seats: 2 } } });
      const a = await person(t, 'alice@sunset.test');
      alice = { ...a, memberId: await verifiedMember(t, operator, r.customer, { email: a.email }) };
      const b = await person(t, 'bob@sunset.test');
      bob = { ...b, memberId: await verifiedMember(t, operator, r.customer, { email: b.email }) };
      deviceMember = await verifiedMember(t, operator, r.customer, { device: { serial: 'SN-0001', type: 'intercom' } });
      aliceLease = (await ok(t.app, 'POST', '/v1/claims', { token: alice.token, body: { memberId: alice.memberId, meter: 'seats', ttlSeconds: 600, fingerprint: 'alice-laptop' } })).id;
      deviceAssignment = (await ok(t.app, 'POST', '/v1/claims', { token: operator, body: { memberId: deviceMember, meter: 'seats', kind: 'assignment' } })).id;
      const queued = await call(t.app, 'POST', '/v1/claims', { token: bob.token, body: { memberId: bob.memberId, meter: 'seats', ttlSeconds: 600, fingerprint: 'bob-phone', queue: true } });
      assert.equal(queued.status, 202, JSON.stringify(queued.body));
      bobTicket = queued.body.ticket.id;
    });
    after(() => t.close());

    test("a pool's live claims say who holds each: a person's name and e-mail, a device's serial", async () => {
      const page = await ok(t.app, 'GET', `/v1/claims?poolId=${r.customer}&live=true`, { token: r.reseller.token });
      assert.deepEqual(page.data.map((c: any) => c.id), [aliceLease, deviceAssignment]);
      const [lease, assignment] = page.data;
      assert.deepEqual(
        { meter: lease.meter, kind: lease.kind, quantity: lease.quantity, fingerprint: lease.fingerprint, status: lease.status, createdAt: lease.createdAt },
        { meter: 'seats', kind: 'lease', quantity: 1, fingerprint: 'alice-laptop', status: 'live', createdAt: t.clock.now().toISOString() },
      );
      assert.ok(lease.expiresAt);
      assert.deepEqual(lease.holder, { accountId: alice.id, name: 'alice', email: 'alice@sunset.test', deviceSerial: null, deviceType: null });
      assert.deepEqual(assignment.holder, { accountId: null, name: null, email: null, deviceSerial: 'SN-0001', deviceType: 'intercom' });
      assert.equal(assignment.expiresAt, null);
    });

    test('subtree=true lists the claims of the pools below too, a page at a time', async () => {
      const own = await ok(t.app, 'GET', `/v1/claims?poolId=${r.distributor}&live=true`, { token: r.reseller.token });
      assert.deepEqual(own.data, [], "the distributor's own members hold nothing");
      const first = await ok(t.app, 'GET', `/v1/claims?poolId=${r.distributor}&subtree=true&live=true&limit=1`, { token: r.reseller.token });
      assert.deepEqual(first.data.map((c: any) => c.id), [aliceLease]);
      const second = await ok(t.app, 'GET', `/v1/claims?poolId=${r.distributor}&subtree=true&live=true&limit=1&cursor=${first.nextCursor}`, { token: r.reseller.token });
      assert.deepEqual(second.data.map((c: any) => c.id), [deviceAssignment]);
      const noPool = await call(t.app, 'GET', '/v1/claims?subtree=true', { token: r.reseller.token });
      assert.equal(noPool.status, 422);
      assert.equal(noPool.body.errors[0].path, 'querystring.subtree');
    });

    test("the queue's open tickets of a pool come with their place in line and who waits", async () => {
      const page = await ok(t.app, 'GET', `/v1/tickets?poolId=${r.distributor}&subtree=true&open=true`, { token: r.reseller.token });
      assert.equal(page.data.length, 1);
      assert.deepEqual(
        { id: page.data[0].id, status: page.data[0].status, position: page.data[0].position, email: page.data[0].holder.email },
        { id: bobTicket, status: 'waiting', position: 1, email: 'bob@sunset.test' },
      );
      const managers = await ok(t.app, 'GET', `/v1/tickets?poolId=${r.customer}&open=true`, { token: r.manager.token });
      assert.deepEqual(managers.data.map((x: any) => x.id), [bobTicket], "the pool's manager sees its queue too");
    });

    test("another vendor's operator sees none of it", async () => {
      const other = await vendor(t, { name: 'Other', meters: [{ key: 'seats' }] });
      for (const url of [`/v1/claims?poolId=${r.customer}`, `/v1/claims?poolId=${r.root}&subtree=true`, `/v1/tickets?poolId=${r.customer}&open=true`]) {
        const res = await call(t.app, 'GET', url, { token: other.operator.token });
        assert.equal(res.status, 404, url);
        assert.equal(res.body.code, 'NOT_FOUND');
      }
      const release = await call(t.app, 'POST', `/v1/claims/${aliceLease}/release`, { token: other.operator.token });
      assert.equal(release.status, 404);
      assert.equal(release.body.code, 'NOT_FOUND');
    });

    test("the holder, the pool's manager and a stranger may not force-release", async () => {
      for (const [who, token, status, code] of [
        ['the manager', r.manager.token, 403, 'FORBIDDEN'],
        ["the holder's own app", alice.token, 404, 'NOT_FOUND'],
        ['another member', bob.token, 404, 'NOT_FOUND'],
      ] as const) {
        const res = await call(t.app, 'POST', `/v1/claims/${aliceLease}/release`, { token });
        assert.equal(res.status, status, who);
        assert.equal(res.body.code, code, who);
      }
      assert.equal((await call(t.app, 'POST', '/v1/claims/clm_nope/release', { token: r.reseller.token })).status, 404);
      assert.equal(await usedOf(r.customer, 'seats'), 2, 'nothing was released');
    });

    test('an admin above the pool force-releases a lease: the units come back, the queue moves, the holder learns why', async () => {
      const released = await ok(t.app, 'POST', `/v1/claims/${aliceLease}/release`, { token: r.reseller.token });
      assert.deepEqual(
        { id: released.id, status: released.status, endReason: released.endReason, endedAt: released.endedAt },
        { id: aliceLease, status: 'released', endReason: 'released_by_admin', endedAt: t.clock.now().toISOString() },
      );
      // The seat went to the head of the queue: Bob's ticket holds it now.
      const ticket = await ok(t.app, 'GET', `/v1/tickets/${bobTicket}`, { token: bob.token });
      assert.equal(ticket.status, 'held');
      assert.equal(await usedOf(r.customer, 'seats'), 2, "the released unit is the hold's now");
      assert.equal(await usedOf(r.root, 'seats'), 2);
      const heartbeat = await call(t.app, 'POST', `/v1/claims/${aliceLease}/heartbeat`, { token: alice.token });
      assert.equal(heartbeat.status, 410);
      assert.deepEqual({ code: heartbeat.body.code, endReason: heartbeat.body.endReason }, { code: 'CLAIM_ENDED', endReason: 'released_by_admin' });
      const audit = await ok(t.app, 'GET', `/v1/audit?poolId=${r.customer}`, { token: r.operator.token });
      const event = audit.data.find((e: any) => e.action === 'claim.released_by_admin');
      assert.ok(event, 'an audit event records the release');
      assert.equal(event.actorId, r.reseller.id);
      assert.equal(event.after.endReason, 'released_by_admin');
      const again = await call(t.app, 'POST', `/v1/claims/${aliceLease}/release`, { token: r.reseller.token });
      assert.equal(again.status, 410);
      assert.deepEqual({ code: again.body.code, claimStatus: again.body.claimStatus }, { code: 'CLAIM_ENDED', claimStatus: 'released' });
      assert.deepEqual((await ok(t.app, 'GET', `/v1/pools/${r.root}/reconcile`, { token: r.operator.token })).drift, []);
    });

    test("the vendor's operator force-releases an assignment, and a held ticket's hold (which ends the ticket)", async () => {
      const released = await ok(t.app, 'POST', `/v1/claims/${deviceAssignment}/release`, { token: r.operator.token });
      assert.equal(released.endReason, 'released_by_admin');
      const held = await ok(t.app, 'GET', `/v1/tickets/${bobTicket}`, { token: bob.token });
      const hold = (await ok(t.app, 'GET', `/v1/claims?memberId=${bob.memberId}&live=true`, { token: r.operator.token })).data.find((c: any) => c.kind === 'hold');
      assert.ok(hold && held.status === 'held');
      await ok(t.app, 'POST', `/v1/claims/${hold.id}/release`, { token: r.operator.token });
      assert.equal((await ok(t.app, 'GET', `/v1/tickets/${bobTicket}`, { token: bob.token })).status, 'cancelled');
      assert.equal(await usedOf(r.customer, 'seats'), 0);
      assert.deepEqual((await ok(t.app, 'GET', `/v1/claims?poolId=${r.customer}&live=true`, { token: r.operator.token })).data, []);
      assert.deepEqual((await ok(t.app, 'GET', `/v1/pools/${r.root}/reconcile`, { token: r.operator.token })).drift, []);
    });
  });
}
