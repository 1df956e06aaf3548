/**
 * The background side of notifications, registered on a JobRunner:
 * - `notify` (one per notifying audit event, enqueued by the trigger in the event's own
 *   transaction): hands the event to every consumer — the mail consumer renders the outbox
 *   messages — in one transaction that also completes the job, so it happens once. Each
 *   consumer runs in a savepoint: one that fails is rolled back alone and gets a `notify` job of
 *   its own (`payload.consumer`), retried with backoff, while the others' work commits.
 * - `mail.send` (one per outbox message, enqueued with it): sends the message over SMTP and
 *   marks it sent; retried with backoff; when it gives up the message is `failed` (a dead letter,
 *   `POST /v1/outbox/{id}/retry`). Registered only where SMTP is configured: elsewhere messages
 *   stay `pending` in the outbox, readable in the API, and go out once a process with SMTP runs.
 */
import type { Executor } from '../../db/client.js';
import { statusCountGauge } from '../../http/metrics.js';
import type { Deps } from '../../lib/context.js';
import { isUnavailableDbError } from '../../db/errors.js';
import { runIsolated } from '../../lib/isolate.js';
import type { AuditEventRow } from '../audit/audit.repo.js';
import { enqueueJobs } from '../jobs/jobs.repo.js';
import type { JobRunner } from '../jobs/jobs.runner.js';
import { mailEvent } from './events.js';
import { SEND_MAIL_JOB, type MailSettings } from './mail.queue.js';
import type { Mailer } from './mail.transport.js';
import { countUnsent, findAuditEvent, findMessage, markMessageFailed, markMessagePending, markMessageSent, recordMessageAttempt } from './notifications.repo.js';

export const NOTIFY_JOB = 'notify';

/**
 * Something done with every notifying audit event, inside the `notify` job's transaction. It
 * must write only to the database (send nothing: enqueue a job for that) and be idempotent.
 */
export type EventConsumer = (tx: Executor, event: AuditEventRow, now: Date) => Promise<void>;

export interface NotificationOptions {
  settings: MailSettings;
  /** The SMTP transport; absent: this process sends no mail (messages wait in the outbox). */
  mailer?: Mailer | null | undefined;
  /** The From address of every message (MAIL_FROM). */
  from: string;
  /**
   * Further consumers of notifying events, after the mail one, by a stable name (`webhooks`): a
   * consumer that fails is retried as a job naming it, so the name must outlive a deployment.
   */
  consumers?: Readonly<Record<string, EventConsumer>>;
}

/** Delays between attempts to send one message: 30 s doubling up to an hour. */
export const MAIL_BACKOFF = { baseMs: 30_000, maxMs: 3_600_000 };

export function registerNotificationJobs(runner: JobRunner, deps: Deps, options: NotificationOptions): void {
  // Named, so that a consumer's own retry job says which one it runs again.
  const consumers = new Map<string, EventConsumer>([['mail', (tx, event, now) => mailEvent(tx, event, options.settings, now).then(() => {})]]);
  for (const [name, consume] of Object.entries(options.consumers ?? {})) {
    if (consumers.has(name)) throw new Error(`two notify consumers are named ${name}`);
    consumers.set(name, consume);
  }
  runner.register(
    NOTIFY_JOB,
    async ({ payload }, tx) => {
      const event = await findAuditEvent(tx, String(payload.eventId));
      if (!event) return;
      const now = deps.clock.now();
      // A consumer's retry job: that consumer alone, failing (and retried) on its own.
      if (typeof payload.consumer === 'string') {
        const consume = consumers.get(payload.consumer);
        // Failed, not completed: a job no consumer runs stays visible (dead, in /v1/jobs).
        if (!consume) throw new Error(`no notify consumer is named ${payload.consumer}`);
        await consume(tx, event, now);
        return;
      }
      // Each consumer in a savepoint: one that fails (the mail of a recipient the database
      // refuses, say) neither undoes nor blocks the others; it gets a job of its own instead.
      const named = [...consumers];
      const settled = await runIsolated(
        named,
        (part) =>
          tx.transaction(async (sp) => {
            for (const [, consume] of part) await consume(sp, event, now);
            return part.map(() => true);
          }),
        { splittable: (err) => !isUnavailableDbError(err) },
      );
      const errors = settled.flatMap((r) => (r.ok ? [] : [r.error]));
      // The database out of reach: the job fails and is retried whole.
      const down = errors.find(isUnavailableDbError);
      if (down) throw down;
      const failed = named.filter((_, i) => !settled[i]!.ok);
      if (failed.length === 0) return;
      deps.log.warn({ event: event.id, consumers: failed.map(([name]) => name), errors: errors.map(String) }, 'notify consumers failed; each is retried as a job of its own');
      await enqueueJobs(tx, failed.map(([name]) => ({ kind: NOTIFY_JOB, payload: { eventId: event.id, consumer: name }, dedupeKey: `notify:${event.id}:${name}` })), now);
    },
    { transactional: true },
  );

  const mailer = options.mailer;
  if (mailer) {
    runner.register(
      SEND_MAIL_JOB,
      async ({ payload }, db) => {
        const id = String(payload.messageId);
        let message = await findMessage(db, id);
        // A job run again by hand (`POST /v1/jobs/{id}/retry`) takes its dead letter back.
        if (message?.status === 'failed') message = await markMessagePending(db, id, deps.clock.now());
        // Sent already (a run after a crash between marking and completing): nothing to do.
        if (!message || message.status !== 'pending') return;
        try {
          await mailer.send({
            from: options.from,
            to: message.toEmail,
            subject: message.subject,
            text: message.textBody,
            html: message.htmlBody,
            messageId: message.messageId,
            headers: { 'X-Licensepool-Message': message.id, 'X-Licensepool-Event': message.event },
          });
        } catch (err) {
          await recordMessageAttempt(db, id, deps.clock.now(), err instanceof Error ? err.message : String(err));
          throw err;
        }
        // The job is this worker's (its lease): no other sends the message meanwhile. Should the
        // process die before the job is marked done, the next attempt finds the message sent.
        await markMessageSent(db, id, deps.clock.now());
      },
      {
        backoff: MAIL_BACKOFF,
        onDead: (tx, job) => markMessageFailed(tx, String(job.payload.messageId), deps.clock.now(), job.lastError),
      },
    );
  }

  statusCountGauge(
    runner.registry,
    { name: 'licensepool_outbox_messages', help: 'Outbox messages not sent, by status: pending (waiting or retrying) and failed (dead letters)', statuses: ['pending', 'failed'] },
    () => countUnsent(deps.db),
  );
}
