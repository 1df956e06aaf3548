/**
 * The licensing figures of /metrics (issue 13) after what users do: claims granted, refused by
 * reason and queued, live claims by kind, waiting tickets, sync calls by outcome, failed logins;
 * and METRICS_TOKEN, which closes /metrics to anyone without it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { backends, call, childPool, createTestApp, ok, person, SUPERUSER, vendor, verifiedMember, type TestApp } from '../helpers.js';

/** The samples of a Prometheus text page: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

const METRICS_TOKEN = 'scrape-me-with-this-long-token';

for (const backend of backends()) {
  describe(`licensing metrics (${backend})`, () => {
    let t: TestApp;
    const metrics = async () => {
      const res = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      return samples(res.body);
    };

    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    test('claims granted, refused by reason and queued; live claims by kind; waiting tickets; sync calls; failed logins', async () => {
      const zero = await metrics();
      for (const name of ['licensepool_claims_granted_total{kind="lease"}', 'licensepool_sync_calls_total{outcome="ok"}', 'licensepool_login_failures_total{reason="invalid_credentials"}', 'licensepool_claims_live{kind="lease"}', 'licensepool_queue_tickets_waiting']) {
        assert.equal(zero.get(name), 0, `${name} is there from the start`);
      }

      const v = await vendor(t, { name: 'Counted', meters: [{ key: 'seats' }] });
      const office = await childPool(t, v.operator.token, v.root, { restricted: true });
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { queue: { enabled: true, claimTimeoutSeconds: 60 } } });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: v.operator.token, body: { limits: { seats: 2 } } });
      const [ann, bob, cid] = [await person(t, 'ann@counted.test'), await person(t, 'bob@counted.test'), await person(t, 'cid@counted.test')];
      const annMember = await verifiedMember(t, v.operator.token, office, { email: ann.email });
      const bobMember = await verifiedMember(t, v.operator.token, office, { email: bob.email });
      const cidMember = (await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email: cid.email } })).id;
      const claim = (who: { token: string }, memberId: string, body: Record<string, unknown>) => call(t.app, 'POST', '/v1/claims', { token: who.token, body: { memberId, meter: 'seats', ...body } });

      assert.equal((await claim(ann, annMember, { ttlSeconds: 60, fingerprint: 'laptop' })).status, 201);
      assert.equal((await claim(ann, annMember, { ttlSeconds: 60, fingerprint: 'laptop' })).status, 200, 'the same lease again: not a new grant');
      assert.equal((await claim(ann, annMember, { kind: 'assignment' })).status, 201);
      assert.equal((await claim(bob, bobMember, {})).body.reasons[0].code, 'LIMIT_REACHED');
      assert.equal((await claim(bob, bobMember, { queue: true })).status, 202);
      // Every reason of a refusal is counted: this one has three.
      const refused = await claim(cid, cidMember, {});
      assert.deepEqual(refused.body.reasons.map((r: { code: string }) => r.code).sort(), ['LIMIT_REACHED', 'MEMBER_NOT_VERIFIED', 'QUEUE_WAITING']);
      await ok(t.app, 'POST', '/v1/sync', { token: ann.token, body: { memberId: annMember } });
      assert.equal((await call(t.app, 'POST', '/v1/sync', { token: cid.token, body: { memberId: cidMember } })).body.code, 'SYNC_REFUSED');
      assert.equal((await call(t.app, 'POST', '/v1/sync', { body: {} })).status, 401);
      for (let i = 0; i < 2; i++) assert.equal((await call(t.app, 'POST', '/v1/auth/login', { body: { email: SUPERUSER.email, password: 'wrong password here' } })).status, 401);

      const after = await metrics();
      assert.deepEqual(
        Object.fromEntries([...after].filter(([k]) => /^licensepool_(claims_|queue_tickets|sync_calls|login_failures)/.test(k))),
        {
          'licensepool_claims_granted_total{kind="lease"}': 1,
          'licensepool_claims_granted_total{kind="borrow"}': 0,
          'licensepool_claims_granted_total{kind="assignment"}': 1,
          'licensepool_claims_refused_total{reason="LIMIT_REACHED"}': 2,
          'licensepool_claims_refused_total{reason="MEMBER_NOT_VERIFIED"}': 1,
          'licensepool_claims_refused_total{reason="QUEUE_WAITING"}': 1,
          'licensepool_claims_queued_total': 1,
          'licensepool_sync_calls_total{outcome="ok"}': 1,
          'licensepool_sync_calls_total{outcome="refused"}': 1,
          'licensepool_sync_calls_total{outcome="error"}': 1,
          'licensepool_login_failures_total{reason="invalid_credentials"}': 2,
          'licensepool_login_failures_total{reason="throttled"}': 0,
          'licensepool_claims_live{kind="lease"}': 1,
          'licensepool_claims_live{kind="borrow"}': 0,
          'licensepool_claims_live{kind="assignment"}': 1,
          'licensepool_claims_live{kind="hold"}': 0,
          'licensepool_queue_tickets_waiting': 1,
        },
      );

      // Counted when read: once the lease has run out it is no longer live, swept or not.
      t.clock.advance(61_000);
      const later = await metrics();
      assert.equal(later.get('licensepool_claims_live{kind="lease"}'), 0);
      assert.equal(later.get('licensepool_claims_live{kind="assignment"}'), 1);
    });

    test('METRICS_TOKEN: /metrics wants it as a bearer token (401 with the challenge otherwise); without it /metrics is open', async () => {
      const guarded = await buildApp({ deps: t.deps, metricsToken: METRICS_TOKEN });
      after(() => guarded.close());
      const none = await call(guarded, 'GET', '/metrics');
      assert.equal(none.status, 401);
      assert.equal(none.body.code, 'UNAUTHENTICATED');
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="licensepool"');
      for (const token of ['scrape-me-with-this-long-tokeN', t.superuser]) {
        const wrong = await call(guarded, 'GET', '/metrics', { token });
        assert.equal(wrong.status, 401);
        assert.match(String(wrong.headers['www-authenticate']), /^Bearer realm="licensepool"/);
      }
      const right = await guarded.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(right.statusCode, 200);
      assert.ok(samples(right.body).has('licensepool_queue_tickets_waiting'));
      assert.equal((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'open when no token is configured');
    });
  });
}
