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
    });
  });
}
