import { and, asc, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { accounts, roleBindings, type Role } from '../../db/schema.js';

export type RoleBindingRow = typeof roleBindings.$inferSelect;

export async function findRoleBinding(db: Executor, poolId: string, accountId: string, role: Role) {
  const [row] = await db
    .select()
    .from(roleBindings)
    .where(and(eq(roleBindings.poolId, poolId), eq(roleBindings.accountId, accountId), eq(roleBindings.role, role)));
  return row;
}

export async function findManagerBinding(db: Executor, poolId: string) {
  const [row] = await db
    .select()
    .from(roleBindings)
    .where(and(eq(roleBindings.poolId, poolId), eq(roleBindings.role, 'manager')));
  return row;
}

export async function insertRoleBinding(db: Executor, row: typeof roleBindings.$inferInsert): Promise<RoleBindingRow> {
  const [inserted] = await db.insert(roleBindings).values(row).returning();
  return inserted!;
}

export async function deleteRoleBinding(db: Executor, id: string): Promise<RoleBindingRow | undefined> {
  const [row] = await db.delete(roleBindings).where(eq(roleBindings.id, id)).returning();
  return row;
}

export async function findRoleBindingById(db: Executor, id: string) {
  const [row] = await db.select().from(roleBindings).where(eq(roleBindings.id, id));
  return row;
}

export async function findRolesOfPool(db: Executor, poolId: string) {
  return db
    .select({ binding: roleBindings, email: accounts.email, name: accounts.name })
    .from(roleBindings)
    .innerJoin(accounts, eq(accounts.id, roleBindings.accountId))
    .where(eq(roleBindings.poolId, poolId))
    .orderBy(asc(roleBindings.id));
}
