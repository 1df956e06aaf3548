/** Tenants stay apart in the console: another tenant's admin cannot open the first tenant's pool. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIn, textOf, type Harness } from '../harness.js';

export function journey(harness: () => Harness) {
  test('the operator sees their pool and its License state; another tenant\'s admin gets "not found" for it, and the API refuses them', async () => {
    const h = harness();
    const first = { email: 'otto@first.test', password: 'otto password 123' };
    const { rootId } = await h.tenant('First Tenant', first, { restricted: true });
    const second = await h.tenant('Second Tenant', { email: 'sam@second.test', password: 'sam password 1234' });
    const admin = { email: 'ada@second.test', password: 'ada password 12345' };
    await h.ok('POST', '/v1/accounts', { body: { ...admin, name: 'Ada' } });
    await h.ok('POST', `/v1/pools/${second.rootId}/roles`, { token: await h.adminToken(), body: { email: admin.email, role: 'admin' } });
    const operatorToken = (await h.ok('POST', '/v1/auth/login', { body: first })).token as string;
    await h.ok('POST', `/v1/pools/${rootId}/meters`, { token: operatorToken, body: { key: 'sip', name: 'SIP numbers', draws: [] } });
    await h.ok('POST', `/v1/pools/${rootId}/licenses`, { token: operatorToken, body: { limits: { sip: 50 }, features: [] } });

    const operator = await h.newPage();
    try {
      await logIn(operator.page, first.email, first.password);
      await operator.page.getByRole('link', { name: 'First Tenant' }).click();
      await operator.page.getByRole('heading', { name: 'First Tenant', level: 1 }).waitFor();
      await operator.page.getByRole('heading', { name: 'License state' }).waitFor();
      assert.equal(await textOf(operator.page.getByRole('row', { name: /^SIP numbers/ })), 'SIP numbers enabled no time limit 50 0 50');
      await operator.assertAccessible('the pool page');
      await operator.screenshot('pool');
      operator.assertNoConsoleErrors();
    } finally {
      await operator.close();
    }

    const other = await h.newPage();
    try {
      await logIn(other.page, admin.email, admin.password);
      assert.equal(await other.page.getByRole('link', { name: 'First Tenant' }).count(), 0, 'not listed');
      await other.page.goto(`/pools/${rootId}`);
      await other.page.getByRole('heading', { name: 'Pool not found' }).waitFor();
      assert.equal(await other.page.getByText('First Tenant').count(), 0);
      await other.assertAccessible('the not-found page');
      const refused = await other.fetchApi('GET', `/v1/pools/${rootId}`);
      assert.equal(refused.status, 404);
      assert.equal(refused.body.code, 'NOT_FOUND');
      assert.equal((await other.fetchApi('GET', `/v1/pools/${rootId}/state`)).status, 404);
      other.assertNoConsoleErrors();
    } finally {
      await other.close();
    }
  });
}
