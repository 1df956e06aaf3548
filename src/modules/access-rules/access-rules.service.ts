import { judgeAccess, type AccessVerdict } from '../../domain/access-rules.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { poolFor } from '../pools/pool-access.js';
import { deleteAccessRule, findAccessRulesOf, insertAccessRule, type AccessRuleRow } from './access-rules.repo.js';
import type { CreateAccessRuleBody } from './access-rules.schemas.js';

/** R1: a pool's managers decide whom it admits, by address or domain [004]. */
export async function createAccessRule(deps: Deps, actor: Actor, poolId: string, input: CreateAccessRuleBody): Promise<AccessRuleRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage');
    const rule = await insertAccessRule(tx, { id: newId('accessRule'), poolId: pool.id, ...input, createdAt: now });
    if (!rule) throw new AppError('ACCESS_RULE_EXISTS', `the pool already has the rule ${input.effect} ${input.match} ${input.value}`);
    await insertAuditEvent(tx, actor, now, { action: 'access_rule.created', entityType: 'access_rule', entityId: rule.id, rootId: pool.rootId, poolId: pool.id, after: rule });
    return rule;
  });
}

export async function listAccessRules(deps: Deps, actor: Actor, poolId: string): Promise<AccessRuleRow[]> {
  const pool = await poolFor(deps.db, actor, poolId, 'read');
  return findAccessRulesOf(deps.db, [pool.id]);
}

export async function removeAccessRule(deps: Deps, actor: Actor, poolId: string, ruleId: string): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage');
    const rule = await deleteAccessRule(tx, pool.id, ruleId);
    if (!rule) throw notFound('access rule');
    await insertAuditEvent(tx, actor, now, { action: 'access_rule.removed', entityType: 'access_rule', entityId: rule.id, rootId: pool.rootId, poolId: pool.id, before: rule });
  });
}

/** Whether the pool admits an address, judged by the rules of every pool on its path. */
export async function checkAccess(deps: Deps, actor: Actor, poolId: string, email: string): Promise<AccessVerdict> {
  const pool = await poolFor(deps.db, actor, poolId, 'manage');
  return judgeAccess(pool.path, await findAccessRulesOf(deps.db, pool.path), email);
}
