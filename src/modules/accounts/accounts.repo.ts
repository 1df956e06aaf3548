import { and, asc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts, pools, tokens } from '../../db/schema.js';

export type AccountRow = typeof accounts.$inferSelect;

export async function findAccountByEmail(db: Executor, email: string): Promise<AccountRow | undefined> {
  const [row] = await db.select().from(accounts).where(sql`lower(${accounts.email}) = lower(${email})`);
  return row;
}

export async function findAccountById(db: Executor, id: string): Promise<AccountRow | undefined> {
  const [row] = await db.select().from(accounts).where(eq(accounts.id, id));
  return row;
}

/** Inserts unless the e-mail is taken (case-insensitively); undefined when it is. */
export async function insertAccount(db: Executor, row: typeof accounts.$inferInsert): Promise<AccountRow | undefined> {
  const [inserted] = await db.insert(accounts).values(row).onConflictDoNothing().returning();
  return inserted;
}

export async function countAccounts(db: Executor): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(accounts);
  return row?.n ?? 0;
}

export async function updateAccountRow(db: Executor, id: string, patch: Partial<Pick<AccountRow, 'name' | 'address' | 'passwordHash' | 'updatedAt'>>): Promise<AccountRow> {
  const [row] = await db.update(accounts).set(patch).where(eq(accounts.id, id)).returning();
  return row!;
}

/** Ends the account's sessions other than `keepTokenId` (API tokens stay: they are the programs'). */
export async function revokeOtherSessions(db: Executor, accountId: string, keepTokenId: string | null, at: Date): Promise<void> {
  await db
    .update(tokens)
    .set({ revokedAt: at })
    .where(and(eq(tokens.accountId, accountId), eq(tokens.kind, 'session'), isNull(tokens.revokedAt), ...(keepTokenId ? [ne(tokens.id, keepTokenId)] : [])));
}

/** The pools of the given ids, shallowest first, then by name. */
export async function findPoolsByIds(db: Executor, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.select().from(pools).where(inArray(pools.id, [...ids])).orderBy(asc(pools.depth), asc(pools.name), asc(pools.id));
}
