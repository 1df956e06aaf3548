/** Logging in and out: the API's refusal at the form, the shell on success, and out again. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIn, PHONE, textOf, type Harness } from '../harness.js';

export function journey(harness: () => Harness) {
  test('a wrong password shows the API\'s message at the form; the right one lands in the shell; logging out ends the session', async () => {
    const h = harness();
    const operator = { email: 'olga@login.test', password: 'olga password 123' };
    await h.tenant('Login Vendor', operator);
    const { page, assertNoConsoleErrors, assertAccessible, screenshot, fetchApi, close } = await h.newPage();
    try {
      // A signed-out visit to a page of the console goes to the login page first.
      await page.goto('/account');
      await page.getByRole('heading', { name: 'Log in to licensepool' }).waitFor();
      await assertAccessible('the login page');
      await screenshot('login');

      await page.getByRole('textbox', { name: 'E-mail', exact: true }).fill(operator.email);
      await page.getByRole('textbox', { name: 'Password', exact: true }).fill('not the password');
      await page.getByRole('button', { name: 'Log in' }).click();
      assert.match(await textOf(page.getByRole('alert')), /E-mail or password is wrong/);
      await assertAccessible('the login page with its refusal');

      await page.getByRole('textbox', { name: 'Password', exact: true }).fill(operator.password);
      await page.keyboard.press('Enter');
      // Back where the visit wanted to go.
      await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
      await page.getByRole('link', { name: 'Your pools' }).click();
      await page.getByRole('heading', { name: 'Your pools', level: 1 }).waitFor();
      assert.equal(await textOf(page.getByRole('treeitem', { name: /^Login Vendor / })), 'Login Vendor vendor active your role: operator');
      await assertAccessible('the home page');
      await screenshot('home');

      // Keyboard: on a fresh page the first Tab reaches "Skip to content", which moves past the navigation.
      await page.reload();
      await page.getByRole('heading', { name: 'Your pools', level: 1 }).waitFor();
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate('document.activeElement.id'), 'main');

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in to licensepool' }).waitFor();
      assert.equal((await fetchApi('GET', '/v1/accounts/me')).status, 401, 'the session is over');
      await page.goto('/');
      await page.getByRole('heading', { name: 'Log in to licensepool' }).waitFor();
      assertNoConsoleErrors();
    } finally {
      await close();
    }
  });

  test('on a phone: the navigation opens from its button, and the pages pass the accessibility check', async () => {
    const h = harness();
    const operator = { email: 'pia@login.test', password: 'pia password 1234' };
    await h.tenant('Phone Vendor', operator);
    const { page, assertNoConsoleErrors, assertAccessible, screenshot, close } = await h.newPage(PHONE);
    try {
      await logIn(page, operator.email, operator.password);
      await assertAccessible('the home page on a phone');
      await screenshot('home-phone');
      await page.getByRole('button', { name: 'Open navigation' }).click();
      await page.getByRole('link', { name: 'My account' }).click();
      await page.getByRole('heading', { name: 'My account', level: 1 }).waitFor();
      await assertAccessible('My account on a phone');
      assertNoConsoleErrors();
    } finally {
      await close();
    }
  });
}
