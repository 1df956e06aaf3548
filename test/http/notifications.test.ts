/**
 * N4 over real SMTP: the events that notify, through the audit trigger, the `notify` job, the
 * outbox and the `mail.send` job, into a real SMTP server on a loopback port; each mail with the
 * right subject and recipients (N2), once. And N3: a root's own templates, checked, escaped,
 * previewed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { SYSTEM_ACTOR } from '../../src/lib/context.js';
import { insertAuditEvent } from '../../src/modules/audit/audit.repo.js';
import { JobRunner } from '../../src/modules/jobs/jobs.runner.js';
import { expireLicenses } from '../../src/modules/licenses/licenses.service.js';
import { mailEvent, NOTIFYING_ACTIONS } from '../../src/modules/notifications/events.js';
import { createMailer, type Mailer } from '../../src/modules/notifications/mail.transport.js';
import { findAuditEvent } from '../../src/modules/notifications/notifications.repo.js';
import { registerNotificationJobs } from '../../src/modules/notifications/notifications.jobs.js';
import { TEMPLATE_EVENTS } from '../../src/modules/notifications/templates.catalog.js';
import { backends, call, childPool, createTestApp, ok, person, resellerTree, vendor, type TestApp } from '../helpers.js';
import { startMailServer, type MailServer } from '../mail-server.js';

const PUBLIC_URL = 'https://licenses.example.test';
const FROM = 'Licenses <no-reply@licenses.example.test>';
const ADDRESS = { line1: 'Harbour Road 1', postalCode: '8000', city: 'Zurich', country: 'CH' };

type Person = Awaited<ReturnType<typeof person>>;

for (const backend of backends()) {
  describe(`notifications: N4 events mailed over SMTP (${backend})`, () => {
    let t: TestApp;
    let smtp: MailServer;
    let mailer: Mailer;
    let runner: JobRunner;
    let root: string;
    let operator: Person;
    let distributor: string;
    let reseller: Person;
    let customer: string;
    let manager: Person;

    before(async () => {
      t = await createTestApp(backend);
      smtp = await startMailServer();
      mailer = createMailer(smtp.url);
      runner = new JobRunner(t.deps);
      registerNotificationJobs(runner, t.deps, { settings: { publicUrl: PUBLIC_URL }, mailer, from: FROM });

      ({ root, operator, distributor, reseller, customer, manager } = await resellerTree(t, ['deputy.one@sunset.test', 'deputy.two@sunset.test']));
      // Whatever setting up the tree mailed is not what the tests look at.
      await runner.drain();
      smtp.received.length = 0;
    });
    after(async () => {
      mailer.close();
      await smtp.stop();
      await t.close();
    });

    /** Runs the jobs due, and answers the mails that arrived meanwhile. */
    async function deliver() {
      const from = smtp.received.length;
      await runner.drain();
      return smtp.received.slice(from);
    }
    const byRecipient = (mails: { to: string[]; subject: string }[]) =>
      mails.map((m) => [m.to.join(','), m.subject] as const).sort(([a, x], [b, y]) => a.localeCompare(b) || x.localeCompare(y));

    async function verifiedMember(poolId: string, email: string) {
      const who = await person(t, email);
      const member = await ok(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: operator.token, body: { email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: operator.token });
      return { ...who, memberId: member.id as string };
    }

    test('member verified: the pool’s manager and deputies get one mail each [000], nobody else', async () => {
      const who = await person(t, 'tenant@sunset.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${customer}/members`, { token: operator.token, body: { email: who.email } });
      assert.deepEqual(await deliver(), [], 'adding a member mails nobody');
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: operator.token });
      const mails = await deliver();
      const subject = '[Acme] tenant@sunset.test was verified in Sunset Towers';
      assert.deepEqual(byRecipient(mails), [
        ['deputy.one@sunset.test', subject],
        ['deputy.two@sunset.test', subject],
        ['manager@sunset.test', subject],
      ]);
      for (const m of mails) {
        assert.equal(m.from, 'no-reply@licenses.example.test');
        assert.match(m.text, /^Hello [\w.]+,\n\ntenant@sunset\.test was verified as a member of Sunset Towers and may now use its licenses\./);
        assert.match(m.html, /<strong>tenant@sunset\.test<\/strong> was verified as a member of Sunset Towers/);
        assert.match(m.messageId, /^<msg_[0-9a-z]{26}@licenses\.example\.test>$/);
      }
      // The outbox has them, sent, with the Message-ID that went out.
      const outbox = await ok(t.app, 'GET', `/v1/outbox?event=member.verified&poolId=${customer}`, { token: operator.token });
      assert.deepEqual(outbox.data.map((m: any) => [m.to, m.status, m.attempts, m.memberId]).sort(), [
        ['deputy.one@sunset.test', 'sent', 1, member.id],
        ['deputy.two@sunset.test', 'sent', 1, member.id],
        ['manager@sunset.test', 'sent', 1, member.id],
      ]);
      assert.deepEqual(outbox.data.map((m: any) => m.messageId).sort(), mails.map((m) => m.messageId).sort());
      assert.deepEqual(await deliver(), [], 'nothing goes out twice');
    });

    test('applications: received to the parent’s admins and the vendor; approved and pool opened to applicant and manager; rejected with its reason', async () => {
      // The reseller applies for its customer, under its own pool.
      const applicant = reseller;
      const harborManager = await person(t, 'manager@harbor.test');
      const apply = (company: string) =>
        ok(t.app, 'POST', '/v1/applications', {
          token: applicant.token,
          body: { parentId: distributor, company, contactName: 'Hanna Berg', address: ADDRESS, email: 'office@harbor.test', phone: '+41 44 000 00 00', managerEmail: harborManager.email },
        });
      const first = await apply('Harbor Flats');
      assert.deepEqual(byRecipient(await deliver()), [
        [operator.email, '[Acme] New application from Harbor Flats'],
        ['reseller@alpine.test', '[Acme] New application from Harbor Flats'],
      ]);

      await ok(t.app, 'POST', `/v1/applications/${first.id}/approve`, { token: reseller.token });
      assert.deepEqual(byRecipient(await deliver()), [
        ['manager@harbor.test', '[Acme] Harbor Flats is open: complete its set-up'],
        ['manager@harbor.test', '[Acme] Your application for Harbor Flats was approved'],
        ['reseller@alpine.test', '[Acme] Your application for Harbor Flats was approved'],
      ]);

      const second = await apply('Harbor Lofts');
      await deliver();
      await ok(t.app, 'POST', `/v1/applications/${second.id}/reject`, { token: operator.token, body: { reason: 'We serve no lofts.' } });
      const rejected = await deliver();
      assert.deepEqual(byRecipient(rejected), [
        ['manager@harbor.test', '[Acme] Your application for Harbor Lofts was rejected'],
        ['reseller@alpine.test', '[Acme] Your application for Harbor Lofts was rejected'],
      ]);
      for (const m of rejected) assert.match(m.text, /Reason: We serve no lofts\./);
    });

    test('license status changed: to the manager, the deputies and the parent’s admins — unless the root turns the admins off; listed on the license', async () => {
      const license = await ok(t.app, 'POST', `/v1/pools/${customer}/licenses`, {
        token: operator.token,
        body: { name: 'Premium', limits: { seats: 10 }, validUntil: '2026-06-30T00:00:00Z' },
      });
      assert.deepEqual(await deliver(), [], 'placing a license is no status change');
      await ok(t.app, 'POST', `/v1/licenses/${license.id}/suspend`, { token: operator.token });
      const subject = '[Acme] License Premium of Sunset Towers: Access denied';
      assert.deepEqual(byRecipient(await deliver()), [
        ['deputy.one@sunset.test', subject],
        ['deputy.two@sunset.test', subject],
        ['manager@sunset.test', subject],
        ['reseller@alpine.test', subject],
      ]);

      const settings = await ok(t.app, 'PATCH', `/v1/pools/${root}/notification-settings`, { token: operator.token, body: { notifyParentAdmins: false } });
      assert.equal(settings.notifyParentAdmins, false);
      await ok(t.app, 'POST', `/v1/licenses/${license.id}/resume`, { token: operator.token });
      const resumed = await deliver();
      assert.deepEqual(byRecipient(resumed).map(([to]) => to), ['deputy.one@sunset.test', 'deputy.two@sunset.test', 'manager@sunset.test']);
      assert.match(resumed[0]!.text, /changed from "Access denied" to "In use"\.\nIt ends on 2026-06-30\./);
      await ok(t.app, 'PATCH', `/v1/pools/${root}/notification-settings`, { token: operator.token, body: { notifyParentAdmins: true } });

      // The clock passes the end: the expiry sweep records it, and that is mailed too.
      t.clock.set('2026-07-01T00:00:00Z');
      assert.equal(await expireLicenses(t.deps), 1);
      assert.ok(byRecipient(await deliver()).every(([, s]) => s === '[Acme] License Premium of Sunset Towers: Expired'));

      const notes = await ok(t.app, 'GET', `/v1/licenses/${license.id}/notifications`, { token: manager.token });
      assert.deepEqual(
        notes.data.map((n: any) => [n.event, n.status, n.to]).filter(([, , to]: string[]) => to === manager.email),
        [
          ['license.status_changed', 'sent', manager.email],
          ['license.status_changed', 'sent', manager.email],
          ['license.status_changed', 'sent', manager.email],
        ],
      );
      assert.equal(notes.data.length, 4 + 3 + 4);
      const stranger = await vendor(t, { name: 'Other' });
      assert.equal((await call(t.app, 'GET', `/v1/licenses/${license.id}/notifications`, { token: stranger.operator.token })).status, 404);
      t.clock.set('2026-01-01T00:00:00Z');
    });

    test('queue hold granted: the member is told; no more licenses: managers and the vendor, at most once an hour per pool and meter', async () => {
      const office = await childPool(t, reseller.token, distributor, { name: 'Office', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${office}/roles`, { token: reseller.token, body: { email: manager.email, role: 'manager' } });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: operator.token, body: { limits: { seats: 1 } } });
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: operator.token, body: { queue: { enabled: true, claimTimeoutSeconds: 300 } } });
      const ann = await verifiedMember(office, 'ann@office.test');
      const ben = await verifiedMember(office, 'ben@office.test');
      await deliver();

      const limitMails = async (events: number) => {
        // The limit notice is written after the claim is answered: wait for its event.
        for (let i = 0; i < 200; i++) {
          const [row] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM audit_events WHERE action = 'pool.limit_reached' AND pool_id = ${office}`);
          if (row!.n >= events) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        return deliver();
      };

      const held = await ok(t.app, 'POST', '/v1/claims', { token: ann.token, body: { memberId: ann.memberId, meter: 'seats', kind: 'assignment' } });
      const queued = await call(t.app, 'POST', '/v1/claims', { token: ben.token, body: { memberId: ben.memberId, meter: 'seats', ttlSeconds: 86_400, queue: true } });
      assert.equal(queued.status, 202);
      const subject = '[Acme] No more seats licenses in Office';
      assert.deepEqual(byRecipient(await limitMails(1)), [
        ['manager@sunset.test', subject],
        [operator.email, subject],
        ['reseller@alpine.test', subject],
      ]);
      // More refusals within the hour: no more mail.
      for (let i = 0; i < 3; i++) {
        const refused = await call(t.app, 'POST', '/v1/claims', { token: ann.token, body: { memberId: ann.memberId, meter: 'seats', kind: 'assignment' } });
        assert.equal(refused.status, 409);
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await deliver(), []);

      // Ann gives her seat back: Ben's ticket holds it, and Ben is told.
      await ok(t.app, 'DELETE', `/v1/claims/${held.id}`, { token: ann.token });
      const ticket = await ok(t.app, 'GET', `/v1/tickets/${queued.body.ticket.id}`, { token: ben.token });
      assert.equal(ticket.status, 'held');
      const told = await deliver();
      assert.deepEqual(byRecipient(told), [['ben@office.test', `[Acme] Your seats license is ready until ${ticket.heldUntil}`]]);
      assert.match(told[0]!.text, new RegExp(`Ticket: ${ticket.id}`));
      await ok(t.app, 'POST', `/v1/tickets/${ticket.id}/claim`, { token: ben.token });

      // An hour on, the pool still full: one more notice.
      t.clock.advance(61 * 60_000);
      const refused = await call(t.app, 'POST', '/v1/claims', { token: ann.token, body: { memberId: ann.memberId, meter: 'seats', kind: 'assignment' } });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal((await limitMails(2)).length, 3, 'a second notice after the hour');
      t.clock.set('2026-01-01T00:00:00Z');
    });

    test('the notify job writes each event’s mail once, however often it runs; the trigger and the code list the same actions', async () => {
      const [event] = await rowsOf<{ id: string }>(t.deps.db, sql`SELECT id FROM audit_events WHERE action = 'member.verified' ORDER BY id LIMIT 1`);
      const row = (await findAuditEvent(t.deps.db, event!.id))!;
      const again = await t.deps.db.transaction((tx) => mailEvent(tx, row, { publicUrl: PUBLIC_URL }, t.clock.now()));
      assert.equal(again, 0, 'a rerun writes nothing');
      const [jobs] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM jobs WHERE kind = 'notify' AND payload->>'eventId' = ${row.id}`);
      assert.equal(jobs!.n, 1, 'one notify job per event');

      const others = ['member.added', 'member.rejected', 'license.created', 'license.updated', 'pool.created', 'role.granted', 'ticket.created', 'ticket.lapsed', 'ticket.claimed', 'message.retried'];
      const judged = await rowsOf<{ action: string; notifies: boolean }>(
        t.deps.db,
        sql`SELECT a AS action, licensepool_notifying_action(a) AS notifies FROM unnest(${sql.raw(`ARRAY[${[...NOTIFYING_ACTIONS, ...others].map((a) => `'${a}'`).join(',')}]`)}::text[]) a`,
      );
      assert.deepEqual(judged.filter((j) => j.notifies).map((j) => j.action).sort(), [...NOTIFYING_ACTIONS].sort());

      // An event in a transaction that rolls back leaves no job behind.
      await t.deps.db
        .transaction(async (tx) => {
          await insertAuditEvent(tx, SYSTEM_ACTOR, t.clock.now(), { action: 'member.verified', entityType: 'member', entityId: 'mem_x', poolId: customer, rootId: root });
          throw new Error('roll back');
        })
        .catch(() => undefined);
      const [left] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM jobs WHERE status = 'queued'`);
      assert.equal(left!.n, 0);
    });

    test('templates (N3): defaults for every event; a root’s own version is checked, escapes HTML, previews, is used and can be reset', async () => {
      const list = await ok(t.app, 'GET', `/v1/pools/${root}/templates`, { token: operator.token });
      assert.deepEqual(list.data.map((x: any) => x.event), [...TEMPLATE_EVENTS]);
      assert.ok(list.data.every((x: any) => x.custom === false && x.subject && x.text && x.html.startsWith('<!doctype html>')));
      assert.ok(list.data.find((x: any) => x.event === 'license.expiring').variables.some((v: any) => v.name === 'daysLeft'));

      const url = `/v1/pools/${root}/templates/member.verified`;
      const bad = await call(t.app, 'PUT', url, { token: operator.token, body: { subject: 'Hi {{nope}}', text: '{{#memberLabel}}x', html: '<p>{{{poolName}}}</p>' } });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.errors.map((e: any) => e.path), ['body.subject', 'body.text', 'body.html']);
      assert.equal((await call(t.app, 'PUT', `/v1/pools/${root}/templates/no.such.event`, { token: operator.token, body: { subject: 'x', text: 'x', html: 'x' } })).status, 404);
      assert.equal((await call(t.app, 'PUT', url.replace(root, customer), { token: operator.token, body: { subject: 'x', text: 'x', html: 'x' } })).body.code, 'NOT_A_ROOT');
      assert.equal((await call(t.app, 'PUT', url, { token: manager.token, body: { subject: 'x', text: 'x', html: 'x' } })).status, 404, 'a manager cannot see the root');
      assert.equal((await call(t.app, 'GET', url, { token: reseller.token })).status, 404, 'nor can a reseller');

      const mine = { subject: 'Welcome {{memberLabel}} to {{poolName}}', text: 'Verified: {{memberLabel}} in {{poolName}}.', html: '<p>Verified: <b>{{memberLabel}}</b> in {{poolName}}</p>' };
      const saved = await ok(t.app, 'PUT', url, { token: operator.token, body: mine });
      assert.deepEqual([saved.custom, saved.subject], [true, mine.subject]);

      const preview = await ok(t.app, 'POST', `${url}/preview`, { token: operator.token, body: { variables: { poolName: 'Tom & Jerry <Flats>' } } });
      assert.equal(preview.subject, 'Welcome tenant@example.com to Tom & Jerry <Flats>');
      assert.equal(preview.text, 'Verified: tenant@example.com in Tom & Jerry <Flats>.');
      assert.equal(preview.html, '<p>Verified: <b>tenant@example.com</b> in Tom &amp; Jerry &lt;Flats&gt;</p>');
      const unsaved = await ok(t.app, 'POST', `${url}/preview`, { token: operator.token, body: { subject: 'Try {{poolName}}' } });
      assert.equal(unsaved.subject, 'Try Sunset Towers');
      assert.equal((await call(t.app, 'POST', `${url}/preview`, { token: operator.token, body: { variables: { secret: 'x' } } })).status, 422);

      // The pool's name is its customer's to choose: in the HTML part it can inject nothing.
      const flats = await childPool(t, reseller.token, distributor, { name: 'Tom & Jerry <Flats>' });
      await ok(t.app, 'POST', `/v1/pools/${flats}/roles`, { token: reseller.token, body: { email: manager.email, role: 'manager' } });
      await verifiedMember(flats, 'jerry@flats.test');
      const [mail] = await deliver();
      assert.equal(mail!.subject, 'Welcome jerry@flats.test to Tom & Jerry <Flats>');
      const message = (await ok(t.app, 'GET', `/v1/outbox?poolId=${flats}&event=member.verified`, { token: operator.token })).data[0];
      assert.equal(message.text, 'Verified: jerry@flats.test in Tom & Jerry <Flats>.');
      assert.equal(message.html, '<p>Verified: <b>jerry@flats.test</b> in Tom &amp; Jerry &lt;Flats&gt;</p>');

      const reset = await ok(t.app, 'DELETE', url, { token: operator.token });
      assert.equal(reset.custom, false);
      assert.equal(reset.subject, '[{{rootName}}] {{memberLabel}} was verified in {{poolName}}');
    });
  });
}
