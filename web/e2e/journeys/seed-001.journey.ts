/**
 * Seed 001's walk-through in the browser (issue 14, item 5): the vendor's catalog and the tree
 * vendor → distributor → building → apartment are set through the API; an operator turns
 * restriction on, adds licenses in the Licenses section, sees the License state after a member's
 * claim (maximum 50 / used 1 / available 49), is refused a child license above its parent and a
 * SIP count below the mobile apps at the fields, is shown the claim a lowered limit would revoke,
 * and sees a short Premium license run out and the pool fall back to Basic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { logIn, PHONE, textOf, type Harness } from '../harness.js';

/** The row's text once it reads `expected` (the License state polls every 5 seconds). */
async function rowReads(page: Page, name: RegExp, expected: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await textOf(page.getByRole('row', { name }));
    if (seen === expected) return;
    await page.waitForTimeout(250);
  }
  assert.equal(seen, expected);
}

/** The message shown at an input (its aria-describedby's error element). */
async function errorAt(input: Locator): Promise<string> {
  await input.and(input.page().locator('[aria-invalid="true"]')).waitFor();
  const ids = (await input.getAttribute('aria-describedby')) ?? '';
  const errorId = ids.split(' ').find((id) => id.endsWith('-error'));
  assert.ok(errorId, 'the input names its error');
  return (await input.page().locator(`#${errorId}`).innerText()).trim();
}

async function openPool(page: Page, poolId: string, name: string): Promise<void> {
  await page.goto(`/pools/${poolId}`);
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'License state' }).waitFor();
}

async function restrict(page: Page): Promise<void> {
  const restriction = page.getByRole('switch', { name: 'Enable restriction' });
  await restriction.click();
  // Turning it on can revoke claims, so the console asks first.
  const confirm = page.getByRole('dialog', { name: 'Enable restriction?' });
  await confirm.getByRole('button', { name: 'Enable restriction' }).click();
  await confirm.waitFor({ state: 'detached' });
  // The switch shows the pool as the server has it: checked once the change is saved and read back.
  for (let tries = 0; !(await restriction.isChecked()); tries++) {
    assert.ok(tries < 40, 'the restriction is on');
    await page.waitForTimeout(250);
  }
  await page.getByRole('button', { name: 'Add new license' }).and(page.locator(':enabled')).waitFor();
}

