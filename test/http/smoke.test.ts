import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, createTestApp, type TestApp } from '../helpers.js';

for (const backend of backends()) {
  describe(`smoke (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    test('health, readiness, openapi', async () => {
      assert.equal((await call(t.app, 'GET', '/healthz')).status, 200);
      assert.equal((await call(t.app, 'GET', '/readyz')).status, 200);
      const doc = await call(t.app, 'GET', '/openapi.json');
      assert.equal(doc.status, 200);
      assert.equal(doc.body.openapi, '3.1.0');
      assert.ok(doc.body.paths['/v1/pools/{id}/state']);
      assert.equal((await call(t.app, 'GET', '/docs/')).status, 200);
    });

    test('Prometheus metrics count requests by route and status', async () => {
      await call(t.app, 'GET', '/v1/pools/pool_01m82z1szeextsxv5kfvbmer6b', { token: t.superuser });
      const metrics = await call(t.app, 'GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(String(metrics.headers['content-type']), /text\/plain/);
      assert.match(metrics.body, /licensepool_http_request_duration_seconds_count\{method="GET",route="\/v1\/pools\/:id",status="404"\} 1/);
    });
  });
}
