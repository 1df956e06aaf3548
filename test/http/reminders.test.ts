/**
 * N1 expiry reminders over real SMTP: the `reminders.scan` job, run by the job runner as the
 * clock moves, mails the six seed-003 notices of a license (a month, 15 days, 7 days and a day
 * before the end, the cut-off, the renewal reminder), each once, to the right people (N2), and
 * lists them on the license. Rules per pool and license (the nearest wins), no backlog for a
 * rule set late, and no double sends from a second runner or a restart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { registerSweeps } from '../../src/modules/jobs/jobs.sweeps.js';
import { JobRunner } from '../../src/modules/jobs/jobs.runner.js';
import { createMailer, type Mailer } from '../../src/modules/notifications/mail.transport.js';
import { registerNotificationJobs } from '../../src/modules/notifications/notifications.jobs.js';
import { registerReminderJobs, scanReminders } from '../../src/modules/notifications/reminders.scan.js';
import { backends, call, createTestApp, ok, person, resellerTree, type TestApp } from '../helpers.js';
import { startMailServer, type MailServer, type ReceivedMail } from '../mail-server.js';

const PUBLIC_URL = 'https://licenses.example.test';
const FROM = 'Licenses <no-reply@licenses.example.test>';
const HOUR = 3_600_000;

type Person = Awaited<ReturnType<typeof person>>;

for (const backend of backends()) {
  describe(`reminders: N1 expiry reminders over SMTP (${backend})`, () => {
    let t: TestApp;
    let smtp: MailServer;
    let mailer: Mailer;
    let runner: JobRunner;
    let operator: Person;
    let customer: string;
    let manager: Person;
    let tenant: Person;

    const newRunner = () => {
      const r = new JobRunner(t.deps);
      registerSweeps(r, t.deps);
      registerNotificationJobs(r, t.deps, { settings: { publicUrl: PUBLIC_URL }, mailer, from: FROM });
      registerReminderJobs(r, t.deps, { publicUrl: PUBLIC_URL });
      return r;
    };

    before(async () => {
      t = await createTestApp(backend);
      smtp = await startMailServer();
      mailer = createMailer(smtp.url);
      runner = newRunner();
      ({ operator, customer, manager } = await resellerTree(t, ['deputy@sunset.test']));
      tenant = await person(t, 'tenant@sunset.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${customer}/members`, { token: operator.token, body: { email: tenant.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: operator.token });
      await runner.drain();
      smtp.received.length = 0;
    });
    after(async () => {
      mailer.close();
      await smtp.stop();
      await t.close();
    });

    /** Moves the clock in steps of `stepMs` up to `until`, running the jobs due at each step; answers the mails with the instant they arrived. */
    async function walk(until: string, stepMs: number, r = runner) {
      const got: { at: string; mail: ReceivedMail }[] = [];
      const end = new Date(until).getTime();
      while (t.clock.now().getTime() < end) {
        t.clock.advance(Math.min(stepMs, end - t.clock.now().getTime()));
        const from = smtp.received.length;
        await r.drain();
        for (const mail of smtp.received.slice(from)) got.push({ at: t.clock.now().toISOString(), mail });
      }
      return got;
    }
    const reminderMails = (got: { at: string; mail: ReceivedMail }[]) =>
      got.filter((g) => /ends in|has ended|Renew license/.test(g.mail.subject));

    test('the six seed-003 notices over a license’s last 32 days: right days, subjects and recipients, each once, logged on the license', async () => {
      t.clock.set('2026-01-01T00:00:00Z');
      const license = await ok(t.app, 'POST', `/v1/pools/${customer}/licenses`, {
        token: operator.token,
        body: { name: 'Premium', limits: { seats: 10 }, validUntil: '2026-02-02T12:00:00Z' },
      });
      assert.equal(license.status, 'in_use');
      const rule = await ok(t.app, 'GET', `/v1/licenses/${license.id}/reminder-rule`, { token: manager.token });
      assert.deepEqual([rule.source.type, rule.offsets], ['default', [-30, -15, -7, -1, 0, 1]]);

      const got = reminderMails(await walk('2026-02-05T00:00:00Z', 6 * HOUR));
      const pool = ['deputy@sunset.test', 'manager@sunset.test', 'reseller@alpine.test'];
      const expected: [string, string, string[]][] = [
        ['2026-01-03T12:00:00.000Z', '[Acme] License Premium of Sunset Towers ends in 30 days', pool],
        ['2026-01-18T12:00:00.000Z', '[Acme] License Premium of Sunset Towers ends in 15 days', pool],
        ['2026-01-26T12:00:00.000Z', '[Acme] License Premium of Sunset Towers ends in 7 days', pool],
        ['2026-02-01T12:00:00.000Z', '[Acme] License Premium of Sunset Towers ends in 1 day', pool],
        // The cut-off is member-facing: the pool's verified members are told too.
        ['2026-02-02T12:00:00.000Z', '[Acme] License Premium of Sunset Towers has ended', [...pool, 'tenant@sunset.test'].sort()],
        ['2026-02-03T12:00:00.000Z', '[Acme] Renew license Premium of Sunset Towers', pool],
      ];
      const grouped = new Map<string, { at: string; subject: string; to: string[] }>();
      for (const { at, mail } of got) {
        const k = `${at} ${mail.subject}`;
        if (!grouped.has(k)) grouped.set(k, { at, subject: mail.subject, to: [] });
        grouped.get(k)!.to.push(...mail.to);
      }
      assert.deepEqual(
        [...grouped.values()].map((g) => [g.at, g.subject, g.to.sort()]),
        expected,
      );
      const renewal = got.find((g) => g.mail.subject.startsWith('[Acme] Renew'))!.mail;
      assert.match(renewal.text, /ended on 2026-02-02\. It can be renewed\./);

      // Logged on the license: 6 notices, 3 + 3 + 3 + 3 + 4 + 3 messages, all sent.
      const notes = await ok(t.app, 'GET', `/v1/licenses/${license.id}/notifications?limit=100`, { token: manager.token });
      const reminders = notes.data.filter((n: any) => n.event !== 'license.status_changed');
      assert.equal(reminders.length, 19);
      assert.ok(reminders.every((n: any) => n.status === 'sent'));
      assert.deepEqual(
        reminders.filter((n: any) => n.to === manager.email).map((n: any) => n.event).sort(),
        ['license.cut_off', 'license.expiring', 'license.expiring', 'license.expiring', 'license.expiring', 'license.renewal'],
      );

      // A restart (a new runner) and a second runner, days later and at once: nothing again.
      const second = newRunner();
      assert.deepEqual(reminderMails(await walk('2026-02-06T00:00:00Z', 6 * HOUR, second)), []);
      await Promise.all([runner.drain(), second.drain()]);
      assert.equal(await t.deps.db.transaction((tx) => scanReminders(tx, { publicUrl: PUBLIC_URL }, t.clock.now())), 0);
      const sent = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM reminders_sent WHERE license_id = ${license.id}`);
      assert.equal(sent[0]!.n, 6);
    });

    test('rules: a pool’s recurring rule, a license’s own offsets (the nearest wins); a rule set late mails no backlog; the same occurrence scanned twice goes once', async () => {
      t.clock.set('2026-03-01T00:00:00Z');
      const place = (name: string, validUntil: string) =>
        ok(t.app, 'POST', `/v1/pools/${customer}/licenses`, { token: operator.token, body: { name, limits: { seats: 1 }, validUntil } });
      const a = await place('Alpha', '2026-03-05T12:00:00Z');
      const b = await place('Bravo', '2026-03-05T12:00:00Z');
      // The pool's rule: daily from 3 days before; Bravo's own: only 2 days before and the cut-off.
      const poolRule = await ok(t.app, 'PUT', `/v1/pools/${customer}/reminder-rule`, { token: operator.token, body: { fromDays: 3, every: 'daily' } });
      assert.deepEqual(poolRule.offsets, [-3, -2, -1, 0, 1]);
      const own = await ok(t.app, 'PUT', `/v1/licenses/${b.id}/reminder-rule`, { token: operator.token, body: { offsets: [0, -2] } });
      assert.deepEqual([own.source, own.offsets], [{ type: 'license', id: b.id }, [-2, 0]]);
      const inherited = await ok(t.app, 'GET', `/v1/licenses/${a.id}/reminder-rule`, { token: manager.token });
      assert.deepEqual([inherited.source, inherited.own], [{ type: 'pool', id: customer }, null]);
      // Managers read rules; only operators set them.
      assert.equal((await call(t.app, 'PUT', `/v1/licenses/${a.id}/reminder-rule`, { token: manager.token, body: { offsets: [-1] } })).status, 403);
      assert.equal((await call(t.app, 'PUT', `/v1/pools/${customer}/reminder-rule`, { token: operator.token, body: { offsets: [-400] } })).status, 422);

      const got = reminderMails(await walk('2026-03-08T00:00:00Z', 6 * HOUR)).filter((g) => g.mail.to.includes(manager.email));
      assert.deepEqual(
        got.map((g) => [g.at.slice(0, 10), g.mail.subject.replace('[Acme] ', '')]).sort(([a, x], [b, y]) => a!.localeCompare(b!) || x!.localeCompare(y!)),
        [
          ['2026-03-02', 'License Alpha of Sunset Towers ends in 3 days'],
          ['2026-03-03', 'License Alpha of Sunset Towers ends in 2 days'],
          ['2026-03-03', 'License Bravo of Sunset Towers ends in 2 days'],
          ['2026-03-04', 'License Alpha of Sunset Towers ends in 1 day'],
          ['2026-03-05', 'License Alpha of Sunset Towers has ended'],
          ['2026-03-05', 'License Bravo of Sunset Towers has ended'],
          ['2026-03-06', 'Renew license Alpha of Sunset Towers'],
        ],
      );

      // Late: a license placed 10 days before its end gets no "30 days" or "15 days" notice, only what falls due from now on.
      const c = await place('Charlie', '2026-03-18T00:00:00Z');
      await ok(t.app, 'DELETE', `/v1/pools/${customer}/reminder-rule`, { token: operator.token });
      const late = reminderMails(await walk('2026-03-12T00:00:00Z', 6 * HOUR)).filter((g) => g.mail.to.includes(manager.email));
      assert.deepEqual(late.map((g) => [g.at, g.mail.subject]), [['2026-03-11T00:00:00.000Z', '[Acme] License Charlie of Sunset Towers ends in 7 days']]);
      assert.ok(c.id);
    });
  });
}
