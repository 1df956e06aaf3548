import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeAccess, type AccessRule } from './access-rules.js';

let seq = 0;
const rule = (poolId: string, effect: AccessRule['effect'], match: AccessRule['match'], value: string): AccessRule => ({
  id: `rule_${++seq}`,
  poolId,
  effect,
  match,
  value,
});

const PATH = ['root', 'company'];

describe('R1 access rules, as a table of cases', () => {
  const cases: { name: string; rules: AccessRule[]; email: string; allowed: boolean }[] = [
    { name: 'no rules: everyone', rules: [], email: 'a@anywhere.test', allowed: true },
    { name: 'domain include admits its domain', rules: [rule('company', 'include', 'domain', 'acme.test')], email: 'ann@acme.test', allowed: true },
    { name: 'domain include admits its subdomains', rules: [rule('company', 'include', 'domain', 'acme.test')], email: 'ann@eu.acme.test', allowed: true },
    { name: 'domain include refuses other domains', rules: [rule('company', 'include', 'domain', 'acme.test')], email: 'eve@evil.test', allowed: false },
    { name: 'a look-alike domain is another domain', rules: [rule('company', 'include', 'domain', 'acme.test')], email: 'eve@notacme.test', allowed: false },
    { name: 'domain exclude refuses its domain', rules: [rule('company', 'exclude', 'domain', 'rival.test')], email: 'bob@rival.test', allowed: false },
    { name: 'domain exclude admits others', rules: [rule('company', 'exclude', 'domain', 'rival.test')], email: 'bob@acme.test', allowed: true },
    {
      name: 'an e-mail include is an exception to the domain include',
      rules: [rule('company', 'include', 'domain', 'acme.test'), rule('company', 'include', 'email', 'Partner@Outside.test')],
      email: 'partner@outside.test',
      allowed: true,
    },
    {
      name: 'an e-mail exclude is an exception inside an included domain',
      rules: [rule('company', 'include', 'domain', 'acme.test'), rule('company', 'exclude', 'email', 'intern@acme.test')],
      email: 'intern@acme.test',
      allowed: false,
    },
    {
      name: 'an e-mail include overrides a domain exclude',
      rules: [rule('company', 'exclude', 'domain', 'rival.test'), rule('company', 'include', 'email', 'friend@rival.test')],
      email: 'friend@rival.test',
      allowed: true,
    },
    {
      name: 'exclude wins when both e-mail rules name the address',
      rules: [rule('company', 'include', 'email', 'x@acme.test'), rule('company', 'exclude', 'email', 'x@acme.test')],
      email: 'x@acme.test',
      allowed: false,
    },
    { name: 'an ancestor\'s rule applies below it', rules: [rule('root', 'exclude', 'domain', 'rival.test')], email: 'bob@rival.test', allowed: false },
    {
      name: 'a pool\'s e-mail exception does not lift an ancestor\'s exclusion',
      rules: [rule('root', 'exclude', 'domain', 'rival.test'), rule('company', 'include', 'email', 'bob@rival.test')],
      email: 'bob@rival.test',
      allowed: false,
    },
    { name: 'rules of pools off the path do not apply', rules: [rule('sibling', 'exclude', 'domain', 'acme.test')], email: 'ann@acme.test', allowed: true },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(judgeAccess(PATH, c.rules, c.email).allowed, c.allowed));
  }

  test('a refusal names the pool and the rule', () => {
    const exclude = rule('root', 'exclude', 'domain', 'rival.test');
    assert.deepEqual(judgeAccess(PATH, [exclude], 'bob@rival.test'), {
      allowed: false,
      poolId: 'root',
      ruleId: exclude.id,
      reason: 'the domain rival.test is excluded',
    });
  });
});
