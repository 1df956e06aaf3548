/**
 * The background side of webhooks (N6), on the job runner:
 * - `recordWebhookDeliveries`, a consumer of the `notify` job (registerNotificationJobs'
 *   `consumers`): in that job's transaction, one delivery per listening endpoint and its
 *   `webhook.deliver` job, so each event becomes each endpoint's delivery exactly once.
 * - `webhook.deliver`: signs and posts the delivery outside any transaction, logs the attempt,
 *   and fails the job on anything but a 2xx, so the runner retries it with WEBHOOK_BACKOFF for
 *   about a day; when the attempts run out the delivery is `failed`, to redeliver by hand.
 * - `webhooks.prune`: finished deliveries are kept 30 days.
 */
import type { Executor } from '../../db/client.js';
import { signWebhook } from '../../domain/webhook-signature.js';
import { statusCountGauge } from '../../http/metrics.js';
import type { Backoff } from '../../domain/backoff.js';
import type { Deps } from '../../lib/context.js';
import { newId } from '../../lib/ids.js';
import type { AuditEventRow } from '../audit/audit.repo.js';
import { enqueueJobs, type JobSpec } from '../jobs/jobs.repo.js';
import type { JobRunner } from '../jobs/jobs.runner.js';
import { isWebhookEvent, webhookBody } from './webhooks.events.js';
import { countUndelivered, findDeliveryToSend, findListeningEndpoints, insertDeliveries, markDeliveryFailed, markDeliveryPending, pruneDeliveries, recordAttempt } from './webhooks.repo.js';
import type { TargetPolicy } from './webhooks.targets.js';
import { postWebhook } from './webhooks.transport.js';

export const DELIVER_WEBHOOK_JOB = 'webhook.deliver';

/**
 * Retries of a delivery: 1 min doubling up to 6 h, 14 attempts in all. The 13 waits add up to
 * 32.5 h at most and 16.3 h at least (half of each is random), about a day on average, which
 * rides out a receiver's bad night without piling up forever.
 */
export const WEBHOOK_BACKOFF: Backoff = { baseMs: 60_000, maxMs: 6 * 3_600_000 };
export const WEBHOOK_ATTEMPTS = 14;

/** Finished deliveries and their attempts are kept this long. */
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;
const PRUNE_BATCH = 10_000;

/** Deliveries one process sends at once, so slow receivers leave the runner's other slots to mail and sweeps. */
const DELIVERY_CONCURRENCY = 4;

/** A `notify` consumer: the event's deliveries and their jobs, in the job's transaction. */
export async function recordWebhookDeliveries(tx: Executor, event: AuditEventRow, now: Date): Promise<void> {
  if (!event.rootId || !isWebhookEvent(event.action)) return;
  const endpoints = await findListeningEndpoints(tx, event.rootId, event.action, event.at);
  if (endpoints.length === 0) return;
  const body = webhookBody(event);
  const deliveries = await insertDeliveries(
    tx,
    endpoints.map((endpoint) => ({
      id: newId('webhookDelivery'),
      endpointId: endpoint.id,
      rootId: event.rootId!,
      eventId: event.id,
      eventType: event.action,
      body,
      status: 'pending' as const,
      createdAt: now,
      updatedAt: now,
    })),
  );
  await enqueueJobs(tx, deliveries.map((d) => deliveryJob(d.id)), now);
}

/**
 * The job that sends a delivery. The first is keyed to the delivery (made once); a
 * redelivery's has no key: the delivery's move back to `pending` is what admits one at a time.
 */
export const deliveryJob = (deliveryId: string, options: { redelivery?: boolean } = {}): JobSpec => ({
  kind: DELIVER_WEBHOOK_JOB,
  payload: { deliveryId },
  ...(options.redelivery ? {} : { dedupeKey: `webhook:${deliveryId}` }),
  maxAttempts: WEBHOOK_ATTEMPTS,
});

export function registerWebhookJobs(runner: JobRunner, deps: Deps, targets: TargetPolicy): void {
  runner.register(
    DELIVER_WEBHOOK_JOB,
    async ({ payload }, db) => {
      const id = String(payload.deliveryId);
      const found = await findDeliveryToSend(db, id);
      if (!found) return; // gone with its endpoint
      // A dead job run again by hand (`POST /v1/jobs/{id}/retry`) takes its failed delivery back.
      const delivery = found.delivery.status === 'failed' ? await markDeliveryPending(db, id, deps.clock.now()) : found.delivery;
      // Delivered already (a run after a crash between logging and completing).
      if (!delivery || delivery.status !== 'pending') return;
      const { endpoint } = found;
      if (!endpoint.enabled) {
        await markDeliveryFailed(db, id, deps.clock.now(), 'the endpoint is disabled');
        return;
      }
      const at = deps.clock.now();
      const headers = { ...signWebhook(endpoint.secret, delivery.id, at, delivery.body), 'x-licensepool-event': delivery.eventType };
      const result = await postWebhook(endpoint.url, headers, delivery.body, targets);
      await recordAttempt(db, id, at, result);
      if (result.error !== null) throw new Error(result.error);
    },
    {
      backoff: WEBHOOK_BACKOFF,
      concurrency: DELIVERY_CONCURRENCY,
      onDead: (tx, job) => markDeliveryFailed(tx, String(job.payload.deliveryId), deps.clock.now()),
    },
  );

  runner
    .register('webhooks.prune', async (_ctx, db) => {
      const before = new Date(deps.clock.now().getTime() - DELIVERY_RETENTION_MS);
      for (let i = 0; i < 10; i++) if ((await pruneDeliveries(db, before, PRUNE_BATCH)) < PRUNE_BATCH) break;
    })
    .schedule('webhooks.prune', { kind: 'webhooks.prune', everySeconds: 3600 });

  statusCountGauge(
    runner.registry,
    { name: 'licensepool_webhook_deliveries', help: 'Webhook deliveries not delivered, by status: pending (waiting or retrying) and failed (retries ran out)', statuses: ['pending', 'failed'] },
    () => countUndelivered(deps.db),
  );
}
