/**
 * "My account" in the console (issue 14): a person reads and changes their own name and postal
 * address, changes their password (naming the current one; their other sessions end), and sees
 * the roles they hold with the pools they are held at — only their own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, childPool, createTestApp, PASSWORD, person, type TestApp, vendor } from '../helpers.js';

const ADDRESS = { line1: 'Hauptstraße 1', postalCode: '10115', city: 'Berlin', country: 'DE' };

for (const backend of backends()) {
  describe(`my account (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    test('a person changes their name and postal address, removes the address again, and nobody else is touched', async () => {
      const ann = await person(t, 'ann@account.test');
      const bob = await person(t, 'bob@account.test');
      const changed = await call(t.app, 'PATCH', '/v1/accounts/me', { token: ann.token, body: { name: 'Ann Example', address: ADDRESS } });
      assert.equal(changed.status, 200);
      assert.equal(changed.body.name, 'Ann Example');
      assert.deepEqual(changed.body.address, ADDRESS);
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: ann.token })).body.name, 'Ann Example');
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: bob.token })).body.name, 'bob');

      const removed = await call(t.app, 'PATCH', '/v1/accounts/me', { token: ann.token, body: { address: null } });
      assert.equal(removed.body.address, null);
      assert.equal(removed.body.name, 'Ann Example');

      const bad = await call(t.app, 'PATCH', '/v1/accounts/me', { token: ann.token, body: { address: { ...ADDRESS, country: 'Germany' } } });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.errors.map((e: { path: string }) => e.path), ['body.address.country']);
      assert.equal((await call(t.app, 'PATCH', '/v1/accounts/me', { body: { name: 'x' } })).status, 401);
    });

    test('a password change needs the current password, ends the other sessions and keeps this one', async () => {
      const cat = await person(t, 'cat@account.test');
      const login = async (password: string) => call(t.app, 'POST', '/v1/auth/login', { body: { email: cat.email, password } });
      const here = (await login(PASSWORD)).body.token as string;
      const elsewhere = (await login(PASSWORD)).body.token as string;

      const wrong = await call(t.app, 'POST', '/v1/accounts/me/password', { token: here, body: { currentPassword: 'not it', newPassword: 'a brand new password' } });
      assert.equal(wrong.status, 422);
      assert.equal(wrong.body.code, 'VALIDATION_FAILED');
      assert.deepEqual(wrong.body.errors, [{ path: 'body.currentPassword', message: 'the current password is wrong' }]);
      const short = await call(t.app, 'POST', '/v1/accounts/me/password', { token: here, body: { currentPassword: PASSWORD, newPassword: 'short' } });
      assert.equal(short.status, 422);
      assert.deepEqual(short.body.errors.map((e: { path: string }) => e.path), ['body.newPassword']);

      const changed = await call(t.app, 'POST', '/v1/accounts/me/password', { token: here, body: { currentPassword: PASSWORD, newPassword: 'a brand new password' } });
      assert.equal(changed.status, 204);
      assert.equal((await login(PASSWORD)).status, 401);
      assert.equal((await login('a brand new password')).status, 200);
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: here })).status, 200, 'this session goes on');
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: elsewhere })).status, 401, 'the other session ended');
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: cat.token })).status, 200, 'API tokens stay');
    });

    test('the roles a person holds, with their pools, and none of another tenant', async () => {
      const first = await vendor(t, { name: 'First vendor' });
      const second = await vendor(t, { name: 'Second vendor' });
      const shop = await childPool(t, first.operator.token, first.root, { name: 'Shop', kind: 'distributor' });
      const dora = await person(t, 'dora@account.test');
      await call(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: first.operator.token, body: { email: dora.email, role: 'admin' } });
      await call(t.app, 'POST', `/v1/pools/${second.root}/roles`, { token: second.operator.token, body: { email: dora.email, role: 'manager' } });

      const roles = await call(t.app, 'GET', '/v1/accounts/me/roles', { token: dora.token });
      assert.equal(roles.status, 200);
      assert.deepEqual(
        roles.body.data.map((r: { role: string; pool: { name: string; kind: string; status: string } }) => [r.role, r.pool.name, r.pool.kind, r.pool.status]),
        [['manager', 'Second vendor', 'vendor', 'active'], ['admin', 'Shop', 'distributor', 'active']],
      );
      const operator = await call(t.app, 'GET', '/v1/accounts/me/roles', { token: first.operator.token });
      assert.deepEqual(operator.body.data.map((r: { pool: { id: string } }) => r.pool.id), [first.root], 'only the first tenant: not the second, nor Dora\'s');
      assert.deepEqual((await call(t.app, 'GET', '/v1/accounts/me/roles', { token: (await person(t, 'eve@account.test')).token })).body.data, []);
    });
  });
}
