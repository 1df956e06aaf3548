/**
 * The license view (L8: general data, assignments, the members using it) and the certificate
 * (L9: a PDF whose extracted text holds the key, location, modules, limits and term), seed 003.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { generateLicenseKey } from '../../src/domain/license-keys.js';
import { renderCertificate, toWinAnsi } from '../../src/modules/licenses/licenses.certificate.js';
import type { LicenseSummary } from '../../src/modules/licenses/licenses-detail.schemas.js';
import type { LicenseRow } from '../../src/modules/state/state.repo.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';
import { REPO_ROOT } from '../repo.js';

const STANDARD_FONTS = `${join(REPO_ROOT, 'node_modules/pdfjs-dist/standard_fonts')}/`;

/** The text of every page of a PDF, as a reader (pdf.js) extracts it. */
async function pdfText(bytes: Uint8Array): Promise<{ pages: string[]; text: string }> {
  const pdf = await getDocument({ data: bytes, standardFontDataUrl: STANDARD_FONTS, verbosity: 0 }).promise;
  const pages: string[] = [];
  for (let i = 1; i <= pdf.numPages; i++) {
    const content = await (await pdf.getPage(i)).getTextContent();
    pages.push(content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : ' ') : '')).join(''));
  }
  await pdf.destroy();
  return { pages, text: pages.join('\n') };
}

