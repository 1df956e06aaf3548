/**
 * N1 reminder rules on a pool (or root) or a license: read the rule that applies (own or
 * inherited, down to the default), set one, remove one. Setting and removing need `control`
 * (operators), as changing a license does; reading needs `read`. Audited.
 */
import { eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { reminderRules } from '../../db/schema.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { licenseFor } from '../licenses/licenses.service.js';
import { poolFor } from '../pools/pool-access.js';
import { DEFAULT_OFFSETS, MAX_OFFSET, MIN_OFFSET, nearestRule, ruleOffsets, type ReminderEvery } from './reminders.rules.js';

export type ReminderRuleRow = typeof reminderRules.$inferSelect;
export type ScopeType = 'pool' | 'license';
export type RuleInput = { offsets: number[] } | { fromDays: number; every: ReminderEvery };

export interface RuleView {
  scopeType: ScopeType;
  scopeId: string;
  /** The rule set on this very pool or license, if any. */
  own: ReminderRuleRow | null;
  /** Where the rule that applies comes from: this scope, an ancestor pool, or the default. */
  source: { type: 'license' | 'pool' | 'default'; id: string | null };
  rule: ReminderRuleRow | null;
  offsets: number[];
}

async function scopeOf(db: Executor, actor: Actor, type: ScopeType, id: string, permission: 'read' | 'control') {
  if (type === 'license') {
    // Its pool's readers read it, its controllers set it (a key on no pool: its root's operators).
    const { license, pool } = await licenseFor(db, actor, id, permission);
    return { scopeId: license.id, rootId: license.rootId, chain: [license.id, ...[...pool.path].reverse()], licenseId: license.id };
  }
  const pool = await poolFor(db, actor, id, permission);
  return { scopeId: pool.id, rootId: pool.rootId, chain: [...pool.path].reverse(), licenseId: null };
}

async function view(db: Executor, type: ScopeType, scope: { scopeId: string; chain: string[]; licenseId: string | null }): Promise<RuleView> {
  const rows = await db.select().from(reminderRules).where(inArray(reminderRules.scopeId, scope.chain));
  const rules = new Map(rows.map((r) => [r.scopeId, r]));
  const nearest = nearestRule(rules, scope.licenseId ?? '', [...scope.chain].reverse().filter((id) => id !== scope.licenseId));
  return {
    scopeType: type,
    scopeId: scope.scopeId,
    own: rules.get(scope.scopeId) ?? null,
    source: nearest ? { type: nearest.rule.scopeType, id: nearest.scopeId } : { type: 'default', id: null },
    rule: nearest?.rule ?? null,
    offsets: nearest ? ruleOffsets(nearest.rule) : [...DEFAULT_OFFSETS],
  };
}

/** Where a rule's audit events file: its scope, and the pool or license it sits on. */
const ruleAudit = (type: ScopeType, scope: Awaited<ReturnType<typeof scopeOf>>) => ({
  entityType: 'reminder_rule',
  entityId: scope.scopeId,
  rootId: scope.rootId,
  poolId: type === 'pool' ? scope.scopeId : null,
  licenseId: scope.licenseId,
});

export async function getReminderRule(deps: Deps, actor: Actor, type: ScopeType, id: string): Promise<RuleView> {
  const scope = await scopeOf(deps.db, actor, type, id, 'read');
  return view(deps.db, type, scope);
}

function check(input: RuleInput) {
  if ('offsets' in input) {
    const bad = input.offsets.findIndex((o) => o < MIN_OFFSET || o > MAX_OFFSET);
    if (bad >= 0) throw new AppError('VALIDATION_FAILED', `offsets are days from the end, ${MIN_OFFSET} to ${MAX_OFFSET}`, { field: `body.offsets.${bad}` });
  }
}

export async function putReminderRule(deps: Deps, actor: Actor, type: ScopeType, id: string, input: RuleInput): Promise<RuleView> {
  check(input);
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const scope = await scopeOf(tx, actor, type, id, 'control');
    const [before] = await tx.select().from(reminderRules).where(eq(reminderRules.scopeId, scope.scopeId));
    const values = {
      scopeId: scope.scopeId,
      scopeType: type,
      rootId: scope.rootId,
      offsets: 'offsets' in input ? [...new Set(input.offsets)].sort((a, b) => a - b) : null,
      fromDays: 'fromDays' in input ? input.fromDays : null,
      every: 'every' in input ? input.every : null,
      updatedBy: actor.principal.accountId,
      updatedAt: now,
    };
    const [row] = await tx.insert(reminderRules).values(values).onConflictDoUpdate({ target: reminderRules.scopeId, set: values }).returning();
    await insertAuditEvent(tx, actor, now, {
      action: 'reminder_rule.saved',
      ...ruleAudit(type, scope),
      before: before ?? null,
      after: row!,
    });
    return view(tx, type, scope);
  });
}

export async function deleteReminderRule(deps: Deps, actor: Actor, type: ScopeType, id: string): Promise<RuleView> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const scope = await scopeOf(tx, actor, type, id, 'control');
    const [before] = await tx.delete(reminderRules).where(eq(reminderRules.scopeId, scope.scopeId)).returning();
    if (before) {
      await insertAuditEvent(tx, actor, now, {
        action: 'reminder_rule.removed',
        ...ruleAudit(type, scope),
        before,
        after: null,
      });
    }
    return view(tx, type, scope);
  });
}
