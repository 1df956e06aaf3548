import { and, eq, isNull, lte, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;

/**
 * One request's hold on a key. `createdAt` tells this request's row from a later one that took
 * the key over, so a request that lost its key never overwrites the new owner's answer.
 */
export interface KeyHold {
  accountId: string;
  key: string;
  createdAt: Date;
}

const heldBy = (hold: KeyHold) =>
  and(eq(idempotencyKeys.accountId, hold.accountId), eq(idempotencyKeys.key, hold.key), eq(idempotencyKeys.createdAt, hold.createdAt));

/** Marks the key in progress for this request; false when the account already has a row for it. */
export async function insertKeyInProgress(db: Executor, hold: KeyHold, requestHash: string): Promise<boolean> {
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ ...hold, requestHash, statusCode: null, body: null })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  return inserted.length > 0;
}

export async function findKey(db: Executor, accountId: string, key: string): Promise<IdempotencyKeyRow | undefined> {
  const [row] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
  return row;
}

/**
 * Takes over a row that has expired or whose request died, only if it is still the row that was
 * read (`found`): of two retries racing for it, one wins.
 */
export async function takeOverKey(db: Executor, found: KeyHold, hold: KeyHold, requestHash: string): Promise<boolean> {
  const taken = await db
    .update(idempotencyKeys)
    .set({ requestHash, statusCode: null, body: null, createdAt: hold.createdAt })
    .where(heldBy(found))
    .returning({ key: idempotencyKeys.key });
  return taken.length > 0;
}

/** Keeps the answer (`body`: the JSON text sent, or null for none) for the retries to come. */
export async function recordAnswer(db: Executor, hold: KeyHold, statusCode: number, body: string | null): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ statusCode, body: body === null ? null : sql`CAST(${body} AS jsonb)` })
    .where(and(heldBy(hold), isNull(idempotencyKeys.statusCode)));
}

/** Lets the key go, so a retry runs the request again. */
export async function releaseKey(db: Executor, hold: KeyHold): Promise<void> {
  await db.delete(idempotencyKeys).where(and(heldBy(hold), isNull(idempotencyKeys.statusCode)));
}

export async function deleteKeysCreatedBefore(db: Executor, before: Date): Promise<void> {
  await db.delete(idempotencyKeys).where(lte(idempotencyKeys.createdAt, before));
}
