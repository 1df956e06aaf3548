import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POOL_STATUSES, type PoolStatus } from '../db/schema.js';
import { nextPoolStatus, type PoolAction } from './status.js';

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
