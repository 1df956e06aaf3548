/**
 * CORS_ORIGINS lets browser apps on the listed origins use the API with the SDK (bearer tokens):
 * a listed origin gets the CORS headers on the preflight and on the answer, any other origin gets
 * none, so its browser keeps the answer from the page; with no list, no origin gets them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { backends, createTestApp, SUPERUSER, type TestApp } from '../helpers.js';

const APP_ORIGIN = 'https://app.example.com';
const DEV_ORIGIN = 'http://localhost:5173';
const OTHER_ORIGIN = 'https://evil.example.net';

for (const backend of backends()) {
  describe(`CORS (${backend})`, () => {
    let t: TestApp;
    let bare: TestApp;
    before(async () => {
      t = await createTestApp(backend, { corsOrigins: loadConfig({ CORS_ORIGINS: `${APP_ORIGIN}, ${DEV_ORIGIN}` }).corsOrigins });
      bare = await createTestApp(backend);
    });
    after(async () => {
      await t?.close();
      await bare?.close();
    });

    const preflight = (app: TestApp, origin: string) =>
      app.app.inject({
        method: 'OPTIONS',
        url: '/v1/claims',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
      });
    const me = (app: TestApp, origin: string) => app.app.inject({ method: 'GET', url: '/v1/accounts/me', headers: { origin, authorization: `Bearer ${app.superuser}` } });

    test('a listed origin may send the SDK’s requests and read the answers', async () => {
      for (const origin of [APP_ORIGIN, DEV_ORIGIN]) {
        const pre = await preflight(t, origin);
        assert.equal(pre.statusCode, 204);
        assert.equal(pre.headers['access-control-allow-origin'], origin);
        assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
        assert.match(String(pre.headers['access-control-allow-headers']), /authorization/);
        assert.equal(pre.headers['access-control-allow-credentials'], undefined, 'bearer tokens only: cookies stay same-site');

        const res = await me(t, origin);
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().email, SUPERUSER.email);
        assert.equal(res.headers['access-control-allow-origin'], origin);
        assert.match(String(res.headers['access-control-expose-headers']), /x-request-id/);
        assert.match(String(res.headers.vary), /origin/i);
      }
    });

    test('another origin gets no Access-Control-Allow-Origin, on the preflight or the answer', async () => {
      const pre = await preflight(t, OTHER_ORIGIN);
      assert.equal(pre.headers['access-control-allow-origin'], undefined);
      const res = await me(t, OTHER_ORIGIN);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    });

    test('without CORS_ORIGINS no origin gets CORS headers', async () => {
      const res = await me(bare, APP_ORIGIN);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
      const pre = await preflight(bare, APP_ORIGIN);
      assert.equal(pre.headers['access-control-allow-origin'], undefined);
    });
  });
}

test('CORS_ORIGINS: a list of origins, default none; anything else stops start-up naming it', () => {
  assert.deepEqual(loadConfig({}).corsOrigins, []);
  assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example.com,http://localhost:5173,' }).corsOrigins, ['https://a.example.com', 'http://localhost:5173']);
  for (const bad of ['https://a.example.com/', 'https://a.example.com/app', 'a.example.com', '*']) {
    assert.throws(() => loadConfig({ CORS_ORIGINS: bad }), /CORS_ORIGINS/, bad);
  }
});
