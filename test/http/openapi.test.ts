/**
 * The OpenAPI document is good enough for a client generator (issue 14, item 2): Redocly's
 * `recommended` rules find no error, every operation has an operationId, a description, tags and
 * (with a body) a request example, errors are `application/problem+json`, entities are shared
 * `$ref` components; and the console's generated types (web/src/api/schema.d.ts) are what the
 * document generates now.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import type { OpenAPI3 } from 'openapi-typescript';
import { API_TYPES_FILE, apiTypesOf } from '../../scripts/api-types.js';
import { backends, call, createTestApp, type TestApp } from '../helpers.js';

type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** The warnings the document keeps, each with why. */
const ACCEPTED_WARNINGS = new Set([
  // Liveness, readiness and the public JWKS take no input and need no login: no 4xx to give.
  'operation-4xx-response #/paths/~1healthz/get/responses',
  'operation-4xx-response #/paths/~1readyz/get/responses',
  'operation-4xx-response #/paths/~1.well-known~1jwks.json/get/responses',
]);

function operationsOf(doc: Json): { name: string; op: Json }[] {
  return Object.entries(doc.paths as Json).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ name: `${m.toUpperCase()} ${path}`, op: item[m] as Json })),
  );
}

/** A `#/components/...` reference followed to what it names. */
function resolve(doc: Json, node: Json): Json {
  if (typeof node.$ref !== 'string') return node;
  return node.$ref
    .slice(2)
    .split('/')
    .reduce((at: Json, part: string) => at[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

for (const backend of backends()) {
  describe(`OpenAPI document (${backend})`, () => {
    let t: TestApp;
    let doc: Json;
    before(async () => {
      t = await createTestApp(backend);
      const answer = await call(t.app, 'GET', '/openapi.json');
      assert.equal(answer.status, 200);
      doc = answer.body;
    });
    after(() => t.close());

    test('Redocly recommended rules: no error, and no warning but the accepted ones', async () => {
      const config = await createConfig({ extends: ['recommended'] });
      const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: '/openapi.json', config });
      const shown = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
      assert.deepEqual(shown.filter((p) => p.startsWith('error')), [], shown.join('\n'));
      const unexpected = problems.filter((p) => p.severity === 'warn' && !ACCEPTED_WARNINGS.has(`${p.ruleId} ${p.location[0]?.pointer}`));
      assert.deepEqual(unexpected.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`), []);
    });

    test('every operation has a unique verbNoun operationId, a description of its own, and described tags', () => {
      const tags = new Map<string, string>((doc.tags as Json[]).map((tag) => [tag.name, tag.description]));
      const ids = new Set<string>();
      const operations = operationsOf(doc);
      assert.ok(operations.length > 100, `only ${operations.length} operations`);
      for (const { name, op } of operations) {
        assert.match(op.operationId ?? '', /^[a-z]+[A-Z][A-Za-z0-9]*$/, `${name}: operationId ${op.operationId}`);
        assert.ok(!ids.has(op.operationId), `${name}: operationId ${op.operationId} twice`);
        ids.add(op.operationId);
        assert.ok(typeof op.description === 'string' && op.description.length > 20, `${name}: no description`);
        assert.notEqual(op.description, op.summary, `${name}: the description repeats the summary`);
        assert.ok(op.tags?.length > 0, `${name}: no tags`);
        for (const tag of op.tags) assert.ok(tags.get(tag), `${name}: tag ${tag} is not described in the document's tags`);
      }
    });

    test('every operation that takes a body shows an example of it', () => {
      const withBody = operationsOf(doc).filter(({ op }) => op.requestBody);
      assert.ok(withBody.length > 30);
      for (const { name, op } of withBody) {
        for (const [type, media] of Object.entries(op.requestBody.content as Json)) {
          assert.ok(media.example !== undefined || Object.keys(media.examples ?? {}).length > 0, `${name} (${type}): no example`);
        }
      }
    });

    test('every error answer is application/problem+json with the shared Problem schema', () => {
      const problem = doc.components.schemas.Problem;
      for (const field of ['type', 'code', 'title', 'status', 'detail', 'instance', 'requestId', 'errors', 'reasons']) {
        assert.ok(problem.properties[field], `Problem has no ${field}`);
      }
      for (const { name, op } of operationsOf(doc)) {
        for (const [status, response] of Object.entries(op.responses as Json)) {
          if (Number(status) < 400) continue;
          const content = resolve(doc, response).content;
          assert.deepEqual(Object.keys(content), ['application/problem+json'], `${name} ${status}`);
          assert.equal(content['application/problem+json'].schema.$ref, '#/components/schemas/Problem', `${name} ${status}`);
        }
      }
      // The routes that need a login say what its absence answers.
      assert.equal(doc.paths['/v1/pools/{id}'].get.responses['401'].$ref, '#/components/responses/Unauthenticated');
      assert.equal(doc.paths['/v1/claims'].post.responses['409'].$ref, '#/components/responses/Conflict');
    });

    test('entities are shared component schemas, referenced rather than repeated', () => {
      const ok = (path: string, method: string, status: string) => doc.paths[path][method].responses[status].content['application/json'].schema;
      assert.equal(ok('/v1/pools/{id}', 'get', '200').$ref, '#/components/schemas/Pool');
      assert.equal(ok('/v1/pools', 'get', '200').$ref, '#/components/schemas/ListedPoolPage');
      assert.equal(doc.components.schemas.ListedPoolPage.properties.data.items.$ref, '#/components/schemas/ListedPool');
      assert.equal(ok('/v1/licenses/{id}', 'get', '200').$ref, '#/components/schemas/License');
      assert.equal(ok('/v1/members/{id}', 'get', '200').$ref, '#/components/schemas/Member');
      assert.equal(ok('/v1/claims/{id}', 'get', '200').$ref, '#/components/schemas/Claim');
      assert.equal(ok('/v1/tickets/{id}', 'get', '200').$ref, '#/components/schemas/Ticket');
      assert.equal(ok('/v1/accounts/me', 'get', '200').$ref, '#/components/schemas/Account');
      assert.equal(doc.components.schemas.Account.properties.address.anyOf[0].$ref, '#/components/schemas/PostalAddress');
      // Every component is used (no `…Input` twin left behind that nothing names).
      const text = JSON.stringify({ ...doc, components: { ...doc.components, schemas: {} } }) + JSON.stringify(doc.components.schemas);
      for (const name of Object.keys(doc.components.schemas)) assert.ok(text.includes(`"#/components/schemas/${name}"`), `${name} is never referenced`);
    });

    test('servers and the Idempotency-Key parameter are in the document', () => {
      assert.deepEqual(doc.servers.map((s: Json) => s.url), ['/']);
      assert.equal(doc.components.parameters.IdempotencyKey.name, 'Idempotency-Key');
    });

    test('the console\'s API types are generated from this document (else: npm run api:generate)', async () => {
      const committed = readFileSync(API_TYPES_FILE, 'utf8');
      const generated = await apiTypesOf(doc as OpenAPI3);
      assert.ok(committed === generated, `${API_TYPES_FILE} is not what the OpenAPI document generates: run npm run api:generate and commit it`);
    });
  });
}
