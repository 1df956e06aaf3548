/**
 * The status filter of license lists is read per stored status (statusBranches); for every set
 * of asked statuses and every license, being in a branch must be exactly showing an asked
 * status by `effectiveStatus`, so the SQL and the domain can never disagree.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LICENSE_STATUSES, type LicenseStatus } from '../../db/schema.js';
import { effectiveStatus } from '../../domain/license-status.js';
import { statusBranches, type StatusBranch } from './licenses-list.repo.js';

const NOW = new Date('2026-07-01T00:00:00Z');
const ENDS = { 'no end': null, 'ended': new Date('2026-06-01T00:00:00Z'), 'ends now': NOW, 'ends later': new Date('2027-01-01T00:00:00Z') };

/** What a branch's SQL selects, in JavaScript: the stored status and which side of its end. */
function inBranch(branch: StatusBranch, license: { status: LicenseStatus; validUntil: Date | null }): boolean {
  const beforeEnd = license.validUntil === null || license.validUntil > NOW;
  if (branch.kind === 'pastEnd') return branch.statuses.includes(license.status) && !beforeEnd;
  return license.status === branch.status && (!branch.beforeEndOnly || beforeEnd);
}

test('every set of statuses: a license is in a branch exactly when it shows one of them, and in one branch at most', () => {
  for (let mask = 1; mask < 1 << LICENSE_STATUSES.length; mask++) {
    const asked = LICENSE_STATUSES.filter((_, i) => mask & (1 << i));
    const branches = statusBranches(asked);
    for (const status of LICENSE_STATUSES) {
      for (const [end, validUntil] of Object.entries(ENDS)) {
        const license = { status, validUntil };
        const hits = branches.filter((b) => inBranch(b, license)).length;
        const shows = asked.includes(effectiveStatus(license, NOW));
        assert.equal(hits, shows ? 1 : 0, `asked ${asked.join(',')}; stored ${status}, ${end}`);
      }
    }
  }
});

test('branches: one per stored status asked, running ones split by their end', () => {
  assert.deepEqual(statusBranches(['in_use']), [{ kind: 'stored', status: 'in_use', beforeEndOnly: true }]);
  assert.deepEqual(statusBranches(['expired']), [
    { kind: 'stored', status: 'expired', beforeEndOnly: false },
    { kind: 'pastEnd', statuses: ['pending_provision', 'pending_start', 'in_use', 'access_denied'] },
  ]);
  assert.deepEqual(statusBranches(['in_use', 'expired', 'finalized']), [
    { kind: 'stored', status: 'expired', beforeEndOnly: false },
    { kind: 'stored', status: 'finalized', beforeEndOnly: false },
    { kind: 'stored', status: 'in_use', beforeEndOnly: false },
    { kind: 'pastEnd', statuses: ['pending_provision', 'pending_start', 'access_denied'] },
  ]);
});
