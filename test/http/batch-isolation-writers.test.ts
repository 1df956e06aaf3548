/**
 * Issue 12, batch isolation beyond the claim engine: every other place that writes many items in
 * one transaction — the member import, the reminder scan, the notify job — fails only the item
 * the database refuses, and writes every other.
 *
 * After input validation no item can carry data PostgreSQL refuses through the public API any
 * more (text with NUL or a lone surrogate is refused at the HTTP layer and where each batch is
 * built; a CSV body is decoded as UTF-8, which yields no lone surrogate). So the database is
 * made to refuse one item the way it refuses bad data: a CHECK constraint written in the test
 * setup (as an operator's rule, or data of another version, would), which fails that item's
 * INSERT with SQLSTATE 23514 inside the batch's transaction, exactly where a refused jsonb or
 * text value would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Executor } from '../../src/db/client.js';
import { rowsOf } from '../../src/db/client.js';
import type { AuditEventRow } from '../../src/modules/audit/audit.repo.js';
import { JobRunner } from '../../src/modules/jobs/jobs.runner.js';
import { NOTIFY_JOB, registerNotificationJobs } from '../../src/modules/notifications/notifications.jobs.js';
import { scanRemindersDetailed } from '../../src/modules/notifications/reminders.scan.js';
import { backends, call, childPool, createTestApp, csvBody, ok, person, resellerTree, type ResellerTree, type TestApp } from '../helpers.js';

const PUBLIC_URL = 'https://licenses.example.test';

for (const backend of backends()) {
  describe(`batch isolation of the other batched writers (${backend})`, () => {
    let t: TestApp;
    let tree: ResellerTree;
    /** A second customer of the same reseller, with a manager of its own. */
    let harbor: string;
    let harborManager: Awaited<ReturnType<typeof person>>;

    const count = async (query: ReturnType<typeof sql>) => Number((await rowsOf<{ n: number | string }>(t.deps.db, query))[0]!.n);
    /** Makes the database refuse rows of `table` matching `condition`, as it refuses bad data. */
    const refuse = (name: string, table: string, condition: string) =>
      t.deps.db.execute(sql.raw(`ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (NOT (${condition})) NOT VALID`));
    const allow = (name: string, table: string) => t.deps.db.execute(sql.raw(`ALTER TABLE ${table} DROP CONSTRAINT ${name}`));

    before(async () => {
      t = await createTestApp(backend);
      tree = await resellerTree(t, []);
      harbor = await childPool(t, tree.reseller.token, tree.distributor, { name: 'Harbor Flats', kind: 'building' });
      harborManager = await person(t, 'manager@harbor.test');
      await ok(t.app, 'POST', `/v1/pools/${harbor}/roles`, { token: tree.reseller.token, body: { email: harborManager.email, role: 'manager' } });
    });
    after(() => t.close());

    test('member import: a line the database refuses fails alone (CONSTRAINT_VIOLATED); atomic, it rejects the file naming that line', async () => {
      await refuse('no_poisoned_serial', 'devices', "serial = 'SN-POISON'");
      try {
        const csv = ['serial,type', 'SN-OK-1,WiDI', 'SN-OK-2,WiDI', 'SN-POISON,WiDI', 'SN-OK-3,WiDI', 'SN-OK-4,WiDI', ''].join('\n');
        const atomic = await call(t.app, 'POST', `/v1/pools/${harbor}/members/import?atomic=true`, { token: harborManager.token, body: csvBody(csv) });
        assert.equal(atomic.status, 422, JSON.stringify(atomic.body));
        assert.equal(atomic.body.code, 'IMPORT_REJECTED');
        assert.deepEqual(atomic.body.rows.map((r: any) => [r.line, r.code]), [[4, 'CONSTRAINT_VIOLATED']]);
        assert.equal(await count(sql`SELECT count(*) AS n FROM members WHERE pool_id = ${harbor}`), 0, 'all or nothing');

        const res = await call(t.app, 'POST', `/v1/pools/${harbor}/members/import`, { token: harborManager.token, body: csvBody(csv) });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(
          res.body.rows.map((r: any) => [r.line, r.status, r.code ?? null]),
          [[2, 'added', null], [3, 'added', null], [4, 'failed', 'CONSTRAINT_VIOLATED'], [5, 'added', null], [6, 'added', null]],
        );
        assert.equal(await count(sql`SELECT count(*) AS n FROM members WHERE pool_id = ${harbor}`), 4);
        assert.equal(await count(sql`SELECT count(*) AS n FROM audit_events WHERE action = 'member.added' AND pool_id = ${harbor}`), 4);
      } finally {
        await allow('no_poisoned_serial', 'devices');
      }
    });

    test("reminder scan: one license's notices the database refuses do not stop the others'; the next scan sends it", async () => {
      t.clock.set('2026-01-01T00:00:00Z');
      const make = (pool: string, name: string) =>
        ok(t.app, 'POST', `/v1/pools/${pool}/licenses`, { token: tree.operator.token, body: { name, limits: { seats: 1 }, validUntil: '2026-02-02T12:00:00Z' } });
      const licenses = [await make(tree.customer, 'Poisoned'), await make(harbor, 'Fine A'), await make(tree.customer, 'Fine B')];
      const poisoned = licenses[0].id as string;
      await refuse('no_poisoned_license_mail', 'outbox', `license_id = '${poisoned}'`);
      const logged: unknown[] = [];
      const log = Object.assign(Object.create(t.deps.log), { error: (obj: unknown) => logged.push(obj) });
      try {
        // The 30-days notice of all three is due.
        t.clock.set('2026-01-03T13:00:00Z');
        const scan = await t.deps.db.transaction((tx) => scanRemindersDetailed(tx, { publicUrl: PUBLIC_URL }, t.clock.now(), log));
        assert.equal(scan.sent, 2);
        const mailed = async () =>
          (await rowsOf<{ license_id: string }>(t.deps.db, sql`SELECT DISTINCT license_id FROM outbox WHERE event = 'license.expiring'`)).map((r) => r.license_id).sort();
        assert.deepEqual(await mailed(), [licenses[1].id, licenses[2].id].sort());
        assert.equal(await count(sql`SELECT count(*) AS n FROM reminders_sent WHERE license_id = ${poisoned}`), 0, 'not recorded: tried again');
        assert.match(JSON.stringify(logged), new RegExp(poisoned));
      } finally {
        await allow('no_poisoned_license_mail', 'outbox');
      }
      t.clock.set('2026-01-03T14:00:00Z');
      const again = await t.deps.db.transaction((tx) => scanRemindersDetailed(tx, { publicUrl: PUBLIC_URL }, t.clock.now()));
      assert.equal(again.sent, 1);
      assert.equal(await count(sql`SELECT count(*) AS n FROM outbox WHERE license_id = ${poisoned}`), 2, 'its notice, to the manager and the reseller');
    });

    test('notify job: a consumer the database refuses fails alone, as a job of its own; the other consumers and events go on', async () => {
      t.clock.set('2026-01-10T00:00:00Z');
      // A second consumer beside the mail one: it notes every event it is given.
      await t.deps.db.execute(sql`CREATE TABLE consumed_events (event_id text PRIMARY KEY)`);
      const noteEvent = async function noteEvent(tx: Executor, event: AuditEventRow) {
        await tx.execute(sql`INSERT INTO consumed_events VALUES (${event.id}) ON CONFLICT DO NOTHING`);
      };
      const runner = new JobRunner(t.deps);
      registerNotificationJobs(runner, t.deps, { settings: { publicUrl: PUBLIC_URL }, mailer: null, from: 'no-reply@example.test', consumers: { noteEvent } });
      await runner.drain();

      const poisonedLicense = await ok(t.app, 'POST', `/v1/pools/${tree.customer}/licenses`, { token: tree.operator.token, body: { name: 'Sunset', limits: { seats: 1 } } });
      const fineLicense = await ok(t.app, 'POST', `/v1/pools/${harbor}/licenses`, { token: tree.operator.token, body: { name: 'Harbor', limits: { seats: 1 } } });
      // Mail to Sunset's manager is refused: the mail consumer of an event telling him fails.
      await refuse('no_mail_to_sunset', 'outbox', "to_email = 'manager@sunset.test'");
      const statusEvent = async (licenseId: string) =>
        (await rowsOf<{ id: string }>(t.deps.db, sql`SELECT e.id FROM audit_events e WHERE e.license_id = ${licenseId} AND e.id IN (SELECT payload->>'eventId' FROM jobs WHERE kind = ${NOTIFY_JOB}) ORDER BY e.id DESC LIMIT 1`))[0]!.id;
      try {
        await ok(t.app, 'POST', `/v1/licenses/${poisonedLicense.id}/suspend`, { token: tree.operator.token });
        await ok(t.app, 'POST', `/v1/licenses/${fineLicense.id}/suspend`, { token: tree.operator.token });
        const [poisonedEvent, fineEvent] = [await statusEvent(poisonedLicense.id), await statusEvent(fineLicense.id)];
        await runner.drain();

        assert.equal(await count(sql`SELECT count(*) AS n FROM consumed_events WHERE event_id IN (${poisonedEvent}, ${fineEvent})`), 2, 'the other consumer had both events');
        const mailTo = async (eventId: string) =>
          (await rowsOf<{ to_email: string }>(t.deps.db, sql`SELECT to_email FROM outbox WHERE source_event_id = ${eventId} ORDER BY to_email`)).map((r) => r.to_email);
        assert.deepEqual(await mailTo(fineEvent), ['manager@harbor.test', 'reseller@alpine.test'], 'the other event was mailed');
        assert.deepEqual(await mailTo(poisonedEvent), []);
        const jobs = await rowsOf<{ status: string; payload: { eventId: string; consumer?: string }; last_error: string | null }>(
          t.deps.db,
          sql`SELECT status, payload, last_error FROM jobs WHERE kind = ${NOTIFY_JOB} AND payload->>'eventId' IN (${poisonedEvent}, ${fineEvent}) ORDER BY created_at, id`,
        );
        assert.deepEqual(
          jobs.map((j) => [j.payload.eventId, j.payload.consumer ?? null, j.status]),
          [
            [poisonedEvent, null, 'done'],
            [fineEvent, null, 'done'],
            [poisonedEvent, 'mail', 'queued'],
          ],
        );
        assert.ok(jobs[2]!.last_error, 'the mail consumer’s own job failed, and waits to be retried');
      } finally {
        await allow('no_mail_to_sunset', 'outbox');
      }
      // Its retry, once the database takes the mail: sent to everyone the event concerns.
      t.clock.advance(3_600_000);
      await runner.drain();
      const poisonedEvent = await statusEvent(poisonedLicense.id);
      assert.equal(await count(sql`SELECT count(*) AS n FROM outbox WHERE source_event_id = ${poisonedEvent}`), 2);
      assert.equal(await count(sql`SELECT count(*) AS n FROM jobs WHERE kind = ${NOTIFY_JOB} AND status <> 'done'`), 0);
    });
  });
}
