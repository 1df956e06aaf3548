import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daysText, nearestRule, reminderEvent, ruleOffsets } from './reminders.rules.js';

test('rules: the default of [003], offsets as given, recurring rules [001] with the cut-off and renewal kept', () => {
  assert.deepEqual(ruleOffsets(null), [-30, -15, -7, -1, 0, 1]);
  assert.deepEqual(ruleOffsets({ offsets: [0, -7, -7, 3], fromDays: null, every: null }), [-7, 0, 3]);
  assert.deepEqual(ruleOffsets({ offsets: null, fromDays: 10, every: 'once' }), [-10, 0, 1]);
  assert.deepEqual(ruleOffsets({ offsets: null, fromDays: 3, every: 'daily' }), [-3, -2, -1, 0, 1]);
  assert.deepEqual(ruleOffsets({ offsets: null, fromDays: 20, every: 'weekly' }), [-20, -13, -6, 0, 1]);
  assert.deepEqual(ruleOffsets({ offsets: null, fromDays: 90, every: 'every_30_days' }), [-90, -60, -30, 0, 1]);
  assert.deepEqual([-1, 0, 1].map(reminderEvent), ['license.expiring', 'license.cut_off', 'license.renewal']);
  assert.deepEqual([1, 15, -1].map(daysText), ['1 day', '15 days', '1 day']);
});

test('rules: the nearest wins — the license, its pool, up the path, the root', () => {
  const rules = new Map([
    ['root', 'r'],
    ['region', 'g'],
  ]);
  assert.deepEqual(nearestRule(rules, 'lic', ['root', 'region', 'site']), { rule: 'g', scopeId: 'region' });
  assert.deepEqual(nearestRule(new Map([...rules, ['lic', 'l']]), 'lic', ['root', 'region', 'site']), { rule: 'l', scopeId: 'lic' });
  assert.deepEqual(nearestRule(new Map([['root', 'r']]), 'lic', ['root', 'site']), { rule: 'r', scopeId: 'root' });
  assert.equal(nearestRule(new Map(), 'lic', ['root']), null);
});
