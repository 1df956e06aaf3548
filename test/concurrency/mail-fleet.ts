/**
 * Two real server processes on a scratch PostgreSQL database, sending through one loopback SMTP
 * server: the setting of the exactly-once mail tests.
 */
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf, type Database } from '../../src/db/client.js';
import { startMailServer, type MailServer } from '../mail-server.js';
import { createScratchDatabase, startServer, type ScratchDatabase, type ServerProcess } from './fleet.js';

export interface MailFleet {
  database: Database;
  smtp: MailServer;
  servers: ServerProcess[];
  stop(): Promise<void>;
}

/**
 * Migrates a scratch database, lets `seed` fill it, then starts two servers that send mail as
 * `no-reply@{domain}`; the first creates the superuser, the second starts beside it.
 */
export async function startMailFleet(base: string, prefix: string, domain: string, seed: (database: Database) => Promise<void> = async () => {}): Promise<MailFleet> {
  let scratch: ScratchDatabase | undefined;
  let database: Database | undefined;
  let smtp: MailServer | undefined;
  const servers: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await smtp?.stop();
    await database?.close();
    await scratch?.drop();
  };
  try {
    scratch = await createScratchDatabase(base, prefix);
    database = await openDatabase({ driver: 'postgres', url: scratch.url, poolSize: 4 });
    await database.migrate();
    smtp = await startMailServer();
    await seed(database);
    const env = {
      DATABASE_URL: scratch.url,
      SMTP_URL: smtp.url,
      MAIL_FROM: `no-reply@${domain}`,
      LICENSEPOOL_ADMIN_EMAIL: `admin@${domain}`,
      LICENSEPOOL_ADMIN_PASSWORD: `${domain} admin password`,
      LOG_LEVEL: 'warn',
    };
    servers.push(await startServer({ env }));
    servers.push(await startServer({ env }));
    return { database, smtp, servers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every mail job done, `total` in all, by both processes, and nothing logged as an error. */
export async function assertBothProcessesSent(fleet: MailFleet, total: number): Promise<void> {
  const byWorker = await rowsOf<{ worker: string; n: number }>(
    fleet.database.db,
    sql`SELECT locked_by AS worker, count(*)::int AS n FROM jobs WHERE kind = 'mail.send' AND status = 'done' GROUP BY locked_by`,
  );
  assert.equal(byWorker.reduce((s, w) => s + w.n, 0), total);
  assert.equal(byWorker.length, 2, `both processes sent: ${JSON.stringify(byWorker)}`);
  for (const s of fleet.servers) assert.deepEqual(s.errors, [], 'no errors logged');
}

/**
 * Waits until no mail job is queued or running. A job is done only after the SMTP server
 * accepted its message, and the test server records a message before accepting it, so from then
 * on every send there was has arrived: a message sent twice would be counted now.
 */
export async function waitUntilMailJobsSettled(fleet: MailFleet, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [open] = await rowsOf<{ n: number }>(fleet.database.db, sql`SELECT count(*)::int AS n FROM jobs WHERE kind = 'mail.send' AND status IN ('queued', 'running')`);
    if (open!.n === 0) return;
    if (Date.now() > until) throw new Error(`${open!.n} mail jobs still queued or running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
