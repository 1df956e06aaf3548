import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`pool tree, catalog, members, audit (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Octo', meters: [{ key: 'access_points' }], features: ['guest'] });
    });
    after(() => t.close());

    describe('pools', () => {
      test('only a superuser creates a root; it starts active', async () => {
        const refused = await call(t.app, 'POST', '/v1/pools', { token: v.operator.token, body: { name: 'Rogue', kind: 'vendor' } });
        assert.equal(refused.status, 403);
        assert.equal(refused.body.code, 'FORBIDDEN');
        const root = await ok(t.app, 'POST', '/v1/pools', { token: t.superuser, body: { name: 'Second vendor', kind: 'vendor' } });
        assert.equal(root.status, 'active');
        assert.equal(root.parentId, null);
        assert.equal(root.rootId, root.id);
        assert.match(root.id, /^pool_[0-9a-z]{26}$/);
      });

      test('a child pool starts initializing and serves nothing until activated [004]', async () => {
        const child = await ok(t.app, 'POST', '/v1/pools', { token: v.operator.token, body: { name: 'Dist', kind: 'distributor', parentId: v.root } });
        assert.equal(child.status, 'initializing');
        assert.equal(child.depth, 1);
        const state = await ok(t.app, 'GET', `/v1/pools/${child.id}/state`, { token: v.operator.token });
        assert.equal(state.serving, false);
        assert.deepEqual(state.notServing, [{ code: 'POOL_NOT_ACTIVE', poolId: child.id, status: 'initializing' }]);
        const bad = await call(t.app, 'POST', `/v1/pools/${child.id}/resume`, { token: v.operator.token });
        assert.equal(bad.status, 409);
        assert.equal(bad.body.code, 'INVALID_TRANSITION');
        assert.equal(bad.body.currentStatus, 'initializing');
        assert.equal((await ok(t.app, 'POST', `/v1/pools/${child.id}/activate`, { token: v.operator.token })).status, 'active');
        assert.equal((await ok(t.app, 'POST', `/v1/pools/${child.id}/close`, { token: v.operator.token })).status, 'closed');
        const under = await call(t.app, 'POST', '/v1/pools', { token: v.operator.token, body: { name: 'x', kind: 'shop', parentId: child.id } });
        assert.equal(under.body.code, 'INVALID_TRANSITION', 'nothing is added under a closed pool');
      });

      test('admins act below themselves; managers run their own pool but not its limits', async () => {
        const dist = await childPool(t, v.operator.token, v.root, { name: 'Dist A', kind: 'distributor', restricted: true });
        await ok(t.app, 'POST', `/v1/pools/${dist}/licenses`, { token: v.operator.token, body: { limits: { access_points: 100 }, features: ['guest'] } });
        const admin = await person(t, 'admin.dist@example.test');
        await ok(t.app, 'POST', `/v1/pools/${dist}/roles`, { token: v.operator.token, body: { email: admin.email, role: 'admin' } });
        const shop = await childPool(t, admin.token, dist, { name: 'Shop', kind: 'dealer', restricted: true });
        const placed = await call(t.app, 'POST', `/v1/pools/${shop}/licenses`, { token: admin.token, body: { limits: { access_points: 30 } } });
        assert.equal(placed.status, 201, 'an admin gives sub-pools licenses out of its own');
        const own = await call(t.app, 'POST', `/v1/pools/${dist}/licenses`, { token: admin.token, body: { limits: { access_points: 1 } } });
        assert.equal(own.status, 403, 'but not to itself');
        assert.equal((await call(t.app, 'PATCH', `/v1/pools/${dist}`, { token: admin.token, body: { restricted: false } })).status, 403);

        const manager = await person(t, 'manager.shop@example.test');
        await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: admin.token, body: { email: manager.email, role: 'manager' } });
        const renamed = await ok(t.app, 'PATCH', `/v1/pools/${shop}`, {
          token: manager.token,
          body: { name: 'Shop (renamed)', billingAddress: { line1: 'Road 2', postalCode: '08001', city: 'Barcelona', country: 'ES' } },
        });
        assert.equal(renamed.name, 'Shop (renamed)');
        const dates = await call(t.app, 'PATCH', `/v1/pools/${shop}`, { token: manager.token, body: { validUntil: '2030-01-01T00:00:00Z' } });
        assert.equal(dates.status, 403);
        assert.match(dates.body.detail, /validUntil/);
        const settings = await ok(t.app, 'PATCH', `/v1/pools/${shop}`, {
          token: admin.token,
          body: { maxBorrowDays: 14, queue: { enabled: true, claimTimeoutSeconds: 600 }, validUntil: '2030-01-01T00:00:00Z' },
        });
        assert.deepEqual([settings.maxBorrowDays, settings.queue, settings.validUntil], [14, { enabled: true, claimTimeoutSeconds: 600 }, '2030-01-01T00:00:00.000Z']);
        assert.equal((await call(t.app, 'GET', `/v1/pools/${dist}`, { token: manager.token })).status, 404, 'a manager does not see above its pool');
      });

      test('one manager per pool: naming another replaces the first', async () => {
        const shop = await childPool(t, v.operator.token, v.root, { name: 'One manager' });
        const first = await person(t, 'first.manager@example.test');
        const second = await person(t, 'second.manager@example.test');
        await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: v.operator.token, body: { email: first.email, role: 'manager' } });
        await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: v.operator.token, body: { email: second.email, role: 'manager' } });
        const deputy = await person(t, 'deputy@example.test');
        await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: second.token, body: { email: deputy.email, role: 'deputy' } });
        const roles = (await ok(t.app, 'GET', `/v1/pools/${shop}/roles`, { token: v.operator.token })).data;
        assert.deepEqual(roles.map((r: any) => [r.email, r.role]), [[second.email, 'manager'], [deputy.email, 'deputy']]);
        const unknown = await call(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: v.operator.token, body: { email: 'ghost@example.test', role: 'deputy' } });
        assert.equal(unknown.status, 422);
        assert.equal(unknown.body.code, 'ACCOUNT_NOT_FOUND');
        const selfPromote = await call(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: deputy.token, body: { email: deputy.email, role: 'manager' } });
        assert.equal(selfPromote.status, 403);
      });

      test('a depth-10 chain: lists filter by parent, status and text, in cursor pages, within the caller\'s reach', async () => {
        let parent = v.root;
        const chain: string[] = [];
        for (let depth = 1; depth <= 10; depth++) {
          parent = await childPool(t, v.operator.token, parent, { name: `Level ${depth}`, kind: 'level' });
          chain.push(parent);
        }
        const deep = await ok(t.app, 'GET', `/v1/pools/${chain[9]}`, { token: v.operator.token });
        assert.equal(deep.depth, 10);
        const admin = await person(t, 'admin.level3@example.test');
        await ok(t.app, 'POST', `/v1/pools/${chain[2]}/roles`, { token: v.operator.token, body: { email: admin.email, role: 'admin' } });
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: any = await ok(t.app, 'GET', `/v1/pools?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: admin.token });
          assert.ok(page.data.length <= 3);
          seen.push(...page.data.map((p: any) => p.id));
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual(seen, chain.slice(2), 'levels 3 to 10, in creation order, nothing above');
        const byParent = await ok(t.app, 'GET', `/v1/pools?parentId=${chain[4]}`, { token: admin.token });
        assert.deepEqual(byParent.data.map((p: any) => p.id), [chain[5]]);
        const byText = await ok(t.app, 'GET', `/v1/pools?q=${encodeURIComponent('level 1')}&rootId=${v.root}`, { token: v.operator.token });
        assert.deepEqual(byText.data.map((p: any) => p.name).sort(), ['Level 1', 'Level 10']);
        await ok(t.app, 'POST', `/v1/pools/${chain[6]}/suspend`, { token: v.operator.token });
        const suspended = await ok(t.app, 'GET', `/v1/pools?status=suspended`, { token: admin.token });
        assert.deepEqual(suspended.data.map((p: any) => p.id), [chain[6]]);
        const percent = await ok(t.app, 'GET', `/v1/pools?q=${encodeURIComponent('%')}`, { token: admin.token });
        assert.deepEqual(percent.data, [], 'LIKE wildcards in q are taken literally');
      });
    });

    describe('catalog', () => {
      test('meters draw on existing meters, never in a cycle; keys are unique per root', async () => {
        const root = v.root;
        const token = v.operator.token;
        assert.equal((await call(t.app, 'POST', `/v1/pools/${root}/meters`, { token, body: { key: 'rooms', name: 'Rooms', draws: ['access_points'] } })).status, 201);
        const unknown = await call(t.app, 'POST', `/v1/pools/${root}/meters`, { token, body: { key: 'apps', name: 'Apps', draws: ['sip'] } });
        assert.equal(unknown.status, 422);
        assert.equal(unknown.body.code, 'UNKNOWN_METER');
        const selfDraw = await call(t.app, 'POST', `/v1/pools/${root}/meters`, { token, body: { key: 'loop', name: 'Loop', draws: ['loop'] } });
        assert.equal(selfDraw.body.code, 'DRAW_CYCLE');
        const dup = await call(t.app, 'POST', `/v1/pools/${root}/meters`, { token, body: { key: 'rooms', name: 'Again' } });
        assert.equal(dup.status, 409);
        assert.equal(dup.body.code, 'CATALOG_KEY_TAKEN');
        const dupFeature = await call(t.app, 'POST', `/v1/pools/${root}/features`, { token, body: { key: 'guest', name: 'Again' } });
        assert.equal(dupFeature.body.code, 'CATALOG_KEY_TAKEN');
      });

      test('the catalog lives on the root; sub-pools read their root\'s', async () => {
        const shop = await childPool(t, v.operator.token, v.root, { name: 'Catalog reader' });
        const onChild = await call(t.app, 'POST', `/v1/pools/${shop}/meters`, { token: v.operator.token, body: { key: 'x', name: 'x' } });
        assert.equal(onChild.status, 422);
        assert.equal(onChild.body.code, 'NOT_A_ROOT');
        const manager = await person(t, 'catalog.reader@example.test');
        await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
        const meters = await ok(t.app, 'GET', `/v1/pools/${shop}/meters`, { token: manager.token });
        assert.ok(meters.data.some((m: any) => m.key === 'rooms' && m.draws[0] === 'access_points'));
        const features = await ok(t.app, 'GET', `/v1/pools/${shop}/features`, { token: manager.token });
        assert.deepEqual(features.data.map((f: any) => f.key), ['guest']);
        assert.equal((await call(t.app, 'POST', `/v1/pools/${v.root}/features`, { token: manager.token, body: { key: 'y', name: 'y' } })).status, 404);
      });
    });

    describe('members', () => {
      let shop: string;
      let manager: Awaited<ReturnType<typeof person>>;
      before(async () => {
        shop = await childPool(t, v.operator.token, v.root, { name: 'Members shop' });
        manager = await person(t, 'members.manager@example.test');
        await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
      });

      test('a person joins by the e-mail of an existing account, pending until an operator verifies', async () => {
        const unknown = await call(t.app, 'POST', `/v1/pools/${shop}/members`, { token: manager.token, body: { email: 'stranger@example.test' } });
        assert.equal(unknown.status, 422);
        assert.equal(unknown.body.code, 'ACCOUNT_NOT_FOUND');
        const user = await person(t, 'door.user@example.test');
        const member = await ok(t.app, 'POST', `/v1/pools/${shop}/members`, { token: manager.token, body: { email: 'DOOR.user@example.test' } });
        assert.equal(member.status, 'pending');
        assert.equal(member.account.id, user.id);
        const again = await call(t.app, 'POST', `/v1/pools/${shop}/members`, { token: manager.token, body: { email: user.email } });
        assert.equal(again.status, 409);
        assert.equal(again.body.code, 'MEMBER_EXISTS');
        const byManager = await call(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: manager.token });
        assert.equal(byManager.status, 403, 'the vendor verifies, not the pool manager [000]');
        const verified = await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
        assert.equal(verified.status, 'verified');
        assert.ok(verified.decidedAt);
        assert.equal((await ok(t.app, 'GET', `/v1/members/${member.id}`, { token: user.token })).status, 'verified', 'a member reads its own membership');
        const listed = await ok(t.app, 'GET', `/v1/pools/${shop}/members?status=verified`, { token: manager.token });
        assert.deepEqual(listed.data.map((m: any) => m.id), [member.id]);
        assert.equal((await call(t.app, 'DELETE', `/v1/members/${member.id}`, { token: user.token })).status, 404, 'a member cannot remove itself through another pool\'s rights');
        assert.equal((await call(t.app, 'DELETE', `/v1/members/${member.id}`, { token: manager.token })).status, 204);
        assert.equal((await call(t.app, 'GET', `/v1/members/${member.id}`, { token: manager.token })).status, 404);
        const trail = await ok(t.app, 'GET', `/v1/audit?memberId=${member.id}`, { token: v.operator.token });
        assert.deepEqual(trail.data.map((e: any) => e.action), ['member.added', 'member.verified', 'member.removed']);
        assert.equal(trail.data[2].actorId, manager.id);
      });

      test('a device joins by serial and type, registered once in the root\'s registry', async () => {
        const device = await ok(t.app, 'POST', `/v1/pools/${shop}/members`, { token: manager.token, body: { device: { serial: 'WD-0001', type: 'WiDI' } } });
        assert.equal(device.status, 'pending');
        assert.deepEqual([device.device.serial, device.device.type, device.device.status], ['WD-0001', 'WiDI', 'ok']);
        const rejected = await ok(t.app, 'POST', `/v1/members/${device.id}/reject`, { token: v.operator.token });
        assert.equal(rejected.status, 'rejected');
        const again = await call(t.app, 'POST', `/v1/pools/${shop}/members`, { token: manager.token, body: { device: { serial: 'WD-0001', type: 'WiDI' } } });
        assert.equal(again.body.code, 'MEMBER_EXISTS');
      });
    });

    describe('audit', () => {
      test('every change is an event with who, what, before, after and the request id', async () => {
        const shop = await childPool(t, v.operator.token, v.root, { name: 'Audited' });
        const renamed = await call(t.app, 'PATCH', `/v1/pools/${shop}`, { token: v.operator.token, body: { name: 'Audited 2' }, headers: { 'x-request-id': 'support-ticket-42' } });
        assert.equal(renamed.headers['x-request-id'], 'support-ticket-42');
        const events = (await ok(t.app, 'GET', `/v1/audit?poolId=${shop}`, { token: v.operator.token })).data;
        assert.deepEqual(events.map((e: any) => e.action), ['pool.created', 'pool.activate', 'pool.updated']);
        const update = events[2];
        assert.equal(update.actorId, v.operator.id);
        assert.equal(update.requestId, 'support-ticket-42');
        assert.equal(update.before.name, 'Audited');
        assert.equal(update.after.name, 'Audited 2');
        const mine = (await ok(t.app, 'GET', `/v1/audit?actorId=${v.operator.id}&limit=500`, { token: v.operator.token })).data;
        assert.ok(mine.length > 3 && mine.every((e: any) => e.actorId === v.operator.id));
        const subtree = (await ok(t.app, 'GET', `/v1/audit?poolId=${v.root}&limit=500`, { token: v.operator.token })).data;
        assert.ok(subtree.some((e: any) => e.poolId === shop), 'a pool\'s events include its subtree\'s');
      });
    });
  });
}
