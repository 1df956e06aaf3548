/**
 * The background side of notifications, registered on a JobRunner:
 * - `notify` (one per notifying audit event, enqueued by the trigger in the event's own
 *   transaction): hands the event to every consumer — the mail consumer renders the outbox
 *   messages — in one transaction that also completes the job, so it happens once.
 * - `mail.send` (one per outbox message, enqueued with it): sends the message over SMTP and
 *   marks it sent; retried with backoff; when it gives up the message is `failed` (a dead letter,
 *   `POST /v1/outbox/{id}/retry`). Registered only where SMTP is configured: elsewhere messages
 *   stay `pending` in the outbox, readable in the API, and go out once a process with SMTP runs.
 */
import type { Executor } from '../../db/client.js';
import { statusCountGauge } from '../../http/metrics.js';
import type { Deps } from '../../lib/context.js';
import type { AuditEventRow } from '../audit/audit.repo.js';
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
  /** Further consumers of notifying events, after the mail one (webhooks). */
  consumers?: readonly EventConsumer[];
}

/** Delays between attempts to send one message: 30 s doubling up to an hour. */
export const MAIL_BACKOFF = { baseMs: 30_000, maxMs: 3_600_000 };

export function registerNotificationJobs(runner: JobRunner, deps: Deps, options: NotificationOptions): void {
  const consumers: EventConsumer[] = [
    async (tx, event, now) => {
      await mailEvent(tx, event, options.settings, now);
    },
    ...(options.consumers ?? []),
  ];
  runner.register(
    NOTIFY_JOB,
    async ({ payload }, tx) => {
      const event = await findAuditEvent(tx, String(payload.eventId));
      if (!event) return;
      const now = deps.clock.now();
      for (const consume of consumers) await consume(tx, event, now);
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
