/**
 * Input that cannot crash a route (issue 12): lone UTF-16 surrogates, NUL, bodies that are not
 * UTF-8, JSON nested thousands deep, unknown query parameters, a body sent to a route that does
 * not exist, and requests that arrive while the server closes. Each answers a 4xx (or 503)
 * problem+json with a stable code, writes nothing, and logs no stack trace.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { MAX_JSON_DEPTH } from '../../src/http/input.js';
import { ManualClock } from '../../src/lib/clock.js';
import { backends, call, childPool, createTestApp, csvBody, ok, openTestDatabase, RawBody, tableDigest, testSecretKeys, vendor, type Answer, type TestApp } from '../helpers.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function assertProblem(res: Answer, status: number, code: string, where: string): void {
  assert.equal(res.status, status, `${where}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${where}: content-type`);
  assert.equal(res.body.code, code, where);
}

/** A 422 VALIDATION_FAILED with an error at `path`. */
function assertFieldError(res: Answer, path: string, where: string): void {
  assertProblem(res, 422, 'VALIDATION_FAILED', where);
  assert.ok(
    res.body.errors.some((e: { path: string }) => e.path === path),
    `${where}: no error at ${path}: ${JSON.stringify(res.body.errors)}`,
  );
}

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

for (const backend of backends()) {
  describe(`input guards (${backend})`, () => {
    let t: TestApp;
    let root: string;
    let child: string;
    let operations: { method: Method; route: string; url: string; takesCsv: boolean; query: boolean }[];

    before(async () => {
      t = await createTestApp(backend);
      const tree = await vendor(t, { meters: [{ key: 'seats' }] });
      root = tree.root;
      child = await childPool(t, tree.operator.token, root);
      const doc = (await call(t.app, 'GET', '/openapi.json')).body;
      operations = [];
      for (const [route, ops] of Object.entries<Record<string, any>>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(ops)) {
          operations.push({
            method: method.toUpperCase() as Method,
            route,
            // Any id: every check here comes before a route looks its ids up.
            url: route.replace(/\{(\w+)\}/g, (_m, name: string) => (name === 'action' ? (op.parameters.find((p: any) => p.name === 'action').schema.enum[0] as string) : child)),
            takesCsv: Boolean(op.requestBody?.content['text/csv']),
            query: (op.parameters ?? []).some((p: any) => p.in === 'query'),
          });
        }
      }
    });
    after(() => t.close());

    test('lone surrogates in a pool name or kind and in a terms version: 422 naming the field, nothing written', async () => {
      const start = await tableDigest(t.deps.db);
      for (const [field, body] of [
        ['body.name', '{"name":"f\\ud800","kind":"company","parentId":"%ROOT%"}'],
        ['body.kind', '{"name":"Shop","kind":"x\\udfff","parentId":"%ROOT%"}'],
        ['body.name', '{"name":"\\udc00\\ud800 reversed","kind":"company","parentId":"%ROOT%"}'],
      ] as const) {
        const res = await call(t.app, 'POST', '/v1/pools', { token: t.superuser, rawBody: body.replace('%ROOT%', root) });
        assertFieldError(res, field, body);
        assert.match(res.body.errors[0].message, /surrogate/);
      }
      assertFieldError(await call(t.app, 'POST', `/v1/pools/${child}/terms`, { token: t.superuser, rawBody: '{"version":"2026-01\\ud83d"}' }), 'body.version', 'terms');
      assert.deepEqual(await tableDigest(t.deps.db), start);
      // A surrogate pair (an emoji) is Unicode text, taken and stored as sent.
      const pool = await ok(t.app, 'POST', '/v1/pools', { token: t.superuser, rawBody: `{"name":"Shop \\ud83d\\ude00","kind":"company","parentId":"${root}"}` });
      assert.equal(pool.name, 'Shop \u{1F600}');
    });

    test('NUL or a lone surrogate in an object key (a license limit): 422 at the object, nothing written', async () => {
      const start = await tableDigest(t.deps.db);
      for (const key of ['seats\\u0000', 'seats\\ud800']) {
        const res = await call(t.app, 'POST', `/v1/pools/${child}/licenses`, { token: t.superuser, rawBody: `{"limits":{"${key}":1}}` });
        assertFieldError(res, 'body.limits', key);
      }
      assert.deepEqual(await tableDigest(t.deps.db), start);
    });

    test('a header holding NUL or a lone surrogate: 422 naming the header, before authentication', async () => {
      for (const [name, value] of [
        ['x-forwarded-for', '10.0.0.1\u0000'],
        ['user-agent', 'agent \ud800'],
        ['x-csrf-token', '\udc00'],
      ] as const) {
        const res = await call(t.app, 'GET', '/v1/pools', { token: t.superuser, headers: { [name]: value } });
        assertFieldError(res, `headers.${name}`, name);
      }
    });

    test('bodies that are not UTF-8: JSON 400 MALFORMED_JSON, a CSV file 422 at body, another charset 415; nothing written', async () => {
      const start = await tableDigest(t.deps.db);
      // A surrogate encoded as UTF-8 (CESU-8), and a stray continuation byte.
      for (const bytes of [Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x80])]) {
        const json = Buffer.concat([Buffer.from(`{"name":"f`), bytes, Buffer.from(`","kind":"company","parentId":"${root}"}`)]);
        const res = await t.app.inject({ method: 'POST', url: '/v1/pools', headers: { authorization: `Bearer ${t.superuser}`, 'content-type': 'application/json' }, payload: json });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'MALFORMED_JSON');
        const csv = Buffer.concat([Buffer.from('serial,type\nSN-'), bytes, Buffer.from(',WiDI\n')]);
        const imported = await t.app.inject({ method: 'POST', url: `/v1/pools/${child}/members/import`, headers: { authorization: `Bearer ${t.superuser}`, 'content-type': 'text/csv' }, payload: csv });
        assert.equal(imported.statusCode, 422, imported.body);
        assert.deepEqual(imported.json().errors, [{ path: 'body', message: 'the file is not UTF-8 text' }]);
      }
      // A body said to be in another character set would be read wrongly as UTF-8.
      for (const [url, type, payload] of [
        ['/v1/pools', 'application/json; charset=utf-16', `{"name":"Shop","kind":"company","parentId":"${root}"}`],
        ['/v1/pools', 'application/json; charset="iso-8859-1"', `{"name":"Shop","kind":"company","parentId":"${root}"}`],
        [`/v1/pools/${child}/members/import`, 'text/csv; charset=windows-1252', 'serial,type\nSN-1252,WiDI\n'],
      ] as const) {
        const res = await call(t.app, 'POST', url, { token: t.superuser, body: new RawBody(payload, type) });
        assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', type);
      }
      assert.deepEqual(await tableDigest(t.deps.db), start);
      await ok(t.app, 'POST', '/v1/pools', { token: t.superuser, body: new RawBody(`{"name":"Shop","kind":"company","parentId":"${root}"}`, 'application/json; charset=UTF-8') });
    });

    test('JSON nested 7,500 deep: 400 JSON_TOO_DEEP on every route that takes a body, logged in or not (a CSV route: 415)', async () => {
      const deep = nested(7_500);
      let routes = 0;
      for (const op of operations) {
        if (op.method === 'GET') continue;
        routes++;
        for (const token of [undefined, t.superuser]) {
          const res = await call(t.app, op.method, op.url, { token, rawBody: deep });
          if (op.takesCsv) assertProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE', `${op.method} ${op.url}`);
          else assertProblem(res, 400, 'JSON_TOO_DEEP', `${op.method} ${op.url}${token ? ' (logged in)' : ''}`);
        }
      }
      assert.ok(routes > 50, 'the routes were found');
    });

    test(`nesting: ${MAX_JSON_DEPTH} levels are parsed (and judged by the schema), ${MAX_JSON_DEPTH + 1} are not; brackets inside strings do not count`, async () => {
      const url = `/v1/pools/${child}/terms`;
      assertFieldError(await call(t.app, 'POST', url, { token: t.superuser, rawBody: `{"version":${nested(MAX_JSON_DEPTH - 1)}}` }), 'body.version', 'at the limit');
      assertProblem(await call(t.app, 'POST', url, { token: t.superuser, rawBody: `{"version":${nested(MAX_JSON_DEPTH)}}` }), 400, 'JSON_TOO_DEEP', 'over the limit');
      // Brackets and escaped quotes inside a string: text, not nesting.
      const version = `\\"${'['.repeat(100)}{`;
      assertFieldError(await call(t.app, 'POST', url, { token: t.superuser, rawBody: `{"version":"${version}"}` }), 'body.version', 'brackets in a string');
    });

    test('unknown query parameters: 422 on every route, also those without a query schema; nothing written', async () => {
      const start = await tableDigest(t.deps.db);
      for (const op of operations) {
        const res = await call(t.app, op.method, `${op.url}?zzz=1`, { token: t.superuser, ...(op.takesCsv ? { body: csvBody('serial,type\nSN-Q,WiDI\n') } : {}) });
        assertFieldError(res, 'querystring.zzz', `${op.method} ${op.url}?zzz=1`);
      }
      // The example: a valid sign-up with an unknown parameter creates no account.
      const signUp = await call(t.app, 'POST', '/v1/accounts?zzz=1', { body: { email: 'query@licensepool.test', name: 'Query', password: 'a long enough password' } });
      assertFieldError(signUp, 'querystring.zzz', 'sign-up');
      assert.deepEqual(await tableDigest(t.deps.db), start);
    });

    test('a body sent to a route that does not exist: 404 ROUTE_NOT_FOUND, not a complaint about the body', async () => {
      for (const [method, url] of [['POST', '/v1/usage'], ['PUT', '/v1/nothing/here?x=1'], ['DELETE', '/v1/pools']] as const) {
        const res = await call(t.app, method, url, { token: t.superuser, body: { any: 'thing' } });
        assertProblem(res, 404, 'ROUTE_NOT_FOUND', `${method} ${url}`);
      }
      assertProblem(await call(t.app, 'POST', '/v1/usage', { rawBody: nested(7_500) }), 400, 'JSON_TOO_DEEP', 'deep body, no route');
    });
  });

  describe(`logging of client errors (${backend})`, () => {
    test('a refused request logs one info line with its code and no stack trace', async () => {
      const lines: Record<string, any>[] = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
          done();
        },
      });
      const database = await openTestDatabase(backend);
      const app = await buildApp({ deps: { db: database.db, clock: new ManualClock('2026-01-01T00:00:00.000Z'), log: pino({ level: 'trace' }, sink), secretKeys: testSecretKeys() } });
      try {
        const requests: [Method, string, string | undefined, number][] = [
          ['POST', '/v1/pools', nested(7_500), 400],
          ['POST', '/v1/accounts', '{"email": 1}', 422],
          ['POST', '/v1/accounts', '{"email": "x@y.test", "name": "f\\ud800", "password": "a long enough password"}', 422],
          ['POST', '/v1/accounts', '{"email": ', 400],
          ['GET', '/v1/pools', undefined, 401],
          ['GET', '/v1/nowhere', undefined, 404],
        ];
        for (const [method, url, rawBody, status] of requests) {
          const res = await call(app, method, url, rawBody === undefined ? {} : { rawBody });
          assert.equal(res.status, status, `${method} ${url}: ${JSON.stringify(res.body)}`);
        }
      } finally {
        await app.close();
        await database.close();
      }
      assert.ok(lines.length > 0, 'the log was captured');
      for (const line of lines) {
        assert.ok(line.level < 40, `logged at ${line.level}: ${JSON.stringify(line).slice(0, 300)}`);
        assert.ok(!JSON.stringify(line).includes('"stack"'), `a stack trace: ${JSON.stringify(line).slice(0, 300)}`);
      }
      const refused = lines.filter((l) => l.msg === 'request refused').map((l) => l.code);
      assert.deepEqual(refused, ['JSON_TOO_DEEP', 'VALIDATION_FAILED', 'VALIDATION_FAILED', 'MALFORMED_JSON', 'UNAUTHENTICATED']);
    });
  });

  describe(`a closing server (${backend})`, () => {
    test('a request arriving while the server closes: 503 problem+json SERVER_CLOSING with Retry-After', async () => {
      const database = await openTestDatabase(backend);
      const app = await buildApp({ deps: { db: database.db, clock: new ManualClock('2026-01-01T00:00:00.000Z'), log: pino({ level: 'silent' }), secretKeys: testSecretKeys() } });
      // A request in progress keeps its connection open while the server closes; the next
      // request on that connection (pipelined) arrives at a closing server.
      let entered!: () => void;
      const inProgress = new Promise<void>((resolve) => (entered = resolve));
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      app.get('/test/slow', async () => {
        entered();
        await finished;
        return { done: true };
      });
      let closingStarted!: () => void;
      const preClose = new Promise<void>((resolve) => (closingStarted = resolve));
      app.addHook('preClose', async () => closingStarted());
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += chunk));
      const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write('GET /test/slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await inProgress;
      const closed = app.close();
      await preClose;
      socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
      // Let the second request reach the server before the first one ends.
      await new Promise((resolve) => setTimeout(resolve, 100));
      finish();
      await ended;
      await closed;
      await database.close();

      const responses = received.split(/(?=HTTP\/1\.1 )/);
      assert.equal(responses.length, 2, received);
      assert.match(responses[0]!, /^HTTP\/1\.1 200 /);
      const [head, body] = responses[1]!.split('\r\n\r\n');
      assert.match(head!, /^HTTP\/1\.1 503 /, head);
      assert.match(head!, /\r\ncontent-type: application\/problem\+json/i, head);
      assert.match(head!, /\r\nretry-after: 1\r\n/i, head);
      const problem = JSON.parse(body!);
      assert.equal(problem.code, 'SERVER_CLOSING');
      assert.equal(problem.status, 503);
      assert.equal(typeof problem.requestId, 'string');
    });
  });
}