export function journey(harness: () => Harness) {
  test('seed 001: restriction, licenses through the form, License state 50 / 1 / 49, refusals at the fields, a claim a change would revoke, Premium expires to Basic', async () => {
    const h = harness();
    const operator = { email: 'olga@link.test', password: 'olga password 123' };
    const { rootId } = await h.tenant('Link Vendor', operator);
    const token = (await h.ok('POST', '/v1/auth/login', { body: operator })).token as string;
    await h.ok('POST', `/v1/pools/${rootId}/meters`, { token, body: { key: 'sip', name: 'SIP numbers', draws: [] } });
    await h.ok('POST', `/v1/pools/${rootId}/meters`, { token, body: { key: 'mobile_app', name: 'Mobile apps', draws: ['sip'] } });
    for (const [key, name] of [
      ['web_dialer', 'Web dialer'],
      ['sip_trunks', 'SIP trunks'],
      ['remote_door_opening', 'Remote door opening'],
      ['ukey2', 'UKEY2'],
    ]) {
      await h.ok('POST', `/v1/pools/${rootId}/features`, { token, body: { key, name } });
    }
    const pool = async (name: string, kind: string, parentId: string) => {
      const created = await h.ok('POST', '/v1/pools', { token, body: { name, kind, parentId } });
      await h.ok('POST', `/v1/pools/${created.id}/activate`, { token });
      return created.id as string;
    };
    const distributor = await pool('Alpine Distribution', 'distributor', rootId);
    const building = await pool('SmartHome Tower', 'building', distributor);
    const apartment = await pool('Apartment 12', 'apartment', building);

    const { page, assertNoConsoleErrors, assertAccessible, screenshot, close } = await h.newPage();
    try {
      await logIn(page, operator.email, operator.password);

      // The distributor: restriction on, one license with everything the apartment will get.
      await openPool(page, distributor, 'Alpine Distribution');
      await restrict(page);
      await page.getByRole('button', { name: 'Add new license' }).click();
      let dialog = page.getByRole('dialog', { name: 'Add new license' });
      await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Distributor');
      await dialog.getByRole('textbox', { name: 'SIP numbers' }).fill('100');
      await dialog.getByRole('textbox', { name: 'Mobile apps' }).fill('50');
      for (const feature of ['Web dialer', 'SIP trunks', 'Remote door opening', 'UKEY2']) await dialog.getByRole('checkbox', { name: feature }).check();
      await assertAccessible('the "Add new license" form');
      await dialog.getByRole('button', { name: 'Save license' }).click();
      await dialog.waitFor({ state: 'detached' });
      await page.getByRole('article', { name: 'Distributor' }).waitFor();
      await rowReads(page, /^SIP numbers/, 'SIP numbers enabled no time limit 100 0 100');

      // The apartment: restriction on, Basic with 50 SIP numbers and the web dialer.
      await openPool(page, apartment, 'Apartment 12');
      await restrict(page);
      await page.getByRole('button', { name: 'Add new license' }).click();
      dialog = page.getByRole('dialog', { name: 'Add new license' });
      await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Basic');
      await dialog.getByRole('textbox', { name: 'SIP numbers' }).fill('50');
      await dialog.getByRole('textbox', { name: 'Mobile apps' }).fill('10');
      await dialog.getByRole('checkbox', { name: 'Web dialer' }).check();
      await dialog.getByRole('button', { name: 'Save license' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.match(await textOf(page.getByRole('article', { name: 'Basic' })), /^Basic in use Edit Limits: SIP numbers 50 · Mobile apps 10 Features: Web dialer Valid from .+ with no end$/);

      // A member of the apartment takes a SIP number (through the API); the state shows it.
      const member = { email: 'ann@apartment.test', password: 'ann password 1234' };
      await h.ok('POST', '/v1/accounts', { body: { ...member, name: 'Ann' } });
      const memberId = (await h.ok('POST', `/v1/pools/${apartment}/members`, { token, body: { email: member.email } })).id as string;
      await h.ok('POST', `/v1/members/${memberId}/verify`, { token });
      const memberToken = (await h.ok('POST', '/v1/auth/login', { body: member })).token as string;
      await h.ok('POST', '/v1/claims', { token: memberToken, body: { memberId, meter: 'sip', ttlSeconds: 3600, fingerprint: 'ann-phone' } });
      await rowReads(page, /^SIP numbers/, 'SIP numbers enabled no time limit 50 1 49');
      await rowReads(page, /^Mobile apps/, 'Mobile apps enabled no time limit 10 0 10');
      assert.equal(await textOf(page.getByRole('row', { name: /^Web dialer/ })), 'Web dialer yes no time limit');
      assert.equal(await textOf(page.getByRole('row', { name: /^UKEY2/ })), 'UKEY2 no —');
      await page.getByRole('heading', { name: 'License state' }).scrollIntoViewIfNeeded();
      await screenshot('license-state');

      // A child license above its parent: refused, named at the meter's field.
      await page.getByRole('button', { name: 'Add new license' }).click();
      dialog = page.getByRole('dialog', { name: 'Add new license' });
      await dialog.getByRole('textbox', { name: 'SIP numbers' }).fill('500');
      await dialog.getByRole('button', { name: 'Save license' }).click();
      assert.equal(await errorAt(dialog.getByRole('textbox', { name: 'SIP numbers' })), '500 is more than the parent pool has (100)');
      assert.match(await textOf(dialog.getByRole('alert')), /The license was not saved/);
      await assertAccessible('the license form with a refusal');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });

      // Fewer SIP numbers than mobile apps: refused at the SIP numbers field.
      await page.getByRole('button', { name: 'Edit Basic' }).click();
      dialog = page.getByRole('dialog', { name: 'Edit Basic' });
      await dialog.getByRole('textbox', { name: 'SIP numbers' }).fill('5');
      await dialog.getByRole('button', { name: 'Save', exact: true }).click();
      assert.equal(await errorAt(dialog.getByRole('textbox', { name: 'SIP numbers' })), 'must be at least 10, the number of Mobile apps: each of them takes one of these');

      // Lowering SIP numbers below use: the claim that would be revoked is shown, nothing is saved.
      await dialog.getByRole('textbox', { name: 'Mobile apps' }).fill('0');
      await dialog.getByRole('textbox', { name: 'SIP numbers' }).fill('0');
      await dialog.getByRole('button', { name: 'Save', exact: true }).click();
      const warning = dialog.getByRole('alert').filter({ hasText: 'Saving revokes 1 live claim' });
      await warning.waitFor();
      assert.match(await textOf(warning.getByRole('list', { name: 'Claims that would be revoked' })), /^ann@apartment\.test: 1 × SIP numbers \(lease, since .+\)$/);
      await assertAccessible('the confirmation of a change that revokes a claim');
      await warning.getByRole('button', { name: 'Keep editing' }).click();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      await rowReads(page, /^SIP numbers/, 'SIP numbers enabled no time limit 50 1 49');

      // A short Premium license: 20 SIP numbers more and remote door opening, for a few seconds.
      const premiumEnds = new Date(Date.now() + 12_000);
      await page.getByRole('button', { name: 'Add new license' }).click();
      dialog = page.getByRole('dialog', { name: 'Add new license' });
      await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Premium');
      await dialog.getByRole('textbox', { name: 'SIP numbers' }).fill('20');
      await dialog.getByRole('checkbox', { name: 'Remote door opening' }).check();
      await dialog.getByRole('checkbox', { name: 'License validity period' }).check();
      // The browser runs in UTC (the harness's context), so the local time is the UTC time.
      await dialog.getByLabel('Valid until').fill(premiumEnds.toISOString().slice(0, 19));
      await dialog.getByRole('button', { name: 'Save license' }).click();
      await dialog.waitFor({ state: 'detached' });
      await page.getByRole('article', { name: 'Premium' }).waitFor();
      await rowReads(page, /^SIP numbers/, 'SIP numbers enabled no time limit 70 1 69');
      assert.match(await textOf(page.getByRole('row', { name: /^Remote door opening/ })), /^Remote door opening yes until /);
      await screenshot('licenses-section');

      // Premium runs out: the pool falls back to Basic, without a reload.
      await page.waitForTimeout(Math.max(0, premiumEnds.getTime() - Date.now()));
      await rowReads(page, /^SIP numbers/, 'SIP numbers enabled no time limit 50 1 49');
      await rowReads(page, /^Remote door opening/, 'Remote door opening no —');
      assert.equal(await textOf(page.getByRole('row', { name: /^Web dialer/ })), 'Web dialer yes no time limit');
      await page.getByRole('article', { name: 'Premium' }).getByText('expired').waitFor();
      await assertAccessible('the Licenses section after Premium expired');
      // At phone width the section stays usable: the tables scroll within themselves, the dialog fits.
      await page.setViewportSize(PHONE);
      await page.getByRole('button', { name: 'Edit Basic' }).click();
      dialog = page.getByRole('dialog', { name: 'Edit Basic' });
      assert.equal(await dialog.getByRole('textbox', { name: 'SIP numbers' }).inputValue(), '50');
      await assertAccessible('the license form at phone width');
      assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'nothing wider than the phone');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assertNoConsoleErrors();
    } finally {
      await close();
    }
  });
}
