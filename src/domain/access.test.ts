import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Role } from '../db/schema.js';
import { can, canGrant, holdsAtLeast, type Permission, type Principal } from './access.js';

// A path root → dist → shop; each case binds one role at one pool and asks about `shop`.
const PATH = ['root', 'dist', 'shop'];
const who = (role: Role, at: string): Principal => ({ accountId: 'acc', superuser: false, bindings: [{ poolId: at, role }] });

describe('can(): a role at a pool applies to its subtree', () => {
  const cases: [Role, string, Permission, boolean][] = [
    ['operator', 'root', 'operate', true],
    ['operator', 'root', 'control', true],
    ['admin', 'dist', 'administer', true],
    ['admin', 'dist', 'control', true], // a reseller controls its customers…
    ['admin', 'shop', 'control', false], // …but not itself
    ['admin', 'shop', 'administer', true],
    ['admin', 'dist', 'operate', false],
    ['manager', 'shop', 'manage', true],
    ['manager', 'shop', 'administer', false],
    ['manager', 'shop', 'control', false],
    ['deputy', 'shop', 'manage', true], // a deputy has the manager's rights [000]
    ['deputy', 'shop', 'read', true],
    ['manager', 'other', 'read', false], // a role elsewhere gives nothing here
    ['operator', 'other-root', 'read', false],
  ];
  for (const [role, at, permission, expected] of cases) {
    test(`${role} at ${at} ${expected ? 'may' : 'may not'} ${permission} shop`, () => {
      assert.equal(can(who(role, at), PATH, permission), expected);
    });
  }
  test('a role below the pool gives nothing above it', () => {
    assert.equal(can(who('admin', 'shop'), ['root', 'dist'], 'read'), false);
  });
  test('a superuser may do everything', () => {
    assert.equal(can({ accountId: 'su', superuser: true, bindings: [] }, PATH, 'operate'), true);
  });
});

describe('canGrant()', () => {
  const cases: [Role, string, Role, boolean][] = [
    ['operator', 'root', 'operator', true],
    ['admin', 'dist', 'admin', true],
    ['admin', 'shop', 'admin', false],
    ['admin', 'shop', 'manager', true],
    ['manager', 'shop', 'manager', false],
    ['manager', 'shop', 'deputy', true],
    ['deputy', 'shop', 'deputy', true],
    ['deputy', 'shop', 'operator', false],
  ];
  for (const [role, at, grant, expected] of cases) {
    test(`${role} at ${at} ${expected ? 'may' : 'may not'} grant ${grant} at shop`, () => {
      assert.equal(canGrant(who(role, at), PATH, grant), expected);
    });
  }
});

describe('holdsAtLeast(): what a scoped API token may carry', () => {
  test('an operator may carry any role below it; a manager not admin', () => {
    assert.equal(holdsAtLeast(who('operator', 'root'), PATH, 'admin'), true);
    assert.equal(holdsAtLeast(who('manager', 'shop'), PATH, 'deputy'), true);
    assert.equal(holdsAtLeast(who('manager', 'shop'), PATH, 'admin'), false);
  });
});
