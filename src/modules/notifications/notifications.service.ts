import { can, poolsGranting } from '../../domain/access.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { enqueueJobs, jobByDedupeKey, requeueJob } from '../jobs/jobs.repo.js';
import { licenseFor } from '../licenses/licenses.service.js';
import { poolFor, rootFor } from '../pools/pool-access.js';
import { findPool } from '../pools/pools.repo.js';
import { SEND_MAIL_ATTEMPTS, SEND_MAIL_JOB } from './mail.queue.js';
import {
  deleteTemplate,
  findMessage,
  findMessages,
  findSettings,
  findTemplates,
  markMessagePending,
  upsertSettings,
  upsertTemplate,
  type OutboxRow,
} from './notifications.repo.js';
import type { OutboxQuery, PreviewBody, PutTemplateBody } from './notifications.schemas.js';
import { EVENT_TEMPLATES, isTemplateEvent, sampleVariables, TEMPLATE_EVENTS, type TemplateEvent, type TemplateText, type Variables } from './templates.catalog.js';
import { checkTemplate, renderTemplate } from './templates.render.js';

// ---------------------------------------------------------------------------------------------
// Outbox

/**
 * Who reads which mail: a superuser all of it; operators the mail about pools in their trees;
 * everyone the mail addressed to them.
 */
export async function listOutbox(deps: Deps, actor: Actor, q: OutboxQuery): Promise<OutboxRow[]> {
  if (q.poolId) await poolFor(deps.db, actor, q.poolId, 'read');
  const operated = poolsGranting(actor.principal, 'operate');
  return findMessages(deps.db, {
    to: q.to,
    event: q.event,
    status: q.status,
    poolId: q.poolId,
    licenseId: q.licenseId,
    reach: operated === 'all' ? undefined : { subtreesOf: operated, accountId: actor.principal.accountId },
    after: q.cursor,
    limit: q.limit + 1,
  });
}

async function messageFor(deps: Deps, actor: Actor, id: string): Promise<{ message: OutboxRow; operates: boolean }> {
  const message = isIdOf('message', id) ? await findMessage(deps.db, id) : undefined;
  if (!message) throw notFound('message');
  const pool = await findPool(deps.db, message.poolId ?? message.rootId);
  const operates = !!pool && can(actor.principal, pool.path, 'operate');
  if (!operates && message.toAccountId !== actor.principal.accountId) throw notFound('message');
  return { message, operates };
}

export async function getMessage(deps: Deps, actor: Actor, id: string): Promise<OutboxRow> {
  return (await messageFor(deps, actor, id)).message;
}

/** A dead letter (`failed`) goes back to `pending` and is tried again, with a fresh set of attempts. */
export async function retryMessage(deps: Deps, actor: Actor, id: string): Promise<OutboxRow> {
  const { message, operates } = await messageFor(deps, actor, id);
  if (!operates) throw new AppError('FORBIDDEN', 'only the operators of its root retry a message');
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pending = await markMessagePending(tx, message.id, now);
    if (!pending) throw new AppError('INVALID_TRANSITION', `the message is ${message.status}; only a failed one is retried`, { currentStatus: message.status });
    const job = await requeueJob(tx, jobByDedupeKey(`mail:${message.id}`), now);
    // Its job was pruned (dead jobs are kept 30 days): a new one.
    if (!job) await enqueueJobs(tx, [{ kind: SEND_MAIL_JOB, payload: { messageId: message.id }, dedupeKey: `mail:${message.id}:${now.getTime()}`, maxAttempts: SEND_MAIL_ATTEMPTS }], now);
    await insertAuditEvent(tx, actor, now, {
      action: 'message.retried',
      entityType: 'message',
      entityId: message.id,
      rootId: message.rootId,
      poolId: message.poolId,
      licenseId: message.licenseId,
      before: { status: 'failed' },
      after: { status: 'pending' },
    });
    return pending;
  });
}

/** L8 [003]: the notifications sent about a license, for whoever may read it. */
export async function licenseNotifications(deps: Deps, actor: Actor, id: string, page: { limit: number; cursor?: string | undefined }): Promise<OutboxRow[]> {
  const { license } = await licenseFor(deps.db, actor, id, 'read');
  return findMessages(deps.db, { licenseId: license.id, after: page.cursor, limit: page.limit + 1 });
}

// ---------------------------------------------------------------------------------------------
// Templates (N3)

function eventOf(event: string): TemplateEvent {
  if (!isTemplateEvent(event)) throw notFound('mail template');
  return event;
}

