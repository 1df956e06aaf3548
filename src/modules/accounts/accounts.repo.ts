import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts } from '../../db/schema.js';

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
