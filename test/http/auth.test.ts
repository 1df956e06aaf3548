import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import {
  LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS,
  LOGIN_ATTEMPTS_PER_ACCOUNT_UNDELAYED,
  LOGIN_ATTEMPTS_PER_ADDRESS,
  LOGIN_WINDOW_MS,
  loginDelayMs,
} from '../../src/modules/auth/auth.service.js';
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

    test('failed logins are throttled per account and address, with Retry-After, and the window passes', async () => {
      const victim = await person(t, 'victim@example.test');
      for (let i = 0; i < LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS; i++) {
        assert.equal((await call(t.app, 'POST', '/v1/auth/login', { body: { email: victim.email, password: `guess ${i}` } })).status, 401);
      }
      t.clock.advance(60_000);
      const blocked = await call(t.app, 'POST', '/v1/auth/login', { body: { email: victim.email, password: PASSWORD } });
      assert.equal(blocked.status, 429);
      assert.equal(blocked.body.code, 'TOO_MANY_ATTEMPTS');
      assert.equal(blocked.headers['retry-after'], String(LOGIN_WINDOW_MS / 1000 - 60), 'seconds until the window frees');
      assert.equal(blocked.body.retryAfter, LOGIN_WINDOW_MS / 1000 - 60);
      assert.equal(blocked.headers['cache-control'], 'no-store');
      t.clock.advance(LOGIN_WINDOW_MS - 60_000);
      const after = await call(t.app, 'POST', '/v1/auth/login', { body: { email: victim.email, password: PASSWORD } });
      assert.equal(after.status, 200);
      assert.equal(after.headers['cache-control'], 'no-store', 'the answer carries a session secret');
    });

    test('failed logins are throttled per client address too, whatever e-mails it tries', async () => {
      const attacker = '192.0.2.7';
      for (let i = 0; i < LOGIN_ATTEMPTS_PER_ADDRESS; i++) {
        const res = await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: attacker, body: { email: `spray${i}@example.test`, password: 'guess' } });
        assert.equal(res.status, 401);
      }
      const blocked = await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: attacker, body: { email: 'ada@example.test', password: PASSWORD } });
      assert.equal(blocked.status, 429);
      assert.equal(blocked.headers['retry-after'], String(LOGIN_WINDOW_MS / 1000));
      const elsewhere = await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: '198.51.100.9', body: { email: 'ada@example.test', password: PASSWORD } });
      assert.equal(elsewhere.status, 200, 'another address is not affected');
    });

    test('successful logins are not counted: one address may log in again and again', async () => {
      const busy = await person(t, 'busy@example.test');
      for (let i = 0; i < LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS + 5; i++) {
        assert.equal((await call(t.app, 'POST', '/v1/auth/login', { remoteAddress: '192.0.2.44', body: { email: busy.email, password: PASSWORD } })).status, 200);
      }
      const [row] = await rowsOf<{ count: number }>(t.deps.db, sql`SELECT count FROM rate_limits WHERE key = ${'login:pair:192.0.2.44 busy@example.test'}`);
      assert.equal(row!.count, 0);
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

  // Behind a load balancer (TRUST_PROXY): the client address is the one X-Forwarded-For names.
  describe(`login throttling: exact under concurrency, fair to the owner (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { trustProxy: true });
    });
    after(() => t.close());

    const loginFrom = (address: string, email: string, password: string) =>
      call(t.app, 'POST', '/v1/auth/login', { headers: { 'x-forwarded-for': address }, body: { email, password } });
    const counter = async (key: string) => (await rowsOf<{ count: number }>(t.deps.db, sql`SELECT count FROM rate_limits WHERE key = ${key}`))[0]?.count;

    test('60 wrong passwords at once are 60 attempts: exactly the allowed number are checked, the rest get 429 with Retry-After', async () => {
      const owner = await person(t, 'owner@example.test');
      const stranger = '203.0.113.66';
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => loginFrom(stranger, owner.email, `guess ${i}`)));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((s) => s === 401).length, LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS, 'checked against the password');
      assert.equal(statuses.filter((s) => s === 429).length, 60 - LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS);
      for (const refused of answers.filter((a) => a.status === 429)) {
        assert.equal(refused.body.code, 'TOO_MANY_ATTEMPTS');
        assert.equal(refused.headers['retry-after'], String(LOGIN_WINDOW_MS / 1000));
      }
      assert.equal(await counter(`login:pair:${stranger} owner@example.test`), 60, 'every attempt counted');
      assert.equal(await counter(`login:address:${stranger}`), 60);
      assert.equal(await counter('login:account:owner@example.test'), LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS, 'the account counts the password checks');

      // The stranger stays throttled, even with the right password; the owner, elsewhere, logs in at once.
      assert.equal((await loginFrom(stranger, owner.email, PASSWORD)).status, 429);
      const own = await loginFrom('198.51.100.20', owner.email, PASSWORD);
      assert.equal(own.status, 200);
      assert.equal(own.body.account.email, owner.email);
    });

    test('failures from many addresses only slow the account down: the owner still gets in, after a delay', async () => {
      const owner = await person(t, 'patient@example.test');
      const strangers = ['203.0.113.1', '203.0.113.2', '203.0.113.3'];
      const tries = strangers.flatMap((address) => Array.from({ length: LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS }, (_, i) => ({ address, i })));
      const answers = await Promise.all(tries.map(({ address, i }) => loginFrom(address, owner.email, `guess ${i}`)));
      assert.ok(answers.every((a) => a.status === 401), 'each address is within its own limit');
      const expectedDelay = loginDelayMs(tries.length + 1);
      assert.ok(tries.length + 1 > LOGIN_ATTEMPTS_PER_ACCOUNT_UNDELAYED && expectedDelay > 0);
      const started = performance.now();
      const own = await loginFrom('198.51.100.21', owner.email, PASSWORD);
      const took = performance.now() - started;
      assert.equal(own.status, 200, 'delayed, not locked out');
      assert.ok(took >= expectedDelay - 5, `waited ${Math.round(took)} ms, expected at least ${expectedDelay}`);
      assert.equal(own.headers['cache-control'], 'no-store');
    });
  });
}
