/** The pool switcher: someone with roles in several places moves between them; the navigation follows their roles. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIn, type Harness } from '../harness.js';

export function journey(harness: () => Harness) {
  test('a person with roles at two vendors switches between their pools; one role alone shows no switcher', async () => {
    const h = harness();
    const north = await h.tenant('North Vendor', { email: 'nina@north.test', password: 'nina password 123' });
    const south = await h.tenant('South Vendor', { email: 'sven@south.test', password: 'sven password 123' });
    const both = { email: 'bea@both.test', password: 'bea password 12345' };
    await h.ok('POST', '/v1/accounts', { body: { ...both, name: 'Bea' } });
    for (const [rootId, role] of [[north.rootId, 'admin'], [south.rootId, 'manager']] as const) {
      await h.ok('POST', `/v1/pools/${rootId}/roles`, { token: await h.adminToken(), body: { email: both.email, role } });
    }

    const { page, assertNoConsoleErrors, assertAccessible, close } = await h.newPage();
    try {
      await logIn(page, both.email, both.password);
      await page.getByRole('link', { name: 'North Vendor' }).click();
      await page.getByRole('heading', { name: 'North Vendor', level: 1 }).waitFor();
      const switcher = page.getByRole('combobox', { name: 'Pool', exact: true });
      assert.match(await switcher.inputValue(), /^North Vendor/);
      await assertAccessible('the pool page with the switcher');

      await switcher.click();
      await page.getByRole('option', { name: /South Vendor/ }).click();
      await page.getByRole('heading', { name: 'South Vendor', level: 1 }).waitFor();
      assert.match(await switcher.inputValue(), /^South Vendor.*manager/);
      await page.getByRole('link', { name: 'Pool overview' }).click();
      await page.getByRole('heading', { name: 'South Vendor', level: 1 }).waitFor();
      assertNoConsoleErrors();
    } finally {
      await close();
    }

    const single = await h.newPage();
    try {
      await logIn(single.page, 'nina@north.test', 'nina password 123');
      await single.page.getByRole('link', { name: 'Pool overview' }).waitFor();
      assert.equal(await single.page.getByRole('combobox', { name: 'Pool', exact: true }).count(), 0, 'one place: nothing to switch');
      single.assertNoConsoleErrors();
    } finally {
      await single.close();
    }
  });
}
