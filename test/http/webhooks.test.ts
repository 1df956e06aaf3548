/**
 * N6, webhooks: a root's operators register endpoints with event filters; every delivery is
 * signed (HMAC-SHA256 over id, timestamp and body, Standard Webhooks) and checked here by a real
 * HTTP receiver, with the reference library and by hand; a failing receiver is retried with
 * backoff until it answers; retries run out after about a day into a visible failure that an
 * operator redelivers; a replayed delivery is told apart by its signed timestamp and its id;
 * targets on private or loopback addresses are refused unless the server is configured for them.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { buildApp } from '../../src/app.js';
import { rowsOf } from '../../src/db/client.js';
import { JobRunner } from '../../src/modules/jobs/jobs.runner.js';
import { registerNotificationJobs } from '../../src/modules/notifications/notifications.jobs.js';
import { recordWebhookDeliveries, registerWebhookJobs, WEBHOOK_ATTEMPTS } from '../../src/modules/webhooks/webhooks.jobs.js';
import { WEBHOOK_ONLY_ACTIONS } from '../../src/modules/webhooks/webhooks.events.js';
import { PUBLIC_TARGETS_ONLY, type TargetPolicy } from '../../src/modules/webhooks/webhooks.targets.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp } from '../helpers.js';

const PRIVATE_ALLOWED: TargetPolicy = { allowPrivate: true };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on a loopback port: records every request and answers the next scripted status (200 when none is left). */
class Receiver {
  readonly requests: Received[] = [];
  readonly answers: number[] = [];
  /** The body of its answers; default a word. */
  answerBody: string | null = null;
  #server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = this.answers.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(this.answerBody ?? (status < 300 ? 'thanks' : 'not now'));
    });
  });
  url = '';
  async start() {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks`;
  }
  close() {
    return new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
  reset() {
    this.requests.length = 0;
    this.answers.length = 0;
    this.answerBody = null;
  }
}

/**
 * What a careful receiver does with a request, written here from the specification and not
 * from licensepool's code: the signature must be the HMAC of id, timestamp and body under the
 * secret; the timestamp within five minutes of its clock; the id not one it processed already.
 */
function judge(secret: string, r: Received, now: Date, processed: Set<string>): 'accepted' | 'bad signature' | 'stale timestamp' | 'already processed' {
  const id = String(r.headers['webhook-id']);
  const timestamp = String(r.headers['webhook-timestamp']);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${r.body}`).digest();
  const given = String(r.headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  if (!given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) return 'bad signature';
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > 300) return 'stale timestamp';
  if (processed.has(id)) return 'already processed';
  processed.add(id);
  return 'accepted';
}