function refuseInvalid(event: TemplateEvent, t: Partial<TemplateText>) {
  const errors = checkTemplate(event, t);
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

export type TemplateView = { event: TemplateEvent; own: { template: TemplateText; updatedAt: Date } | null };

async function templatesOf(deps: Deps, rootId: string, events: readonly TemplateEvent[]): Promise<TemplateView[]> {
  const own = new Map((await findTemplates(deps.db, rootId, events)).map((t) => [t.event, t]));
  return events.map((event) => {
    const t = own.get(event);
    return { event, own: t ? { template: { subject: t.subject, text: t.textBody, html: t.htmlBody }, updatedAt: t.updatedAt } : null };
  });
}

export async function listTemplates(deps: Deps, actor: Actor, rootId: string): Promise<TemplateView[]> {
  const root = await rootFor(deps.db, actor, rootId, 'mail templates');
  return templatesOf(deps, root.id, TEMPLATE_EVENTS);
}

export async function getTemplate(deps: Deps, actor: Actor, rootId: string, event: string): Promise<TemplateView> {
  const root = await rootFor(deps.db, actor, rootId, 'mail templates');
  return (await templatesOf(deps, root.id, [eventOf(event)]))[0]!;
}

export async function saveTemplate(deps: Deps, actor: Actor, rootId: string, event: string, input: PutTemplateBody): Promise<TemplateView> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'mail templates', { lock: true });
    const which = eventOf(event);
    refuseInvalid(which, input);
    const [before] = await findTemplates(tx, root.id, [which]);
    const saved = await upsertTemplate(tx, {
      id: newId('template'),
      rootId: root.id,
      event: which,
      subject: input.subject,
      textBody: input.text,
      htmlBody: input.html,
      updatedBy: actor.principal.accountId,
      createdAt: now,
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'mail_template.saved', entityType: 'mail_template', entityId: saved.id, rootId: root.id, poolId: root.id, before: before ?? null, after: saved });
    return { event: which, own: { template: { subject: saved.subject, text: saved.textBody, html: saved.htmlBody }, updatedAt: saved.updatedAt } };
  });
}

/** Back to the default; removing a template the root never changed changes nothing. */
export async function resetTemplate(deps: Deps, actor: Actor, rootId: string, event: string): Promise<TemplateView> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'mail templates', { lock: true });
    const which = eventOf(event);
    const removed = await deleteTemplate(tx, root.id, which);
    if (removed) await insertAuditEvent(tx, actor, now, { action: 'mail_template.reset', entityType: 'mail_template', entityId: removed.id, rootId: root.id, poolId: root.id, before: removed });
    return { event: which, own: null };
  });
}

/**
 * N3 preview: the root's template (or the parts given, unsaved) rendered with the event's sample
 * variables, overridden by those given. Nothing is stored or sent.
 */
export async function previewTemplate(deps: Deps, actor: Actor, rootId: string, event: string, input: PreviewBody) {
  const root = await rootFor(deps.db, actor, rootId, 'mail templates');
  const which = eventOf(event);
  const given = { ...(input.subject !== undefined ? { subject: input.subject } : {}), ...(input.text !== undefined ? { text: input.text } : {}), ...(input.html !== undefined ? { html: input.html } : {}) };
  refuseInvalid(which, given);
  const known = EVENT_TEMPLATES[which].variables;
  const unknown = Object.keys(input.variables ?? {}).filter((k) => !Object.hasOwn(known, k));
  if (unknown.length > 0) {
    throw new AppError('VALIDATION_FAILED', `unknown variables: ${unknown.join(', ')}`, {
      errors: unknown.map((k) => ({ path: `body.variables.${k}`, message: `${which} has no variable ${k}` })),
    });
  }
  const [view] = await templatesOf(deps, root.id, [which]);
  const template = { ...(view!.own?.template ?? EVENT_TEMPLATES[which].template), ...given };
  const variables: Variables = { ...sampleVariables(which), rootName: root.name, ...input.variables };
  return { event: which, ...renderTemplate(template, variables), variables };
}

// ---------------------------------------------------------------------------------------------
// Settings (N2)

export async function getSettings(deps: Deps, actor: Actor, rootId: string) {
  const root = await rootFor(deps.db, actor, rootId, 'notification settings');
  return { rootId: root.id, row: await findSettings(deps.db, root.id) };
}

export async function updateSettings(deps: Deps, actor: Actor, rootId: string, input: { notifyParentAdmins?: boolean | undefined }) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, 'notification settings', { lock: true });
    const before = await findSettings(tx, root.id);
    const row = await upsertSettings(tx, {
      rootId: root.id,
      notifyParentAdmins: input.notifyParentAdmins ?? before?.notifyParentAdmins ?? true,
      updatedBy: actor.principal.accountId,
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, {
      action: 'notification_settings.updated',
      entityType: 'notification_settings',
      entityId: root.id,
      rootId: root.id,
      poolId: root.id,
      before: before ? { notifyParentAdmins: before.notifyParentAdmins } : null,
      after: { notifyParentAdmins: row.notifyParentAdmins },
    });
    return { rootId: root.id, row };
  });
}
