import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ADDRESS } from '../../src/modules/auth/auth.service.js';
import { backends, call, childPool, createTestApp, ok, PASSWORD, person, vendor, type TestApp } from '../helpers.js';

const cookieOf = (headers: Record<string, unknown>, name: string): string | undefined => {
  const raw = headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [String(raw)] : [];
  const hit = list.find((c) => c.startsWith(`${name}=`));
  return hit?.split(';')[0]!.slice(name.length + 1);
};

for (const backend of backends()) {
  describe(`accounts and authentication (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    test('sign up, then log in with the e-mail in any case', async () => {
      const created = await call(t.app, 'POST', '/v1/accounts', {
        body: { email: 'Ada@Example.test', name: 'Ada', password: PASSWORD, address: { line1: 'Main St 1', postalCode: '1000', city: 'Bern', country: 'CH' } },
      });
      assert.equal(created.status, 201);
      assert.match(created.body.id, /^acc_/);
      assert.equal(created.body.passwordHash, undefined);
      const login = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'ada@example.TEST', password: PASSWORD } });
      assert.equal(login.status, 200);
      assert.match(login.body.token, /^lps_/);
      const me = await call(t.app, 'GET', '/v1/accounts/me', { token: login.body.token });
      assert.equal(me.body.email, 'Ada@Example.test');
      const [stored] = await rowsOf<{ password_hash: string }>(t.deps.db, sql`SELECT password_hash FROM accounts WHERE id = ${created.body.id}`);
      assert.match(stored!.password_hash, /^\$argon2id\$/);
    });

    test('an e-mail is unique whatever its case', async () => {
      const again = await call(t.app, 'POST', '/v1/accounts', { body: { email: 'ADA@example.test', name: 'Ada 2', password: PASSWORD } });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'EMAIL_TAKEN');
    });

    test('a wrong password and an unknown e-mail get the same answer', async () => {
      const wrong = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'ada@example.test', password: 'not the password' } });
      const unknown = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'nobody@example.test', password: 'not the password' } });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
      assert.equal(unknown.body.code, wrong.body.code);
      assert.equal(unknown.body.detail, wrong.body.detail);
    });

    test('failed logins are throttled per account, across the database, and the window passes', async () => {
      const victim = await person(t, 'victim@example.test');
      for (let i = 0; i < LOGIN_FAILURES_PER_ACCOUNT; i++) {
        assert.equal((await call(t.app, 'POST', '/v1/auth/login', { body: { email: victim.email, password: `guess ${i}` } })).status, 401);
      }
      const blocked = await call(t.app, 'POST', '/v1/auth/login', { body: { email: victim.email, password: PASSWORD } });
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.code, 'TOO_MANY_ATTEMPTS');
      t.clock.advance(16 * 60_000);
      assert.equal((await call(t.app, 'POST', '/v1/auth/login', { body: { email: victim.email, password: PASSWORD } })).status, 200);
    });

    test('failed logins are throttled per client address too, whatever e-mails it tries', async () => {
      const attacker = '192.0.2.7';
      for (let i = 0; i < LOGIN_FAILURES_PER_ADDRESS; i++) {
        const res = await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: attacker, body: { email: `spray${i}@example.test`, password: 'guess' } });
        assert.equal(res.status, 401);
      }
      const blocked = await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: attacker, body: { email: 'ada@example.test', password: PASSWORD } });
      assert.equal(blocked.status, 429);
      const elsewhere = await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: '198.51.100.9', body: { email: 'ada@example.test', password: PASSWORD } });
      assert.equal(elsewhere.status, 200, 'another address is not affected');
    });

    test('the session cookie works for reads; unsafe requests need the CSRF token', async () => {
      const login = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'ada@example.test', password: PASSWORD } });
      const session = cookieOf(login.headers, 'lp_session');
      const csrf = cookieOf(login.headers, 'lp_csrf');
      assert.equal(session, login.body.token);
      assert.equal(csrf, login.body.csrfToken);
      assert.match(String(login.headers['set-cookie']), /lp_session=[^;]+;.*HttpOnly/);
      const cookie = `lp_session=${session}; lp_csrf=${csrf}`;
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { headers: { cookie } })).status, 200);
      const forged = await call(t.app, 'POST', '/v1/tokens', { headers: { cookie }, body: { name: 'x' } });
      assert.equal(forged.status, 403);
      assert.equal(forged.body.code, 'CSRF_TOKEN_INVALID');
      const wrong = await call(t.app, 'POST', '/v1/tokens', { headers: { cookie, 'x-csrf-token': 'nope' }, body: { name: 'x' } });
      assert.equal(wrong.status, 403);
      const good = await call(t.app, 'POST', '/v1/tokens', { headers: { cookie, 'x-csrf-token': csrf! }, body: { name: 'x' } });
      assert.equal(good.status, 201);
    });

    test('logout ends the session', async () => {
      const login = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'ada@example.test', password: PASSWORD } });
      assert.equal((await call(t.app, 'POST', '/v1/auth/logout', { token: login.body.token })).status, 204);
      const after = await call(t.app, 'GET', '/v1/accounts/me', { token: login.body.token });
      assert.equal(after.status, 401);
      assert.equal(after.body.code, 'UNAUTHENTICATED');
    });

    test('a session expires after 12 hours', async () => {
      const login = await call(t.app, 'POST', '/v1/auth/login', { body: { email: 'ada@example.test', password: PASSWORD } });
      t.clock.advance(12 * 3_600_000);
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: login.body.token })).status, 401);
    });

    test('API tokens: shown once, stored hashed, listed without secret, revocable', async () => {
      const ada = await person(t, 'tokens@example.test');
      const created = await ok(t.app, 'POST', '/v1/tokens', { token: ada.token, body: { name: 'ci' } });
      assert.match(created.token, /^lpt_/);
      const [stored] = await rowsOf<{ secret_hash: string }>(t.deps.db, sql`SELECT secret_hash FROM tokens WHERE id = ${created.id}`);
      assert.notEqual(stored!.secret_hash, created.token);
      assert.equal(stored!.secret_hash.length, 64);
      const list = await ok(t.app, 'GET', '/v1/tokens', { token: ada.token });
      assert.ok(list.data.some((x: any) => x.id === created.id && x.token === undefined));
      assert.equal((await call(t.app, 'DELETE', `/v1/tokens/${created.id}`, { token: ada.token })).status, 204);
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: created.token })).status, 401);
      const other = await person(t, 'other-tokens@example.test');
      assert.equal((await call(t.app, 'DELETE', `/v1/tokens/${created.id}`, { token: other.token })).status, 404, 'someone else\'s token is not found');
    });

    test('an API token expires at its expiresAt', async () => {
      const ada = await person(t, 'expiring@example.test');
      const expiresAt = new Date(t.clock.now().getTime() + 3_600_000).toISOString();
      const created = await ok(t.app, 'POST', '/v1/tokens', { token: ada.token, body: { name: 'short', expiresAt } });
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: created.token })).status, 200);
      t.clock.advance(3_600_000);
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: created.token })).status, 401);
    });

    test('a scoped token acts only with its role at its pool, and only while its account holds it', async () => {
      const v = await vendor(t, { name: 'Scoped vendor' });
      const shop = await childPool(t, v.operator.token, v.root, { name: 'Shop' });
      const other = await childPool(t, v.operator.token, v.root, { name: 'Other shop' });
      const scoped = await ok(t.app, 'POST', '/v1/tokens', { token: v.operator.token, body: { name: 'shop manager', poolId: shop, role: 'manager' } });
      assert.equal((await call(t.app, 'GET', `/v1/pools/${shop}`, { token: scoped.token })).status, 200);
      assert.equal((await call(t.app, 'GET', `/v1/pools/${other}`, { token: scoped.token })).status, 404);
      const suspend = await call(t.app, 'POST', `/v1/pools/${shop}/suspend`, { token: scoped.token });
      assert.equal(suspend.status, 403, 'a manager may not suspend its own pool');
      const manager = await person(t, 'mgr@example.test');
      const tooHigh = await call(t.app, 'POST', '/v1/tokens', { token: manager.token, body: { name: 'x', poolId: shop, role: 'operator' } });
      assert.equal(tooHigh.status, 404, 'the manager-to-be cannot see the pool yet');
      await ok(t.app, 'POST', `/v1/pools/${shop}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
      const escalate = await call(t.app, 'POST', '/v1/tokens', { token: manager.token, body: { name: 'x', poolId: shop, role: 'operator' } });
      assert.equal(escalate.status, 403);
      const roles = await ok(t.app, 'GET', `/v1/pools/${v.root}/roles`, { token: v.operator.token });
      const binding = roles.data.find((r: any) => r.accountId === v.operator.id);
      await ok(t.app, 'DELETE', `/v1/pools/${v.root}/roles/${binding.id}`, { token: t.superuser });
      assert.equal((await call(t.app, 'GET', `/v1/pools/${shop}`, { token: scoped.token })).status, 401, 'the operator no longer holds the role');
    });

    test('a malformed Authorization header is refused, not ignored', async () => {
      const res = await call(t.app, 'GET', '/v1/accounts/me', { headers: { authorization: 'Basic abc' } });
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'UNAUTHENTICATED');
    });
  });
}
