/**
 * Seed 003's license list and detail: an operator filters the list by status and by end date,
 * sorts it, pages it, requests a license and reads its key, opens one license, visits every tab,
 * downloads its certificate, and suspends and resumes it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { logIn, PHONE, textOf, type Harness } from '../harness.js';

/** Waits until `check` holds of what the page shows (the list answers asynchronously). */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > until) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/** The list's data rows as a person reads them, one string per row. */
async function rows(page: Page): Promise<string[]> {
  const cells = page.getByRole('row').filter({ has: page.getByRole('cell') });
  return (await cells.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec'];

export function journey(harness: () => Harness) {
  test('seed 003: the license list filtered by status and end date, sorted and paged; a license requested; one license with every tab, its certificate, suspended and resumed', async () => {
    const h = harness();
    const operator = { email: 'olga@octopus.test', password: 'olga password 123' };
    const { rootId } = await h.tenant('Octopus Vendor', operator);
    const token = (await h.ok('POST', '/v1/auth/login', { body: operator })).token as string;
    const as = { token };
    await h.ok('POST', `/v1/pools/${rootId}/meters`, { ...as, body: { key: 'access_points', name: 'Access points', draws: [] } });
    await h.ok('POST', `/v1/pools/${rootId}/meters`, { ...as, body: { key: 'rooms', name: 'Rooms', draws: [] } });
    await h.ok('POST', `/v1/pools/${rootId}/features`, { ...as, body: { key: 'guest_portal', name: 'Guest portal' } });
    await h.ok('POST', `/v1/pools/${rootId}/features`, { ...as, body: { key: 'analytics', name: 'Analytics' } });
    const alpha = (await h.ok('POST', '/v1/pools', { ...as, body: { parentId: rootId, name: 'Hotel Alpha', kind: 'hotel' } })).id as string;
    const beta = (await h.ok('POST', '/v1/pools', { ...as, body: { parentId: rootId, name: 'Hotel Beta', kind: 'hotel' } })).id as string;

    // 24 licenses in use ending on the 15th of each month of 2027 and 2028, on the two hotels.
    const placed: { id: string; name: string; until: string }[] = [];
    for (let i = 0; i < 24; i++) {
      const year = 2027 + Math.floor(i / 12);
      const month = (i % 12) + 1;
      const until = `${year}-${String(month).padStart(2, '0')}-15T12:00:00Z`;
      const name = `${i % 2 ? 'Beta' : 'Alpha'} ${year} ${MONTHS[month - 1]}`;
      const license = await h.ok('POST', `/v1/pools/${i % 2 ? beta : alpha}/licenses`, {
        ...as,
        body: { name, limits: { access_points: 10 + i, rooms: 50 }, features: ['guest_portal'], validUntil: until },
      });
      placed.push({ id: license.id, name, until });
    }
    // Two suspended (Access denied: Feb and Mar 2027), one finalized (Apr 2027), one long expired, three requested (Pending provision).
    await h.ok('POST', `/v1/licenses/${placed[1]!.id}/suspend`, as);
    await h.ok('POST', `/v1/licenses/${placed[2]!.id}/suspend`, as);
    await h.ok('POST', `/v1/licenses/${placed[3]!.id}/finalize`, as);
    await h.ok('POST', `/v1/pools/${alpha}/licenses`, { ...as, body: { name: 'Alpha old', limits: { rooms: 5 }, validFrom: '2020-01-01T00:00:00Z', validUntil: '2021-01-01T00:00:00Z' } });
    for (const partner of ['Partner One', 'Partner Two', 'Partner Three']) {
      await h.ok('POST', '/v1/licenses', { ...as, body: { rootId, limits: { rooms: 20 }, features: [], billing: { interval: 'annual', contractYears: 1 }, request: { partner, rooms: 20 } } });
    }
    const opened = placed[0]!; // Alpha 2027 Jan, in use

    const { page, context, assertNoConsoleErrors, assertAccessible, screenshot, close } = await h.newPage();
    try {
      await logIn(page, operator.email, operator.password);
      await page.getByRole('link', { name: 'Licenses', exact: true }).click();
      await page.getByRole('heading', { name: 'Licenses', level: 1 }).waitFor();
      // 28 licenses: the first page of 20, then the other 8.
      await eventually(() => rows(page), (r) => r.length === 20, 'the first page shows 20 rows');
      await page.getByText('1–20 (more on the next pages)').waitFor();
      await page.getByRole('button', { name: 'Next page' }).click();
      const second = await eventually(() => rows(page), (r) => r.length === 8, 'the second page shows the other 8');
      assert.ok(second.some((r) => r.includes('Partner') || r.includes('Pending provision')), 'the requested licenses come last in the default order (by creation)');
      await page.getByText('21–28').waitFor();
      await page.getByRole('button', { name: 'Previous page' }).click();
      await eventually(() => rows(page), (r) => r.length === 20, 'back on the first page');

      // By status: Access denied, then also Pending provision; the filter is in the address.
      await page.getByRole('checkbox', { name: 'Access denied' }).check();
      const denied = await eventually(() => rows(page), (r) => r.length === 2, 'two licenses are denied access');
      assert.ok(denied.every((r) => r.includes('Access denied')), 'each shows "Access denied"');
      assert.deepEqual(denied.map((r) => r.split(' ').slice(0, 3).join(' ')).sort(), ['Beta 2027 Feb', 'Alpha 2027 Mar'].sort());
      await page.getByRole('checkbox', { name: 'Pending provision' }).check();
      const two = await eventually(() => rows(page), (r) => r.length === 5, 'denied and pending provision');
      assert.equal(two.filter((r) => r.includes('Pending provision')).length, 3);
      assert.match(page.url(), /status=/, 'the status filter is in the URL');
      await assertAccessible('the license list filtered by status');
      // A bookmarked filter opens the same list.
      await page.goto(page.url());
      await eventually(() => rows(page), (r) => r.length === 5, 'the bookmarked filter gives the same rows');
      assert.ok(await page.getByRole('checkbox', { name: 'Access denied' }).isChecked());
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await eventually(() => rows(page), (r) => r.length === 20, 'all licenses again');

      // By end date: the first half of 2027 (six licenses, whatever their status).
      await page.getByLabel('Ends on or after').fill('2027-01-01');
      await page.getByLabel('Ends on or before').fill('2027-06-30');
      const firstHalf = await eventually(() => rows(page), (r) => r.length === 6, 'six licenses end in the first half of 2027');
      for (const month of ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun']) assert.ok(firstHalf.some((r) => r.includes(`15 ${month} 2027`)), `one ends on 15 ${month} 2027`);
      assert.ok(firstHalf.some((r) => r.includes('Contract finalized')));
      // Sorted by end date, latest first.
      await page.getByRole('button', { name: /^End date/ }).click();
      await eventually(() => rows(page), (r) => r[0]?.includes('15 Jan 2027') === true, 'ascending: January first');
      await page.getByRole('button', { name: /^End date/ }).click();
      const descending = await eventually(() => rows(page), (r) => r[0]?.includes('15 Jun 2027') === true, 'descending: June first');
      assert.ok(descending[5]!.includes('15 Jan 2027'));
      assert.equal(await page.getByRole('columnheader', { name: /End date/ }).getAttribute('aria-sort'), 'descending');
      await assertAccessible('the license list filtered by end date');
      await screenshot('licenses');

      // The CSV export link carries the same filters.
      const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
      assert.match(href!, /^\/v1\/licenses\.csv\?/);
      const csv = await context.request.get(href!);
      assert.equal(csv.status(), 200);
      assert.match(csv.headers()['content-type']!, /^text\/csv/);
      assert.equal((await csv.text()).trim().split('\n').length, 7, 'a header and the six licenses');

      // Request a license (seed 003's request data) and read its key.
      await page.getByRole('button', { name: 'Request a license' }).click();
      const dialog = page.getByRole('dialog', { name: 'Request a license' });
      await dialog.getByRole('textbox', { name: 'Partner / integrator' }).fill('Hotel Partners AG');
      await dialog.getByRole('textbox', { name: 'Distributor / wholesaler' }).fill('Wholesale Ltd');
      await dialog.getByRole('textbox', { name: /^Contract years/ }).fill('3');
      await dialog.getByRole('textbox', { name: 'Access points' }).fill('40');
      await dialog.getByRole('textbox', { name: /^Rooms/ }).fill('120');
      await dialog.getByRole('checkbox', { name: 'Analytics' }).check();
      await dialog.getByLabel('Location', { exact: true }).fill('Beta');
      await page.getByRole('option', { name: 'Hotel Beta (hotel)' }).click();
      await dialog.getByRole('button', { name: 'Create license' }).click();
      const made = page.getByRole('dialog', { name: 'License created' });
      const key = await textOf(made.getByLabel('License key'));
      assert.match(key, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/, 'a license key is shown');
      await made.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByLabel('Search', { exact: true }).fill(key.slice(0, 8));
      const found = await eventually(() => rows(page), (r) => r.length === 1, 'the new license is found by a fragment of its key');
      assert.match(found[0]!, /Hotel Beta \(requested\) analytics 40 120 Pending provision/);

      // One license: every tab.
      await page.getByLabel('Search', { exact: true }).fill(opened.name);
      await eventually(() => rows(page), (r) => r.length === 1, `only ${opened.name}`);
      await page.getByRole('link', { name: opened.name }).click();
      await page.getByRole('heading', { name: opened.name, level: 1 }).waitFor();
      await page.getByText('In use').first().waitFor();
      const general = page.getByRole('tabpanel', { name: 'General' });
      await general.getByRole('link', { name: 'Hotel Alpha' }).waitFor();
      assert.match(await textOf(general), /End date 15 Jan 2027/);
      assert.match(await textOf(general), /Access points 10 maximum, 0 in use/);
      await page.getByRole('tab', { name: 'Modules' }).click();
      await page.getByRole('tabpanel', { name: 'Modules' }).getByText('Guest portal').waitFor();
      await page.getByRole('tab', { name: 'Upgrades' }).click();
      await page.getByRole('tabpanel', { name: 'Upgrades' }).getByRole('table').waitFor();
      await page.getByRole('tab', { name: 'Notifications' }).click();
      await page.getByRole('tabpanel', { name: 'Notifications' }).getByRole('heading', { name: 'No notifications sent' }).waitFor();
      await page.getByRole('tab', { name: 'Assignments' }).click();
      const assignments = page.getByRole('tabpanel', { name: 'Assignments' });
      await assignments.getByText('Assigned to').waitFor();
      assert.match(await textOf(assignments.getByRole('row', { name: /^access_points/ })), /^access_points 10 0 0 0/);
      assert.match(page.url(), /tab=assignments/);

      // The certificate: a PDF download.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download certificate (PDF)' }).click()]);
      assert.match(download.suggestedFilename(), /\.pdf$/);
      const pdf = await context.request.get(download.url());
      assert.equal(pdf.headers()['content-type'], 'application/pdf');
      assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

      // Suspend, with confirmation; then resume.
      await page.getByRole('button', { name: 'Suspend' }).click();
      const confirm = page.getByRole('dialog', { name: 'Suspend this license?' });
      await confirm.getByRole('button', { name: 'Suspend' }).click();
      await page.getByRole('heading', { name: opened.name, level: 1 }).locator('..').getByText('Access denied').waitFor();
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.getByRole('dialog', { name: 'Resume this license?' }).getByRole('button', { name: 'Resume' }).click();
      await page.getByRole('heading', { name: opened.name, level: 1 }).locator('..').getByText('In use').waitFor();
      await page.getByRole('tab', { name: 'Upgrades' }).click();
      const history = page.getByRole('tabpanel', { name: 'Upgrades' });
      await history.getByRole('cell', { name: 'Resumed' }).waitFor();
      await history.getByRole('cell', { name: 'Suspended' }).waitFor();

      // A refusal in words: someone else suspended it meanwhile; this page still offers "Suspend".
      await h.ok('POST', `/v1/licenses/${opened.id}/suspend`, as);
      await page.getByRole('button', { name: 'Suspend' }).click();
      await page.getByRole('dialog', { name: 'Suspend this license?' }).getByRole('button', { name: 'Suspend' }).click();
      await page.getByRole('dialog').getByRole('alert').getByText('cannot suspend a license that is access_denied').waitFor();
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await page.getByRole('heading', { name: opened.name, level: 1 }).locator('..').getByText('Access denied').waitFor();

      await page.getByRole('tab', { name: 'General' }).click();
      await general.getByRole('link', { name: 'Hotel Alpha' }).waitFor();
      await assertAccessible('the license detail page');
      await screenshot('license-detail');

      // At phone width: the same filtered list, the table scrolling sideways inside the page.
      await page.setViewportSize(PHONE);
      await page.goto('/licenses?status=access_denied');
      const phoneRows = await eventually(() => rows(page), (r) => r.length === 3, 'three licenses denied access now');
      assert.ok(phoneRows.some((r) => r.startsWith(opened.name)));
      assert.ok(await page.getByRole('button', { name: 'Request a license' }).isVisible());
      assert.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'the page itself does not scroll sideways');
      await assertAccessible('the license list at phone width');
      assertNoConsoleErrors();
    } finally {
      await close();
    }
  });
}
