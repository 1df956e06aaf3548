/**
 * Live claims and the queue (issue 14, item 8) and the catalog (item 7): an operator sees who
 * holds what in the pool tree, force-releases a claim from the page (it ends as released_by_admin
 * and the use drops), sees the queue's ticket with its place, and adds a meter to the catalog.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIn, PHONE, textOf, type Harness } from '../harness.js';

export function journey(harness: () => Harness) {
  test('an operator releases a live claim from the claims page, sees the queue, and adds a meter to the catalog; a manager sees the claims read-only', async () => {
    const h = harness();
    const operator = { email: 'olga@claims.test', password: 'olga operator password' };
    const { rootId } = await h.tenant('Claims Vendor', operator, { restricted: true });
    const token = (await h.ok('POST', '/v1/auth/login', { body: operator })).token as string;
    const as = { token };
    await h.ok('POST', `/v1/pools/${rootId}/meters`, { ...as, body: { key: 'seats', name: 'Seats' } });
    await h.ok('POST', `/v1/pools/${rootId}/licenses`, { ...as, body: { limits: { seats: 10 } } });
    // A restricted building with three seats and its queue on, below the vendor.
    const building = await h.ok('POST', '/v1/pools', { ...as, body: { name: 'Sunset Towers', kind: 'building', parentId: rootId, restricted: true } });
    await h.ok('POST', `/v1/pools/${building.id}/activate`, as);
    await h.ok('PATCH', `/v1/pools/${building.id}`, { ...as, body: { queue: { enabled: true, claimTimeoutSeconds: 300 } } });
    await h.ok('POST', `/v1/pools/${building.id}/licenses`, { ...as, body: { limits: { seats: 3 } } });
    const member = async (body: object) => {
      const created = await h.ok('POST', `/v1/pools/${building.id}/members`, { ...as, body });
      await h.ok('POST', `/v1/members/${created.id}/verify`, as);
      return created.id as string;
    };
    for (const email of ['alice@claims.test', 'bob@claims.test']) {
      await h.ok('POST', '/v1/accounts', { body: { email, name: email.startsWith('alice') ? 'Alice Example' : 'Bob Example', password: 'a member password 123' } });
    }
    const alice = await member({ email: 'alice@claims.test' });
    const bob = await member({ email: 'bob@claims.test' });
    const intercom = await member({ device: { serial: 'SN-0001', type: 'intercom' } });
    // Full: Alice's lease (1) and the intercom's assignment (2); Bob waits in line for two.
    const aliceLease = (await h.ok('POST', '/v1/claims', { ...as, body: { memberId: alice, meter: 'seats', ttlSeconds: 3600, fingerprint: 'alice-laptop' } })).id as string;
    await h.ok('POST', '/v1/claims', { ...as, body: { memberId: intercom, meter: 'seats', kind: 'assignment', quantity: 2 } });
    const queued = await h.api('POST', '/v1/claims', { ...as, body: { memberId: bob, meter: 'seats', quantity: 2, ttlSeconds: 3600, fingerprint: 'bob-phone', queue: true } });
    assert.equal(queued.status, 202, JSON.stringify(queued.body));

    const { page, assertNoConsoleErrors, assertAccessible, screenshot, close } = await h.newPage();
    try {
      await logIn(page, operator.email, operator.password);
      await page.getByRole('link', { name: 'Live claims' }).click();
      await page.getByRole('heading', { name: 'Live claims of Claims Vendor', level: 1 }).waitFor();

      // Who holds what, in the vendor's tree: a person by name and e-mail, a device by serial.
      const claims = page.getByRole('table', { name: /Live claims/ });
      const aliceRow = claims.getByRole('row').filter({ hasText: 'Alice Example' });
      assert.match(await textOf(aliceRow), /alice@claims\.test.*seats.*lease.*1.*alice-laptop/);
      assert.match(await textOf(claims.getByRole('row').filter({ hasText: 'device SN-0001' })), /intercom.*seats.*assignment.*2.*until released/);
      assert.equal(await textOf(page.getByRole('group', { name: 'Use per meter' })), 'seats: 3 used of 10');

      // The queue: Bob waits first in line.
      const queue = page.getByRole('table', { name: /Tickets in line/ });
      assert.match(await textOf(queue.getByRole('row').filter({ hasText: 'Bob Example' })), /^1 Bob Example bob@claims\.test .*seats 2 waiting/);
      await assertAccessible('the claims page');
      await screenshot('claims');

      // Release Alice's lease, after confirming.
      await page.getByRole('button', { name: 'Release the seats claim of Alice Example' }).click();
      const dialog = page.getByRole('dialog', { name: 'Release this claim?' });
      assert.match(await textOf(dialog), /lease of 1 seats held by Alice Example on alice-laptop ends now/);
      await assertAccessible('the release dialog');
      await dialog.getByRole('button', { name: 'Release claim' }).click();
      await dialog.waitFor({ state: 'detached' });
      await aliceRow.waitFor({ state: 'detached' });
      await page.getByRole('group', { name: 'Use per meter' }).getByText('seats: 2 used of 10').waitFor();
      // One seat free is not the two Bob waits for: he is still first in line.
      assert.match(await textOf(queue.getByRole('row').filter({ hasText: 'Bob Example' })), /^1 Bob Example/);

      const ended = await h.ok('GET', `/v1/claims/${aliceLease}`, as);
      assert.deepEqual({ status: ended.status, endReason: ended.endReason }, { status: 'released', endReason: 'released_by_admin' });

      // The catalog: a meter key in use is refused at its field; a new one is added.
      await page.getByRole('link', { name: 'Catalog' }).click();
      await page.getByRole('heading', { name: 'Catalog', level: 1 }).waitFor();
      const meters = page.getByRole('region', { name: 'Meters', exact: true });
      await meters.getByRole('rowheader', { name: 'seats' }).waitFor();
      const key = page.getByRole('textbox', { name: 'Meter key', exact: true });
      await key.fill('seats');
      await page.getByRole('textbox', { name: 'Meter name', exact: true }).fill('More seats');
      await page.getByRole('button', { name: 'Add meter' }).click();
      await page.getByText('the meter seats exists').waitFor();
      assert.equal(await key.getAttribute('aria-invalid'), 'true');

      await key.fill('desks');
      await page.getByRole('textbox', { name: 'Meter name', exact: true }).fill('Desks');
      await page.getByRole('combobox', { name: 'Draws on' }).click();
      await page.getByRole('option', { name: 'seats' }).click();
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Add meter' }).click();
      await page.getByRole('status').filter({ hasText: 'Meter desks added.' }).waitFor();
      assert.equal(await textOf(meters.getByRole('row').filter({ hasText: 'desks' })), 'desks Desks seats');
      await assertAccessible('the catalog');
      await screenshot('catalog');
      const catalog = await h.ok('GET', `/v1/pools/${rootId}/meters`, as);
      assert.deepEqual(catalog.data.find((m: { key: string }) => m.key === 'desks')?.draws, ['seats']);
      assertNoConsoleErrors();
    } finally {
      await close();
    }

    // The building's manager may list its claims but not force-release them (the API answers
    // 403): the page shows who holds what without a Release button, and no Catalog entry.
    const manager = { email: 'mia@claims.test', password: 'mia manager password' };
    await h.ok('POST', '/v1/accounts', { body: { ...manager, name: 'Mia Manager' } });
    await h.ok('POST', `/v1/pools/${building.id}/roles`, { ...as, body: { email: manager.email, role: 'manager' } });
    const managers = await h.newPage(PHONE);
    try {
      await logIn(managers.page, manager.email, manager.password);
      await managers.page.getByRole('button', { name: 'Open navigation' }).click();
      await managers.page.getByRole('link', { name: 'Live claims' }).click();
      await managers.page.getByRole('heading', { name: 'Live claims of Sunset Towers', level: 1 }).waitFor();
      await managers.page.getByRole('table', { name: /Live claims/ }).getByRole('row').filter({ hasText: 'device SN-0001' }).waitFor();
      assert.equal(await managers.page.getByRole('button', { name: /^Release/ }).count(), 0);
      assert.equal(await managers.page.getByRole('link', { name: 'Catalog' }).count(), 0);
      await managers.assertAccessible('the claims page, read-only, on a phone');
      await managers.screenshot('claims-phone');
      managers.assertNoConsoleErrors();
    } finally {
      await managers.close();
    }
  });
}
