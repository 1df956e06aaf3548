/**
 * Answers that carry a secret (a session or API token, a webhook signing secret) say
 * `Cache-Control: no-store`, so no browser or shared cache keeps a copy; a replay of such an
 * answer under its Idempotency-Key too. Answers without a secret are left to the defaults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { backends, call, createTestApp, PASSWORD, person, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`Cache-Control: no-store on answers with a secret (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    before(async () => {
      t = await createTestApp(backend, { webhookTargets: { allowPrivate: true } });
      v = await vendor(t, { name: 'Secretive' });
    });
    after(() => t.close());

    test('login and API token creation', async () => {
      const ada = await person(t, 'ada@secrets.test');
      const login = await call(t.app, 'POST', '/v1/auth/login', { body: { email: ada.email, password: PASSWORD } });
      assert.equal(login.status, 200);
      assert.equal(login.headers['cache-control'], 'no-store');
      const created = await call(t.app, 'POST', '/v1/tokens', { token: login.body.token, body: { name: 'ci' } });
      assert.equal(created.status, 201);
      assert.equal(created.headers['cache-control'], 'no-store');
      const listed = await call(t.app, 'GET', '/v1/tokens', { token: login.body.token });
      assert.equal(listed.status, 200);
      assert.equal(listed.headers['cache-control'], undefined, 'the list carries no secret');
    });

    test('a webhook secret on creation, on its replay, and on rotation', async () => {
      const body = { url: 'http://127.0.0.1:9/hook', events: ['*'] };
      const headers = { 'idempotency-key': 'hook-1' };
      const created = await call(t.app, 'POST', `/v1/pools/${v.root}/webhooks`, { token: v.operator.token, headers, body });
      assert.equal(created.status, 201);
      assert.match(created.body.secret, /^whsec_/);
      assert.equal(created.headers['cache-control'], 'no-store');
      const replayed = await call(t.app, 'POST', `/v1/pools/${v.root}/webhooks`, { token: v.operator.token, headers, body });
      assert.deepEqual([replayed.status, replayed.headers['idempotent-replayed'], replayed.body.secret], [201, 'true', created.body.secret]);
      assert.equal(replayed.headers['cache-control'], 'no-store');
      const rotated = await call(t.app, 'POST', `/v1/pools/${v.root}/webhooks/${created.body.id}/rotate-secret`, { token: v.operator.token });
      assert.equal(rotated.status, 200);
      assert.equal(rotated.headers['cache-control'], 'no-store');
      const read = await call(t.app, 'GET', `/v1/pools/${v.root}/webhooks/${created.body.id}`, { token: v.operator.token });
      assert.equal(read.headers['cache-control'], undefined, 'reading the endpoint shows no secret');
    });

    test('a new root operator\'s generated password: no-store, and never kept under an Idempotency-Key', async () => {
      const headers = { 'idempotency-key': 'root-1' };
      const body = { name: 'Fresh vendor', operator: { email: 'ops@fresh-vendor.test' } };
      const created = await call(t.app, 'POST', '/v1/roots', { token: t.superuser, headers, body });
      assert.equal(created.status, 201);
      assert.equal(typeof created.body.operator.password, 'string');
      assert.equal(created.headers['cache-control'], 'no-store');
      const [stored] = await rowsOf<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'root-1'`);
      assert.equal(stored!.n, 0, 'the answer with the password is not stored');
      // A retry runs again, as on POST /v1/tokens (documented): a second root, and the operator's account exists now, so no password is made or shown again.
      const retried = await call(t.app, 'POST', '/v1/roots', { token: t.superuser, headers, body });
      assert.deepEqual([retried.status, retried.headers['idempotent-replayed'], retried.body.operator.password], [201, undefined, null]);
    });
  });
}
