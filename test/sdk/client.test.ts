/**
 * The client SDK against a real listening server (fetch over a socket, no inject): leases that
 * renew themselves and report how they ended, refusals with every reason, borrowed license files
 * verified offline, and waiting in a pool's queue.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClaimRefusedError, createClient, LicensepoolError, SyncRefusedError, TicketEndedError, verifyLicense, type Client, type LeaseEnd } from '@licensepool/client';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

/** Polls until `check` holds (real time: the SDK's timers are real). */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A fetch that records each request (`POST /v1/claims/…/heartbeat`) and can be made to fail. */
function recordingFetch() {
  const requests: string[] = [];
  const state = {
    requests,
    /** Requests whose path matches are answered with a network error, as if the connection dropped. */
    failing: null as RegExp | null,
    /** The next request that matches reaches the server, but its answer is lost on the way back. */
    losingNextAnswer: null as RegExp | null,
    fetch: async (input: string, init: RequestInit) => {
      const path = new URL(input).pathname;
      const line = `${init.method ?? 'GET'} ${path}`;
      if (state.failing?.test(line)) throw new TypeError(`fetch failed (test: ${line})`);
      requests.push(line);
      const res = await fetch(input, init);
      if (state.losingNextAnswer?.test(line)) {
        state.losingNextAnswer = null;
        throw new TypeError(`fetch failed (test: the answer to ${line} was lost)`);
      }
      return res;
    },
    count: (pattern: RegExp) => requests.filter((r) => pattern.test(r)).length,
  };
  return state;
}

