import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accessRules } from '../../db/schema.js';

export type AccessRuleRow = typeof accessRules.$inferSelect;

/** Undefined when the pool already has the same rule. */
export async function insertAccessRule(db: Executor, row: typeof accessRules.$inferInsert): Promise<AccessRuleRow | undefined> {
  const [inserted] = await db.insert(accessRules).values(row).onConflictDoNothing().returning();
  return inserted;
}

export const findAccessRulesOf = (db: Executor, poolIds: readonly string[]): Promise<AccessRuleRow[]> =>
  db.select().from(accessRules).where(inArray(accessRules.poolId, [...poolIds])).orderBy(asc(accessRules.id));

export async function deleteAccessRule(db: Executor, poolId: string, id: string): Promise<AccessRuleRow | undefined> {
  const [row] = await db.delete(accessRules).where(and(eq(accessRules.id, id), eq(accessRules.poolId, poolId))).returning();
  return row;
}
