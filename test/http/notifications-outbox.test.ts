/**
 * N5, the outbox: without SMTP mail waits there, readable in the API by those it concerns and
 * nobody else; with the SMTP server down, messages wait and arrive once it is back, none lost
 * and none doubled; a message that never gets through becomes a visible dead letter that an
 * operator sends again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobRunner } from '../../src/modules/jobs/jobs.runner.js';
import { createMailer, type Mailer } from '../../src/modules/notifications/mail.transport.js';
import { registerNotificationJobs } from '../../src/modules/notifications/notifications.jobs.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp } from '../helpers.js';
import { startMailServer } from '../mail-server.js';

const PUBLIC_URL = 'https://licenses.example.test';
const FROM = 'no-reply@licenses.example.test';

type Person = Awaited<ReturnType<typeof person>>;

interface Tenant {
  root: string;
  pool: string;
  operator: Person;
  manager: Person;
  deputy: Person;
}

for (const backend of backends()) {
  describe(`notifications: the outbox (${backend})`, () => {
    let t: TestApp;
    let A: Tenant;
    let B: Tenant;

    before(async () => {
      t = await createTestApp(backend);
      const tenant = async (label: string): Promise<Tenant> => {
        const tree = await vendor(t, { name: `${label} vendor` });
        const pool = await childPool(t, tree.operator.token, tree.root, { name: `${label} pool` });
        const manager = await person(t, `manager@${label}.test`);
        const deputy = await person(t, `deputy@${label}.test`);
        await ok(t.app, 'POST', `/v1/pools/${pool}/roles`, { token: tree.operator.token, body: { email: manager.email, role: 'manager' } });
        await ok(t.app, 'POST', `/v1/pools/${pool}/deputies`, { token: manager.token, body: { email: deputy.email } });
        return { root: tree.root, pool, operator: tree.operator, manager, deputy };
      };
      A = await tenant('alpha');
      B = await tenant('bravo');
    });
    after(() => t.close());

    let members = 0;
    /** Adds and verifies a member of the tenant's pool: one mail to its manager and one to its deputy. */
    async function verify(x: Tenant) {
      const email = `member${++members}@${x.pool.slice(-6)}.test`;
      await person(t, email);
      const member = await ok(t.app, 'POST', `/v1/pools/${x.pool}/members`, { token: x.operator.token, body: { email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: x.operator.token });
      return email;
    }

    const notifier = (mailer: Mailer | null) => {
      const runner = new JobRunner(t.deps);
      registerNotificationJobs(runner, t.deps, { settings: { publicUrl: PUBLIC_URL }, mailer, from: FROM });
      return runner;
    };

    test('without SMTP, mail waits in the outbox: the operators see their tree’s, each person their own, another root nothing', async () => {
      const runner = notifier(null);
      const alpha = await verify(A);
      const bravo = await verify(B);
      await runner.drain();

      const all = await ok(t.app, 'GET', '/v1/outbox?status=pending', { token: t.superuser });
      assert.ok(all.data.length >= 4);
      const ofA = await ok(t.app, 'GET', '/v1/outbox', { token: A.operator.token });
      assert.deepEqual(ofA.data.map((m: any) => [m.to, m.status, m.event, m.subject]).sort(), [
        ['deputy@alpha.test', 'pending', 'member.verified', `[alpha vendor] ${alpha} was verified in alpha pool`],
        ['manager@alpha.test', 'pending', 'member.verified', `[alpha vendor] ${alpha} was verified in alpha pool`],
      ]);
      const message = ofA.data.find((m: any) => m.to === 'manager@alpha.test');
      assert.match(message.text, /was verified as a member of alpha pool/);
      assert.match(message.html, /^<!doctype html>/);
      assert.equal(message.attempts, 0);
      assert.equal(message.sentAt, null);

      // The manager sees what was sent to it, not what its deputy got; filters narrow.
      const mine = await ok(t.app, 'GET', '/v1/outbox', { token: A.manager.token });
      assert.deepEqual(mine.data.map((m: any) => m.to), ['manager@alpha.test']);
      assert.deepEqual((await ok(t.app, 'GET', `/v1/outbox?to=${encodeURIComponent('DEPUTY@alpha.test')}`, { token: A.operator.token })).data.map((m: any) => m.to), ['deputy@alpha.test']);
      assert.deepEqual((await ok(t.app, 'GET', '/v1/outbox?event=pool.opened', { token: A.operator.token })).data, []);
      assert.deepEqual((await ok(t.app, 'GET', '/v1/outbox?status=sent', { token: A.operator.token })).data, []);
      assert.equal((await ok(t.app, 'GET', `/v1/outbox/${message.id}`, { token: A.manager.token })).id, message.id);
      const deputysOwn = ofA.data.find((m: any) => m.to === 'deputy@alpha.test');
      assert.equal((await call(t.app, 'GET', `/v1/outbox/${deputysOwn.id}`, { token: A.manager.token })).status, 404);

      // Another root: none of A's mail, in the list or one by one; A's member of staff nothing of B's.
      const ofB = await ok(t.app, 'GET', '/v1/outbox', { token: B.operator.token });
      assert.ok(ofB.data.every((m: any) => m.rootId === B.root && m.subject.includes(bravo)));
      for (const url of [`/v1/outbox/${message.id}`]) assert.equal((await call(t.app, 'GET', url, { token: B.operator.token })).status, 404);
      assert.equal((await call(t.app, 'GET', `/v1/outbox?poolId=${A.pool}`, { token: B.operator.token })).status, 404);
      assert.deepEqual((await ok(t.app, 'GET', `/v1/outbox?to=${encodeURIComponent('manager@alpha.test')}`, { token: B.operator.token })).data, []);
      assert.equal((await call(t.app, 'POST', `/v1/outbox/${message.id}/retry`, { token: B.operator.token })).status, 404);
      assert.equal((await call(t.app, 'POST', `/v1/outbox/${message.id}/retry`, { token: A.manager.token })).status, 403, 'the recipient reads it, but retrying is the vendor’s');
      assert.equal((await call(t.app, 'POST', `/v1/outbox/${message.id}/retry`, { token: A.operator.token })).body.code, 'INVALID_TRANSITION', 'only a failed message is retried');

      // A process with SMTP sends what waited.
      const smtp = await startMailServer();
      const mailer = createMailer(smtp.url);
      try {
        await notifier(mailer).drain();
        assert.ok(smtp.received.some((m) => m.messageId === message.messageId && m.to.join() === 'manager@alpha.test'));
        assert.deepEqual((await ok(t.app, 'GET', '/v1/outbox?status=pending', { token: t.superuser })).data, []);
      } finally {
        mailer.close();
        await smtp.stop();
      }
    });

    test('SMTP down for a while: messages wait, then arrive once it is back — none lost, none doubled', async () => {
      const smtp = await startMailServer();
      const mailer = createMailer(smtp.url);
      const runner = notifier(mailer);
      try {
        await smtp.stop();
        const written: string[] = [];
        for (let i = 0; i < 5; i++) written.push(await verify(A));
        await runner.drain();
        assert.equal(smtp.received.length, 0);
        let pending = (await ok(t.app, 'GET', '/v1/outbox?status=pending', { token: A.operator.token })).data;
        assert.equal(pending.length, 10);
        assert.ok(pending.every((m: any) => m.attempts === 1 && /ECONNREFUSED|connect/i.test(m.lastError)), JSON.stringify(pending[0]));

        // Still down on the second try.
        t.clock.advance(31_000);
        await runner.drain();
        pending = (await ok(t.app, 'GET', '/v1/outbox?status=pending', { token: A.operator.token })).data;
        assert.ok(pending.every((m: any) => m.attempts === 2), 'tried again after the backoff');

        // Back on the same port; the retries come due.
        await smtp.start();
        await runner.drain();
        assert.equal(smtp.received.length, 0, 'nothing before its retry time');
        t.clock.advance(61_000);
        await runner.drain();
        assert.equal(smtp.received.length, 10);
        t.clock.advance(3_600_000);
        await runner.drain();
        assert.equal(smtp.received.length, 10, 'nothing sent twice');
        assert.ok([...smtp.countsByMessageId().values()].every((n) => n === 1));
        const sent = (await ok(t.app, 'GET', '/v1/outbox?status=sent', { token: A.operator.token })).data.filter((m: any) => written.some((w) => m.subject.includes(w)));
        assert.equal(sent.length, 10);
        assert.deepEqual(new Set(sent.map((m: any) => m.messageId)), new Set(smtp.received.map((m) => m.messageId)));
        assert.ok(sent.every((m: any) => m.attempts === 3 && m.lastError === null));
      } finally {
        mailer.close();
        await smtp.stop();
      }
    });

    test('a message that never gets through is a dead letter: visible as failed, and sent again on an operator’s request', async () => {
      const smtp = await startMailServer();
      const mailer = createMailer(smtp.url);
      const runner = notifier(mailer);
      try {
        await smtp.stop();
        const email = await verify(B);
        // Twenty attempts, two hours apart: longer than any backoff.
        for (let i = 0; i < 20; i++) {
          await runner.drain();
          t.clock.advance(2 * 3_600_000);
        }
        const failed = (await ok(t.app, 'GET', '/v1/outbox?status=failed', { token: B.operator.token })).data.filter((m: any) => m.subject.includes(email));
        assert.equal(failed.length, 2);
        assert.ok(failed.every((m: any) => m.attempts === 20 && m.lastError));
        const dead = await ok(t.app, 'GET', '/v1/jobs?status=dead&kind=mail.send', { token: t.superuser });
        assert.ok(failed.every((m: any) => dead.data.some((j: any) => j.payload.messageId === m.id)));

        await smtp.start();
        await runner.drain();
        assert.equal(smtp.received.length, 0, 'a dead letter waits for a decision');
        const retried = await ok(t.app, 'POST', `/v1/outbox/${failed[0].id}/retry`, { token: B.operator.token });
        assert.equal(retried.status, 'pending');
        await runner.drain();
        assert.deepEqual(smtp.received.map((m) => m.messageId), [failed[0].messageId]);
        assert.equal((await ok(t.app, 'GET', `/v1/outbox/${failed[0].id}`, { token: B.operator.token })).status, 'sent');
        assert.equal((await ok(t.app, 'GET', `/v1/outbox/${failed[1].id}`, { token: B.operator.token })).status, 'failed');
      } finally {
        mailer.close();
        await smtp.stop();
      }
    });
  });
}
