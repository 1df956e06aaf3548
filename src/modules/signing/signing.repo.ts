import { and, asc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { signingKeys } from '../../db/schema.js';

export type SigningKeyRow = typeof signingKeys.$inferSelect;
/** A key without its private half: what every read outside signing itself gets. */
export type PublicSigningKeyRow = Omit<SigningKeyRow, 'privateKey' | 'encryptedPrivateKey'>;

const PUBLIC_COLUMNS = {
  kid: signingKeys.kid,
  rootId: signingKeys.rootId,
  status: signingKeys.status,
  publicJwk: signingKeys.publicJwk,
  createdAt: signingKeys.createdAt,
  retiredAt: signingKeys.retiredAt,
};

/** The keys licenses verify against: active and verifying keys of every root. */
export const findPublishedKeys = (db: Executor): Promise<PublicSigningKeyRow[]> =>
  db.select(PUBLIC_COLUMNS).from(signingKeys).where(inArray(signingKeys.status, ['active', 'verifying'])).orderBy(asc(signingKeys.kid));

export const findKeys = (db: Executor, rootId: string): Promise<PublicSigningKeyRow[]> =>
  db.select(PUBLIC_COLUMNS).from(signingKeys).where(eq(signingKeys.rootId, rootId)).orderBy(asc(signingKeys.kid));

/** The key a root signs with, private half included. */
export async function findActiveKey(db: Executor, rootId: string): Promise<SigningKeyRow | undefined> {
  const [row] = await db.select().from(signingKeys).where(and(eq(signingKeys.rootId, rootId), eq(signingKeys.status, 'active')));
  return row;
}

export async function lockKey(tx: Executor, rootId: string, kid: string): Promise<PublicSigningKeyRow | undefined> {
  const [row] = await tx
    .select(PUBLIC_COLUMNS)
    .from(signingKeys)
    .where(and(eq(signingKeys.kid, kid), eq(signingKeys.rootId, rootId)))
    .for('update');
  return row;
}

/**
 * Inserts an active key unless the root has one (the partial unique index on active keys
 * decides, so concurrent inserts leave exactly one); undefined when it had one.
 */
export async function insertActiveKey(db: Executor, row: typeof signingKeys.$inferInsert & { status: 'active' }): Promise<SigningKeyRow | undefined> {
  const [inserted] = await db
    .insert(signingKeys)
    .values(row)
    .onConflictDoNothing({ target: signingKeys.rootId, where: sql`status = 'active'` })
    .returning();
  return inserted;
}

/** The root's active key becomes verifying; returns it, or undefined when there was none. */
export async function demoteActiveKey(tx: Executor, rootId: string): Promise<PublicSigningKeyRow | undefined> {
  const [row] = await tx
    .update(signingKeys)
    .set({ status: 'verifying' })
    .where(and(eq(signingKeys.rootId, rootId), eq(signingKeys.status, 'active')))
    .returning(PUBLIC_COLUMNS);
  return row;
}

export async function retireKey(tx: Executor, kid: string, at: Date): Promise<PublicSigningKeyRow> {
  const [row] = await tx.update(signingKeys).set({ status: 'retired', retiredAt: at }).where(eq(signingKeys.kid, kid)).returning(PUBLIC_COLUMNS);
  return row!;
}

/** Every key's private half, locked, in kid order: for sealing clear-text rows and re-encrypting. */
export const lockPrivateKeys = (tx: Executor, which: 'clear text' | 'all') =>
  tx
    .select({ kid: signingKeys.kid, rootId: signingKeys.rootId, status: signingKeys.status, privateKey: signingKeys.privateKey, encryptedPrivateKey: signingKeys.encryptedPrivateKey })
    .from(signingKeys)
    .where(which === 'clear text' ? isNotNull(signingKeys.privateKey) : undefined)
    .orderBy(asc(signingKeys.kid))
    .for('update');

/** Stores a key's private half sealed, and drops any clear-text copy of it. */
export async function storeEncryptedPrivateKey(tx: Executor, kid: string, encryptedPrivateKey: string): Promise<void> {
  await tx.update(signingKeys).set({ encryptedPrivateKey, privateKey: null }).where(eq(signingKeys.kid, kid));
}

/** Which secret key each key's private half is sealed under (null: still clear text); reads no secret. */
export const findSealingKeyIds = (db: Executor) =>
  db
    .select({ kid: signingKeys.kid, rootId: signingKeys.rootId, status: signingKeys.status, secretKeyId: sql<string | null>`split_part(${signingKeys.encryptedPrivateKey}, ':', 2)` })
    .from(signingKeys)
    .orderBy(asc(signingKeys.kid));
