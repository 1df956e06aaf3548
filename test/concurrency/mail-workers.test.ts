/**
 * N5 across processes: two server processes (real children, `src/main.ts`) on one PostgreSQL
 * database drain 2,000 queued mails into one SMTP server; every message arrives exactly once,
 * counted at the server by Message-ID, and both processes took part. Registered only with
 * TEST_DATABASE_URL (it needs a PostgreSQL server to share).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { pools } from '../../src/db/schema.js';
import { newId } from '../../src/lib/ids.js';
import { queueMail, type MailIntent } from '../../src/modules/notifications/mail.queue.js';
import { assertBothProcessesSent, startMailFleet, waitUntilMailJobsSettled, type MailFleet } from './mail-fleet.js';

const MAILS = 2_000;
/** Sending takes ~10 s alone on this machine; the rest is room for a loaded CI run. */
const DEADLINE_MS = 90_000;
const base = process.env.TEST_DATABASE_URL;

if (base) {
  describe('mail workers: two processes, one database, one SMTP server', () => {
    let fleet: MailFleet;
    before(async () => {
      fleet = await startMailFleet(base, 'lp_mail', 'workers.test');
    });
    after(() => fleet?.stop());

    test(`${MAILS} mails queued at once: each arrives exactly once, and both processes sent some`, async () => {
      const rootId = newId('pool');
      const now = new Date();
      const { database, smtp } = fleet;
      await database.db.insert(pools).values({
        id: rootId,
        rootId,
        parentId: null,
        path: [rootId],
        depth: 0,
        name: 'Workers vendor',
        kind: 'vendor',
        status: 'active',
        queue: { enabled: false, claimTimeoutSeconds: 300 },
        createdAt: now,
        updatedAt: now,
      });
      const intents: MailIntent[] = Array.from({ length: MAILS }, (_, i) => ({
        key: `workers-test:${i}`,
        event: 'member.verified',
        rootId,
        poolId: rootId,
        to: { email: `person${i}@workers.test`, name: `Person ${i}`, accountId: null },
        variables: { memberLabel: `member ${i}` },
      }));
      // One commit: the workers see all of them at once.
      const queued = await database.db.transaction((tx) => queueMail(tx, intents, { publicUrl: 'https://workers.test' }, now));
      assert.equal(queued.length, MAILS);

      await smtp.waitFor(MAILS, DEADLINE_MS);
      await waitUntilMailJobsSettled(fleet);
      assert.equal(smtp.received.length, MAILS, 'no message arrived twice');
      const counts = smtp.countsByMessageId();
      assert.equal(counts.size, MAILS);
      assert.deepEqual(new Set(counts.keys()), new Set(queued.map((m) => m.messageId)));
      for (const m of smtp.received) assert.match(m.subject, /^\[Workers vendor\] member \d+ was verified in Workers vendor$/);
      assert.deepEqual(
        new Set(smtp.received.map((m) => m.to.join())),
        new Set(intents.map((i) => i.to.email)),
        'every recipient got its own',
      );

      const statuses = await rowsOf<{ status: string; n: number }>(database.db, sql`SELECT status, count(*)::int AS n FROM outbox GROUP BY status`);
      assert.deepEqual(statuses, [{ status: 'sent', n: MAILS }]);
      await assertBothProcessesSent(fleet, MAILS);
    });
  });
}
