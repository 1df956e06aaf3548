/**
 * The one way to send mail: `queueMail` renders each message with its root's template (or the
 * default) and writes it to the outbox, with the `mail.send` job that sends it, in the caller's
 * transaction. Nothing leaves before that transaction commits, and nothing it decided is lost
 * if the process dies after: the job is there to be run.
 */
import type { Executor } from '../../db/client.js';
import { newId } from '../../lib/ids.js';
import { enqueueJobs } from '../jobs/jobs.repo.js';
import { findPoolsByIds, findTemplates, insertMessages, type OutboxRow } from './notifications.repo.js';
import { EVENT_TEMPLATES, type TemplateEvent, type TemplateText, type Variables } from './templates.catalog.js';
import { renderTemplate } from './templates.render.js';

export const SEND_MAIL_JOB = 'mail.send';
/** Attempts of one message: with the mail backoff (30 s doubling to 1 h, jittered), 6½ to 13 hours of trying. */
export const SEND_MAIL_ATTEMPTS = 20;

export interface Recipient {
  email: string;
  name: string;
  accountId: string | null;
}

export interface MailIntent {
  /**
   * Names the message for good: a second intent with the same key is skipped, so a retried job
   * or a repeated sweep never sends twice. E.g. `${auditEventId}:${event}:${email}`, or
   * `reminder:${licenseId}:${offset}:${endDate}:${email}`.
   */
  key: string;
  event: TemplateEvent;
  rootId: string;
  poolId?: string | null | undefined;
  licenseId?: string | null | undefined;
  memberId?: string | null | undefined;
  /** The audit event the message tells of. */
  sourceEventId?: string | null | undefined;
  to: Recipient;
  /**
   * The template's variables. `rootName`, `poolName` and `poolId` (from `rootId`/`poolId`),
   * `recipientName`, `recipientEmail` and `publicUrl` are filled in unless given.
   */
  variables: Variables;
}

export interface MailSettings {
  /** PUBLIC_URL: links in mail, and the domain of Message-IDs. */
  publicUrl: string;
}

/** The lower-cased address, the key of a recipient in dedupe keys. */
export const addressKey = (email: string) => email.trim().toLowerCase();

/**
 * Renders and writes the messages of `intents` and their send jobs, inside `tx`. Intents whose
 * key was already used are skipped. Answers the messages written.
 */
export async function queueMail(tx: Executor, intents: readonly MailIntent[], settings: MailSettings, now: Date): Promise<OutboxRow[]> {
  if (intents.length === 0) return [];
  const poolIds = [...new Set(intents.flatMap((i) => [i.rootId, ...(i.poolId ? [i.poolId] : [])]))];
  const names = new Map((await findPoolsByIds(tx, poolIds)).map((p) => [p.id, p.name]));
  const templates = new Map<string, TemplateText>();
  for (const rootId of new Set(intents.map((i) => i.rootId))) {
    const events = [...new Set(intents.filter((i) => i.rootId === rootId).map((i) => i.event))];
    const own = new Map((await findTemplates(tx, rootId, events)).map((t) => [t.event, t]));
    for (const event of events) {
      const t = own.get(event);
      templates.set(`${rootId} ${event}`, t ? { subject: t.subject, text: t.textBody, html: t.htmlBody } : EVENT_TEMPLATES[event].template);
    }
  }
  const domain = new URL(settings.publicUrl).hostname || 'licensepool.invalid';
  const rows = intents.map((intent) => {
    const id = newId('message');
    const variables: Variables = {
      rootName: names.get(intent.rootId) ?? '',
      poolName: intent.poolId ? (names.get(intent.poolId) ?? '') : '',
      poolId: intent.poolId ?? '',
      recipientName: intent.to.name,
      recipientEmail: intent.to.email,
      publicUrl: settings.publicUrl.replace(/\/+$/, ''),
      ...intent.variables,
    };
    const mail = renderTemplate(templates.get(`${intent.rootId} ${intent.event}`)!, variables);
    return {
      id,
      dedupeKey: intent.key,
      rootId: intent.rootId,
      poolId: intent.poolId ?? null,
      licenseId: intent.licenseId ?? null,
      memberId: intent.memberId ?? null,
      sourceEventId: intent.sourceEventId ?? null,
      event: intent.event,
      toEmail: intent.to.email,
      toAccountId: intent.to.accountId,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      messageId: `<${id}@${domain}>`,
      status: 'pending' as const,
      attempts: 0,
      createdAt: now,
      updatedAt: now,
    };
  });
  const written = await insertMessages(tx, rows);
  await enqueueJobs(
    tx,
    written.map((m) => ({ kind: SEND_MAIL_JOB, payload: { messageId: m.id }, dedupeKey: `mail:${m.id}`, maxAttempts: SEND_MAIL_ATTEMPTS })),
    now,
  );
  return written;
}
