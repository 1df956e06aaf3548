/**
 * POST /v1/sync beyond the seed-000 walk-through: M2's strictest rule in the tokens, devices
 * dropped once lost, refusals with the claim engine's codes, token lifetimes, and the packages
 * catalog (C4) that sync delivers from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyLicense, type SyncLicensePayload } from '@licensepool/client';
import { backends, call, childPool, createTestApp, ok, person, residenceTree, verifiedMember, type TestApp, type Tree } from '../helpers.js';

const DAY_MS = 86_400_000;
const at = (days: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + days * DAY_MS);
const seconds = (d: Date) => d.getTime() / 1000;
const pkg = (name: string, tie: { feature: string } | { meter: string }, deviceType = 'WiDI') => ({
  name,
  version: '1.0.0',
  deviceType,
  sha256: 'c'.repeat(64),
  size: 4096,
  url: `https://downloads.test/${name}.bin`,
  ...tie,
});

for (const backend of backends()) {
  describe(`sync (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let building: string;
    let flatA: string;
    let flatB: string;
    let resident: Awaited<ReturnType<typeof person>>;
    let memberA: string;
    let memberB: string;
    const jwks = async () => (await call(t.app, 'GET', '/.well-known/jwks.json')).body;
    const payloads = async (res: { tokens: { token: string }[] }) => {
      const keys = await jwks();
      return Promise.all(res.tokens.map(async (x) => (await verifyLicense(x.token, keys, { rootId: v.root, currentDate: t.clock.now() })) as SyncLicensePayload));
    };
    const addVerified = (poolId: string, body: Parameters<typeof verifiedMember>[3]) => verifiedMember(t, v.operator.token, poolId, body);

    before(async () => {
      t = await createTestApp(backend);
      // Seed 001: a building with SIP numbers and mobile apps (each app takes a SIP number); a resident in two apartments.
      ({ v, building, flatA, flatB } = await residenceTree(t, ['rooms']));
      resident = await person(t, 'resident@home.test');
      memberA = await addVerified(flatA, { email: resident.email });
      memberB = await addVerified(flatB, { email: resident.email });
    });
    after(() => t.close());

    test('M2 strictest rule, exclusive membership off: the intersection of features and the lower remaining count', async () => {
      // Someone else in apartment B takes one of its two apps.
      const neighbour = await person(t, 'neighbour@home.test');
      const neighbourB = await addVerified(flatB, { email: neighbour.email });
      await ok(t.app, 'POST', '/v1/claims', { token: neighbour.token, body: { memberId: neighbourB, meter: 'mobile_apps', kind: 'assignment' } });

      const res = await ok(t.app, 'POST', '/v1/sync', { token: resident.token, body: { memberId: memberA } });
      const [mine] = await payloads(res);
      // A gives guest access and door opening (from the building); B only door opening.
      assert.deepEqual(Object.keys(mine!.features), ['remote_door_opening']);
      assert.equal(mine!.features.remote_door_opening, seconds(at(60)));
      assert.deepEqual(mine!.limits.mobile_apps, { limit: 2, until: seconds(at(60)) });
      const apps = res.entitlements.meters.find((m: { key: string }) => m.key === 'mobile_apps');
      assert.equal(apps.remaining, 1, 'the lower remaining count: B has 1 left, A 9');
      // The grant ends when B's license does; the path's own end (day 200) comes later.
      assert.equal(mine!.end, seconds(at(60)));
      assert.equal(res.until, at(60).toISOString());

      // Either membership syncs to the same strictest answer; without memberId the caller must choose.
      const viaB = await ok(t.app, 'POST', '/v1/sync', { token: resident.token, body: { memberId: memberB } });
      assert.deepEqual(viaB.entitlements.features, res.entitlements.features);
      const ambiguous = await call(t.app, 'POST', '/v1/sync', { token: resident.token, body: {} });
      assert.equal(ambiguous.status, 422);
      assert.equal(ambiguous.body.code, 'MEMBER_AMBIGUOUS');
      assert.deepEqual(ambiguous.body.memberIds, [memberA, memberB].sort());
      const elsewhere = await call(t.app, 'POST', '/v1/sync', { token: resident.token, body: { rootId: building } });
      assert.equal(elsewhere.status, 409);
      assert.deepEqual(elsewhere.body.reasons.map((r: { code: string }) => r.code), ['MEMBER_NOT_FOUND']);
    });

    test('a device reported lost is dropped from the next sync at once, and returns once found', async () => {
      const owner = await person(t, 'owner@flat-c.test');
      const flatC = await childPool(t, v.operator.token, building, { name: 'Apartment C', kind: 'apartment' });
      const me = await addVerified(flatC, { email: owner.email });
      const door = await addVerified(flatC, { device: { serial: 'DOOR-1', type: 'WiDI' } });
      const gate = await addVerified(flatC, { device: { serial: 'GATE-1', type: 'WiDI' } });
      const serials = async () => (await ok(t.app, 'POST', '/v1/sync', { token: owner.token, body: { memberId: me } })).tokens.map((x: { device: { serial: string } | null }) => x.device?.serial ?? 'me');
      assert.deepEqual(await serials(), ['me', ...(door < gate ? ['DOOR-1', 'GATE-1'] : ['GATE-1', 'DOOR-1'])]);
      const registry = await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=GATE-1`, { token: v.operator.token });
      await ok(t.app, 'POST', `/v1/devices/${registry.data[0].id}/report`, { token: v.operator.token, body: { status: 'lost' } });
      assert.deepEqual(await serials(), ['me', 'DOOR-1']);
      await ok(t.app, 'POST', `/v1/devices/${registry.data[0].id}/report`, { token: v.operator.token, body: { status: 'ok' } });
      assert.equal((await serials()).length, 3);

      // A device member synced by its manager gets its own token, with the pool's grant.
      const res = await ok(t.app, 'POST', '/v1/sync', { token: v.operator.token, body: { memberId: door } });
      const [own] = await payloads(res);
      assert.equal(own!.subject, 'device');
      assert.deepEqual(own!.device, { serial: 'DOOR-1', type: 'WiDI' });
      assert.deepEqual(res.tokens.map((x: { subject: string; device: { serial: string } }) => [x.subject, x.device.serial]), [['member', 'DOOR-1'], ['device', 'GATE-1']]);
    });

    test('refusals carry the claim engine\'s reason codes', async () => {
      const flatD = await childPool(t, v.operator.token, building, { name: 'Apartment D', kind: 'apartment' });
      const tenant = await person(t, 'tenant@flat-d.test');
      const member = await addVerified(flatD, { email: tenant.email });
      await ok(t.app, 'POST', '/v1/sync', { token: tenant.token, body: {} });
      await ok(t.app, 'POST', `/v1/pools/${flatD}/suspend`, { token: v.operator.token });
      const suspended = await call(t.app, 'POST', '/v1/sync', { token: tenant.token, body: {} });
      assert.equal(suspended.status, 409);
      assert.equal(suspended.body.code, 'SYNC_REFUSED');
      assert.deepEqual(suspended.body.reasons, [{ code: 'POOL_NOT_ACTIVE', poolId: flatD, status: 'suspended' }]);
      await ok(t.app, 'POST', `/v1/pools/${flatD}/resume`, { token: v.operator.token });
      await ok(t.app, 'POST', `/v1/members/${member}/reject`, { token: v.operator.token });
      const rejected = await call(t.app, 'POST', '/v1/sync', { token: tenant.token, body: {} });
      assert.deepEqual(rejected.body.reasons.map((r: { code: string }) => r.code), ['MEMBER_NOT_VERIFIED']);
      // Someone else's member: not found, as for every route about it.
      const stranger = await person(t, 'stranger@elsewhere.test');
      assert.equal((await call(t.app, 'POST', '/v1/sync', { token: stranger.token, body: { memberId: member } })).status, 404);
      assert.equal((await call(t.app, 'POST', '/v1/sync', { body: {} })).status, 401);
    });

    test('tokens expire at the end of the grant, or a week after refresh-by, and are checked offline', async () => {
      // A license with no end on a path with none: the tokens live refresh-by + 7 days.
      await ok(t.app, 'POST', `/v1/pools/${v.root}/licenses`, { token: v.operator.token, body: { limits: { rooms: 10 }, features: [] } });
      const flatE = await childPool(t, v.operator.token, v.root, { name: 'Office E', kind: 'company', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${flatE}/licenses`, { token: v.operator.token, body: { limits: { rooms: 3 }, features: [] } });
      const occupant = await person(t, 'occupant@flat-e.test');
      await addVerified(flatE, { email: occupant.email });
      const res = await ok(t.app, 'POST', '/v1/sync', { token: occupant.token, body: {} });
      assert.equal(res.refreshBy, at(1).toISOString());
      assert.equal(res.expiresAt, at(8).toISOString());
      assert.equal(res.until, null);
      const [mine] = await payloads(res);
      assert.equal(mine!.end, null);
      assert.deepEqual(mine!.limits, { rooms: { limit: 3, until: null } });
      assert.deepEqual(mine!.features, {});
      const keys = await jwks();
      await verifyLicense(res.tokens[0].token, keys, { currentDate: at(7.9) });
      await assert.rejects(verifyLicense(res.tokens[0].token, keys, { currentDate: at(8.1) }), { code: 'EXPIRED' });

      // A grant ending before refresh-by: refresh then, and the tokens die with the grant.
      t.clock.set(new Date(at(60).getTime() - 3600_000));
      try {
        const short = await ok(t.app, 'POST', '/v1/sync', { token: resident.token, body: { memberId: memberA } });
        assert.equal(short.refreshBy, at(60).toISOString());
        assert.equal(short.expiresAt, at(60).toISOString());
      } finally {
        t.clock.set(at(0));
      }
    });

    test('packages (C4): operators keep them per root; sync delivers those the member\'s features or licensed meters entitle', async () => {
      const op = v.operator.token;
      const door = await ok(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('door-ui', { feature: 'remote_door_opening' }) });
      assert.match(door.id, /^pkg_/);
      assert.equal(door.feature, 'remote_door_opening');
      assert.equal(door.meter, null);
      await ok(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('siri-bridge', { feature: 'siri' }) });
      const apps = await ok(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('sip-client', { meter: 'mobile_apps' }, 'Phone') });
      await ok(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('room-panel', { meter: 'rooms' }, 'Panel') });

      const res = await ok(t.app, 'POST', '/v1/sync', { token: resident.token, body: { memberId: memberA } });
      // Not siri (no license gives it), not the rooms panel (no license limits rooms: 0 in a restricted pool).
      assert.deepEqual(res.packages.map((p: { name: string }) => p.name), ['door-ui', 'sip-client']);

      const dup = await call(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('door-ui', { feature: 'remote_door_opening' }) });
      assert.equal(dup.status, 409);
      assert.equal(dup.body.code, 'PACKAGE_EXISTS');
      const unknownFeature = await call(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('x', { feature: 'teleport' }) });
      assert.equal(unknownFeature.body.code, 'UNKNOWN_FEATURE');
      const unknownMeter = await call(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: pkg('x', { meter: 'parking' }) });
      assert.equal(unknownMeter.body.code, 'UNKNOWN_METER');
      const both = await call(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: op, body: { ...pkg('x', { meter: 'rooms' }), feature: 'siri' } });
      assert.equal(both.status, 422);
      const onChild = await call(t.app, 'POST', `/v1/pools/${building}/packages`, { token: op, body: pkg('x', { feature: 'siri' }) });
      assert.equal(onChild.body.code, 'NOT_A_ROOT');

      // Readers of any pool see the root's packages; only the root's operators change them.
      const manager = await person(t, 'manager@residence.test');
      await ok(t.app, 'POST', `/v1/pools/${building}/roles`, { token: op, body: { email: manager.email, role: 'manager' } });
      const listed = await ok(t.app, 'GET', `/v1/pools/${flatA}/packages?deviceType=Phone`, { token: manager.token });
      assert.deepEqual(listed.data.map((p: { id: string }) => p.id), [apps.id]);
      assert.equal((await call(t.app, 'POST', `/v1/pools/${v.root}/packages`, { token: manager.token, body: pkg('y', { feature: 'siri' }) })).status, 404);
      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${v.root}/packages/${door.id}`, { token: manager.token })).status, 404);

      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${v.root}/packages/${door.id}`, { token: op })).status, 204);
      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${v.root}/packages/${door.id}`, { token: op })).status, 404);
      const after = await ok(t.app, 'POST', '/v1/sync', { token: resident.token, body: { memberId: memberA } });
      assert.deepEqual(after.packages.map((p: { name: string }) => p.name), ['sip-client']);
      const audit = await ok(t.app, 'GET', `/v1/audit?poolId=${v.root}&limit=100`, { token: op });
      const actions = audit.data.map((e: { action: string }) => e.action);
      assert.ok(actions.includes('package.created') && actions.includes('package.deleted'));
    });
  });
}
