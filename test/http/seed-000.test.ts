/**
 * Seed 000 end to end: a company applies for a license pool, the vendor approves it, the manager
 * (here a deputy) completes billing, terms and payment, the vendor opens it; users and WiDI are
 * added and verified; the i-record app syncs and gets a signed license for the user and for each
 * verified device, plus its packages; removing the user cuts it off at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyLicense, type SyncLicensePayload } from '@licensepool/client';
import { backends, call, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

const ADDRESS = { line1: 'Bahnhofstrasse 5', postalCode: '8001', city: 'Zurich', country: 'CH' };
const DAY_MS = 86_400_000;
const at = (days: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + days * DAY_MS);
const sha = (c: string) => c.repeat(64);

for (const backend of backends()) {
  describe(`seed 000 walk-through: application to sync (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'record', meters: [{ key: 'users' }, { key: 'widi' }], features: ['i_record', 'door_statistics'] });
    });
    after(() => t.close());

    /** A customer pool applied for, approved and opened, with a manager. */
    async function openPool(company: string, managerEmail: string) {
      const manager = await person(t, managerEmail);
      const applied = await ok(t.app, 'POST', '/v1/applications', {
        token: manager.token,
        body: { parentId: v.root, company, contactName: 'Contact', address: ADDRESS, email: managerEmail, phone: '+41 44 000 00 00', managerEmail },
      });
      const poolId = (await ok(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token })).poolId as string;
      await ok(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: manager.token, body: { billingAddress: ADDRESS } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/terms`, { token: manager.token, body: { version: '2026-01' } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/payment-method`, { token: manager.token, body: { reference: `pm_${company.length}` } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: v.operator.token });
      return { poolId, manager };
    }

    test('apply → approve → initialize (by a deputy) → active → users and WiDI verified → sync → removal', async () => {
      // The vendor's catalog: the door-control firmware comes with i-record; statistics are sold apart.
      await ok(t.app, 'POST', `/v1/pools/${v.root}/packages`, {
        token: v.operator.token,
        body: { name: 'sta-firmware', version: '4.2.0', deviceType: 'WiDI', sha256: sha('a'), size: 1_048_576, url: 'https://downloads.record.test/sta-4.2.0.bin', feature: 'i_record' },
      });
      await ok(t.app, 'POST', `/v1/pools/${v.root}/packages`, {
        token: v.operator.token,
        body: { name: 'stats-agent', version: '1.0.0', deviceType: 'WiDI', sha256: sha('b'), size: 2048, url: 'https://downloads.record.test/stats.bin', feature: 'door_statistics' },
      });

      // Application: the applicant names the pool manager, who must have an account.
      const manager = await person(t, 'manager@acme.test');
      const deputy = await person(t, 'deputy@acme.test');
      const user = await person(t, 'user@acme.test');
      const application = { parentId: v.root, company: 'ACME Doors', contactName: 'Ann Acme', address: ADDRESS, email: 'office@acme.test', phone: '+41 44 111 22 33' };
      const noManager = await call(t.app, 'POST', '/v1/applications', { token: manager.token, body: { ...application, managerEmail: 'nobody@acme.test' } });
      assert.equal(noManager.body.code, 'ACCOUNT_NOT_FOUND');
      const applied = await ok(t.app, 'POST', '/v1/applications', { token: manager.token, body: { ...application, managerEmail: manager.email } });
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${applied.poolId}`, { token: v.operator.token })).status, 'applied');
      const poolId = (await ok(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token })).poolId as string;
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${poolId}`, { token: manager.token })).status, 'initializing');

      // The manager adds a deputy, who completes the initialization.
      await ok(t.app, 'POST', `/v1/pools/${poolId}/deputies`, { token: manager.token, body: { email: deputy.email } });
      await ok(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: deputy.token, body: { billingAddress: ADDRESS } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/terms`, { token: deputy.token, body: { version: '2026-01' } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/payment-method`, { token: deputy.token, body: { reference: 'pm_acme_0001' } });
      assert.equal((await ok(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: v.operator.token })).status, 'active');

      // The vendor sells the pool its rights: the agreement runs to day 300, the license to day 400.
      await ok(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: v.operator.token, body: { restricted: true, validUntil: at(300).toISOString() } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/licenses`, {
        token: v.operator.token,
        body: { limits: { users: 5, widi: 10 }, features: ['i_record'], validUntil: at(400).toISOString() },
      });

      // Users: an unknown e-mail is refused; a known one starts pending and cannot sync yet.
      const ghost = await call(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: deputy.token, body: { email: 'ghost@acme.test' } });
      assert.equal(ghost.status, 422);
      assert.equal(ghost.body.code, 'ACCOUNT_NOT_FOUND');
      const member = await ok(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: deputy.token, body: { email: user.email } });
      assert.equal(member.status, 'pending');
      const early = await call(t.app, 'POST', '/v1/sync', { token: user.token, body: {} });
      assert.equal(early.status, 409);
      assert.equal(early.body.code, 'SYNC_REFUSED');
      assert.deepEqual(early.body.reasons.map((r: { code: string }) => r.code), ['MEMBER_NOT_VERIFIED']);

      // The vendor verifies the user: an event the pool's managers are told of.
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      const events = await ok(t.app, 'GET', `/v1/audit?memberId=${member.id}`, { token: manager.token });
      const verified = events.data.find((e: { action: string }) => e.action === 'member.verified');
      assert.ok(verified, JSON.stringify(events.data));
      assert.equal(verified.poolId, poolId);

      // WiDI: a stolen one and one already in another customer's pool are refused.
      const stolen = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'WD-666', type: 'WiDI' } });
      await ok(t.app, 'POST', `/v1/devices/${stolen.id}/report`, { token: v.operator.token, body: { status: 'stolen' } });
      const blocked = await call(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: deputy.token, body: { device: { serial: 'WD-666', type: 'WiDI' } } });
      assert.equal(blocked.status, 409);
      assert.equal(blocked.body.code, 'DEVICE_BLOCKED');
      const neighbour = await openPool('Neighbour Doors', 'boss@neighbour.test');
      await ok(t.app, 'POST', `/v1/pools/${neighbour.poolId}/members`, { token: neighbour.manager.token, body: { device: { serial: 'WD-200', type: 'WiDI' } } });
      const taken = await call(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: deputy.token, body: { device: { serial: 'WD-200', type: 'WiDI' } } });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.code, 'MEMBER_IN_OTHER_POOL');
      assert.ok(!JSON.stringify(taken.body).includes(neighbour.poolId), 'the other pool is not named');

      const widi = await ok(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: deputy.token, body: { device: { serial: 'WD-100', type: 'WiDI' } } });
      const unverifiedWidi = await ok(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: deputy.token, body: { device: { serial: 'WD-101', type: 'WiDI' } } });
      const synced = await ok(t.app, 'POST', '/v1/sync', { token: user.token, body: {} });
      assert.equal(synced.tokens.length, 1, 'a device not yet verified gets no license');
      await ok(t.app, 'POST', `/v1/members/${widi.id}/verify`, { token: v.operator.token });

      // The user's sync: one token for the user, one for the verified WiDI; both verify offline.
      const res = await ok(t.app, 'POST', '/v1/sync', { token: user.token, body: {} });
      assert.deepEqual(res.tokens.map((x: { subject: string; memberId: string }) => [x.subject, x.memberId]), [['member', member.id], ['device', widi.id]]);
      assert.ok(!res.tokens.some((x: { memberId: string }) => x.memberId === unverifiedWidi.id));
      const jwks = (await call(t.app, 'GET', '/.well-known/jwks.json')).body;
      const [mine, device] = await Promise.all(
        res.tokens.map(async (x: { token: string }) => (await verifyLicense(x.token, jwks, { rootId: v.root, currentDate: t.clock.now() })) as SyncLicensePayload),
      );
      assert.equal(mine!.sub, member.id);
      assert.equal(mine!.pool, poolId);
      assert.equal(mine!.root, v.root);
      assert.deepEqual(mine!.account, { id: user.id, email: user.email });
      // The end is the earliest on the path: the pool's agreement (day 300), not the license (day 400).
      assert.equal(mine!.end, at(300).getTime() / 1000);
      assert.equal(res.until, at(300).toISOString());
      assert.deepEqual(Object.keys(mine!.features), ['i_record']);
      assert.deepEqual(mine!.limits, { users: { limit: 5, until: at(300).getTime() / 1000 }, widi: { limit: 10, until: at(300).getTime() / 1000 } });
      assert.equal(mine!.iat, at(0).getTime() / 1000);
      assert.equal(mine!.refreshBy, at(1).getTime() / 1000);
      assert.equal(device!.sub, widi.id);
      assert.deepEqual(device!.device, { serial: 'WD-100', type: 'WiDI' });
      assert.deepEqual(Object.keys(device!.features), ['i_record']);
      assert.equal(device!.end, at(300).getTime() / 1000);
      // Packages: the firmware i-record entitles to; not the statistics agent, whose feature the pool lacks.
      assert.deepEqual(res.packages.map((p: { name: string }) => p.name), ['sta-firmware']);
      assert.equal(res.packages[0].sha256, sha('a'));

      // A member of the pool and a manager of another pool cannot do the manager's steps.
      const outsiders = [user, neighbour.manager];
      for (const outsider of outsiders) {
        const steps = [
          call(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: outsider.token, body: { device: { serial: 'WD-300', type: 'WiDI' } } }),
          call(t.app, 'POST', `/v1/pools/${poolId}/deputies`, { token: outsider.token, body: { email: outsider.email } }),
          call(t.app, 'DELETE', `/v1/members/${widi.id}`, { token: outsider.token }),
          call(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: outsider.token, body: { billingAddress: ADDRESS } }),
        ];
        for (const step of await Promise.all(steps)) assert.ok([403, 404].includes(step.status), `${outsider.email}: ${step.status} ${JSON.stringify(step.body)}`);
      }
      const foreignSync = await call(t.app, 'POST', '/v1/sync', { token: neighbour.manager.token, body: { memberId: member.id } });
      assert.equal(foreignSync.status, 404);
      // The deputy, like the manager, may sync on a member's behalf.
      assert.equal((await ok(t.app, 'POST', '/v1/sync', { token: deputy.token, body: { memberId: member.id } })).tokens.length, 2);

      // The user holds a lease; removing the user refuses the next sync and heartbeat at once.
      const lease = await ok(t.app, 'POST', '/v1/claims', { token: user.token, body: { memberId: member.id, meter: 'users', ttlSeconds: 600 } });
      await ok(t.app, 'DELETE', `/v1/members/${member.id}`, { token: deputy.token });
      const heartbeat = await call(t.app, 'POST', `/v1/claims/${lease.id}/heartbeat`, { token: user.token });
      assert.equal(heartbeat.status, 410);
      assert.equal(heartbeat.body.claimStatus, 'revoked');
      const afterRemoval = await call(t.app, 'POST', '/v1/sync', { token: user.token, body: {} });
      assert.equal(afterRemoval.status, 409);
      assert.deepEqual(afterRemoval.body.reasons.map((r: { code: string }) => r.code), ['MEMBER_NOT_FOUND']);
      assert.equal((await call(t.app, 'POST', '/v1/sync', { token: deputy.token, body: { memberId: member.id } })).status, 404);
    });
  });
}
