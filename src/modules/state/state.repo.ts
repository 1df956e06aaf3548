import { and, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { licenses, poolUsage } from '../../db/schema.js';

export type LicenseRow = typeof licenses.$inferSelect;

/**
 * Licenses of these pools that have started and not reached their end by `now`: `in_use` ones
 * give limits and features, `access_denied` ones stop the service (quota.notServingReasons).
 */
export function findRunningLicenses(db: Executor, poolIds: readonly string[], now: Date): Promise<LicenseRow[]> {
  return db
    .select()
    .from(licenses)
    .where(
      and(
        inArray(licenses.poolId, [...poolIds]),
        inArray(licenses.status, ['in_use', 'access_denied']),
        or(isNull(licenses.validUntil), gt(licenses.validUntil, now)),
      ),
    );
}

/** Units in use per pool and meter, as a nested map. */
export async function findUsage(db: Executor, poolIds: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const rows = await db.select().from(poolUsage).where(inArray(poolUsage.poolId, [...poolIds]));
  const usage = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let perMeter = usage.get(r.poolId);
    if (!perMeter) usage.set(r.poolId, (perMeter = new Map()));
    perMeter.set(r.meterKey, r.used);
  }
  return usage;
}
