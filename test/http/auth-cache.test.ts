/**
 * Remembered authentications stay exact across processes: a change to a token, a role binding or
 * an account notifies every process, which forgets what it remembered. Two apps with their own
 * caches on one database stand for two processes (on PostgreSQL each cache listens on its own
 * connection).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { AuthCache } from '../../src/modules/auth/auth.cache.js';
import { backends, call, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

/** Polls until `check` holds, for at most a second: notifications arrive asynchronously. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; waited < 1000; waited += 20) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

for (const backend of backends()) {
  describe(`remembered authentications (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    const caches: AuthCache[] = [];
    let processA: FastifyInstance;
    let processB: FastifyInstance;

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Cached' });
      for (let i = 0; i < 2; i++) caches.push(await AuthCache.follow(t.database));
      processA = await buildApp({ deps: { ...t.deps, authCache: caches[0] } });
      processB = await buildApp({ deps: { ...t.deps, authCache: caches[1] } });
    });
    after(async () => {
      await processA.close();
      await processB.close();
      for (const c of caches) await c.stop();
      await t.close();
    });

    test('a token revoked through one process is refused by the other, which had it remembered', async () => {
      const user = await person(t, 'cached@tenant.test');
      const me = () => call(processB, 'GET', '/v1/accounts/me', { token: user.token });
      assert.equal((await me()).status, 200);
      const tokens = (await ok(processA, 'GET', '/v1/tokens', { token: user.token })).data;
      const mine = tokens[0];
      assert.equal((await call(processA, 'DELETE', `/v1/tokens/${mine.id}`, { token: user.token })).status, 204);
      assert.ok(await eventually(async () => (await me()).status === 401), 'refused within a second');
    });

    test('a role taken away through one process no longer acts in the other', async () => {
      const admin = await person(t, 'admin@cached.test');
      const binding = await ok(processA, 'POST', `/v1/pools/${v.root}/roles`, { token: v.operator.token, body: { email: admin.email, role: 'admin' } });
      const act = () => call(processB, 'PATCH', `/v1/pools/${v.root}`, { token: admin.token, body: { name: 'Cached, renamed' } });
      assert.equal((await act()).status, 200);
      await ok(processA, 'DELETE', `/v1/pools/${v.root}/roles/${binding.id}`, { token: v.operator.token });
      assert.ok(await eventually(async () => [403, 404].includes((await act()).status)), 'refused within a second');
    });

    test('the cache is what answers: without a notification a remembered token still passes; the notification ends it', async () => {
      const user = await person(t, 'remembered@tenant.test');
      assert.equal((await call(processB, 'GET', '/v1/accounts/me', { token: user.token })).status, 200);
      // Revoke behind the trigger's back: only the cache can still know the token.
      await t.deps.db.execute(sql`ALTER TABLE tokens DISABLE TRIGGER tokens_auth_changed`);
      await t.deps.db.execute(sql`UPDATE tokens SET revoked_at = now() WHERE account_id = ${user.id}`);
      await t.deps.db.execute(sql`ALTER TABLE tokens ENABLE TRIGGER tokens_auth_changed`);
      assert.equal((await call(processB, 'GET', '/v1/accounts/me', { token: user.token })).status, 200, 'remembered');
      assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token: user.token })).status, 401, 'a process without the cache asks the database');
      await t.deps.db.execute(sql`SELECT pg_notify('licensepool_auth', 'test')`);
      assert.ok(await eventually(async () => (await call(processB, 'GET', '/v1/accounts/me', { token: user.token })).status === 401));
    });
  });
}
