/**
 * Issue 12, batch isolation in the claim engine: one tenant's request that PostgreSQL would
 * refuse must fail alone, never the other requests of its group-commit batch. Requests run
 * concurrently through one app, so the engine gathers them into shared batches.
 * (The same across real processes under load: test/concurrency/isolation.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { refusalOfDbError } from '../../src/db/errors.js';
import { SYSTEM_ACTOR } from '../../src/lib/context.js';
import { claimantFor } from '../../src/modules/claims/claimants.js';
import { decideIsolated, type ClaimOp } from '../../src/modules/claims/claims.engine.js';
import { backends, call, childPool, createTestApp, ok, vendor, verifiedMember, type TestApp, type Tree } from '../helpers.js';

/** Fingerprints PostgreSQL cannot store: a lone high and a lone low surrogate, and NUL. */
const HOSTILE_FINGERPRINTS = ['f\ud800', '\udc00x', 'a\u0000b', 'pair-reversed \udc00\ud800'];

for (const backend of backends()) {
  describe(`batch isolation in the claim engine (${backend})`, () => {
    let t: TestApp;
    /** The tenant whose requests must not suffer: 40 seats, 20 device members. */
    let victim: Tree;
    const victimMembers: string[] = [];
    /** The hostile tenant: an office of one seat, taken, with its queue on, so its leases queue. */
    let hostile: Tree;
    let hostileMember: string;

    before(async () => {
      t = await createTestApp(backend);
      victim = await vendor(t, { name: 'Victim', restricted: true, meters: [{ key: 'seats' }] });
      await ok(t.app, 'POST', `/v1/pools/${victim.root}/licenses`, { token: victim.operator.token, body: { limits: { seats: 40 } } });
      for (let i = 0; i < 20; i++) victimMembers.push(await verifiedMember(t, victim.operator.token, victim.root, { device: { serial: `V-${i}`, type: 'WiDI' } }));

      hostile = await vendor(t, { name: 'Hostile', meters: [{ key: 'seats' }] });
      const office = await childPool(t, hostile.operator.token, hostile.root, { name: 'Office', restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: hostile.operator.token, body: { limits: { seats: 1 } } });
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: hostile.operator.token, body: { queue: { enabled: true, claimTimeoutSeconds: 60 } } });
      hostileMember = await verifiedMember(t, hostile.operator.token, office, { device: { serial: 'H-1', type: 'WiDI' } });
      await ok(t.app, 'POST', '/v1/claims', { token: hostile.operator.token, body: { memberId: hostileMember, meter: 'seats', ttlSeconds: 3600 } });
    });
    after(() => t.close());

    const drift = async (root: string, token: string) => (await ok(t.app, 'GET', `/v1/pools/${root}/reconcile`, { token })).drift;

    test('hostile fingerprints are refused with 422 naming the field, while the other tenant checks out and in without an error', async () => {
      const checkouts = victimMembers.map((memberId, i) =>
        call(t.app, 'POST', '/v1/claims', { token: victim.operator.token, body: { memberId, meter: 'seats', ttlSeconds: 600, fingerprint: `ok-${i}` } }),
      );
      const attacks = HOSTILE_FINGERPRINTS.flatMap((fingerprint) =>
        [true, false].map((queue) => call(t.app, 'POST', '/v1/claims', { token: hostile.operator.token, body: { memberId: hostileMember, meter: 'seats', fingerprint, queue } })),
      );
      const [granted, refused] = await Promise.all([Promise.all(checkouts), Promise.all(attacks)]);
      for (const res of granted) assert.equal(res.status, 201, JSON.stringify(res.body));
      for (const res of refused) {
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.code, 'VALIDATION_FAILED');
        assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['body.fingerprint']);
      }
      const checkIns = granted.map((res) => call(t.app, 'DELETE', `/v1/claims/${res.body.id}`, { token: victim.operator.token }));
      const moreAttacks = HOSTILE_FINGERPRINTS.map((fingerprint) =>
        call(t.app, 'POST', '/v1/claims', { token: hostile.operator.token, body: { memberId: hostileMember, meter: 'seats', fingerprint, queue: true } }),
      );
      const [checkedIn, refusedAgain] = await Promise.all([Promise.all(checkIns), Promise.all(moreAttacks)]);
      for (const res of checkedIn) assert.equal(res.status, 204, JSON.stringify(res.body));
      for (const res of refusedAgain) assert.equal(res.status, 422, JSON.stringify(res.body));
      const tickets = await rowsOf<{ n: number | string }>(t.deps.db, sql`SELECT count(*) AS n FROM tickets WHERE root_id = ${hostile.root}`);
      assert.equal(Number(tickets[0]!.n), 0, 'no hostile ticket was written');
      assert.deepEqual(await drift(victim.root, victim.operator.token), []);
    });

    test('a request that fails its batch in the database fails alone: the batch is decided again in halves', async () => {
      // The HTTP layer and the engine's own check refuse such a fingerprint before it joins a
      // batch (above); here the engine's inner function is given it anyway, as a request the
      // checks did not foresee would arrive: its queued ticket's jsonb audit row is refused by
      // PostgreSQL (a `\ud800` escape), exactly the failure of issue 12.
      const claimOp = async (memberId: string, extra: Partial<ClaimOp> = {}): Promise<ClaimOp> => ({
        type: 'claim',
        actor: SYSTEM_ACTOR,
        claimant: await claimantFor(t.deps.db, SYSTEM_ACTOR, memberId),
        meter: 'seats',
        quantity: 1,
        kind: 'lease',
        ttlSeconds: 600,
        ...extra,
      });
      const good = await Promise.all(victimMembers.slice(0, 15).map((m) => claimOp(m)));
      const poisoned = await claimOp(hostileMember, { fingerprint: 'f\ud800', queue: true });
      const ops = [...good.slice(0, 7), poisoned, ...good.slice(7)];
      const settled = await decideIsolated(t.deps, ops);

      const failedAt = settled.flatMap((s, i) => (s.ok ? [] : [i]));
      assert.deepEqual(failedAt, [7], 'only the poisoned request failed');
      const failure = settled[7]!;
      assert.ok(!failure.ok);
      const refusal = refusalOfDbError(failure.error);
      assert.equal(refusal?.code, 'DATA_REJECTED', String(failure.error));
      assert.equal(refusal?.status, 422);
      for (const s of settled.filter((_, i) => i !== 7)) assert.ok(s.ok && s.value.type === 'granted', JSON.stringify(s));

      const live = await rowsOf<{ n: number | string }>(t.deps.db, sql`SELECT count(*) AS n FROM claims WHERE root_id = ${victim.root} AND status = 'live'`);
      assert.equal(Number(live[0]!.n), 15, "every good request's claim was written once");
      const tickets = await rowsOf<{ n: number | string }>(t.deps.db, sql`SELECT count(*) AS n FROM tickets WHERE root_id = ${hostile.root}`);
      assert.equal(Number(tickets[0]!.n), 0, "nothing of the poisoned request's batch runs was written");
      assert.deepEqual(await drift(victim.root, victim.operator.token), []);
      assert.deepEqual(await drift(hostile.root, hostile.operator.token), []);
    });
  });
}
