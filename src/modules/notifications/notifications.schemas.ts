import { z } from 'zod';
import { Email, IdParam, PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import { OUTBOX_STATUSES } from '../../db/schema.js';
import type { OutboxRow, SettingsRow } from './notifications.repo.js';
import { EVENT_TEMPLATES, TEMPLATE_EVENTS, type TemplateEvent, type TemplateText } from './templates.catalog.js';

// ---------------------------------------------------------------------------------------------
// Outbox

export const OutboxQuery = z
  .object({
    to: Email.optional().describe('Messages to this address'),
    event: z.enum(TEMPLATE_EVENTS).optional().describe('Messages of this event'),
    status: z.enum(OUTBOX_STATUSES).optional().describe('`pending` (not sent yet, or retrying), `sent`, `failed` (dead letters)'),
    poolId: IdParam.optional().describe('Messages about this pool'),
    licenseId: IdParam.optional().describe('Messages about this license'),
    ...PageQuery,
  })
  .strict();
export type OutboxQuery = z.infer<typeof OutboxQuery>;

export const OutboxMessage = z.object({
  id: z.string(),
  at: Timestamp.describe('When the message was written to the outbox'),
  event: z.enum(TEMPLATE_EVENTS),
  rootId: z.string(),
  poolId: z.string().nullable(),
  licenseId: z.string().nullable(),
  memberId: z.string().nullable(),
  sourceEventId: z.string().nullable().describe('The audit event the message tells of'),
  to: z.string(),
  toAccountId: z.string().nullable(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  messageId: z.string().describe('The Message-ID header, the same on every attempt'),
  status: z.enum(OUTBOX_STATUSES),
  attempts: z.number().int().describe('Attempts to send it so far'),
  lastError: z.string().nullable().describe('Why the last attempt failed'),
  sentAt: Timestamp.nullable(),
}).meta({ id: 'OutboxMessage' });

export const presentMessage = (m: OutboxRow): z.infer<typeof OutboxMessage> => ({
  id: m.id,
  at: iso(m.createdAt)!,
  event: m.event as TemplateEvent,
  rootId: m.rootId,
  poolId: m.poolId,
  licenseId: m.licenseId,
  memberId: m.memberId,
  sourceEventId: m.sourceEventId,
  to: m.toEmail,
  toAccountId: m.toAccountId,
  subject: m.subject,
  text: m.textBody,
  html: m.htmlBody,
  messageId: m.messageId,
  status: m.status,
  attempts: m.attempts,
  lastError: m.lastError,
  sentAt: iso(m.sentAt),
});

/** A license's notifications tab (L8 [003]): the messages about it, without their bodies. */
export const LicenseNotification = OutboxMessage.pick({ id: true, at: true, event: true, to: true, subject: true, status: true, sentAt: true }).meta({ id: 'LicenseNotification' });

export const presentLicenseNotification = (m: OutboxRow): z.infer<typeof LicenseNotification> => {
  const { id, at, event, to, subject, status, sentAt } = presentMessage(m);
  return { id, at, event, to, subject, status, sentAt };
};

// ---------------------------------------------------------------------------------------------
// Templates

/** `{event}` is checked by the service (404 for an event with no mail), like an id. */
export const TemplateParams = z.object({ id: IdParam, event: z.string().min(1).max(64) }).strict();

const Subject = z.string().min(1).max(500).describe('Mustache; plain text, on one line');
const Text = z.string().min(1).max(50_000).describe('Mustache; the plain-text part, nothing escaped');
const Html = z.string().min(1).max(100_000).describe('Mustache; the HTML part: every {{variable}} is HTML-escaped, and {{{raw}}} is refused');

export const PutTemplateBody = z.object({ subject: Subject, text: Text, html: Html }).strict().meta({ examples: [{ subject: '[{{rootName}}] Welcome, {{company}}', text: 'Your application for {{company}} was approved.', html: '<p>Your application for <b>{{company}}</b> was approved.</p>' }] });
export type PutTemplateBody = z.infer<typeof PutTemplateBody>;

export const PreviewBody = z
  .object({
    subject: Subject.optional().describe('A subject to try instead of the saved one'),
    text: Text.optional().describe('A text part to try instead of the saved one'),
    html: Html.optional().describe('An HTML part to try instead of the saved one'),
    variables: z
      .record(z.string().min(1).max(64), z.union([z.string().max(2000), z.number()]))
      .optional()
      .describe("Values to render with, over the event's samples"),
  })
  .strict()
  .meta({ examples: [{ subject: '[{{rootName}}] Welcome, {{company}}', variables: { company: 'Lakeview Property AG' } }] });
export type PreviewBody = z.infer<typeof PreviewBody>;

const Variable = z.object({ name: z.string(), description: z.string(), sample: z.union([z.string(), z.number()]) });

export const Template = z.object({
  event: z.enum(TEMPLATE_EVENTS),
  description: z.string(),
  recipients: z.string().describe('Who gets it (N2)'),
  custom: z.boolean().describe("true: the root's own version; false: the default shipped with licensepool"),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  variables: z.array(Variable),
  updatedAt: Timestamp.nullable().describe('When the root last saved its version'),
}).meta({ id: 'Template' });

export function presentTemplate(event: TemplateEvent, own: { template: TemplateText; updatedAt: Date } | null): z.infer<typeof Template> {
  const def = EVENT_TEMPLATES[event];
  const t = own?.template ?? def.template;
  return {
    event,
    description: def.description,
    recipients: def.recipients,
    custom: own !== null,
    subject: t.subject,
    text: t.text,
    html: t.html,
    variables: Object.entries(def.variables).map(([name, v]) => ({ name, description: v.description, sample: v.sample })),
    updatedAt: iso(own?.updatedAt),
  };
}

export const Preview = z.object({
  event: z.enum(TEMPLATE_EVENTS),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  variables: z.record(z.string(), z.union([z.string(), z.number()])).describe('The values rendered with'),
}).meta({ id: 'Preview' });

// ---------------------------------------------------------------------------------------------
// Settings

export const NotificationSettings = z.object({
  rootId: z.string(),
  notifyParentAdmins: z.boolean().describe("Pool notices (license status, limit reached, expiry reminders) also go to the admins of the pool's parent"),
  updatedAt: Timestamp.nullable(),
}).meta({ id: 'NotificationSettings' });

export const PatchSettingsBody = z
  .object({ notifyParentAdmins: z.boolean().describe("Also tell the admins of a pool's parent (the reseller); default true") })
  .strict()
  .meta({ examples: [{ notifyParentAdmins: true }] });

export const presentSettings = (rootId: string, row: SettingsRow | undefined): z.infer<typeof NotificationSettings> => ({
  rootId,
  notifyParentAdmins: row?.notifyParentAdmins ?? true,
  updatedAt: iso(row?.updatedAt),
});