for (const backend of backends()) {
  describe(`client SDK (${backend})`, { timeout: 60_000 }, () => {
    let t: TestApp;
    let v: Tree;
    let office: string;
    let baseUrl: string;
    let user: Awaited<ReturnType<typeof person>>;
    let memberId: string;
    let colleague: Awaited<ReturnType<typeof person>>;
    let colleagueMemberId: string;

    const usedSeats = async () => (await ok(t.app, 'GET', `/v1/pools/${office}/state`, { token: v.operator.token })).meters.find((m: { key: string }) => m.key === 'seats').used as number;
    const claimOnServer = async (id: string) => ok(t.app, 'GET', `/v1/claims/${id}`, { token: v.operator.token });
    const clientOf = (token: string, options: Partial<Parameters<typeof createClient>[0]> = {}): Client => createClient({ baseUrl, token, ...options });

    before(async () => {
      t = await createTestApp(backend);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      v = await vendor(t, { name: 'Nitro', meters: [{ key: 'seats' }] });
      office = await childPool(t, v.operator.token, v.root, { name: 'Office', restricted: true });
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { maxBorrowDays: 14, queue: { enabled: true, claimTimeoutSeconds: 60 } } });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: v.operator.token, body: { limits: { seats: 2 } } });
      user = await person(t, 'designer@acme.test');
      colleague = await person(t, 'colleague@acme.test');
      for (const p of [user, colleague]) {
        const member = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email: p.email } });
        await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
        if (p === user) memberId = member.id;
        else colleagueMemberId = member.id;
      }
    });
    after(() => t.close());

    test('checkout: the lease renews itself; release gives its units back, once, and stops the heartbeats', async () => {
      const recorder = recordingFetch();
      const client = clientOf(user.token, { fetch: recorder.fetch });
      const lease = await client.checkout({ memberId, meter: 'seats', ttlSeconds: 60 }, { heartbeatIntervalMs: 50 });
      assert.deepEqual([lease.type, lease.claim.kind, lease.claim.status, lease.claim.ttlSeconds], ['lease', 'lease', 'live', 60]);
      assert.equal(await usedSeats(), 1);

      // 100 s of server time go by, more than the ttl: only the heartbeats keep the lease live.
      for (let i = 0; i < 2; i++) {
        t.clock.advance(50_000);
        const due = new Date(t.clock.now().getTime() + 60_000).toISOString();
        await waitFor('a heartbeat', () => lease.claim.expiresAt === due);
      }
      assert.equal((await claimOnServer(lease.id)).status, 'live');

      const first = lease.release();
      assert.equal(lease.release(), first, 'releasing twice is one check-in');
      await first;
      assert.deepEqual(await lease.ended, { status: 'released', reason: 'checked in' });
      assert.equal(lease.live, false);
      assert.equal(await usedSeats(), 0);
      assert.deepEqual([(await claimOnServer(lease.id)).status, recorder.count(/^DELETE \/v1\/claims\//)], ['released', 1]);
      const beats = recorder.count(/heartbeat$/);
      await sleep(200);
      assert.equal(recorder.count(/heartbeat$/), beats, 'no heartbeat after release');
    });

    test('a checkout whose answer was lost is sent again with the same Idempotency-Key: one lease, not two', async () => {
      const recorder = recordingFetch();
      recorder.losingNextAnswer = /^POST \/v1\/claims$/;
      const lease = await clientOf(user.token, { fetch: recorder.fetch }).checkout({ memberId, meter: 'seats' });
      assert.equal(recorder.count(/^POST \/v1\/claims$/), 2);
      assert.equal(await usedSeats(), 1);
      const live = await ok(t.app, 'GET', `/v1/claims?memberId=${memberId}&live=true`, { token: v.operator.token });
      assert.deepEqual(live.data.map((c: { id: string }) => c.id), [lease.id]);
      await lease.release();
    });

    test('a refusal throws ClaimRefusedError with every reason; other failures are LicensepoolErrors with code and status', async () => {
      const client = clientOf(user.token);
      const refused = await client.checkout({ memberId, meter: 'seats', quantity: 3 }).catch((e: unknown) => e);
      assert.ok(refused instanceof ClaimRefusedError);
      assert.deepEqual([refused.code, refused.status], ['CLAIM_REFUSED', 409]);
      assert.deepEqual(refused.reasons, [{ code: 'LIMIT_REACHED', poolId: office, meter: 'seats', limit: 2, used: 0 }]);

      const invalid = await client.checkout({ memberId, meter: 'seats', ttlSeconds: 5 }).catch((e: unknown) => e);
      assert.ok(invalid instanceof LicensepoolError && !(invalid instanceof ClaimRefusedError));
      assert.deepEqual([invalid.code, invalid.status, invalid.problem?.errors?.[0]?.path], ['VALIDATION_FAILED', 422, 'body.ttlSeconds']);

      const stranger = await clientOf(colleague.token).checkout({ memberId, meter: 'seats' }).catch((e: unknown) => e);
      assert.ok(stranger instanceof LicensepoolError);
      assert.deepEqual([stranger.code, stranger.status], ['NOT_FOUND', 404]);

      const badToken = await clientOf('not-a-token').checkout({ memberId, meter: 'seats' }).catch((e: unknown) => e);
      assert.ok(badToken instanceof LicensepoolError);
      assert.equal(badToken.status, 401);

      // Port 1 on the loopback: nothing listens, so the connection is refused.
      const down = await createClient({ baseUrl: 'http://127.0.0.1:1', token: user.token }).checkout({ memberId, meter: 'seats' }).catch((e: unknown) => e);
      assert.ok(down instanceof LicensepoolError);
      assert.deepEqual([down.code, down.status, down.retryable], ['NETWORK_ERROR', null, true]);
      assert.equal(await usedSeats(), 0);
    });

    test('a lease checked in by a manager, expired, or whose member was removed: the next heartbeat reports how it ended', async () => {
      const client = clientOf(user.token);
      const ends: LeaseEnd[] = [];
      const checkedIn = await client.checkout({ memberId, meter: 'seats' }, { heartbeatIntervalMs: 50, onEnded: (end) => ends.push(end) });
      await ok(t.app, 'DELETE', `/v1/claims/${checkedIn.id}`, { token: v.operator.token });
      assert.deepEqual(await checkedIn.ended, { status: 'released', reason: 'checked in' });
      assert.deepEqual(ends, [{ status: 'released', reason: 'checked in' }], 'onEnded is called once, with the same end');

      const expiring = await client.checkout({ memberId, meter: 'seats', ttlSeconds: 60 }, { heartbeatIntervalMs: 300 });
      t.clock.advance(61_000);
      assert.equal((await expiring.ended).status, 'expired');
      const everySeat = await client.checkout({ memberId, meter: 'seats', quantity: 2 });
      await everySeat.release();

      const leaving = await person(t, 'leaving@acme.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email: leaving.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      const theirs = await clientOf(leaving.token).checkout({ memberId: member.id, meter: 'seats' }, { heartbeatIntervalMs: 50 });
      await ok(t.app, 'DELETE', `/v1/members/${member.id}`, { token: v.operator.token });
      // M4: removal revokes the member's claims at once; its next heartbeat is refused (410, or
      // 404 from a process that never saw the member) and the lease reports it revoked.
      const end = await theirs.ended;
      assert.equal(end.status, 'revoked');
      assert.equal((await ok(t.app, 'GET', `/v1/claims/${theirs.id}`, { token: v.operator.token })).status, 'revoked');
      assert.equal(await usedSeats(), 0);
    });

    test('heartbeats ride out network trouble while the lease lasts; past its ttl it is reported lost, and release still checks it in', async () => {
      const recorder = recordingFetch();
      const reported: string[] = [];
      const client = clientOf(user.token, { fetch: recorder.fetch, onError: (error, { operation }) => reported.push(`${operation}: ${(error as LicensepoolError).code}`) });
      const lease = await client.checkout({ memberId, meter: 'seats', ttlSeconds: 10 }, { heartbeatIntervalMs: 50 });

      recorder.failing = /heartbeat$/;
      await waitFor('three failed heartbeats', () => reported.length >= 3);
      assert.ok(lease.live);
      assert.deepEqual(new Set(reported), new Set(['heartbeat: NETWORK_ERROR']));
      recorder.failing = null;
      const beats = recorder.count(/heartbeat$/);
      await waitFor('a heartbeat through again', () => recorder.count(/heartbeat$/) > beats);
      assert.ok(lease.live);

      // Down for good: after the lease's ttl (10 s of real time) it cannot be live any more.
      recorder.failing = /heartbeat$/;
      const started = Date.now();
      const end = await lease.ended;
      assert.equal(end.status, 'lost');
      assert.equal(end.error?.code, 'NETWORK_ERROR');
      assert.ok(Date.now() - started < 10_500, 'reported by the time the server would let it expire');
      recorder.failing = null;
      await lease.release();
      assert.equal((await claimOnServer(lease.id)).status, 'released');
      assert.equal(await usedSeats(), 0);
    });

    test('borrow: the license file verifies offline against the JWKS; returning it gives the units back', async () => {
      const client = clientOf(user.token);
      const { claim, licenseFile } = await client.borrow({ memberId, meter: 'seats', borrowDays: 7 });
      assert.deepEqual([claim.kind, claim.status, 'licenseFile' in claim], ['borrow', 'live', false]);
      assert.equal(await usedSeats(), 1);

      const jwks = await client.fetchJwks();
      const payload = await verifyLicense(licenseFile, jwks, { rootId: v.root, currentDate: t.clock.now() });
      assert.deepEqual(
        { root: payload.root, pool: payload.pool, sub: payload.sub, jti: payload.jti, meter: payload.meter, quantity: payload.quantity, kind: payload.kind },
        { root: v.root, pool: office, sub: memberId, jti: claim.id, meter: 'seats', quantity: 1, kind: 'borrow' },
      );
      assert.equal(payload.exp! - payload.iat!, 7 * 86_400);
      await assert.rejects(verifyLicense(licenseFile, jwks, { currentDate: new Date(t.clock.now().getTime() + 8 * 86_400_000) }), { code: 'EXPIRED' });

      await client.returnBorrow(claim.id);
      await client.returnBorrow(claim.id);
      assert.equal((await claimOnServer(claim.id)).status, 'released');
      assert.equal(await usedSeats(), 0);
    });

    test('queue: a refused checkout waits in line, and waitInQueue ends with a lease once another client releases', async () => {
      const holder = await clientOf(user.token).checkout({ memberId, meter: 'seats', quantity: 2 });
      const recorder = recordingFetch();
      const reported: unknown[] = [];
      const client = clientOf(colleague.token, { fetch: recorder.fetch, onError: (error) => reported.push(error) });
      const queued = await client.checkout({ memberId: colleagueMemberId, meter: 'seats', queue: true, ttlSeconds: 60 });
      assert.equal(queued.type, 'queued');
      if (queued.type !== 'queued') return;
      assert.deepEqual([queued.ticket.status, queued.ticket.position], ['waiting', 1]);
      assert.deepEqual(queued.reasons, [{ code: 'LIMIT_REACHED', poolId: office, meter: 'seats', limit: 2, used: 2 }]);

      const positions: number[] = [];
      const waiting = client.waitInQueue(queued.ticket, { onPosition: (p) => positions.push(p), heartbeatIntervalMs: 50 });
      await sleep(100);
      await holder.release();
      const lease = await waiting;
      assert.deepEqual([lease.claim.memberId, lease.claim.kind, lease.claim.status, lease.claim.quantity], [colleagueMemberId, 'lease', 'live', 1]);
      assert.deepEqual(positions, [1]);
      // It followed the event stream: no trouble reported, no polling.
      assert.deepEqual([reported, recorder.count(/^GET \/v1\/tickets\/[^/]+$/), recorder.count(/\/events$/)], [[], 0, 1]);
      const ticket = await client.getTicket(queued.ticket.id);
      assert.deepEqual([ticket.status, ticket.claimId], ['claimed', lease.id]);

      // The lease from the queue renews itself like any other.
      t.clock.advance(50_000);
      const due = new Date(t.clock.now().getTime() + 60_000).toISOString();
      await waitFor('a heartbeat', () => lease.claim.expiresAt === due);
      await lease.release();
      assert.equal(await usedSeats(), 0);
    });

    test('queue: when the event stream fails, polling takes over', async () => {
      const holder = await clientOf(user.token).checkout({ memberId, meter: 'seats', quantity: 2 });
      const recorder = recordingFetch();
      recorder.failing = /\/events$/;
      const reported: string[] = [];
      const client = clientOf(colleague.token, { fetch: recorder.fetch, onError: (_error, { operation }) => reported.push(operation) });
      const queued = await client.checkout({ memberId: colleagueMemberId, meter: 'seats', queue: true });
      assert.equal(queued.type, 'queued');
      if (queued.type !== 'queued') return;
      const waiting = client.waitInQueue(queued.ticket.id, { pollIntervalMs: 50 });
      await waitFor('a poll', () => recorder.count(/^GET \/v1\/tickets\//) > 0);
      await holder.release();
      const lease = await waiting;
      assert.equal(lease.claim.status, 'live');
      assert.deepEqual(reported, ['ticket-events']);
      await lease.release();
    });

    test('queue: aborting the wait cancels the ticket; a ticket cancelled elsewhere rejects with TicketEndedError', async () => {
      const holder = await clientOf(user.token).checkout({ memberId, meter: 'seats', quantity: 2 });
      const client = clientOf(colleague.token);

      const first = await client.checkout({ memberId: colleagueMemberId, meter: 'seats', queue: true });
      assert.equal(first.type, 'queued');
      if (first.type !== 'queued') return;
      const controller = new AbortController();
      const waiting = client.waitInQueue(first.ticket, { signal: controller.signal });
      await sleep(100);
      const gaveUp = new Error('the user gave up');
      controller.abort(gaveUp);
      await assert.rejects(waiting, (e) => e === gaveUp);
      assert.equal((await client.getTicket(first.ticket.id)).status, 'cancelled');

      const second = await client.checkout({ memberId: colleagueMemberId, meter: 'seats', queue: true });
      if (second.type !== 'queued') throw new Error('expected a ticket');
      const waitingAgain = client.waitInQueue(second.ticket).catch((e: unknown) => e);
      await sleep(100);
      await clientOf(colleague.token).cancelTicket(second.ticket.id);
      const ended = await waitingAgain;
      assert.ok(ended instanceof TicketEndedError);
      assert.deepEqual([ended.code, ended.ticket.id, ended.ticket.status], ['TICKET_ENDED', second.ticket.id, 'cancelled']);

      await holder.release();
      assert.equal(await usedSeats(), 0);
      // Nothing of the cancelled tickets was left holding units.
      assert.equal((await call(t.app, 'GET', `/v1/claims?poolId=${office}&live=true`, { token: v.operator.token })).body.data.length, 0);
    });

    test('sync: every license verified before it is answered, a refusal with its reasons, keys fetched again after a rotation', async () => {
      const widi = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { device: { serial: 'SDK-WIDI-1', type: 'WiDI' } } });
      await ok(t.app, 'POST', `/v1/members/${widi.id}/verify`, { token: v.operator.token });
      const recorder = recordingFetch();
      const client = clientOf(user.token, { fetch: recorder.fetch });
      // The server's clock is the test's (2026-01-01); the tokens are checked against it.
      const currentDate = t.clock.now();
      const synced = await client.sync({}, { currentDate });
      assert.equal(synced.result.memberId, memberId);
      assert.deepEqual(synced.licenses.map((l) => [l.subject, l.payload.sub]), [['member', memberId], ['device', widi.id]]);
      assert.deepEqual(synced.licenses[1]!.payload.device, { serial: 'SDK-WIDI-1', type: 'WiDI' });
      assert.deepEqual(synced.licenses[0]!.payload.limits, { seats: { limit: 2, until: null } });
      // Kept offline: the tokens verify again against the keys the sync answered with.
      await verifyLicense(synced.licenses[0]!.token, synced.jwks, { currentDate });

      // Keys given from earlier are used as they are, until a rotation makes them stale.
      const jwksFetches = recorder.count(/jwks/);
      await client.sync({}, { jwks: synced.jwks, currentDate });
      assert.equal(recorder.count(/jwks/), jwksFetches);
      await ok(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/rotate`, { token: v.operator.token });
      const rotated = await client.sync({}, { jwks: synced.jwks, currentDate });
      assert.equal(recorder.count(/jwks/), jwksFetches + 1);
      assert.notDeepEqual(rotated.jwks, synced.jwks);

      await ok(t.app, 'POST', `/v1/members/${colleagueMemberId}/reject`, { token: v.operator.token });
      const refused = await clientOf(colleague.token).sync({}, { currentDate }).then(
        () => assert.fail('a rejected member synced'),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof SyncRefusedError, String(refused));
      assert.deepEqual(refused.reasons.map((r) => r.code), ['MEMBER_NOT_VERIFIED']);
      await ok(t.app, 'POST', `/v1/members/${colleagueMemberId}/verify`, { token: v.operator.token });
    });
  });
}
