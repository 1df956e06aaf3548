import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { preparedOn, type Executor } from '../../db/client.js';
import { accounts, pools, roleBindings, tokens } from '../../db/schema.js';
import type { Binding } from '../../domain/access.js';

export type TokenRow = typeof tokens.$inferSelect;

/**
 * Everything authentication needs, in one round trip (it runs on every request): the token,
 * its account, the account's role bindings and, for a pool-scoped token, the pool's path.
 */
const tokenBySecretHash = preparedOn((db) =>
  db
    .select({
      token: tokens,
      account: accounts,
      bindings: sql<Binding[]>`coalesce((SELECT json_agg(json_build_object('poolId', b.pool_id, 'role', b.role)) FROM ${roleBindings} b WHERE b.account_id = ${accounts.id}), '[]'::json)`,
      scopePath: sql<string[] | null>`(SELECT p.path FROM ${pools} p WHERE p.id = ${tokens.poolId})`,
    })
    .from(tokens)
    .innerJoin(accounts, eq(accounts.id, tokens.accountId))
    .where(and(eq(tokens.secretHash, sql.placeholder('secretHash')), isNull(tokens.revokedAt)))
    .prepare('auth_token_by_secret_hash'),
);

export async function findLiveTokenBySecretHash(db: Executor, secretHash: string) {
  const [row] = await tokenBySecretHash(db).execute({ secretHash });
  return row;
}

export async function insertToken(db: Executor, row: typeof tokens.$inferInsert): Promise<TokenRow> {
  const [inserted] = await db.insert(tokens).values(row).returning();
  return inserted!;
}

export async function findApiTokensOf(db: Executor, accountId: string): Promise<TokenRow[]> {
  return db
    .select()
    .from(tokens)
    .where(and(eq(tokens.accountId, accountId), eq(tokens.kind, 'api'), isNull(tokens.revokedAt)))
    .orderBy(asc(tokens.id));
}

export async function revokeTokenRow(db: Executor, accountId: string, id: string, at: Date): Promise<TokenRow | undefined> {
  const [row] = await db
    .update(tokens)
    .set({ revokedAt: at })
    .where(and(eq(tokens.id, id), eq(tokens.accountId, accountId), isNull(tokens.revokedAt)))
    .returning();
  return row;
}
