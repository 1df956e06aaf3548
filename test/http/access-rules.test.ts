import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`access rules, R1 (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let company: string;
    let team: string;
    let manager: Awaited<ReturnType<typeof person>>;
    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Nitro' });
      company = await childPool(t, v.operator.token, v.root, { name: 'Acme', kind: 'company' });
      team = await childPool(t, v.operator.token, company, { name: 'Acme R&D', kind: 'team' });
      manager = await person(t, 'it@acme.test');
      await ok(t.app, 'POST', `/v1/pools/${company}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
    });
    after(() => t.close());

    const check = async (pool: string, email: string) =>
      ok(t.app, 'GET', `/v1/pools/${pool}/access-rules/check?email=${encodeURIComponent(email)}`, { token: manager.token });

    test('a manager restricts its pool to its domain, with an e-mail exception; the rules reach the subtree', async () => {
      const include = await ok(t.app, 'POST', `/v1/pools/${company}/access-rules`, { token: manager.token, body: { effect: 'include', match: 'domain', value: 'ACME.test' } });
      assert.deepEqual([include.effect, include.match, include.value], ['include', 'domain', 'acme.test']);
      await ok(t.app, 'POST', `/v1/pools/${company}/access-rules`, { token: manager.token, body: { effect: 'include', match: 'email', value: 'consultant@partner.test' } });
      await ok(t.app, 'POST', `/v1/pools/${team}/access-rules`, { token: manager.token, body: { effect: 'exclude', match: 'email', value: 'intern@acme.test' } });

      assert.deepEqual(await check(company, 'ann@acme.test'), { allowed: true });
      assert.deepEqual(await check(team, 'ann@eu.acme.test'), { allowed: true });
      assert.deepEqual(await check(team, 'consultant@partner.test'), { allowed: true });
      const outsider = await check(team, 'eve@evil.test');
      assert.equal(outsider.allowed, false);
      assert.equal(outsider.poolId, company, 'refused by the ancestor\'s rule');
      const intern = await check(team, 'intern@acme.test');
      assert.deepEqual([intern.allowed, intern.poolId], [false, team]);
      assert.deepEqual(await check(company, 'intern@acme.test'), { allowed: true }, 'the team\'s rule does not reach up');

      const own = await ok(t.app, 'GET', `/v1/pools/${team}/access-rules`, { token: manager.token });
      assert.deepEqual(own.data.map((r: any) => r.value), ['intern@acme.test']);
    });

    test('the value must be what the match says; a rule is not added twice', async () => {
      const badDomain = await call(t.app, 'POST', `/v1/pools/${company}/access-rules`, { token: manager.token, body: { effect: 'exclude', match: 'domain', value: 'not a domain' } });
      assert.equal(badDomain.status, 422);
      assert.deepEqual(badDomain.body.errors.map((e: any) => e.path), ['body.value']);
      const badEmail = await call(t.app, 'POST', `/v1/pools/${company}/access-rules`, { token: manager.token, body: { effect: 'include', match: 'email', value: 'acme.test' } });
      assert.deepEqual(badEmail.body.errors.map((e: any) => e.path), ['body.value']);
      const twice = await call(t.app, 'POST', `/v1/pools/${company}/access-rules`, { token: manager.token, body: { effect: 'include', match: 'domain', value: 'acme.test' } });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 'ACCESS_RULE_EXISTS');
    });

    test('removing a rule lifts it, and both acts are in the audit trail', async () => {
      const rules = (await ok(t.app, 'GET', `/v1/pools/${team}/access-rules`, { token: manager.token })).data;
      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${team}/access-rules/${rules[0].id}`, { token: manager.token })).status, 204);
      assert.deepEqual(await check(team, 'intern@acme.test'), { allowed: true });
      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${team}/access-rules/${rules[0].id}`, { token: manager.token })).status, 404);
      const trail = (await ok(t.app, 'GET', `/v1/audit?poolId=${team}`, { token: v.operator.token })).data.map((e: any) => e.action);
      assert.deepEqual(trail.filter((a: string) => a.startsWith('access_rule')), ['access_rule.created', 'access_rule.removed']);
    });

    test('a member cannot see or change a pool\'s rules', async () => {
      const member = await person(t, 'ann@acme.test');
      await ok(t.app, 'POST', `/v1/pools/${company}/members`, { token: manager.token, body: { email: member.email } });
      assert.equal((await call(t.app, 'GET', `/v1/pools/${company}/access-rules`, { token: member.token })).status, 404);
      assert.equal((await call(t.app, 'POST', `/v1/pools/${company}/access-rules`, { token: member.token, body: { effect: 'exclude', match: 'domain', value: 'x.test' } })).status, 404);
    });
  });
}
