import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { systemClock } from './lib/clock.js';
import type { Deps } from './lib/context.js';
import { loadSecretKeys } from './lib/secret-keys.js';

/** How often a process gives back the units of leases, borrows and queue holds that have run out, and serves the queues. */
const CLAIM_SWEEP_MS = 1_000;

export async function serve(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.logLevel });
  const { keys: secretKeys, created: secretKeyFile } = await loadSecretKeys({
    secretKey: config.secretKey,
    previousSecretKey: config.previousSecretKey,
    dataDir: config.databaseUrl ? null : config.dataDir,
  });
  // Refused before anything else: signing keys written now could not be read by the other replicas.
  if (secretKeys.problem) throw new Error(secretKeys.problem);
  // The database opens while the rest of the server's modules load: PGlite's start (reading and
  // compiling its WebAssembly, then PostgreSQL's own start) and the module loading each wait on
  // files and background compilation, so on two cores they overlap (README, "Start-up"). Only
  // what the code above needs is imported statically.
  const [database, server] = await Promise.all([
    openDatabase(
      config.databaseUrl ? { driver: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize } : { driver: 'pglite', dataDir: config.dataDir },
    ),
    import('./server-modules.js'),
  ]);
  const { AuthCache, sealClearTextSigningKeys, unreadableSigningKeys, ensureFirstSuperuser, JobRunner, registerSweeps } = server;
  const { registerNotificationJobs, recordWebhookDeliveries, registerWebhookJobs, registerReminderJobs, buildApp, sweepExpiredClaims, serveQueues, followConnections } = server;
  await database.migrate();
  const authCache = await AuthCache.follow(database);
  const deps: Deps = { db: database.db, clock: systemClock, log, authCache, secretKeys };
  const sealed = await sealClearTextSigningKeys(deps);
  if (sealed > 0) log.info({ sealed }, 'signing keys stored in clear text are now encrypted under the secret key');
  const unreadable = await unreadableSigningKeys(deps);
  for (const k of unreadable) log.error(k, 'this signing key is encrypted under another secret key: signing for its root fails until LICENSEPOOL_SECRET_KEY is that key, or the root rotates its signing key');

  const first = await ensureFirstSuperuser(deps, config.adminEmail, config.adminPassword);
  // Background jobs (docs/notifications.md): sweeps, the notify jobs the audit trigger
  // enqueues, mail, which needs SMTP_URL (without it, mail waits in the outbox), and webhooks.
  const runner = new JobRunner(deps, { concurrency: config.jobConcurrency });
  // nodemailer is loaded only when there is an SMTP server to talk to.
  const mailer = config.smtpUrl
    ? (await import('./modules/notifications/mail.transport.js')).createMailer(config.smtpUrl, { maxConnections: Math.min(config.jobConcurrency, 8) })
    : null;
  registerSweeps(runner, deps);
  const webhookTargets = { allowPrivate: config.webhookPrivateTargets };
  registerNotificationJobs(runner, deps, { settings: { publicUrl: config.publicUrl }, mailer, from: config.mailFrom, consumers: { webhooks: recordWebhookDeliveries } });
  registerWebhookJobs(runner, deps, webhookTargets);
  registerReminderJobs(runner, deps, { publicUrl: config.publicUrl });
  const app = await buildApp({
    deps,
    trustProxy: config.trustProxy,
    secureCookies: config.publicUrl.startsWith('https:'),
    processMetrics: true,
    claimBatchMax: config.claimBatchMax,
    metrics: [runner.registry],
    metricsToken: config.metricsToken,
    webhookTargets,
    corsOrigins: config.corsOrigins,
  });
  if (config.workers) await runner.start();
  const claimSweep = setInterval(() => {
    // Then every queue: units also free up where no sweep or check-in of this process saw it
    // (a license raised, another process), and a waiting ticket must not wait for a check-in.
    sweepExpiredClaims(deps)
      .then(() => serveQueues(deps))
      .catch((err) => log.error({ err }, 'claim expiry sweep failed'));
  }, CLAIM_SWEEP_MS);
  claimSweep.unref();

  const connections = followConnections(app.server);
  closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
    if (err) log.error({ err }, 'shutting down after an error');
    else log.info({ signal }, 'shutting down');
    clearInterval(claimSweep);
    // Every request already sent gets its answer before the connections close (src/http/drain.ts).
    await connections.drain();
    await app.close();
    // Jobs in hand get the rest of the grace period; one still running keeps its lease, and
    // another process takes it up when the lease runs out.
    await runner.stop(5_000);
    mailer?.close();
    await authCache.stop();
    await database.close();
  });

  const address = await app.listen({ port: config.port, host: config.host });
  const storage = database.driver === 'pglite' ? `embedded database in ${config.dataDir}` : 'PostgreSQL';
  const lines = [`licensepool listening on ${address} (${storage})`, `API docs: ${config.publicUrl}/docs`];
  if (app.hasRoute({ method: 'GET', url: '/' })) lines.push(`Web console: ${config.publicUrl}/`);
  if (!config.smtpUrl) lines.push('No SMTP_URL: mail waits in the outbox (GET /v1/outbox)');
  if (secretKeyFile) lines.push(`Generated ${secretKeyFile}: it encrypts the signing keys. Back it up with the database; without it no license can be signed.`);
  if (unreadable.length > 0) {
    const ids = [...new Set(unreadable.map((k) => k.secretKeyId))].join(', ');
    lines.push(`WARNING: ${unreadable.length} signing keys are encrypted under secret key ${ids}, which this server does not hold (its key is ${secretKeys.currentId}); their roots cannot sign (see the log)`);
  }
  if (first) {
    lines.push(
      first.password
        ? `First start: log in as ${first.email} with the password ${first.password} (shown once; set LICENSEPOOL_ADMIN_PASSWORD to choose it)`
        : `First start: log in as ${first.email} with LICENSEPOOL_ADMIN_PASSWORD`,
    );
    lines.push(`  curl -X POST ${config.publicUrl}/v1/auth/login -H 'content-type: application/json' -d '{"email":"${first.email}","password":"…"}'`);
  }
  // Printed, not only logged, and on stderr, apart from the JSON log lines on stdout: this is
  // what a person starting the server reads (a one-time password must not go to a log store).
  process.stderr.write(`┌─ licensepool\n${lines.map((line) => `│ ${line}\n`).join('')}└─\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve().catch((err) => {
    // Another process holds the data directory: its one line says all.
    console.error(err instanceof DataDirLockedError ? err.message : err);
    process.exit(1);
  });
}
