/**
 * N6: a root's webhook endpoints and their delivery log. Only the root's operators (and
 * superusers) see and change them: they receive events from the whole tree.
 */
import type { Executor } from '../../db/client.js';
import { newWebhookSecret } from '../../domain/webhook-signature.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { enqueueJobs } from '../jobs/jobs.repo.js';
import { rootFor } from '../pools/pool-access.js';
import { deliveryJob } from './webhooks.jobs.js';
import {
  deleteEndpoint,
  findAttempts,
  findDeliveries,
  findDelivery,
  findEndpoint,
  findEndpoints,
  insertEndpoint,
  markDeliveryPending,
  updateEndpoint,
  type WebhookEndpointRow,
} from './webhooks.repo.js';
import type { CreateWebhookBody, DeliveriesQuery, UpdateWebhookBody } from './webhooks.schemas.js';
import { checkTarget, type TargetPolicy } from './webhooks.targets.js';

const WHAT = 'webhooks';

/** What the audit trail keeps of an endpoint: everything but its secret. */
const auditView = ({ secret: _secret, ...rest }: WebhookEndpointRow) => rest;
const webhookAudit = (w: WebhookEndpointRow) => ({ entityType: 'webhook', entityId: w.id, rootId: w.rootId, poolId: w.rootId });

async function endpointFor(db: Executor, actor: Actor, rootId: string, webhookId: string, options: { lock?: boolean } = {}) {
  const root = await rootFor(db, actor, rootId, WHAT, options);
  const endpoint = isIdOf('webhook', webhookId) ? await findEndpoint(db, root.id, webhookId) : undefined;
  if (!endpoint) throw notFound('webhook');
  return endpoint;
}

export async function createWebhook(deps: Deps, actor: Actor, targets: TargetPolicy, rootId: string, input: CreateWebhookBody): Promise<WebhookEndpointRow> {
  await rootFor(deps.db, actor, rootId, WHAT);
  // Resolved outside the transaction: a slow DNS answer holds no lock.
  await checkTarget(new URL(input.url), targets);
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, rootId, WHAT);
    const created = await insertEndpoint(tx, {
      id: newId('webhook'),
      rootId: root.id,
      url: input.url,
      description: input.description ?? null,
      events: [...input.events].sort(),
      secret: newWebhookSecret(),
      enabled: input.enabled,
      createdBy: actor.principal.accountId,
      createdAt: now,
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'webhook.created', ...webhookAudit(created), after: auditView(created) });
    return created;
  });
}

export async function listWebhooks(deps: Deps, actor: Actor, rootId: string, page: { limit: number; cursor?: string | undefined }) {
  const root = await rootFor(deps.db, actor, rootId, WHAT);
  return findEndpoints(deps.db, root.id, { after: page.cursor, limit: page.limit + 1 });
}

export async function getWebhook(deps: Deps, actor: Actor, rootId: string, webhookId: string) {
  return endpointFor(deps.db, actor, rootId, webhookId);
}

export async function updateWebhook(deps: Deps, actor: Actor, targets: TargetPolicy, rootId: string, webhookId: string, input: UpdateWebhookBody) {
  await endpointFor(deps.db, actor, rootId, webhookId);
  if (input.url !== undefined) await checkTarget(new URL(input.url), targets);
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const before = await endpointFor(tx, actor, rootId, webhookId);
    const updated = await updateEndpoint(tx, before.id, {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: [...input.events].sort() } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'webhook.updated', ...webhookAudit(updated), before: auditView(before), after: auditView(updated) });
    return updated;
  });
}

/** A new secret replaces the old one at once: later attempts, retries included, are signed with it. */
export async function rotateWebhookSecret(deps: Deps, actor: Actor, rootId: string, webhookId: string) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const endpoint = await endpointFor(tx, actor, rootId, webhookId);
    const updated = await updateEndpoint(tx, endpoint.id, { secret: newWebhookSecret(), updatedAt: now });
    await insertAuditEvent(tx, actor, now, { action: 'webhook.secret_rotated', ...webhookAudit(updated) });
    return updated;
  });
}

/** Deleting an endpoint deletes its delivery log; deliveries under way stop. */
export async function deleteWebhook(deps: Deps, actor: Actor, rootId: string, webhookId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const endpoint = await endpointFor(tx, actor, rootId, webhookId);
    await deleteEndpoint(tx, endpoint.id);
    await insertAuditEvent(tx, actor, now, { action: 'webhook.deleted', ...webhookAudit(endpoint), before: auditView(endpoint) });
  });
}

export async function listDeliveries(deps: Deps, actor: Actor, rootId: string, webhookId: string, query: DeliveriesQuery) {
  const endpoint = await endpointFor(deps.db, actor, rootId, webhookId);
  return findDeliveries(deps.db, endpoint.id, { status: query.status, eventType: query.event, after: query.cursor, limit: query.limit + 1 });
}

async function deliveryFor(db: Executor, actor: Actor, rootId: string, webhookId: string, deliveryId: string) {
  const endpoint = await endpointFor(db, actor, rootId, webhookId);
  const delivery = isIdOf('webhookDelivery', deliveryId) ? await findDelivery(db, endpoint.id, deliveryId) : undefined;
  if (!delivery) throw notFound('delivery');
  return delivery;
}

export async function getDelivery(deps: Deps, actor: Actor, rootId: string, webhookId: string, deliveryId: string) {
  const delivery = await deliveryFor(deps.db, actor, rootId, webhookId, deliveryId);
  return { delivery, attempts: await findAttempts(deps.db, delivery.id) };
}

/**
 * Sends a finished delivery (failed, or succeeded but lost by the receiver) again, with a fresh
 * round of retries: the same id and body, a new timestamp and signature. A receiver that kept
 * the id recognizes it as the same event.
 */
export async function redeliver(deps: Deps, actor: Actor, rootId: string, webhookId: string, deliveryId: string) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const delivery = await deliveryFor(tx, actor, rootId, webhookId, deliveryId);
    const pending = await markDeliveryPending(tx, delivery.id, now);
    if (!pending) throw new AppError('INVALID_TRANSITION', 'the delivery is pending; it is being sent or retried already', { currentStatus: delivery.status });
    await enqueueJobs(tx, [deliveryJob(delivery.id, { redelivery: true })], now);
    await insertAuditEvent(tx, actor, now, {
      action: 'webhook.redelivered',
      entityType: 'webhook_delivery',
      entityId: delivery.id,
      rootId: delivery.rootId,
      poolId: delivery.rootId,
      before: { status: delivery.status },
      after: { status: 'pending' },
    });
    return pending;
  });
}