for (const backend of backends()) {
  describe(`webhooks (${backend})`, () => {
    let t: TestApp;
    let receiver: Receiver;
    let runner: JobRunner;
    let A: Awaited<ReturnType<typeof vendor>>;
    let B: Awaited<ReturnType<typeof vendor>>;
    let poolA: string;
    let poolB: string;
    let members = 0;

    before(async () => {
      t = await createTestApp(backend, { webhookTargets: PRIVATE_ALLOWED });
      // Real time, so the reference library's own five-minute check passes on the first delivery.
      t.clock.set(new Date(Math.floor(Date.now() / 1000) * 1000));
      receiver = new Receiver();
      await receiver.start();
      runner = new JobRunner(t.deps);
      registerNotificationJobs(runner, t.deps, { settings: { publicUrl: 'https://licenses.example.test' }, mailer: null, from: 'no-reply@example.test', consumers: { webhooks: recordWebhookDeliveries } });
      registerWebhookJobs(runner, t.deps, PRIVATE_ALLOWED);
      A = await vendor(t, { name: 'Alpha' });
      B = await vendor(t, { name: 'Bravo' });
      poolA = await childPool(t, A.operator.token, A.root, { name: 'alpha customer' });
      poolB = await childPool(t, B.operator.token, B.root, { name: 'bravo customer' });
      await runner.drain();
    });
    after(async () => {
      await receiver.close();
      await t.close();
    });

    /** Adds a member to the pool (`member.added`) and verifies it (`member.verified`); its id. */
    async function addMember(operatorToken: string, pool: string, verify = true): Promise<string> {
      const email = `member${++members}@example.test`;
      await person(t, email);
      const member = await ok(t.app, 'POST', `/v1/pools/${pool}/members`, { token: operatorToken, body: { email } });
      if (verify) await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: operatorToken });
      return member.id;
    }

    async function endpoint(events: string[], root = A.root, token = A.operator.token, url = receiver.url) {
      return ok(t.app, 'POST', `/v1/pools/${root}/webhooks`, { token, body: { url, events, description: 'CRM sync' } });
    }

    const deliveriesOf = (root: string, webhook: string, query = '') => ok(t.app, 'GET', `/v1/pools/${root}/webhooks/${webhook}/deliveries${query}`, { token: t.superuser });
    const detailOf = (root: string, webhook: string, delivery: string) => ok(t.app, 'GET', `/v1/pools/${root}/webhooks/${webhook}/deliveries/${delivery}`, { token: t.superuser });

    test('operators register, read, change and remove endpoints; the secret is shown once; nobody else reaches them', async () => {
      const created = await endpoint(['member.verified', 'license.created']);
      assert.match(created.id, /^hook_/);
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(created.events, ['license.created', 'member.verified']);
      assert.equal(created.enabled, true);

      const read = await ok(t.app, 'GET', `/v1/pools/${A.root}/webhooks/${created.id}`, { token: A.operator.token });
      assert.equal(read.secret, undefined, 'the secret is not shown again');
      const list = await ok(t.app, 'GET', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token });
      assert.ok(list.data.some((w: any) => w.id === created.id && w.secret === undefined));

      const changed = await ok(t.app, 'PATCH', `/v1/pools/${A.root}/webhooks/${created.id}`, { token: A.operator.token, body: { events: ['*'], enabled: false } });
      assert.deepEqual([changed.events, changed.enabled, changed.description], [['*'], false, 'CRM sync']);
      const rotated = await ok(t.app, 'POST', `/v1/pools/${A.root}/webhooks/${created.id}/rotate-secret`, { token: A.operator.token });
      assert.notEqual(rotated.secret, created.secret);

      // The audit trail records the changes, never the secret.
      const trail = await ok(t.app, 'GET', `/v1/audit?poolId=${A.root}&limit=500`, { token: t.superuser });
      const ofHook = trail.data.filter((e: any) => e.entityId === created.id);
      assert.deepEqual(ofHook.map((e: any) => e.action).sort(), ['webhook.created', 'webhook.secret_rotated', 'webhook.updated']);
      assert.ok(!JSON.stringify(ofHook).includes('whsec_'));

      // Another vendor's operator, and a customer pool's manager, do not reach them.
      const other = await call(t.app, 'GET', `/v1/pools/${A.root}/webhooks/${created.id}`, { token: B.operator.token });
      assert.equal(other.status, 404);
      const manager = await person(t, `manager.hooks@example.test`);
      await ok(t.app, 'POST', `/v1/pools/${poolA}/roles`, { token: A.operator.token, body: { email: manager.email, role: 'manager' } });
      assert.equal((await call(t.app, 'GET', `/v1/pools/${A.root}/webhooks`, { token: manager.token })).status, 404);
      const admin = await person(t, `admin.hooks@example.test`);
      await ok(t.app, 'POST', `/v1/pools/${A.root}/roles`, { token: A.operator.token, body: { email: admin.email, role: 'admin' } });
      const byAdmin = await call(t.app, 'POST', `/v1/pools/${A.root}/webhooks`, { token: admin.token, body: { url: receiver.url, events: ['*'] } });
      assert.deepEqual([byAdmin.status, byAdmin.body.code], [403, 'FORBIDDEN'], 'the vendor’s operators only');
      const onChild = await call(t.app, 'POST', `/v1/pools/${poolA}/webhooks`, { token: A.operator.token, body: { url: receiver.url, events: ['*'] } });
      assert.deepEqual([onChild.status, onChild.body.code], [422, 'NOT_A_ROOT']);

      const bad = await call(t.app, 'POST', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token, body: { url: receiver.url, events: ['member.verified', 'no.such'] } });
      assert.deepEqual([bad.status, bad.body.code], [422, 'VALIDATION_FAILED']);
      const mixed = await call(t.app, 'POST', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token, body: { url: receiver.url, events: ['*', 'member.verified'] } });
      assert.deepEqual([mixed.status, mixed.body.code], [422, 'VALIDATION_FAILED']);
      const ftp = await call(t.app, 'POST', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token, body: { url: 'ftp://example.test/x', events: ['*'] } });
      assert.deepEqual([ftp.status, ftp.body.code], [422, 'VALIDATION_FAILED']);

      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${created.id}`, { token: A.operator.token })).status, 204);
      assert.equal((await call(t.app, 'GET', `/v1/pools/${A.root}/webhooks/${created.id}`, { token: A.operator.token })).status, 404);
    });

    test('by default, targets on loopback and private addresses are refused, by address and by name', async () => {
      const strict = await buildApp({ deps: t.deps });
      try {
        for (const url of [receiver.url, 'http://10.0.0.8/hook', 'https://192.168.1.20/hook', 'http://[::1]:8080/hook', 'http://169.254.169.254/latest', `http://localhost:${new URL(receiver.url).port}/hooks`]) {
          const refused = await call(strict, 'POST', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token, body: { url, events: ['*'] } });
          assert.deepEqual([refused.status, refused.body.code], [422, 'WEBHOOK_TARGET_FORBIDDEN'], url);
          if (url.includes('localhost')) assert.doesNotMatch(refused.body.detail, /127\.0\.0\.1|::1/, 'the address a name resolves to stays unsaid');
        }
        const unresolvable = await call(strict, 'POST', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token, body: { url: 'https://hooks.no-such-host.invalid/x', events: ['*'] } });
        assert.deepEqual([unresolvable.status, unresolvable.body.code], [422, 'WEBHOOK_TARGET_UNRESOLVABLE']);
        const publicTarget = await call(strict, 'POST', `/v1/pools/${A.root}/webhooks`, { token: A.operator.token, body: { url: 'https://93.184.215.14/hooks', events: ['pool.close'] } });
        assert.equal(publicTarget.status, 201);
        await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${publicTarget.body.id}`, { token: A.operator.token });
      } finally {
        await strict.close();
      }

      // A worker on the default policy refuses the connection too, whatever the endpoint says:
      // the address a name resolves to is checked when connecting.
      const byName = await endpoint(['member.verified'], A.root, A.operator.token, `http://localhost:${new URL(receiver.url).port}/hooks`);
      const strictRunner = new JobRunner(t.deps);
      registerNotificationJobs(strictRunner, t.deps, { settings: { publicUrl: 'https://licenses.example.test' }, mailer: null, from: 'no-reply@example.test', consumers: { webhooks: recordWebhookDeliveries } });
      registerWebhookJobs(strictRunner, t.deps, PUBLIC_TARGETS_ONLY);
      receiver.reset();
      await addMember(A.operator.token, poolA);
      await strictRunner.drain();
      assert.equal(receiver.requests.length, 0, 'nothing reached the loopback receiver');
      const [delivery] = (await deliveriesOf(A.root, byName.id)).data;
      assert.equal(delivery.status, 'pending', 'retried later');
      const detail = await detailOf(A.root, byName.id, delivery.id);
      assert.equal(detail.attemptLog.length, 1);
      assert.equal(detail.attemptLog[0].statusCode, null);
      assert.equal(detail.attemptLog[0].error, 'localhost resolves to a non-public address');
      await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${byName.id}`, { token: A.operator.token });
    });

    test('deliveries are signed: the receiver verifies them with the Standard Webhooks library and by hand; filters and roots are respected', async () => {
      const hook = await endpoint(['member.verified']);
      const everything = await endpoint(['*'], B.root, B.operator.token);
      receiver.reset();
      const memberA = await addMember(A.operator.token, poolA);
      const memberB = await addMember(B.operator.token, poolB, false);
      await runner.drain();

      const toA = receiver.requests.filter((r) => JSON.parse(r.body).data.rootId === A.root);
      assert.equal(toA.length, 1, 'only member.verified of A reaches A’s endpoint (not member.added, not B’s events)');
      const [r] = toA;
      assert.match(String(r!.headers['webhook-id']), /^dlv_/);
      assert.equal(r!.headers['content-type'], 'application/json');
      assert.equal(r!.headers['x-licensepool-event'], 'member.verified');
      const verified = new Webhook(hook.secret).verify(r!.body, r!.headers as Record<string, string>) as any;
      assert.equal(verified.type, 'member.verified');
      assert.equal(judge(hook.secret, r!, t.clock.now(), new Set()), 'accepted');
      assert.equal(judge(everything.secret, r!, t.clock.now(), new Set()), 'bad signature', 'another endpoint’s secret does not verify it');

      const body = JSON.parse(r!.body);
      assert.equal(body.timestamp, t.clock.now().toISOString());
      assert.deepEqual(
        [body.data.rootId, body.data.poolId, body.data.memberId, body.data.entityType, body.data.entityId, body.data.before.status, body.data.after.status],
        [A.root, poolA, memberA, 'member', memberA, 'pending', 'verified'],
      );
      assert.match(body.data.eventId, /^evt_/);

      const toB = receiver.requests.filter((r) => JSON.parse(r.body).data.rootId === B.root).map((r) => JSON.parse(r.body));
      assert.deepEqual(toB.map((b) => b.type), ['member.added'], '`*` takes the webhook-only actions too');
      assert.equal(toB[0].data.memberId, memberB);

      const log = await deliveriesOf(A.root, hook.id);
      assert.deepEqual(log.data.map((d: any) => [d.event, d.status, d.attempts, d.lastStatusCode, d.id]), [['member.verified', 'succeeded', 1, 200, r!.headers['webhook-id']]]);
      const detail = await detailOf(A.root, hook.id, log.data[0].id);
      assert.equal(detail.body, r!.body);
      assert.deepEqual(detail.attemptLog.map((a: any) => [a.attempt, a.statusCode, a.error, a.responseBody]), [[1, 200, null, 'thanks']]);

      // Running the jobs again sends nothing twice.
      await runner.drain();
      assert.equal(receiver.requests.length, 2);
      await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token });
      await ok(t.app, 'DELETE', `/v1/pools/${B.root}/webhooks/${everything.id}`, { token: B.operator.token });
    });

    test('a failing receiver is retried with backoff, then succeeds; every attempt carries the same id and body, signed anew', async () => {
      const hook = await endpoint(['member.verified']);
      receiver.reset();
      receiver.answers.push(500, 503);
      await addMember(A.operator.token, poolA);
      await runner.drain();
      assert.equal(receiver.requests.length, 1);
      await runner.drain();
      assert.equal(receiver.requests.length, 1, 'not again before its backoff');

      t.clock.advance(60_000); // the first wait is 30–60 s
      await runner.drain();
      assert.equal(receiver.requests.length, 2);
      t.clock.advance(120_000); // the second 60–120 s
      await runner.drain();
      assert.equal(receiver.requests.length, 3);

      const ids = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
      const bodies = new Set(receiver.requests.map((r) => r.body));
      const stamps = receiver.requests.map((r) => Number(r.headers['webhook-timestamp']));
      assert.deepEqual([ids.size, bodies.size], [1, 1]);
      assert.ok(stamps[0]! < stamps[1]! && stamps[1]! < stamps[2]!, 'each attempt is signed at its own time');
      for (const r of receiver.requests) assert.equal(judge(hook.secret, r, new Date(Number(r.headers['webhook-timestamp']) * 1000), new Set()), 'accepted');

      const [delivery] = (await deliveriesOf(A.root, hook.id)).data;
      assert.deepEqual([delivery.status, delivery.attempts, delivery.lastStatusCode], ['succeeded', 3, 200]);
      const detail = await detailOf(A.root, hook.id, delivery.id);
      assert.deepEqual(detail.attemptLog.map((a: any) => [a.statusCode, a.error]), [[500, 'answered 500'], [503, 'answered 503'], [200, null]]);
      await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token });
    });

    test('the log keeps the first KiB of an answer, a NUL character shown as U+FFFD', async () => {
      const hook = await endpoint(['member.verified']);
      receiver.reset();
      receiver.answerBody = `ok\u0000${'x'.repeat(4 * 1024 * 1024)}`;
      await addMember(A.operator.token, poolA);
      await runner.drain();
      const [delivery] = (await deliveriesOf(A.root, hook.id)).data;
      assert.equal(delivery.status, 'succeeded');
      const detail = await detailOf(A.root, hook.id, delivery.id);
      assert.equal(detail.attemptLog[0].responseBody, `ok\uFFFD${'x'.repeat(1024 - 3)}`);
      await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token });
    });

    test('a replayed delivery is detectable: a repeat of its id, a stale timestamp, or a forged one', async () => {
      const hook = await endpoint(['member.verified']);
      receiver.reset();
      await addMember(A.operator.token, poolA);
      await runner.drain();
      const [original] = receiver.requests;
      const processed = new Set<string>();
      assert.equal(judge(hook.secret, original!, t.clock.now(), processed), 'accepted');

      // Someone who captured the request sends it again: at once, then ten minutes later, then
      // with its timestamp moved to look fresh.
      assert.equal(judge(hook.secret, original!, t.clock.now(), processed), 'already processed');
      t.clock.advance(10 * 60_000);
      assert.equal(judge(hook.secret, original!, t.clock.now(), new Set()), 'stale timestamp', 'even a receiver that forgot the id refuses it');
      const forged = { body: original!.body, headers: { ...original!.headers, 'webhook-timestamp': String(Math.floor(t.clock.now().getTime() / 1000)) } };
      assert.equal(judge(hook.secret, forged, t.clock.now(), new Set()), 'bad signature');
      const altered = { body: original!.body.replace('member.verified', 'member.removed'), headers: original!.headers };
      assert.equal(judge(hook.secret, altered, new Date(Number(original!.headers['webhook-timestamp']) * 1000), new Set()), 'bad signature');

      // A redelivery the operator asks for is fresh and valid, and carries the same id: the
      // receiver knows it has the event already.
      const [delivery] = (await deliveriesOf(A.root, hook.id)).data;
      const again = await ok(t.app, 'POST', `/v1/pools/${A.root}/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`, { token: A.operator.token });
      assert.equal(again.status, 'pending');
      await runner.drain();
      const redelivered = receiver.requests[1]!;
      assert.equal(redelivered.headers['webhook-id'], original!.headers['webhook-id']);
      assert.equal(judge(hook.secret, redelivered, t.clock.now(), processed), 'already processed');
      assert.equal(judge(hook.secret, redelivered, t.clock.now(), new Set()), 'accepted');
      await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token });
    });

    test('retries run out after about a day: the delivery is failed and listed; an operator redelivers it; a disabled endpoint gets nothing new', async () => {
      const hook = await endpoint(['member.verified']);
      receiver.reset();
      receiver.answers.push(...Array.from({ length: WEBHOOK_ATTEMPTS }, () => 500));
      await addMember(A.operator.token, poolA);
      const started = t.clock.now().getTime();
      await runner.drain();
      for (let i = 1; i < WEBHOOK_ATTEMPTS; i++) {
        t.clock.advance(6 * 3_600_000); // longer than any wait
        await runner.drain();
      }
      assert.equal(receiver.requests.length, WEBHOOK_ATTEMPTS);
      const stamps = receiver.requests.map((r) => Number(r.headers['webhook-timestamp']) * 1000);
      assert.ok(stamps[1]! - stamps[0]! >= 6 * 3_600_000 && stamps.at(-1)! - started >= 13 * 6 * 3_600_000 - 1000, 'attempts follow the clock');
      t.clock.advance(6 * 3_600_000);
      await runner.drain();
      assert.equal(receiver.requests.length, WEBHOOK_ATTEMPTS, 'no attempt after the last');

      const failed = await deliveriesOf(A.root, hook.id, '?status=failed');
      assert.equal(failed.data.length, 1);
      assert.deepEqual([failed.data[0].attempts, failed.data[0].lastStatusCode, failed.data[0].lastError], [WEBHOOK_ATTEMPTS, 500, 'answered 500']);
      const dead = await ok(t.app, 'GET', '/v1/jobs?status=dead&kind=webhook.deliver', { token: t.superuser });
      assert.equal(dead.data.length, 1);
      assert.match(await runner.registry.metrics(), /^licensepool_webhook_deliveries\{status="failed"\} 1$/m);

      // The dead job run again by hand takes the delivery back and sends it.
      await ok(t.app, 'POST', `/v1/jobs/${dead.data[0].id}/retry`, { token: t.superuser });
      await runner.drain();
      const [retried] = (await deliveriesOf(A.root, hook.id)).data;
      assert.deepEqual([retried.status, retried.attempts, retried.lastStatusCode], ['succeeded', WEBHOOK_ATTEMPTS + 1, 200]);

      // Redelivered, twice in the same millisecond: each is sent; a pending one is not taken twice.
      const redeliver = (token: string) => call(t.app, 'POST', `/v1/pools/${A.root}/webhooks/${hook.id}/deliveries/${retried.id}/redeliver`, { token });
      for (const round of [1, 2]) {
        const again = await redeliver(A.operator.token);
        assert.deepEqual([again.status, again.body.status], [202, 'pending']);
        const twice = await redeliver(A.operator.token);
        assert.deepEqual([twice.status, twice.body.code], [409, 'INVALID_TRANSITION']);
        assert.equal((await redeliver(B.operator.token)).status, 404);
        await runner.drain();
        const [done] = (await deliveriesOf(A.root, hook.id)).data;
        assert.deepEqual([done.status, done.attempts], ['succeeded', WEBHOOK_ATTEMPTS + 1 + round]);
      }
      assert.equal(receiver.requests.length, WEBHOOK_ATTEMPTS + 3);

      // Disabled: a delivery under way ends failed at its next attempt, unsent; the next event
      // makes none; enabled again, the one after is delivered.
      receiver.reset();
      receiver.answers.push(500);
      await addMember(A.operator.token, poolA);
      await runner.drain();
      await ok(t.app, 'PATCH', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token, body: { enabled: false } });
      t.clock.advance(60_000);
      await runner.drain();
      await addMember(A.operator.token, poolA);
      await runner.drain();
      await ok(t.app, 'PATCH', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token, body: { enabled: true } });
      await addMember(A.operator.token, poolA);
      await runner.drain();
      const log = (await deliveriesOf(A.root, hook.id)).data;
      assert.deepEqual(log.map((d: any) => [d.status, d.attempts, d.lastError]), [
        ['succeeded', WEBHOOK_ATTEMPTS + 3, null],
        ['failed', 1, 'the endpoint is disabled'],
        ['succeeded', 1, null],
      ]);
      assert.equal(receiver.requests.length, 2);
      await ok(t.app, 'DELETE', `/v1/pools/${A.root}/webhooks/${hook.id}`, { token: A.operator.token });
    });

    test('actions that mail nobody make a notify job only where a root has an endpoint; the SQL and the code list the same', async () => {
      const count = async () => {
        const [row] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM jobs WHERE kind = 'notify'`);
        return row!.n;
      };
      const before = await count();
      await addMember(B.operator.token, poolB, false); // member.added, and B has no endpoint now
      assert.equal(await count(), before);
      const hook = await endpoint(['member.added'], B.root, B.operator.token);
      await addMember(B.operator.token, poolB, false);
      assert.equal(await count(), before + 1);
      await ok(t.app, 'DELETE', `/v1/pools/${B.root}/webhooks/${hook.id}`, { token: B.operator.token });

      const candidates = [...WEBHOOK_ONLY_ACTIONS, 'member.verified', 'role.granted', 'webhook.created', 'ticket.created', 'message.retried', 'token.created'];
      const rows = await rowsOf<{ action: string }>(
        t.deps.db,
        sql`SELECT a AS action FROM unnest(${sql.raw(`ARRAY[${candidates.map((a) => `'${a}'`).join(',')}]`)}::text[]) a WHERE licensepool_webhook_action(a)`,
      );
      assert.deepEqual(rows.map((r) => r.action).sort(), [...WEBHOOK_ONLY_ACTIONS].sort());
    });
  });
}
