/**
 * N1 across processes: two server processes (real children, `src/main.ts`, each running the
 * `reminders.scan` schedule and the mail workers) on one PostgreSQL database, 10,000 licenses
 * whose "7 days" notice is due at once: every notice arrives exactly once at the SMTP server,
 * counted by Message-ID and by (license, recipient). Registered only with TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../src/db/client.js';
import { newId } from '../../src/lib/ids.js';
import { assertBothProcessesSent, startMailFleet, waitUntilMailJobsSettled, type MailFleet } from './mail-fleet.js';

const LICENSES = 10_000;
const POOLS = 100;
const DEADLINE_MS = 240_000;
const base = process.env.TEST_DATABASE_URL;

if (base) {
  describe('reminder workers: two processes, 10,000 licenses due at once', () => {
    let fleet: MailFleet;
    before(async () => {
      // The data first: the first scan of either process finds every notice due.
      fleet = await startMailFleet(base, 'lp_rem', 'reminders.test', seed);
    });
    after(() => fleet?.stop());

    test(`${LICENSES} "7 days" notices due at once: each arrives exactly once, both processes sent`, async () => {
      const { database, smtp } = fleet;
      await smtp.waitFor(LICENSES, DEADLINE_MS);
      await waitUntilMailJobsSettled(fleet);
      assert.equal(smtp.received.length, LICENSES, 'no notice arrived twice');
      assert.equal(smtp.countsByMessageId().size, LICENSES);
      const pairs = new Set(smtp.received.map((m) => `${m.headers.get('x-licensepool-message')} ${m.subject} ${m.to.join()}`));
      assert.equal(pairs.size, LICENSES);
      const subjects = new Set(smtp.received.map((m) => m.subject));
      assert.equal(subjects.size, LICENSES, 'one notice per license');
      for (const s of subjects) assert.match(s, /^\[Reminders vendor\] License L\d+ of Site \d+ ends in 7 days$/);

      const sent = await rowsOf<{ n: number; offsets: number[] }>(database.db, sql`SELECT count(*)::int AS n, array_agg(DISTINCT offset_days) AS offsets FROM reminders_sent`);
      assert.deepEqual([sent[0]!.n, sent[0]!.offsets], [LICENSES, [-7]]);
      await assertBothProcessesSent(fleet, LICENSES);
    });
  });
}

/** A vendor with 100 sites, a manager each, and 10,000 licenses whose "7 days" notice is due now. */
async function seed(database: Database): Promise<void> {
  const root = newId('pool');
  const pools = Array.from({ length: POOLS }, () => newId('pool'));
  const siteIds = sql.raw(`ARRAY[${pools.map((p) => `'${p}'`).join(',')}]`);
  const end = new Date(Date.now() + 7 * 86_400_000 - 60_000).toISOString();
  await database.db.execute(sql`INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, queue)
    VALUES (${root}, ${root}, NULL, ARRAY[${root}]::text[], 0, 'Reminders vendor', 'vendor', 'active', '{"enabled": false, "claimTimeoutSeconds": 300}')`);
  await database.db.execute(sql`INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, queue)
    SELECT u.id, ${root}, ${root}, ARRAY[${root}, u.id]::text[], 1, 'Site ' || u.i, 'site', 'active', '{"enabled": false, "claimTimeoutSeconds": 300}'
    FROM unnest(${siteIds}::text[]) WITH ORDINALITY AS u(id, i)`);
  await database.db.execute(sql`INSERT INTO accounts (id, email, name, password_hash)
    SELECT 'acc_rem' || i, 'manager' || i || '@reminders.test', 'Manager ' || i, 'x' FROM generate_series(1, ${POOLS}::int) i`);
  await database.db.execute(sql`INSERT INTO role_bindings (id, account_id, pool_id, role)
    SELECT 'rb_rem' || i, 'acc_rem' || i, (${siteIds}::text[])[i], 'manager' FROM generate_series(1, ${POOLS}::int) i`);
  await database.db.execute(sql`INSERT INTO licenses (id, root_id, pool_id, name, status, limits, features, valid_until)
    SELECT 'lic_rem' || lpad(g::text, 6, '0'), ${root}, (${siteIds}::text[])[1 + g % ${POOLS}::int],
           'L' || g, 'in_use', '{}'::jsonb, ARRAY[]::text[], ${end}::timestamptz
    FROM generate_series(0, ${LICENSES}::int - 1) g`);
}
