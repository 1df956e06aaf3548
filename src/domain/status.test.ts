import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LICENSE_STATUSES, POOL_STATUSES, type LicenseStatus, type PoolStatus } from '../db/schema.js';
import { nextLicenseStatus, nextPoolStatus, type LicenseAction, type PoolAction } from './status.js';

describe('pool status machine (P1)', () => {
  const allowed: Record<string, PoolStatus> = {
    'initializing activate': 'active',
    'active suspend': 'suspended',
    'suspended resume': 'active',
    'applied close': 'closed',
    'initializing close': 'closed',
    'active close': 'closed',
    'suspended close': 'closed',
  };
  for (const from of POOL_STATUSES) {
    for (const action of ['activate', 'suspend', 'resume', 'close'] as PoolAction[]) {
      const expected = allowed[`${from} ${action}`] ?? null;
      test(`${action} from ${from} → ${expected ?? 'refused'}`, () => assert.equal(nextPoolStatus(from, action), expected));
    }
  }
});

describe('license status machine (L2)', () => {
  const allowed: Record<string, LicenseStatus> = {
    'in_use suspend': 'access_denied',
    'access_denied resume': 'in_use',
    'pending_provision finalize': 'finalized',
    'pending_start finalize': 'finalized',
    'in_use finalize': 'finalized',
    'access_denied finalize': 'finalized',
  };
  for (const from of LICENSE_STATUSES) {
    for (const action of ['suspend', 'resume', 'finalize'] as LicenseAction[]) {
      const expected = allowed[`${from} ${action}`] ?? null;
      test(`${action} from ${from} → ${expected ?? 'refused'}`, () => assert.equal(nextLicenseStatus(from, action), expected));
    }
  }
});
