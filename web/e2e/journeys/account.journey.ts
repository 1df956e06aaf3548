/** "My account": name and postal address, with the API's field errors at the fields; the password. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIn, textOf, type Harness } from '../harness.js';

export function journey(harness: () => Harness) {
  test('a person changes their name and address (a wrong country shown at the field), then their password, and logs in with the new one', async () => {
    const h = harness();
    const me = { email: 'mara@account.test', password: 'mara password 123' };
    await h.tenant('Account Vendor', me);
    const { page, assertNoConsoleErrors, assertAccessible, screenshot, close } = await h.newPage();
    // The same person in another browser: logged out by the password change.
    const elsewhere = await h.newPage();
    try {
      await logIn(elsewhere.page, me.email, me.password);
      await logIn(page, me.email, me.password);
      await page.getByRole('link', { name: 'My account' }).click();
      await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();

      await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Mara Example');
      await page.getByRole('textbox', { name: 'Street and number', exact: true }).fill('Hauptstraße 1');
      await page.getByRole('textbox', { name: 'Postal code', exact: true }).fill('10115');
      await page.getByRole('textbox', { name: 'City', exact: true }).fill('Berlin');
      await page.getByRole('textbox', { name: 'Country', exact: true }).fill('D');
      await page.getByRole('button', { name: 'Save' }).click();
      // The API's message for the field, next to it (the input names it as its description).
      const country = page.getByRole('textbox', { name: 'Country', exact: true });
      await page.getByRole('alert').filter({ hasText: 'Not saved' }).waitFor();
      assert.equal(await country.getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator(`#${await country.getAttribute('aria-describedby').then((ids) => ids!.split(' ').find((id) => id.endsWith('-error')))}`).innerText(), /2 character/);
      await assertAccessible('My account with a field error');

      await country.fill('DE');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await textOf(page.getByRole('status').filter({ hasText: 'Saved.' })), 'Saved.');
      await page.reload();
      await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
      assert.equal(await page.getByRole('textbox', { name: 'Name', exact: true }).inputValue(), 'Mara Example');
      assert.equal(await page.getByRole('textbox', { name: 'City', exact: true }).inputValue(), 'Berlin');
      await screenshot('my-account');

      await page.getByRole('textbox', { name: 'Current password', exact: true }).fill('not my password');
      await page.getByRole('textbox', { name: 'New password', exact: true }).fill('mara new password 456');
      await page.getByRole('textbox', { name: 'Repeat the new password', exact: true }).fill('mara new password 456');
      await page.getByRole('button', { name: 'Change password' }).click();
      assert.match(await textOf(page.getByRole('alert').filter({ hasText: 'Password not changed' })), /the current password is wrong/);
      assert.equal(await page.getByRole('textbox', { name: 'Current password', exact: true }).getAttribute('aria-invalid'), 'true');

      await page.getByRole('textbox', { name: 'Current password', exact: true }).fill(me.password);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('status').filter({ hasText: 'Password changed.' }).waitFor();
      await assertAccessible('My account');

      // The other browser's next call is refused: it goes back to the login page.
      await elsewhere.page.getByRole('link', { name: 'Account Vendor' }).click();
      await elsewhere.page.getByRole('heading', { name: 'Log in to licensepool' }).waitFor();
      elsewhere.assertNoConsoleErrors();

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in to licensepool' }).waitFor();
      await logIn(page, me.email, 'mara new password 456');
      assertNoConsoleErrors();
    } finally {
      await close();
      await elsewhere.close();
    }
  });
}
