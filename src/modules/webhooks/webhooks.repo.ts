import { and, arrayOverlaps, asc, eq, gt, inArray, lte, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, type WebhookDeliveryStatus } from '../../db/schema.js';
import { ALL_EVENTS } from './webhooks.events.js';

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

export async function insertEndpoint(db: Executor, row: typeof webhookEndpoints.$inferInsert): Promise<WebhookEndpointRow> {
  const [inserted] = await db.insert(webhookEndpoints).values(row).returning();
  return inserted!;
}

export async function findEndpoint(db: Executor, rootId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  const [row] = await db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.rootId, rootId), eq(webhookEndpoints.id, id)));
  return row;
}

export async function findEndpoints(db: Executor, rootId: string, page: { after?: string | undefined; limit: number }): Promise<WebhookEndpointRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.rootId, rootId), page.after ? gt(webhookEndpoints.id, page.after) : undefined))
    .orderBy(asc(webhookEndpoints.id))
    .limit(page.limit);
}

export async function updateEndpoint(db: Executor, id: string, set: Partial<typeof webhookEndpoints.$inferInsert>): Promise<WebhookEndpointRow> {
  const [row] = await db.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning();
  return row!;
}

export async function deleteEndpoint(db: Executor, id: string): Promise<void> {
  await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id));
}

/** The enabled endpoints of a root that ask for `action` and existed when it happened. */
export async function findListeningEndpoints(db: Executor, rootId: string, action: string, at: Date): Promise<WebhookEndpointRow[]> {
  return db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.rootId, rootId),
        eq(webhookEndpoints.enabled, true),
        lte(webhookEndpoints.createdAt, at),
        arrayOverlaps(webhookEndpoints.events, [action, ALL_EVENTS]),
      ),
    );
}

/** Writes deliveries, skipping any (endpoint, event) already there; answers the new ones. */
export async function insertDeliveries(db: Executor, rows: (typeof webhookDeliveries.$inferInsert)[]): Promise<WebhookDeliveryRow[]> {
  if (rows.length === 0) return [];
  return db.insert(webhookDeliveries).values(rows).onConflictDoNothing().returning();
}

export async function findDelivery(db: Executor, endpointId: string, id: string): Promise<WebhookDeliveryRow | undefined> {
  const [row] = await db.select().from(webhookDeliveries).where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.id, id)));
  return row;
}

/** A delivery with its endpoint, for the worker sending it. */
export async function findDeliveryToSend(db: Executor, id: string): Promise<{ delivery: WebhookDeliveryRow; endpoint: WebhookEndpointRow } | undefined> {
  const [row] = await db
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, id));
  return row;
}

export async function findDeliveries(
  db: Executor,
  endpointId: string,
  f: { status?: WebhookDeliveryStatus | undefined; eventType?: string | undefined; after?: string | undefined; limit: number },
): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpointId),
        f.status ? eq(webhookDeliveries.status, f.status) : undefined,
        f.eventType ? eq(webhookDeliveries.eventType, f.eventType) : undefined,
        f.after ? gt(webhookDeliveries.id, f.after) : undefined,
      ),
    )
    .orderBy(asc(webhookDeliveries.id))
    .limit(f.limit);
}

export async function findAttempts(db: Executor, deliveryId: string): Promise<WebhookAttemptRow[]> {
  return db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(asc(webhookAttempts.attempt));
}

/**
 * Logs one attempt and its outcome on the delivery, in one transaction: the attempt number is
 * the delivery's count after this one, and a 2xx ends the delivery `succeeded`.
 */
export async function recordAttempt(
  db: Executor,
  id: string,
  at: Date,
  result: { statusCode: number | null; error: string | null; responseBody: string | null; durationMs: number },
): Promise<void> {
  await db.transaction(async (tx) => {
    const succeeded = result.error === null;
    const [delivery] = await tx
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastStatusCode: result.statusCode,
        lastError: result.error,
        updatedAt: at,
        ...(succeeded ? { status: 'succeeded' as const, deliveredAt: at } : {}),
      })
      .where(eq(webhookDeliveries.id, id))
      .returning({ attempts: webhookDeliveries.attempts });
    if (!delivery) return;
    await tx.insert(webhookAttempts).values({ deliveryId: id, attempt: delivery.attempts, at, ...result });
  });
}

/** Ends a pending delivery `failed` (its retries ran out, or its endpoint was disabled). */
export async function markDeliveryFailed(db: Executor, id: string, at: Date, error?: string | null): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status: 'failed', updatedAt: at, ...(error ? { lastError: error } : {}) })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.status, 'pending')));
}

/** Puts a finished delivery back to pending, once: answers it, or nothing when it was pending already. */
export async function markDeliveryPending(db: Executor, id: string, at: Date): Promise<WebhookDeliveryRow | undefined> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: 'pending', updatedAt: at })
    .where(and(eq(webhookDeliveries.id, id), ne(webhookDeliveries.status, 'pending')))
    .returning();
  return row;
}

export async function countUndelivered(db: Executor): Promise<{ status: WebhookDeliveryStatus; count: number }[]> {
  return db
    .select({ status: webhookDeliveries.status, count: sql<number>`count(*)::int` })
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.status, ['pending', 'failed']))
    .groupBy(webhookDeliveries.status);
}

/** Deletes finished deliveries (and their attempts) last touched before `before`, at most `limit`. */
export async function pruneDeliveries(db: Executor, before: Date, limit: number): Promise<number> {
  const old = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(ne(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.updatedAt, before)))
    .limit(limit);
  const deleted = await db.delete(webhookDeliveries).where(inArray(webhookDeliveries.id, old)).returning({ id: webhookDeliveries.id });
  return deleted.length;
}
