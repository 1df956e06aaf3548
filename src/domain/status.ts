/** The status machines of pools (P1) and of licenses placed on pools (L2). */
import type { LicenseStatus, PoolStatus } from '../db/schema.js';

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

export type LicenseAction = 'suspend' | 'resume' | 'finalize';

const LICENSE_TRANSITIONS: Record<LicenseAction, { from: readonly LicenseStatus[]; to: LicenseStatus }> = {
  suspend: { from: ['in_use'], to: 'access_denied' },
  resume: { from: ['access_denied'], to: 'in_use' },
  finalize: { from: ['pending_provision', 'pending_start', 'in_use', 'access_denied'], to: 'finalized' },
};

/**
 * The status a license action leads to, or null when impossible. `current` is the status as
 * the clock sees it, so an expired license can be neither suspended nor resumed.
 */
export function nextLicenseStatus(current: LicenseStatus, action: LicenseAction): LicenseStatus | null {
  const t = LICENSE_TRANSITIONS[action];
  return t.from.includes(current) ? t.to : null;
}

/** Licenses in these statuses can no longer change. */
export const ENDED_LICENSE_STATUSES: readonly LicenseStatus[] = ['expired', 'finalized'];
