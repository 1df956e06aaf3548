/**
 * The pool tree (issue 14, item 4): an operator builds vendor → distributor → building →
 * apartment with the create-sub-pool form, opens the tree down to the apartment, finds the
 * building by name, edits a pool (restriction and queue on), and suspends and resumes one, each
 * status change confirmed in a dialog.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { logIn, textOf, type Harness } from '../harness.js';

/** Creates a pool under the pool whose page is open, and waits for the new pool's page. */
async function createSubPool(page: Page, name: string, kind: string): Promise<void> {
  await page.getByRole('button', { name: 'Create sub-pool' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
  await dialog.getByRole('textbox', { name: 'Kind', exact: true }).fill(kind);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}

/** Runs a status action through its confirmation dialog and waits for the new status. */
async function changeStatus(page: Page, action: string, status: string): Promise<void> {
  await page.getByRole('button', { name: action, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: action, exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1 }).locator('..').getByText(status, { exact: true }).waitFor();
}

/** Waits for a dialog's opening transition to end (axe measures contrast as drawn, mid-fade too). */
async function settled(page: Page): Promise<void> {
  // Polled by evaluate: waitForFunction's string form is an eval, which the page's CSP refuses.
  for (let tries = 0; !(await page.evaluate('document.getAnimations().every((a) => a.playState !== "running")')); tries++) {
    assert.ok(tries < 40, 'the dialog finished opening');
    await page.waitForTimeout(50);
  }
}

/** A pool's item of the tree: its accessible name is its row, starting with the pool's name. */
const treeItem = (page: Page, name: string) => page.getByRole('treeitem', { name: new RegExp(`^${name} `) });

export function journey(harness: () => Harness) {
  test('the operator builds a tree with the create form, opens it to the apartment, finds the building, edits a pool, suspends and resumes one', async () => {
    const h = harness();
    const operator = { email: 'tara@tree.test', password: 'tara password 123' };
    const { rootId } = await h.tenant('Tree Vendor', operator, {
      restricted: true,
    });
    const token = (await h.ok('POST', '/v1/auth/login', { body: operator })).token as string;
    await h.ok('POST', `/v1/pools/${rootId}/meters`, {
      token,
      body: { key: 'sip', name: 'SIP numbers', draws: [] },
    });
    await h.ok('POST', `/v1/pools/${rootId}/licenses`, {
      token,
      body: { limits: { sip: 50 }, features: [] },
    });

    const { page, assertNoConsoleErrors, assertAccessible, screenshot, close } = await h.newPage();
    try {
      await logIn(page, operator.email, operator.password);
      await page.getByRole('link', { name: 'Tree Vendor' }).click();
      await page.getByRole('heading', { name: 'Tree Vendor', level: 1 }).waitFor();

      // A refusal in words: a pool needs a name.
      await page.getByRole('button', { name: 'Create sub-pool' }).click();
      await page.getByRole('dialog').getByRole('textbox', { name: 'Kind', exact: true }).fill('distributor');
      await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
      await page.getByRole('dialog').getByRole('textbox', { name: 'Name', exact: true }).and(page.locator('[aria-invalid="true"]')).waitFor();
      await settled(page);
      await assertAccessible('the create-sub-pool dialog with its refusal');
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

      await createSubPool(page, 'Alpine Distribution', 'distributor');
      await changeStatus(page, 'Activate', 'active');
      await createSubPool(page, 'SmartHome Tower', 'building');
      await changeStatus(page, 'Activate', 'active');
      await createSubPool(page, 'Apartment 12', 'apartment');

      // The tree, opened with the keyboard from the vendor down to the apartment.
      await page.getByRole('link', { name: 'Your pools' }).click();
      const vendor = treeItem(page, 'Tree Vendor');
      // Read again on the way back (the creates made the cached tree stale): the vendor now has children.
      await vendor.and(page.locator('[aria-expanded="false"]')).waitFor();
      assert.match(await textOf(vendor), /Tree Vendor vendor active your role: operator sip 0 of 50$/);
      await vendor.focus();
      await page.keyboard.press('ArrowRight');
      await treeItem(page, 'Alpine Distribution').waitFor();
      assert.equal(await vendor.getAttribute('aria-expanded'), 'true');
      await page.keyboard.press('ArrowDown');
      await treeItem(page, 'Alpine Distribution').and(page.locator(':focus')).waitFor();
      await page.keyboard.press('ArrowRight');
      await treeItem(page, 'SmartHome Tower').waitFor();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowRight');
      const apartment = treeItem(page, 'Apartment 12');
      await apartment.waitFor();
      assert.equal(await apartment.getAttribute('aria-level'), '4');
      assert.equal(await apartment.getAttribute('aria-expanded'), null, 'a leaf does not expand');
      assert.match(await textOf(apartment), /Apartment 12 apartment initializing sip 0 of 50$/);
      await assertAccessible('the pool tree');
      await screenshot('pool-tree');

      // Left closes the building again; the search opens the tree to it and focuses it.
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      assert.equal(await treeItem(page, 'Apartment 12').count(), 0);
      await page.reload();
      await page.getByRole('searchbox', { name: 'Find a pool by name' }).fill('smarthome');
      await page.getByRole('list', { name: 'Pools found' }).getByRole('button', { name: 'SmartHome Tower' }).click();
      const building = treeItem(page, 'SmartHome Tower');
      await building.and(page.locator(':focus')).waitFor();
      assert.equal(await building.getAttribute('aria-selected'), 'true');
      assert.equal(await treeItem(page, 'Alpine Distribution').getAttribute('aria-expanded'), 'true');
      await assertAccessible('the pool tree with a search hit');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'SmartHome Tower', level: 1 }).waitFor();

      // Edit: restriction and the queue on.
      await page.getByRole('button', { name: 'Edit pool' }).click();
      const edit = page.getByRole('dialog', { name: 'Edit SmartHome Tower' });
      await edit.getByRole('switch', { name: 'Enable restriction' }).click();
      await edit.getByRole('switch', { name: 'Queue' }).click();
      await edit.getByRole('textbox', { name: 'Claim timeout (seconds)' }).fill('5');
      await edit.getByRole('button', { name: 'Save' }).click();
      // The API's refusal at the field it names.
      await edit.getByRole('textbox', { name: 'Claim timeout (seconds)' }).and(page.locator('[aria-invalid="true"]')).waitFor();
      await settled(page);
      await assertAccessible('the edit dialog with a refusal');
      await screenshot('pool-edit');
      await edit.getByRole('textbox', { name: 'Claim timeout (seconds)' }).fill('120');
      await edit.getByRole('button', { name: 'Save' }).click();
      await edit.waitFor({ state: 'detached' });
      await page.getByText('Restricted: yes').waitFor();
      const saved = await h.ok('GET', `/v1/pools/${(await page.url()).split('/pools/')[1]}`, { token });
      assert.equal(saved.restricted, true);
      assert.deepEqual(saved.queue, {
        enabled: true,
        claimTimeoutSeconds: 120,
      });

      // Suspend and resume, each confirmed.
      await page.getByRole('button', { name: 'Suspend', exact: true }).click();
      await page.getByRole('dialog', { name: 'Suspend SmartHome Tower?' }).waitFor();
      await settled(page);
      await assertAccessible('the suspend confirmation');
      await page.getByRole('dialog').getByRole('button', { name: 'Suspend', exact: true }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Resume', exact: true }).waitFor();
      await changeStatus(page, 'Resume', 'active');
      await page.getByRole('button', { name: 'Suspend', exact: true }).waitFor();
      assertNoConsoleErrors();
    } finally {
      await close();
    }
  });
}
