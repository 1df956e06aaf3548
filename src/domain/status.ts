/** The status machine of pools (P1); licenses have theirs in license-status.ts. */
import type { PoolStatus } from '../db/schema.js';

export type PoolAction = 'activate' | 'suspend' | 'resume' | 'close';

const POOL_TRANSITIONS: Record<PoolAction, { from: readonly PoolStatus[]; to: PoolStatus }> = {
  activate: { from: ['initializing'], to: 'active' },
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  close: { from: ['applied', 'initializing', 'active', 'suspended'], to: 'closed' },
};

/** The status a pool action leads to, or null when the action is not possible from `from`. */
export function nextPoolStatus(from: PoolStatus, action: PoolAction): PoolStatus | null {
  const t = POOL_TRANSITIONS[action];
  return t.from.includes(from) ? t.to : null;
}
