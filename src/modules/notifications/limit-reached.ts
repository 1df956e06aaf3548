/**
 * N4 "no more licenses" [004]: a claim refused with LIMIT_REACHED tells the pool's managers and
 * the vendor, at most once an hour per pool and meter, whichever process refused it. The count
 * lives in the shared `rate_limits` table (a window of an hour that the first refusal opens);
 * the window and the audit event `pool.limit_reached` (which the notify trigger turns into mail)
 * are written in one transaction. Each process also remembers the windows it opened or saw, so
 * a storm of refusals costs one database write per hour, not one per refusal.
 */
import type { RefusalReason } from '../../domain/claims.js';
import { SYSTEM_ACTOR, type Deps } from '../../lib/context.js';
import { insertAuditEvent } from '../audit/audit.repo.js';
import { hitWindows } from '../rate-limits/rate-limits.repo.js';

export const LIMIT_MAIL_WINDOW_MS = 3_600_000;
/** How long a process trusts a window another process opened before asking the database again. */
const RECHECK_MS = 300_000;

type LimitReason = Extract<RefusalReason, { code: 'LIMIT_REACHED' }>;

/** Per process: `${pool} ${meter}` → when its current window ends (ms since epoch, clock time). */
const quietUntil = new Map<string, number>();

/**
 * Records the LIMIT_REACHED reasons of a refusal (fire and forget: the claim's answer never
 * waits for it, and a failure is only logged).
 */
export function noteLimitsReached(deps: Deps, rootId: string, reasons: readonly RefusalReason[]): void {
  const limits = reasons.filter((r): r is LimitReason => r.code === 'LIMIT_REACHED');
  for (const reason of limits) {
    recordLimitReached(deps, rootId, reason).catch((err) => deps.log.error({ err, reason }, 'could not record a limit reached'));
  }
}

/** Answers true when this refusal opened a new window (and so a notice goes out). */
export async function recordLimitReached(deps: Deps, rootId: string, reason: LimitReason): Promise<boolean> {
  const key = `${reason.poolId} ${reason.meter}`;
  const now = deps.clock.now();
  if ((quietUntil.get(key) ?? -Infinity) > now.getTime()) return false;
  const opened = await deps.db.transaction(async (tx) => {
    const [hit] = await hitWindows(tx, [`notify:limit_reached:${key}`], now, LIMIT_MAIL_WINDOW_MS);
    if (hit!.count !== 1) return false;
    await insertAuditEvent(tx, SYSTEM_ACTOR, now, {
      action: 'pool.limit_reached',
      entityType: 'pool',
      entityId: reason.poolId,
      rootId,
      poolId: reason.poolId,
      after: { meter: reason.meter, limit: reason.limit, used: reason.used },
    });
    return true;
  });
  // A window another process opened may end any time within the hour: ask again in a while.
  if (quietUntil.size > 10_000) quietUntil.clear();
  quietUntil.set(key, now.getTime() + (opened ? LIMIT_MAIL_WINDOW_MS : RECHECK_MS));
  return opened;
}
