import { z } from 'zod';
import { WEBHOOK_DELIVERY_STATUSES } from '../../db/schema.js';
import { IdParam, PageQuery, Timestamp } from '../../http/schemas.js';
import { iso } from '../../lib/time.js';
import { ALL_EVENTS, WEBHOOK_EVENTS } from './webhooks.events.js';
import type { WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow } from './webhooks.repo.js';

const EventType = z.enum([ALL_EVENTS, ...WEBHOOK_EVENTS] as [string, ...string[]]);

const WebhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  // Zod runs refinements after a failed check too: a string that is no URL is left to z.url's answer.
  .refine((u) => {
    if (!URL.canParse(u)) return true;
    const url = new URL(u);
    return url.username === '' && url.password === '';
  }, 'must not carry a user name or password')
  .describe('Where deliveries are POSTed (http or https); by default only public addresses');

const Events = z
  .array(EventType)
  .min(1)
  .max(WEBHOOK_EVENTS.length + 1)
  .refine((e) => new Set(e).size === e.length, 'names an event type twice')
  .refine((e) => e.length === 1 || !e.includes(ALL_EVENTS), `\`${ALL_EVENTS}\` already takes every event type`)
  .describe(`The event types delivered; \`${ALL_EVENTS}\` for all`);

const Description = z.string().trim().max(500);

export const CreateWebhookBody = z
  .object({
    url: WebhookUrl,
    events: Events,
    description: Description.optional(),
    enabled: z.boolean().default(true),
  })
  .strict()
  .meta({ examples: [{ url: 'https://hooks.bas-ip.example/licensepool', events: ['license.created', 'license.expired', 'pool.limit_reached'], description: 'ERP sync' }] });
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const UpdateWebhookBody = z
  .object({
    url: WebhookUrl.optional(),
    events: Events.optional(),
    description: Description.nullable().optional(),
    enabled: z.boolean().optional().describe('A disabled endpoint gets no new deliveries, and its pending ones end failed'),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'change at least one field')
  .meta({ examples: [{ events: ['*'], enabled: false }] });
export type UpdateWebhookBody = z.infer<typeof UpdateWebhookBody>;

export const WebhookParams = z.object({ id: IdParam, webhookId: IdParam }).strict();
export const DeliveryParams = z.object({ id: IdParam, webhookId: IdParam, deliveryId: IdParam }).strict();

export const DeliveriesQuery = z
  .object({
    status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional().describe('`pending` (waiting or retrying), `succeeded`, `failed` (retries ran out)'),
    event: z.enum(WEBHOOK_EVENTS as [string, ...string[]]).optional().describe('Deliveries of this event type'),
    ...PageQuery,
  })
  .strict();
export type DeliveriesQuery = z.infer<typeof DeliveriesQuery>;

export const Webhook = z.object({
  id: z.string(),
  rootId: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).meta({ id: 'Webhook' });

export const WebhookWithSecret = Webhook.extend({
  secret: z.string().describe('The signing secret (`whsec_…`); shown only now: keep it'),
}).meta({ id: 'WebhookWithSecret' });

export const presentWebhook = (w: WebhookEndpointRow): z.infer<typeof Webhook> => ({
  id: w.id,
  rootId: w.rootId,
  url: w.url,
  description: w.description,
  events: w.events,
  enabled: w.enabled,
  createdAt: iso(w.createdAt)!,
  updatedAt: iso(w.updatedAt)!,
});

export const Delivery = z.object({
  id: z.string().describe('The `webhook-id` header of every attempt: the same on retries and redeliveries'),
  webhookId: z.string(),
  eventId: z.string(),
  event: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable().describe("The receiver's HTTP status at the last attempt; null: no answer"),
  lastError: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deliveredAt: Timestamp.nullable(),
}).meta({ id: 'Delivery' });

export const Attempt = z.object({
  attempt: z.number().int(),
  at: Timestamp.describe('When it was sent; the `webhook-timestamp` it was signed with'),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int(),
  responseBody: z.string().nullable().describe("The start of the receiver's answer (1 KiB at most)"),
}).meta({ id: 'Attempt' });

export const DeliveryDetail = Delivery.extend({
  body: z.string().describe('The exact body sent: `{ type, timestamp, data }`'),
  attemptLog: z.array(Attempt),
}).meta({ id: 'DeliveryDetail' });

export const presentDelivery = (d: WebhookDeliveryRow): z.infer<typeof Delivery> => ({
  id: d.id,
  webhookId: d.endpointId,
  eventId: d.eventId,
  event: d.eventType,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  createdAt: iso(d.createdAt)!,
  updatedAt: iso(d.updatedAt)!,
  deliveredAt: iso(d.deliveredAt),
});

export const presentDeliveryDetail = (d: WebhookDeliveryRow, attempts: WebhookAttemptRow[]): z.infer<typeof DeliveryDetail> => ({
  ...presentDelivery(d),
  body: d.body,
  attemptLog: attempts.map((a) => ({ attempt: a.attempt, at: iso(a.at)!, statusCode: a.statusCode, error: a.error, durationMs: a.durationMs, responseBody: a.responseBody })),
});
