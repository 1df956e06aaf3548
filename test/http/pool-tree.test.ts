/**
 * The console's pool tree (issue 14, item 4): where each caller's tree starts, a pool's children
 * with what a tree node shows (children count, status, kind, used/limit per meter), and a search
 * by name whose hits carry their path so the tree can open to them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, childPool, createTestApp, ok, person, verifiedMember, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`pool tree (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let other: Tree;
    let distributor: string;
    let tower: string;
    let villa: string;
    let flat: string;
    let reseller: Awaited<ReturnType<typeof person>>;

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Acme', restricted: true, meters: [{ key: 'seats' }, { key: 'apps', draws: ['seats'] }] });
      other = await vendor(t, { name: 'Other', meters: [{ key: 'seats' }] });
      const token = v.operator.token;
      await ok(t.app, 'POST', `/v1/pools/${v.root}/licenses`, { token, body: { limits: { seats: 100, apps: 100 } } });
      distributor = await childPool(t, token, v.root, { name: 'Alpine Distribution', kind: 'distributor', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${distributor}/licenses`, { token, body: { limits: { seats: 10, apps: 10 } } });
      reseller = await person(t, 'reseller@alpine.test');
      await ok(t.app, 'POST', `/v1/pools/${distributor}/roles`, { token, body: { email: reseller.email, role: 'admin' } });
      tower = await childPool(t, reseller.token, distributor, { name: 'Sunset Tower', kind: 'building', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${tower}/licenses`, { token: reseller.token, body: { limits: { seats: 2, apps: 1 } } });
      villa = (await ok(t.app, 'POST', '/v1/pools', { token: reseller.token, body: { name: 'Villa Rosa', kind: 'house', parentId: distributor } })).id;
      flat = await childPool(t, reseller.token, tower, { name: 'Apartment 12', kind: 'apartment' });
      const resident = await person(t, 'resident@sunset.test');
      const memberId = await verifiedMember(t, token, flat, { email: resident.email });
      await ok(t.app, 'POST', '/v1/claims', { token: resident.token, body: { memberId, meter: 'apps', kind: 'assignment' } });
    });
    after(() => t.close());

    test("each caller's tree starts where its roles are: the roots for a superuser, the distributor for its admin", async () => {
      const roots = await ok(t.app, 'GET', '/v1/pools?top=true', { token: t.superuser });
      assert.deepEqual(roots.data.map((p: any) => p.id), [v.root, other.root]);
      // Each root's catalog gives its own pools' meters.
      const rootNodes = await ok(t.app, 'GET', '/v1/pools?top=true&tree=true', { token: t.superuser });
      assert.deepEqual(rootNodes.data.map((p: any) => [p.name, p.tree.childCount, p.tree.meters.map((m: any) => `${m.key} ${m.used}/${m.limit}`)]), [
        ['Acme', 1, ['apps 1/100', 'seats 1/100']],
        ['Other', 0, ['seats 0/null']],
      ]);
      const admins = await ok(t.app, 'GET', '/v1/pools?top=true&tree=true', { token: reseller.token });
      assert.deepEqual(admins.data.map((p: any) => [p.id, p.tree.childCount, p.tree.path]), [[distributor, 2, []]]);
      const operators = await ok(t.app, 'GET', '/v1/pools?top=true', { token: v.operator.token });
      assert.deepEqual(operators.data.map((p: any) => p.id), [v.root]);
    });

    test("a pool's children, each with status, kind, children count and used/limit per meter", async () => {
      const page = await ok(t.app, 'GET', `/v1/pools?parentId=${distributor}&tree=true`, { token: reseller.token });
      const nodes = page.data.map((p: any) => ({ id: p.id, name: p.name, kind: p.kind, status: p.status, ...p.tree }));
      assert.deepEqual(nodes, [
        {
          id: tower,
          name: 'Sunset Tower',
          kind: 'building',
          status: 'active',
          childCount: 1,
          path: [{ id: distributor, name: 'Alpine Distribution' }],
          serving: true,
          meters: [
            // The apartment's assignment takes an app and, through the draw, a seat.
            { key: 'apps', used: 1, limit: 1, available: 0, overLimit: false },
            { key: 'seats', used: 1, limit: 2, available: 1, overLimit: false },
          ],
        },
        {
          id: villa,
          name: 'Villa Rosa',
          kind: 'house',
          status: 'initializing',
          childCount: 0,
          path: [{ id: distributor, name: 'Alpine Distribution' }],
          serving: false,
          meters: [
            // Bound by the distributor: ten seats, one of them used in the tower.
            { key: 'apps', used: 0, limit: 10, available: 9, overLimit: false },
            { key: 'seats', used: 0, limit: 10, available: 9, overLimit: false },
          ],
        },
      ]);
      // The vendor's operator sees the whole path, the root included.
      const operators = await ok(t.app, 'GET', `/v1/pools?parentId=${tower}&tree=true`, { token: v.operator.token });
      assert.deepEqual(operators.data[0].tree.path.map((p: any) => p.name), ['Acme', 'Alpine Distribution', 'Sunset Tower']);
      // Without tree=true the list is as it always was.
      const plain = await ok(t.app, 'GET', `/v1/pools?parentId=${distributor}`, { token: reseller.token });
      assert.equal(plain.data[0].tree, undefined);
    });

    test('children come a page at a time', async () => {
      const first = await ok(t.app, 'GET', `/v1/pools?parentId=${distributor}&tree=true&limit=1`, { token: reseller.token });
      assert.deepEqual(first.data.map((p: any) => p.id), [tower]);
      const second = await ok(t.app, 'GET', `/v1/pools?parentId=${distributor}&tree=true&limit=1&cursor=${first.nextCursor}`, { token: reseller.token });
      assert.deepEqual(second.data.map((p: any) => p.id), [villa]);
      assert.equal(second.nextCursor, null);
    });

    test('a search by name answers each hit with its path, so the tree can open to it', async () => {
      const hits = await ok(t.app, 'GET', `/v1/pools?q=${encodeURIComponent('apartment 1')}&tree=true`, { token: reseller.token });
      assert.deepEqual(
        hits.data.map((p: any) => ({ id: p.id, path: p.tree.path.map((a: any) => a.id) })),
        [{ id: flat, path: [distributor, tower] }],
      );
    });

    test("another vendor's operator finds nothing of this tree and cannot list its children", async () => {
      const token = other.operator.token;
      for (const url of [`/v1/pools?parentId=${distributor}&tree=true`, `/v1/pools?q=${encodeURIComponent('Apartment')}&tree=true`]) {
        assert.deepEqual(await ok(t.app, 'GET', url, { token }), { data: [], nextCursor: null }, url);
      }
      const top = await ok(t.app, 'GET', '/v1/pools?top=true&tree=true', { token });
      assert.deepEqual(top.data.map((p: any) => p.id), [other.root]);
      const member = await person(t, 'nobody@else.test');
      assert.deepEqual(await ok(t.app, 'GET', '/v1/pools?top=true&tree=true', { token: member.token }), { data: [], nextCursor: null });
      const bad = await call(t.app, 'GET', '/v1/pools?tree=yes', { token });
      assert.equal(bad.status, 422);
    });
  });
}
