/**
 * U3: `Idempotency-Key`. A retried POST with the same key gets the first answer again (status,
 * body, `Idempotent-Replayed: true`) without running twice; keys are per account and live a day.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { deleteExpiredIdempotencyKeys } from '../../src/http/idempotency.js';
import { backends, call, childPool, createTestApp, ok, PASSWORD, person, vendor, type TestApp, type Tree } from '../helpers.js';

const DAY_MS = 86_400_000;

for (const backend of backends()) {
  describe(`Idempotency-Key (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let office: string;
    let user: Awaited<ReturnType<typeof person>>;
    let colleague: Awaited<ReturnType<typeof person>>;
    let memberId: string;
    let colleagueMemberId: string;

    const claim = (key: string | undefined, body: Record<string, unknown>, token = user.token) =>
      call(t.app, 'POST', '/v1/claims', { token, body: { memberId, meter: 'seats', kind: 'assignment', ...body }, ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}) });
    const usedSeats = async () => (await ok(t.app, 'GET', `/v1/pools/${office}/state`, { token: v.operator.token })).meters.find((m: any) => m.key === 'seats').used;
    const liveClaims = async (member = memberId) => (await ok(t.app, 'GET', `/v1/claims?memberId=${member}&live=true`, { token: v.operator.token })).data;
    const keyRows = () => rowsOf<{ key: string; account_id: string; status_code: number | null }>(t.deps.db, sql`SELECT key, account_id, status_code FROM idempotency_keys ORDER BY key`);
    const checkInAll = async () => {
      for (const member of [memberId, colleagueMemberId]) {
        for (const c of await liveClaims(member)) await ok(t.app, 'DELETE', `/v1/claims/${c.id}`, { token: v.operator.token });
      }
    };

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Nitro', meters: [{ key: 'seats' }] });
      office = await childPool(t, v.operator.token, v.root, { name: 'Office', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: v.operator.token, body: { limits: { seats: 2 } } });
      user = await person(t, 'designer@acme.test');
      colleague = await person(t, 'engineer@acme.test');
      for (const who of [user, colleague]) {
        const member = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email: who.email } });
        await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
        if (who === user) memberId = member.id;
        else colleagueMemberId = member.id;
      }
    });
    after(() => t.close());

    test('a retried POST /v1/claims gets the same claim back and takes its units once', async () => {
      const first = await claim('retry-1', {});
      assert.equal(first.status, 201);
      assert.equal(first.headers['idempotent-replayed'], undefined);
      const again = await claim('retry-1', {});
      assert.equal(again.status, 201);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.deepEqual(again.body, first.body);
      // The body's fields in another order (and a default spelled out) is the same request.
      const reordered = await call(t.app, 'POST', '/v1/claims', {
        token: user.token,
        headers: { 'idempotency-key': 'retry-1' },
        body: { quantity: 1, kind: 'assignment', meter: 'seats', memberId },
      });
      assert.deepEqual([reordered.status, reordered.headers['idempotent-replayed'], reordered.body.id], [201, 'true', first.body.id]);
      assert.equal(await usedSeats(), 1);
      assert.deepEqual((await liveClaims()).map((c: any) => c.id), [first.body.id]);
      await checkInAll();
    });

    test('a retried refusal gets the same 409, even after units have come free', async () => {
      const holder = await claim('refusal-holder', {});
      const refused = await claim('refusal-1', { quantity: 2 });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'CLAIM_REFUSED');
      assert.deepEqual(refused.body.reasons, [{ code: 'LIMIT_REACHED', poolId: office, meter: 'seats', limit: 2, used: 1 }]);
      await ok(t.app, 'DELETE', `/v1/claims/${holder.body.id}`, { token: user.token });

      const again = await claim('refusal-1', { quantity: 2 });
      assert.equal(again.status, 409);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.match(String(again.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(again.body, refused.body);
      // A new key is a new request: now it fits.
      assert.equal((await claim('refusal-2', { quantity: 2 })).status, 201);
      assert.equal(await usedSeats(), 2);
      await checkInAll();
    });

    test('the same key with another request: 422 IDEMPOTENCY_KEY_REUSED, and nothing runs', async () => {
      await claim('reused-1', {});
      const otherBody = await claim('reused-1', { quantity: 2 });
      assert.deepEqual([otherBody.status, otherBody.body.code], [422, 'IDEMPOTENCY_KEY_REUSED']);
      const otherRoute = await call(t.app, 'POST', `/v1/pools/${office}/access-rules`, {
        token: user.token,
        headers: { 'idempotency-key': 'reused-1' },
        body: { effect: 'exclude', match: 'domain', value: 'rival.test' },
      });
      assert.deepEqual([otherRoute.status, otherRoute.body.code], [422, 'IDEMPOTENCY_KEY_REUSED']);
      assert.equal(await usedSeats(), 1);
      await checkInAll();
    });

    test('two accounts may use the same key, each for its own request', async () => {
      const mine = await claim('shared-key', {});
      const theirs = await claim('shared-key', { memberId: colleagueMemberId }, colleague.token);
      assert.deepEqual([mine.status, theirs.status], [201, 201]);
      assert.equal(theirs.headers['idempotent-replayed'], undefined);
      assert.notEqual(theirs.body.id, mine.body.id);
      assert.equal(theirs.body.memberId, colleagueMemberId);
      assert.equal(await usedSeats(), 2);
      // Each account's retry gets its own answer back.
      assert.equal((await claim('shared-key', { memberId: colleagueMemberId }, colleague.token)).body.id, theirs.body.id);
      assert.equal((await claim('shared-key', {})).body.id, mine.body.id);
      await checkInAll();
    });

    test('concurrent requests with one key: one runs; the others get 409 with Retry-After or the replay', async () => {
      const answers = await Promise.all(Array.from({ length: 5 }, () => claim('concurrent-1', {})));
      const ran = answers.filter((a) => a.status === 201 && a.headers['idempotent-replayed'] === undefined);
      assert.equal(ran.length, 1, JSON.stringify(answers.map((a) => [a.status, a.body.code])));
      for (const a of answers.filter((x) => x !== ran[0])) {
        if (a.status === 409) {
          assert.equal(a.body.code, 'IDEMPOTENCY_KEY_IN_USE');
          assert.equal(a.headers['retry-after'], '1');
        } else {
          assert.deepEqual([a.status, a.headers['idempotent-replayed'], a.body.id], [201, 'true', ran[0]!.body.id]);
        }
      }
      assert.equal(await usedSeats(), 1);
      assert.equal((await claim('concurrent-1', {})).body.id, ran[0]!.body.id, 'once answered, the retry is a replay');
      await checkInAll();
    });

    test('a request whose process died leaves its key in progress; a retry takes it over at once', async () => {
      const first = await claim('died-1', {});
      await ok(t.app, 'DELETE', `/v1/claims/${first.body.id}`, { token: user.token });
      // As if the process had died after taking the key and before recording the answer: the
      // row is in progress and nobody holds the key's lock.
      await t.deps.db.execute(sql`UPDATE idempotency_keys SET status_code = NULL, body = NULL WHERE key = 'died-1'`);
      const rerun = await claim('died-1', {});
      assert.equal(rerun.status, 201);
      assert.equal(rerun.headers['idempotent-replayed'], undefined);
      assert.notEqual(rerun.body.id, first.body.id);
      assert.equal((await claim('died-1', {})).body.id, rerun.body.id);
      await checkInAll();
    });

    test('a key older than 24 hours is forgotten: the request runs afresh, even a different one; the sweep deletes old keys', async () => {
      const first = await claim('day-1', {});
      t.clock.advance(DAY_MS - 1000);
      assert.equal((await claim('day-1', {})).headers['idempotent-replayed'], 'true', 'still kept just before a day');
      t.clock.advance(1000);
      const fresh = await claim('day-1', {});
      assert.equal(fresh.status, 201);
      assert.equal(fresh.headers['idempotent-replayed'], undefined);
      assert.notEqual(fresh.body.id, first.body.id);
      assert.equal(await usedSeats(), 2);
      await checkInAll();
      t.clock.advance(DAY_MS);
      assert.equal((await claim('day-1', { quantity: 2 })).status, 201, 'an expired key may name another request');

      // Only the keys used within the last day survive the sweep.
      await deleteExpiredIdempotencyKeys(t.deps);
      assert.deepEqual((await keyRows()).map((r) => r.key), ['day-1']);
      await checkInAll();
    });

    test('a malformed key: 422 naming headers.idempotency-key, before anything runs', async () => {
      for (const key of ['', 'x'.repeat(256), 'two words', 'tab\there', 'clé']) {
        const res = await claim(key, {});
        assert.equal(res.status, 422, JSON.stringify(key));
        assert.equal(res.body.code, 'VALIDATION_FAILED');
        assert.deepEqual(res.body.errors.map((e: any) => e.path), ['headers.idempotency-key']);
      }
      assert.equal((await claim('x'.repeat(255), {})).status, 201, '255 characters is the longest key');
      assert.equal(await usedSeats(), 1);
      await checkInAll();
    });

    test('bodyless POSTs, cookie sessions with CSRF and the NUL guard keep working with a key', async () => {
      const annex = await childPool(t, v.operator.token, v.root, { name: 'Annex' });
      const suspend = () => call(t.app, 'POST', `/v1/pools/${annex}/suspend`, { token: v.operator.token, headers: { 'idempotency-key': 'suspend-annex' } });
      const first = await suspend();
      const again = await suspend();
      assert.deepEqual([first.status, again.status, again.headers['idempotent-replayed']], [200, 200, 'true'], 'a retried suspension is not refused as a second one');
      assert.deepEqual(again.body, first.body);

      const login = await ok(t.app, 'POST', '/v1/auth/login', { body: { email: v.operator.email, password: PASSWORD } });
      const cookie = `lp_session=${login.token}`;
      const rule = { effect: 'exclude', match: 'domain', value: 'rival.test' };
      const viaCookie = (headers: Record<string, string>) =>
        call(t.app, 'POST', `/v1/pools/${annex}/access-rules`, { headers: { cookie, 'idempotency-key': 'rule-1', ...headers }, body: rule });
      const forged = await viaCookie({});
      assert.deepEqual([forged.status, forged.body.code], [403, 'CSRF_TOKEN_INVALID'], 'CSRF is checked first');
      const made = await viaCookie({ 'x-csrf-token': login.csrfToken });
      assert.equal(made.status, 201);
      const replayed = await viaCookie({ 'x-csrf-token': login.csrfToken });
      assert.deepEqual([replayed.status, replayed.headers['idempotent-replayed'], replayed.body.id], [201, 'true', made.body.id]);
      // The key belongs to the account, whichever credential it sends.
      const viaBearer = await call(t.app, 'POST', `/v1/pools/${annex}/access-rules`, { token: v.operator.token, headers: { 'idempotency-key': 'rule-1' }, body: rule });
      assert.deepEqual([viaBearer.status, viaBearer.body.id], [201, made.body.id]);

      const nul = await call(t.app, 'POST', `/v1/pools/${annex}/access-rules`, { token: v.operator.token, headers: { 'idempotency-key': 'rule-2' }, body: { ...rule, value: 'a\u0000.test' } });
      assert.deepEqual([nul.status, nul.body.errors[0].path], [422, 'body.value']);
      const fixed = await call(t.app, 'POST', `/v1/pools/${annex}/access-rules`, { token: v.operator.token, headers: { 'idempotency-key': 'rule-2' }, body: { ...rule, value: 'other.test' } });
      assert.deepEqual([fixed.status, fixed.headers['idempotent-replayed']], [201, undefined], 'a request refused before it ran holds no key');
    });

    test('not covered: anonymous requests (login) and routes answering with a secret (API tokens)', async () => {
      const headers = { 'idempotency-key': 'not-covered' };
      const logins = [];
      for (let i = 0; i < 2; i++) logins.push(await ok(t.app, 'POST', '/v1/auth/login', { headers, body: { email: user.email, password: PASSWORD } }));
      assert.notEqual(logins[0].token, logins[1].token);
      const tokens = [];
      for (let i = 0; i < 2; i++) tokens.push(await ok(t.app, 'POST', '/v1/tokens', { token: user.token, headers, body: { name: 'ci' } }));
      assert.notEqual(tokens[0].token, tokens[1].token);
      assert.deepEqual((await keyRows()).filter((r) => r.key === 'not-covered'), []);
    });

    test('the OpenAPI document names the header on every authenticated POST route and no other', async () => {
      const doc = (await call(t.app, 'GET', '/openapi.json')).body;
      assert.equal(doc.components.parameters.IdempotencyKey.in, 'header');
      assert.equal(doc.components.parameters.IdempotencyKey.name, 'Idempotency-Key');
      const withHeader: string[] = [];
      const posts: string[] = [];
      for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(ops)) {
          const has = (op.parameters ?? []).some((p: any) => p.$ref === '#/components/parameters/IdempotencyKey');
          if (has) withHeader.push(`${method.toUpperCase()} ${path}`);
          if (method === 'post') posts.push(`POST ${path}`);
        }
      }
      const uncovered = ['POST /v1/accounts', 'POST /v1/auth/login', 'POST /v1/tokens', 'POST /v1/roots'];
      assert.deepEqual(withHeader.sort(), posts.filter((p) => !uncovered.includes(p)).sort());
      assert.ok(withHeader.includes('POST /v1/claims') && withHeader.includes('POST /v1/pools/{id}/members'));
    });
  });
}