/** GET the certificate as bytes (the test helper's `call` reads bodies as text). */
async function certificate(t: TestApp, id: string, token: string) {
  const res = await t.app.inject({ method: 'GET', url: `/v1/licenses/${id}/certificate.pdf`, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, headers: res.headers, bytes: new Uint8Array(res.rawPayload), body: res.body };
}

/** A license made by request (`POST /v1/licenses`): pending_provision, with its key. */
async function requestLicense(t: TestApp, v: Tree, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const made = await ok(t.app, 'POST', '/v1/licenses', { token: v.operator.token, body: { rootId: v.root, ...body } });
  assert.equal(made.status, 'pending_provision');
  return { id: made.id, key: made.key };
}

/** "Send Key": binds the license to the pool. */
const activate = (t: TestApp, token: string, key: string, poolId: string) => ok(t.app, 'POST', '/v1/licenses/activate', { token, body: { key, poolId } });

for (const backend of backends()) {
  describe(`license detail and certificate (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let hotel: string;
    let wing: string;
    let other: string;
    let premium: { id: string; key: string };
    let basic: string;
    let manager: Awaited<ReturnType<typeof person>>;
    const members: Record<string, string> = {};

    before(async () => {
      t = await createTestApp(backend);
      t.clock.set('2026-03-01T00:00:00Z');
      v = await vendor(t, {
        name: 'Octopus Wifi',
        meters: [{ key: 'access_points' }, { key: 'rooms' }, { key: 'sip_numbers' }, { key: 'mobile_apps', draws: ['sip_numbers'] }],
        features: ['guest_access', 'amenities', 'plate_recognition'],
      });
      const op = v.operator.token;
      hotel = await childPool(t, op, v.root, { name: 'Hotel Zürich', kind: 'location', restricted: true });
      wing = await childPool(t, op, hotel, { name: 'East wing', kind: 'building' });
      other = await childPool(t, op, v.root, { name: 'Other hotel', kind: 'location', restricted: true });
      manager = await person(t, 'manager@hotel.test');
      await ok(t.app, 'POST', `/v1/pools/${hotel}/roles`, { token: op, body: { email: manager.email, role: 'manager' } });
      // Seed 003: requested for the hotel, activated there by its manager ("Send Key").
      premium = await requestLicense(t, v, {
        name: 'Premium',
        limits: { access_points: 40, sip_numbers: 10, mobile_apps: 5 },
        features: ['guest_access', 'amenities'],
        billing: { interval: 'annual', contractYears: 3 },
        request: { poolId: hotel, partner: 'Integra SL', distributor: 'Wholesale SA', rooms: 120, modules: ['guest_access', 'amenities'] },
      });
      await activate(t, manager.token, premium.key, hotel);
      // A second license on the hotel giving access points too: the units are pooled.
      basic = (await ok(t.app, 'POST', `/v1/pools/${hotel}/licenses`, { token: op, body: { name: 'Basic', limits: { access_points: 2 } } })).id;
      await ok(t.app, 'POST', `/v1/pools/${other}/licenses`, { token: op, body: { limits: { access_points: 5 } } });

      const member = async (pool: string, body: unknown) => {
        const m = await ok(t.app, 'POST', `/v1/pools/${pool}/members`, { token: op, body });
        await ok(t.app, 'POST', `/v1/members/${m.id}/verify`, { token: op });
        return m.id as string;
      };
      await person(t, 'anna@hotel.test');
      await person(t, 'ben@hotel.test');
      await person(t, 'carl@other.test');
      members.anna = await member(hotel, { email: 'anna@hotel.test' });
      members.ap = await member(wing, { device: { serial: 'AP-EAST-01', type: 'access_point' } });
      members.ben = await member(hotel, { email: 'ben@hotel.test' });
      members.carl = await member(other, { email: 'carl@other.test' });
      const claim = (memberId: string, meter: string, extra: object = {}) =>
        ok(t.app, 'POST', '/v1/claims', { token: op, body: { memberId, meter, kind: 'assignment', ...extra } });
      await claim(members.anna, 'access_points', { quantity: 3 });
      await claim(members.ap, 'access_points');
      await claim(members.anna, 'mobile_apps'); // takes a sip number too
      await claim(members.carl, 'access_points'); // another pool: not the hotel's
      const released = await claim(members.ben, 'access_points');
      await ok(t.app, 'DELETE', `/v1/claims/${released.id}`, { token: op });
      // A lease that runs out: no longer live once its end has passed, swept or not.
      await claim(members.ben, 'sip_numbers', { kind: 'lease', ttlSeconds: 60 });
      t.clock.advance(120_000);
    });
    after(() => t.close());

    test('summary: pool, start, end, duration, APs and rooms maximum and in use, modules, limits', async () => {
      const s = await ok(t.app, 'GET', `/v1/licenses/${premium.id}/summary`, { token: manager.token });
      assert.equal(s.key, premium.key);
      assert.equal(s.status, 'in_use');
      assert.equal(s.inEffect, true);
      assert.deepEqual(s.vendor, { id: v.root, name: 'Octopus Wifi' });
      assert.deepEqual(s.pool, { id: hotel, name: 'Hotel Zürich', kind: 'location', bound: true });
      assert.equal(s.start, '2026-03-01T00:00:00.000Z');
      assert.equal(s.end, '2029-03-01T00:00:00.000Z');
      assert.deepEqual(s.duration, { termMonths: 36, days: 1096 });
      assert.deepEqual(s.billing, { interval: 'annual', contractYears: 3 });
      // APs: the license's limit; in use: 3 (Anna) + 1 (the east wing's AP), the released claim gone.
      assert.deepEqual(s.accessPoints, { maximum: 40, inUse: 4, source: 'license' });
      // Rooms: no limit names them, so the request says the maximum; nothing uses any.
      assert.deepEqual(s.rooms, { maximum: 120, inUse: 0, source: 'request' });
      assert.deepEqual(s.modules, [
        { key: 'guest_access', name: 'guest_access' },
        { key: 'amenities', name: 'amenities' },
      ]);
      assert.deepEqual(
        s.limits.map((l: any) => [l.meter, l.limit]),
        [['access_points', 40], ['mobile_apps', 5], ['sip_numbers', 10]],
      );
      assert.equal(s.limits.find((l: any) => l.meter === 'mobile_apps').used, 1);
    });

    test('assignments: the pool, what uses each meter it gives (draws and sub-pools included), and who shares them', async () => {
      const a = await ok(t.app, 'GET', `/v1/licenses/${premium.id}/assignments`, { token: manager.token });
      assert.deepEqual(a.pool, { id: hotel, name: 'Hotel Zürich', kind: 'location' });
      assert.equal(a.inEffect, true);
      assert.equal(a.configuredElements, null, 'an on_activation license counts no connections');
      const byKey = Object.fromEntries(a.meters.map((m: any) => [m.key, m]));
      // Anna (3) and the AP in the east wing (1); Carl is in another pool, Ben checked in.
      assert.deepEqual(byKey.access_points, { key: 'access_points', limit: 40, used: 4, claims: 2, members: 2, sharedWith: 1 });
      assert.deepEqual(byKey.mobile_apps, { key: 'mobile_apps', limit: 5, used: 1, claims: 1, members: 1, sharedWith: 0 });
      // Anna's app takes a sip number; Ben's expired lease does not count as a live claim.
      assert.deepEqual({ ...byKey.sip_numbers, used: undefined }, { key: 'sip_numbers', limit: 10, used: undefined, claims: 1, members: 1, sharedWith: 0 });

      const b = await ok(t.app, 'GET', `/v1/licenses/${basic}/assignments`, { token: manager.token });
      assert.deepEqual(b.meters, [{ key: 'access_points', limit: 2, used: 4, claims: 2, members: 2, sharedWith: 1 }]);
    });

    test('the members using it, a page at a time, with what they take', async () => {
      const first = await ok(t.app, 'GET', `/v1/licenses/${premium.id}/assignments/members?limit=1`, { token: manager.token });
      assert.equal(first.data.length, 1);
      assert.ok(first.nextCursor);
      const second = await ok(t.app, 'GET', `/v1/licenses/${premium.id}/assignments/members?limit=1&cursor=${first.nextCursor}`, { token: manager.token });
      assert.equal(second.nextCursor, null);
      const all = [...first.data, ...second.data];
      const anna = all.find((m: any) => m.id === members.anna);
      const ap = all.find((m: any) => m.id === members.ap);
      assert.deepEqual(all.map((m: any) => m.id).sort(), [members.anna, members.ap].sort(), 'Ben (checked in, lease expired) and Carl (other pool) are not using it');
      assert.equal(anna.account.email, 'anna@hotel.test');
      assert.equal(anna.device, null);
      assert.equal(anna.poolId, hotel);
      assert.deepEqual(anna.meters, [
        { key: 'access_points', claims: 1, units: 3 },
        { key: 'mobile_apps', claims: 1, units: 1 },
        { key: 'sip_numbers', claims: 1, units: 1 },
      ]);
      assert.equal(ap.account, null);
      assert.equal(ap.device.serial, 'AP-EAST-01');
      assert.equal(ap.poolId, wing);
      assert.deepEqual(ap.meters, [{ key: 'access_points', claims: 1, units: 1 }]);
    });

    test('configured elements: the distinct devices counted towards an on_connections start', async () => {
      const op = v.operator.token;
      const waiting = await requestLicense(t, v, { limits: { access_points: 1 }, termMonths: 12, startRule: { type: 'on_connections' } });
      await activate(t, op, waiting.key, other);
      const before = await ok(t.app, 'GET', `/v1/licenses/${waiting.id}/assignments`, { token: op });
      assert.equal(before.configuredElements, 0);
      for (const serial of ['SN-1', 'SN-2', 'SN-2', 'SN-3']) await ok(t.app, 'POST', `/v1/pools/${other}/connections`, { token: op, body: { serial } });
      const a = await ok(t.app, 'GET', `/v1/licenses/${waiting.id}/assignments`, { token: op });
      assert.equal(a.configuredElements, 3, 'a repeated device counts once');
      assert.deepEqual(a.pool, { id: other, name: 'Other hotel', kind: 'location' });
      assert.equal(a.inEffect, false, 'still pending_start');
    });

    test('certificate: a one-page PDF whose text holds the key, location, modules, limits, term and issue date', async () => {
      const res = await certificate(t, premium.id, manager.token);
      assert.equal(res.status, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/pdf');
      assert.equal(res.headers['content-disposition'], `attachment; filename="license-${premium.key}.pdf"`);
      assert.equal(Buffer.from(res.bytes.subarray(0, 5)).toString('latin1'), '%PDF-');
      const { pages, text } = await pdfText(res.bytes);
      assert.equal(pages.length, 1, 'one page');
      assert.ok(text.includes(premium.key), `the key in:\n${text}`);
      for (const expected of [
        'Octopus Wifi',
        'Hotel Zürich (location)',
        hotel,
        'Term 36 months (3 years)',
        'Start 2026-03-01',
        'End 2029-03-01',
        'Billing annual, 3 contract years',
        'Status in use',
        'Integra SL',
        'Wholesale SA',
        'guest_access, amenities',
        'access_points',
        '40',
        'Issued 2026-03-01 by Octopus Wifi',
      ]) {
        assert.ok(text.replace(/\s+/g, ' ').includes(expected), `"${expected}" in:\n${text}`);
      }
    });

    test('a license not yet activated: the pool its request names, time not started; only the root’s operators read it', async () => {
      const placed = await requestLicense(t, v, {
        limits: { access_points: 10 },
        features: ['guest_access'],
        billing: { interval: 'monthly', contractYears: 2 },
        startRule: { type: 'on_connections' },
        request: { poolId: hotel, accessPoints: 10 },
      });
      const key = placed.key;

      const s = await ok(t.app, 'GET', `/v1/licenses/${placed.id}/summary`, { token: v.operator.token });
      assert.equal(s.status, 'pending_provision');
      assert.deepEqual(s.pool, { id: hotel, name: 'Hotel Zürich', kind: 'location', bound: false });
      assert.equal(s.start, null);
      assert.deepEqual(s.duration, { termMonths: 24, days: null });
      assert.deepEqual(s.accessPoints, { maximum: 10, inUse: null, source: 'license' });

      const a = await ok(t.app, 'GET', `/v1/licenses/${placed.id}/assignments`, { token: v.operator.token });
      assert.equal(a.pool, null);
      assert.deepEqual(a.meters, [{ key: 'access_points', limit: 10, used: 0, claims: 0, members: 0, sharedWith: 0 }]);
      assert.equal(a.configuredElements, 0);
      assert.deepEqual(await ok(t.app, 'GET', `/v1/licenses/${placed.id}/assignments/members`, { token: v.operator.token }), { data: [], nextCursor: null });

      const pdf = await certificate(t, placed.id, v.operator.token);
      assert.equal(pdf.status, 200);
      const { text } = await pdfText(pdf.bytes);
      const flat = text.replace(/\s+/g, ' ');
      for (const expected of [key, 'Meant for Hotel Zürich', 'Term 24 months (2 years)', 'after 5 distinct devices have connected', 'End start + 24 months (2 years)']) {
        assert.ok(flat.includes(expected), `"${expected}" in:\n${text}`);
      }

      // The hotel's manager reads the hotel's licenses, not one that is on no pool yet.
      for (const url of ['summary', 'assignments', 'assignments/members', 'certificate.pdf']) {
        const res = await call(t.app, 'GET', `/v1/licenses/${placed.id}/${url}`, { token: manager.token });
        assert.equal(res.status, 404, url);
        assert.equal(res.body.code, 'NOT_FOUND');
      }
    });

    test('a license placed straight on a pool has no key: the certificate says so and is named by its id', async () => {
      const res = await certificate(t, basic, v.operator.token);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-disposition'], `attachment; filename="license-${basic}.pdf"`);
      const { text } = await pdfText(res.bytes);
      assert.ok(text.includes('No activation key'), text);
      assert.ok(text.includes(basic), text);
    });

    test('names outside what the standard fonts can draw do not break the certificate', async () => {
      const op = v.operator.token;
      const pool = await childPool(t, op, v.root, { name: 'Łódź 東京 Hôtel 😀 Ærø', kind: 'location' });
      const placed = await requestLicense(t, v, { name: 'Ğüçlü – “Premium” €', limits: { access_points: 1 }, termMonths: 12, request: { partner: 'Ωmega\tŞirket' } });
      const key = placed.key;
      await activate(t, op, key, pool);
      const res = await certificate(t, placed.id, op);
      assert.equal(res.status, 200, res.body);
      const { pages, text } = await pdfText(res.bytes);
      assert.equal(pages.length, 1);
      const flat = text.replace(/\s+/g, ' ');
      for (const expected of [key, 'Lódz ?? Hôtel ? Ærø', 'Güçlü – “Premium” €', '?mega Sirket', 'Term 12 months (1 year)']) {
        assert.ok(flat.includes(expected), `"${expected}" in:\n${text}`);
      }
    });

    test('another tenant, and a reader of a sibling pool, get 404 on every detail route', async () => {
      const rival = await vendor(t, { name: 'Rival' });
      const otherManager = await person(t, 'manager@other.test');
      await ok(t.app, 'POST', `/v1/pools/${other}/roles`, { token: v.operator.token, body: { email: otherManager.email, role: 'manager' } });
      for (const token of [rival.operator.token, otherManager.token]) {
        for (const url of ['summary', 'assignments', 'assignments/members', 'certificate.pdf']) {
          const res = await call(t.app, 'GET', `/v1/licenses/${premium.id}/${url}`, { token });
          assert.equal(res.status, 404, url);
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
          assert.ok(!JSON.stringify(res.body).includes('Hotel'), url);
        }
      }
    });
  });
}

describe('certificate rendering', () => {
  test('toWinAnsi keeps what WinAnsi has, strips marks, reads a few letters in ASCII and replaces the rest', () => {
    assert.equal(toWinAnsi('Zürich € “ok” – Æ'), 'Zürich € “ok” – Æ');
    assert.equal(toWinAnsi('Łódź Kraków'), 'Lódz Kraków');
    assert.equal(toWinAnsi('Şişli Ğ'), 'Sisli G');
    assert.equal(toWinAnsi('東京'), '??');
    assert.equal(toWinAnsi('a😀b'), 'a?b');
    assert.equal(toWinAnsi('tab\there\nnul\u0000'), 'tab here nul ');
    assert.equal(toWinAnsi('ﬁ'), 'fi');
  });

  test('a hundred modules and meters still fit on one page, the rest counted', async () => {
    const n = 100;
    const limits = Object.fromEntries(Array.from({ length: n }, (_, i) => [`meter_${String(i).padStart(3, '0')}`, i]));
    const features = Array.from({ length: n }, (_, i) => `module_with_a_long_name_${i}`);
    const key = generateLicenseKey();
    const at = new Date('2026-01-01T00:00:00Z');
    const license = {
      id: 'lic_01h0000000000000000000000', rootId: 'pool_x', poolId: null, name: 'Big', status: 'pending_provision', limits, features,
      validFrom: null, validUntil: null, key, termMonths: 60, startRule: 'on_activation', connectionThreshold: null, billingInterval: 'monthly',
      contractYears: 5, request: null, activatedAt: null, activatedBy: null, createdAt: at, updatedAt: at,
    } as unknown as LicenseRow;
    const summary: LicenseSummary = {
      id: license.id, key, name: 'Big', status: 'pending_provision', inEffect: false, vendor: { id: 'pool_x', name: 'Vendor' }, pool: null,
      start: null, end: null, duration: { termMonths: 60, days: null }, billing: { interval: 'monthly', contractYears: 5 },
      accessPoints: { maximum: null, inUse: null, source: null }, rooms: { maximum: null, inUse: null, source: null },
      modules: features.map((key) => ({ key, name: key })),
      limits: Object.entries(limits).map(([meter, limit]) => ({ meter, name: meter, limit, used: null })),
    };
    const bytes = await renderCertificate({ license, summary, location: null, issuedAt: at });
    const { pages, text } = await pdfText(new Uint8Array(bytes));
    assert.equal(pages.length, 1);
    const flat = text.replace(/\s+/g, ' ');
    assert.ok(flat.includes(key));
    assert.ok(flat.includes('Term 60 months (5 years)'));
    assert.match(flat, /and \d+ more \(see the license in the API\)/);
    assert.match(flat, /, and \d+ more/);
    assert.ok(flat.includes('meter_000'));
  });
});
