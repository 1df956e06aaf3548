import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

const ADDRESS = { line1: 'Hauptstrasse 1', postalCode: '8000', city: 'Zurich', country: 'CH' };

for (const backend of backends()) {
  describe(`applications, initialization and deputies [000] (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'record' });
    });
    after(() => t.close());

    const application = (parentId: string, managerEmail: string) => ({
      parentId,
      company: 'Doors Ltd',
      contactName: 'Anna Keller',
      address: ADDRESS,
      email: 'office@doors.test',
      phone: '+41 44 123 45 67',
      managerEmail,
    });

    test('seed 000: apply → approve → initializing → billing, terms, payment → active', async () => {
      const applicant = await person(t, 'applicant@doors.test');
      const manager = await person(t, 'manager@doors.test');

      const unknown = await call(t.app, 'POST', '/v1/applications', { token: applicant.token, body: application(v.root, 'nobody@doors.test') });
      assert.equal(unknown.status, 422);
      assert.equal(unknown.body.code, 'ACCOUNT_NOT_FOUND');

      const applied = await ok(t.app, 'POST', '/v1/applications', { token: applicant.token, body: application(v.root, manager.email) });
      assert.match(applied.id, /^app_/);
      assert.equal(applied.status, 'pending');
      assert.equal(applied.managerId, manager.id);
      const pool = await ok(t.app, 'GET', `/v1/pools/${applied.poolId}`, { token: v.operator.token });
      assert.equal(pool.status, 'applied');
      assert.equal(pool.parentId, v.root);
      assert.equal(pool.name, 'Doors Ltd');
      // The applicant and the future manager hold no role yet: the pool is the vendor's to decide.
      assert.equal((await call(t.app, 'GET', `/v1/pools/${applied.poolId}`, { token: manager.token })).status, 404);
      assert.equal((await call(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: applicant.token })).status, 404);

      const pending = await ok(t.app, 'GET', '/v1/applications?status=pending', { token: v.operator.token });
      assert.deepEqual(pending.data.map((a: { id: string }) => a.id), [applied.id]);
      assert.deepEqual((await ok(t.app, 'GET', '/v1/applications', { token: applicant.token })).data, []);

      const approved = await ok(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token });
      assert.equal(approved.status, 'approved');
      assert.equal(approved.poolId, applied.poolId);
      assert.equal(approved.decidedBy, v.operator.id);
      const again = await call(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token });
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'INVALID_TRANSITION');

      const poolId = approved.poolId as string;
      const opened = await ok(t.app, 'GET', `/v1/pools/${poolId}`, { token: manager.token });
      assert.equal(opened.status, 'initializing');
      const roles = await ok(t.app, 'GET', `/v1/pools/${poolId}/roles`, { token: manager.token });
      assert.deepEqual(roles.data.map((r: { accountId: string; role: string }) => [r.accountId, r.role]), [[manager.id, 'manager']]);

      const early = await call(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: v.operator.token });
      assert.equal(early.status, 409);
      assert.equal(early.body.code, 'INVALID_TRANSITION');
      assert.deepEqual(early.body.missing, ['billingAddress', 'terms', 'paymentMethod']);

      await ok(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: manager.token, body: { billingAddress: ADDRESS } });
      const terms = await ok(t.app, 'POST', `/v1/pools/${poolId}/terms`, { token: manager.token, body: { version: '2026-01' } });
      assert.deepEqual(terms.terms, { version: '2026-01', acceptedBy: manager.id, acceptedAt: '2026-01-01T00:00:00.000Z' });
      assert.equal(terms.paymentMethod, null);
      const stillEarly = await call(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: v.operator.token });
      assert.deepEqual(stillEarly.body.missing, ['paymentMethod']);
      const payment = await ok(t.app, 'POST', `/v1/pools/${poolId}/payment-method`, { token: manager.token, body: { reference: 'pm_1NfZr2AbCdEf' } });
      assert.equal(payment.paymentMethod.reference, 'pm_1NfZr2AbCdEf');
      assert.equal(payment.terms.version, '2026-01');

      // Activation stays the vendor's act; the manager may not.
      assert.equal((await call(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: manager.token })).status, 403);
      assert.equal((await ok(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: v.operator.token })).status, 'active');

      const audit = await ok(t.app, 'GET', `/v1/audit?poolId=${poolId}&limit=100`, { token: v.operator.token });
      const actions = audit.data.map((e: { action: string }) => e.action);
      for (const action of ['application.received', 'application.approved', 'pool.opened', 'pool.terms_accepted', 'pool.payment_method_set', 'pool.activate']) {
        assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
      }
    });

    test('a rejected application closes its pool and keeps the reason', async () => {
      const applicant = await person(t, 'hopeful@doors.test');
      const applied = await ok(t.app, 'POST', '/v1/applications', { token: applicant.token, body: application(v.root, applicant.email) });
      const rejected = await ok(t.app, 'POST', `/v1/applications/${applied.id}/reject`, { token: v.operator.token, body: { reason: 'no VAT number' } });
      assert.equal(rejected.status, 'rejected');
      assert.equal(rejected.reason, 'no VAT number');
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${applied.poolId}`, { token: v.operator.token })).status, 'closed');
      assert.equal((await call(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token })).status, 409);
      const listed = await ok(t.app, 'GET', '/v1/applications?status=rejected', { token: v.operator.token });
      assert.ok(listed.data.some((a: { id: string }) => a.id === applied.id));
    });

    test('an admin above decides applications under its subtree only', async () => {
      const reseller = await childPool(t, v.operator.token, v.root, { name: 'Reseller', kind: 'distributor' });
      const admin = await person(t, 'admin@reseller.test');
      await ok(t.app, 'POST', `/v1/pools/${reseller}/roles`, { token: v.operator.token, body: { email: admin.email, role: 'admin' } });
      const applied = await ok(t.app, 'POST', '/v1/applications', { token: admin.token, body: application(reseller, admin.email) });
      const direct = await ok(t.app, 'POST', '/v1/applications', { token: admin.token, body: application(v.root, admin.email) });
      const seen = await ok(t.app, 'GET', '/v1/applications', { token: admin.token });
      assert.deepEqual(seen.data.map((a: { id: string }) => a.id), [applied.id]);
      // The vendor's own applications stay out of the reseller's sight.
      assert.equal((await call(t.app, 'POST', `/v1/applications/${direct.id}/approve`, { token: admin.token })).status, 404);
      assert.equal((await ok(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: admin.token })).status, 'approved');
    });

    test('a deputy does the manager\'s steps; a member of the pool and a manager of another pool cannot', async () => {
      const manager = await person(t, 'boss@smiths.test');
      const deputy = await person(t, 'deputy@smiths.test');
      const member = await person(t, 'worker@smiths.test');
      const otherManager = await person(t, 'boss@jones.test');
      const applied = await ok(t.app, 'POST', '/v1/applications', { token: manager.token, body: application(v.root, manager.email) });
      const poolId = (await ok(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token })).poolId;
      const other = await ok(t.app, 'POST', '/v1/applications', { token: otherManager.token, body: application(v.root, otherManager.email) });
      await ok(t.app, 'POST', `/v1/applications/${other.id}/approve`, { token: v.operator.token });

      const unknown = await call(t.app, 'POST', `/v1/pools/${poolId}/deputies`, { token: manager.token, body: { email: 'ghost@smiths.test' } });
      assert.equal(unknown.status, 422);
      assert.equal(unknown.body.code, 'ACCOUNT_NOT_FOUND');
      const added = await call(t.app, 'POST', `/v1/pools/${poolId}/deputies`, { token: manager.token, body: { email: deputy.email } });
      assert.equal(added.status, 201);
      assert.equal(added.body.role, 'deputy');
      assert.equal(added.body.accountId, deputy.id);
      await ok(t.app, 'POST', `/v1/pools/${poolId}/members`, { token: manager.token, body: { email: member.email } });

      for (const outsider of [member, otherManager]) {
        const steps = [
          call(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: outsider.token, body: { billingAddress: ADDRESS } }),
          call(t.app, 'POST', `/v1/pools/${poolId}/terms`, { token: outsider.token, body: { version: '2026-01' } }),
          call(t.app, 'POST', `/v1/pools/${poolId}/payment-method`, { token: outsider.token, body: { reference: 'pm_outsider' } }),
          call(t.app, 'POST', `/v1/pools/${poolId}/deputies`, { token: outsider.token, body: { email: outsider.email } }),
          call(t.app, 'DELETE', `/v1/pools/${poolId}/deputies/${deputy.id}`, { token: outsider.token }),
        ];
        for (const res of await Promise.all(steps)) assert.equal(res.status, 404, `${outsider.email}: ${JSON.stringify(res.body)}`);
      }

      await ok(t.app, 'PATCH', `/v1/pools/${poolId}`, { token: deputy.token, body: { billingAddress: ADDRESS } });
      await ok(t.app, 'POST', `/v1/pools/${poolId}/terms`, { token: deputy.token, body: { version: '2026-01' } });
      const paid = await ok(t.app, 'POST', `/v1/pools/${poolId}/payment-method`, { token: deputy.token, body: { reference: 'pm_deputy' } });
      assert.equal(paid.paymentMethod.setBy, deputy.id);
      assert.equal(paid.terms.acceptedBy, deputy.id);
      const second = await person(t, 'second@smiths.test');
      await ok(t.app, 'POST', `/v1/pools/${poolId}/deputies`, { token: deputy.token, body: { email: second.email } });
      assert.equal((await ok(t.app, 'POST', `/v1/pools/${poolId}/activate`, { token: v.operator.token })).status, 'active');

      const removed = await call(t.app, 'DELETE', `/v1/pools/${poolId}/deputies/${deputy.id}`, { token: manager.token });
      assert.equal(removed.status, 204);
      assert.equal((await call(t.app, 'GET', `/v1/pools/${poolId}`, { token: deputy.token })).status, 404);
      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${poolId}/deputies/${deputy.id}`, { token: manager.token })).status, 404);
      // The manager is not a deputy: this route never removes the manager.
      assert.equal((await call(t.app, 'DELETE', `/v1/pools/${poolId}/deputies/${manager.id}`, { token: second.token })).status, 404);
      const roles = await ok(t.app, 'GET', `/v1/pools/${poolId}/roles`, { token: manager.token });
      assert.deepEqual(roles.data.map((r: { accountId: string; role: string }) => [r.accountId, r.role]).sort(), [[manager.id, 'manager'], [second.id, 'deputy']].sort());
    });

    test('bad input: clear 4xx, nothing written', async () => {
      const applicant = await person(t, 'careless@doors.test');
      const before = await ok(t.app, 'GET', '/v1/pools?limit=500', { token: t.superuser });
      const bad = await call(t.app, 'POST', '/v1/applications', { token: applicant.token, body: { ...application(v.root, applicant.email), phone: 'call me', address: { city: 'Zurich' } } });
      assert.equal(bad.status, 422);
      assert.equal(bad.body.code, 'VALIDATION_FAILED');
      const fields = bad.body.errors.map((e: { path: string }) => e.path);
      assert.ok(fields.includes('body.phone') && fields.includes('body.address.line1'), JSON.stringify(bad.body.errors));
      const noParent = await call(t.app, 'POST', '/v1/applications', { token: applicant.token, body: application('pool_01h455vb4pex5vsknk084sn02q', applicant.email) });
      assert.equal(noParent.status, 404);
      assert.equal((await call(t.app, 'POST', '/v1/applications', { body: application(v.root, applicant.email) })).status, 401);
      const after = await ok(t.app, 'GET', '/v1/pools?limit=500', { token: t.superuser });
      assert.equal(after.data.length, before.data.length);

      const applied = await ok(t.app, 'POST', '/v1/applications', { token: applicant.token, body: application(v.root, applicant.email) });
      const poolId = (await ok(t.app, 'POST', `/v1/applications/${applied.id}/approve`, { token: v.operator.token })).poolId;
      const card = await call(t.app, 'POST', `/v1/pools/${poolId}/payment-method`, { token: applicant.token, body: { reference: '4111111111111111' } });
      assert.equal(card.status, 422);
      const noReason = await call(t.app, 'POST', `/v1/applications/${applied.id}/reject`, { token: v.operator.token, body: { reason: '' } });
      assert.equal(noReason.status, 422);
      assert.equal((await call(t.app, 'POST', '/v1/applications/app_nonsense/approve', { token: v.operator.token })).status, 404);
      assert.equal((await call(t.app, 'GET', '/v1/applications?status=maybe', { token: v.operator.token })).status, 422);
    });
  });
}
