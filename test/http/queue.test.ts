/**
 * U4, the license queue [004]: a refused lease asked with `queue: true` waits in line; when
 * units free up the head ticket holds them for `claimTimeoutSeconds`, its member claims them
 * as a lease or the hold lapses and passes on; while tickets wait, nobody jumps the line.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { rowsOf } from '../../src/db/client.js';
import { newId } from '../../src/lib/ids.js';
import { sweepExpiredClaims } from '../../src/modules/claims/claims.engine.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

const TIMEOUT_S = 60;

/** Reads `event: ticket` messages off a server-sent event stream. */
class EventReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = '';
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }
  /** The next ticket sent, or null once the stream has ended. */
  async next(): Promise<any | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end !== -1) {
        const message = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const lines = message.split('\n');
        if (lines.every((l) => l.startsWith(':'))) continue;
        assert.equal(lines[0], 'event: ticket', message);
        return JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice('data: '.length));
      }
      const { done, value } = await this.#reader.read();
      if (done) return null;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }
}

for (const backend of backends()) {
  describe(`queue (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let office: string;
    let officeLicense: string;
    /** Holds the office's two seats at the start. */
    let filler: { memberId: string; token: string; email: string };
    const people: { memberId: string; token: string; email: string }[] = [];

    const usedOf = async (poolId: string, meter: string) =>
      Number((await rowsOf<{ used: string | number }>(t.deps.db, sql`SELECT used FROM pool_usage WHERE pool_id = ${poolId} AND meter_key = ${meter}`))[0]?.used ?? 0);
    const drift = async () => (await ok(t.app, 'GET', `/v1/pools/${v.root}/reconcile`, { token: v.operator.token })).drift;
    const later = (seconds: number) => new Date(t.clock.now().getTime() + seconds * 1000).toISOString();
    /** A lease request of person `i` (the same app each time). */
    const ask = (i: number, body: Record<string, unknown> = {}) =>
      call(t.app, 'POST', '/v1/claims', { token: people[i]!.token, body: { memberId: people[i]!.memberId, meter: 'seats', ttlSeconds: 600, fingerprint: `app-${i}`, ...body } });
    const ticketOf = (i: number, id: string) => ok(t.app, 'GET', `/v1/tickets/${id}`, { token: people[i]!.token });
    const lease = async (token: string, memberId: string) => (await ok(t.app, 'POST', '/v1/claims', { token, body: { memberId, meter: 'seats', ttlSeconds: 3600 } })).id as string;

    async function verifiedMember(email: string) {
      const who = await person(t, email);
      const member = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      return { memberId: member.id as string, token: who.token, email };
    }

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Nitro', meters: [{ key: 'seats' }] });
      office = await childPool(t, v.operator.token, v.root, { name: 'Office', restricted: true });
      officeLicense = (await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: v.operator.token, body: { limits: { seats: 2 } } })).id;
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { queue: { enabled: true, claimTimeoutSeconds: TIMEOUT_S } } });
      filler = await verifiedMember('filler@acme.test');
      for (const name of ['ann', 'ben', 'cat', 'dan']) people.push(await verifiedMember(`${name}@acme.test`));
    });
    after(() => t.close());

    test('the walk-through: positions, a hold on check-in, a claim, a lapse passing on, cancellations, no jumping the line', async () => {
      const first = await lease(filler.token, filler.memberId);
      const second = await lease(filler.token, filler.memberId);

      // Three tickets in arrival order; each is told why it waits.
      const asked = [await ask(0, { queue: true }), await ask(1, { queue: true }), await ask(2, { queue: true })];
      assert.deepEqual(asked.map((r) => r.status), [202, 202, 202]);
      assert.deepEqual(asked.map((r) => r.body.ticket.position), [1, 2, 3]);
      const [a, b, c] = asked.map((r) => r.body.ticket);
      assert.deepEqual(a, {
        id: a.id,
        rootId: v.root,
        poolId: office,
        memberId: people[0]!.memberId,
        meter: 'seats',
        quantity: 1,
        ttlSeconds: 600,
        fingerprint: 'app-0',
        status: 'waiting',
        position: 1,
        heldUntil: null,
        claimId: null,
        createdAt: t.clock.now().toISOString(),
        updatedAt: t.clock.now().toISOString(),
        endedAt: null,
      });
      assert.match(a.id, /^tkt_/);
      assert.deepEqual(asked[0]!.body.reasons, [{ code: 'LIMIT_REACHED', poolId: office, meter: 'seats', limit: 2, used: 2 }]);
      assert.deepEqual(asked[1]!.body.reasons.map((r: any) => r.code), ['QUEUE_WAITING', 'LIMIT_REACHED']);

      // The same app asking again keeps its place instead of taking a second one.
      const again = await ask(0, { queue: true });
      assert.deepEqual([again.status, again.body.ticket.id, again.body.ticket.position], [202, a.id, 1]);

      // Nobody jumps the line: a claim outside the queue is refused while tickets wait, even a
      // kind that cannot queue.
      const jump = await call(t.app, 'POST', '/v1/claims', { token: people[3]!.token, body: { memberId: people[3]!.memberId, meter: 'seats', kind: 'assignment' } });
      assert.equal(jump.status, 409);
      assert.deepEqual(jump.body.reasons, [
        { code: 'QUEUE_WAITING', poolId: office, meter: 'seats', waiting: 3 },
        { code: 'LIMIT_REACHED', poolId: office, meter: 'seats', limit: 2, used: 2 },
      ]);

      // A check-in: the head holds the seat for claimTimeoutSeconds; the others move up.
      assert.equal((await call(t.app, 'DELETE', `/v1/claims/${first}`, { token: filler.token })).status, 204);
      const held = await ticketOf(0, a.id);
      assert.deepEqual([held.status, held.position, held.heldUntil], ['held', null, later(TIMEOUT_S)]);
      assert.deepEqual([(await ticketOf(1, b.id)).position, (await ticketOf(2, c.id)).position], [1, 2]);
      assert.equal(await usedOf(office, 'seats'), 2, 'the hold counts like any claim');
      const hold = (await ok(t.app, 'GET', `/v1/claims?memberId=${people[0]!.memberId}&live=true`, { token: people[0]!.token })).data;
      assert.deepEqual(hold.map((h: any) => [h.kind, h.expiresAt]), [['hold', later(TIMEOUT_S)]]);
      assert.equal((await call(t.app, 'POST', `/v1/claims/${hold[0].id}/heartbeat`, { token: people[0]!.token })).status, 409, 'a hold is claimed, not renewed');

      // A ticket still waiting holds nothing to claim.
      const early = await call(t.app, 'POST', `/v1/tickets/${b.id}/claim`, { token: people[1]!.token });
      assert.deepEqual([early.status, early.body.code], [409, 'TICKET_NOT_HELD']);

      // The holder claims: its hold becomes its lease in place, with the ttl and app it asked with.
      t.clock.advance(10_000);
      const claimed = await call(t.app, 'POST', `/v1/tickets/${a.id}/claim`, { token: people[0]!.token });
      assert.equal(claimed.status, 201);
      assert.deepEqual(
        [claimed.body.id, claimed.body.kind, claimed.body.status, claimed.body.ttlSeconds, claimed.body.fingerprint, claimed.body.expiresAt],
        [hold[0].id, 'lease', 'live', 600, 'app-0', later(600)],
      );
      assert.equal(await usedOf(office, 'seats'), 2, 'no counter moves');
      assert.equal(await usedOf(v.root, 'seats'), 2);
      const twice = await call(t.app, 'POST', `/v1/tickets/${a.id}/claim`, { token: people[0]!.token });
      assert.deepEqual([twice.status, twice.body.id], [200, claimed.body.id], 'claiming again answers the same lease');
      const done = await ticketOf(0, a.id);
      assert.deepEqual([done.status, done.claimId, done.endedAt], ['claimed', claimed.body.id, t.clock.now().toISOString()]);
      // Its lease renews like any other.
      assert.equal((await call(t.app, 'POST', `/v1/claims/${claimed.body.id}/heartbeat`, { token: people[0]!.token })).status, 200);

      // The next hold is not claimed in time: it lapses, even before the sweep, and cannot be claimed.
      await ok(t.app, 'DELETE', `/v1/claims/${second}`, { token: filler.token });
      assert.equal((await ticketOf(1, b.id)).status, 'held');
      t.clock.advance((TIMEOUT_S + 1) * 1000);
      assert.equal((await ticketOf(1, b.id)).status, 'lapsed');
      const tooLate = await call(t.app, 'POST', `/v1/tickets/${b.id}/claim`, { token: people[1]!.token });
      assert.deepEqual([tooLate.status, tooLate.body.code, tooLate.body.ticketStatus], [410, 'TICKET_ENDED', 'lapsed']);
      // The sweep gives the seat back and on to the next ticket.
      assert.equal(await sweepExpiredClaims(t.deps), 1);
      const lapsed = await ticketOf(1, b.id);
      assert.deepEqual([lapsed.status, lapsed.endedAt], ['lapsed', t.clock.now().toISOString()]);
      const next = await ticketOf(2, c.id);
      assert.deepEqual([next.status, next.heldUntil], ['held', later(TIMEOUT_S)]);

      // Cancelling a held ticket gives its seat back (idempotent).
      assert.equal((await call(t.app, 'DELETE', `/v1/tickets/${c.id}`, { token: people[2]!.token })).status, 204);
      assert.equal((await call(t.app, 'DELETE', `/v1/tickets/${c.id}`, { token: people[2]!.token })).status, 204);
      assert.equal((await ticketOf(2, c.id)).status, 'cancelled');
      assert.equal(await usedOf(office, 'seats'), 1);
      const ended = await call(t.app, 'POST', `/v1/tickets/${c.id}/claim`, { token: people[2]!.token });
      assert.deepEqual([ended.status, ended.body.ticketStatus], [410, 'cancelled']);

      // Cancelling a waiting ticket moves those behind it up.
      const blocker = await lease(filler.token, filler.memberId);
      const [d, e] = [(await ask(3, { queue: true })).body.ticket, (await ask(1, { queue: true })).body.ticket];
      assert.deepEqual([d.position, e.position], [1, 2]);
      await ok(t.app, 'DELETE', `/v1/tickets/${d.id}`, { token: people[3]!.token });
      assert.deepEqual([(await ticketOf(3, d.id)).status, (await ticketOf(1, e.id)).position], ['cancelled', 1]);
      // A manager of the pool acts for its members: it cancels the last one.
      await ok(t.app, 'DELETE', `/v1/tickets/${e.id}`, { token: v.operator.token });

      // With no one waiting, a claim takes free units as before.
      await ok(t.app, 'DELETE', `/v1/claims/${blocker}`, { token: filler.token });
      const free = await ask(3);
      assert.equal(free.status, 201);
      await ok(t.app, 'DELETE', `/v1/claims/${free.body.id}`, { token: people[3]!.token });
      await ok(t.app, 'DELETE', `/v1/claims/${claimed.body.id}`, { token: people[0]!.token });
      assert.equal(await usedOf(office, 'seats'), 0);
      assert.deepEqual(await drift(), []);

      // Every transition is in the audit trail, the system's own moves by the system.
      const trail = (await ok(t.app, 'GET', `/v1/audit?poolId=${office}&limit=500`, { token: v.operator.token })).data.filter((ev: any) => ev.entityType === 'ticket');
      const of = (id: string) => trail.filter((ev: any) => ev.entityId === id).map((ev: any) => `${ev.action} by ${ev.actorId === 'system' ? 'system' : 'person'}`);
      assert.deepEqual(of(a.id), ['ticket.created by person', 'ticket.held by system', 'ticket.claimed by person']);
      assert.deepEqual(of(b.id), ['ticket.created by person', 'ticket.held by system', 'ticket.lapsed by system']);
      assert.deepEqual(of(c.id), ['ticket.created by person', 'ticket.held by system', 'ticket.cancelled by person']);
      assert.deepEqual(of(d.id), ['ticket.created by person', 'ticket.cancelled by person']);
    });

    test('a hold waits for units on every pool of the path; one freed elsewhere in the tree serves it', async () => {
      // The root allows 3 seats to its whole tree; a second office takes them.
      await ok(t.app, 'POST', `/v1/pools/${v.root}/licenses`, { token: v.operator.token, body: { limits: { seats: 3 } } });
      await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { restricted: true } });
      const annex = await childPool(t, v.operator.token, v.root, { name: 'Annex' });
      const neighbour = await person(t, 'neighbour@annex.test');
      const annexMember = await ok(t.app, 'POST', `/v1/pools/${annex}/members`, { token: v.operator.token, body: { email: neighbour.email } });
      await ok(t.app, 'POST', `/v1/members/${annexMember.id}/verify`, { token: v.operator.token });
      const taken = [];
      for (let i = 0; i < 3; i++) taken.push(await lease(neighbour.token, annexMember.id));
      const waiting = await ask(0, { queue: true });
      assert.equal(waiting.status, 202);
      assert.deepEqual(waiting.body.reasons, [{ code: 'LIMIT_REACHED', poolId: v.root, meter: 'seats', limit: 3, used: 3 }]);
      await ok(t.app, 'DELETE', `/v1/claims/${taken[0]}`, { token: neighbour.token });
      assert.equal((await ticketOf(0, waiting.body.ticket.id)).status, 'held', "the annex's check-in served the office's queue");
      await ok(t.app, 'DELETE', `/v1/tickets/${waiting.body.ticket.id}`, { token: people[0]!.token });
      for (const id of taken.slice(1)) await ok(t.app, 'DELETE', `/v1/claims/${id}`, { token: neighbour.token });
      await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { restricted: false } });
      assert.deepEqual(await drift(), []);
    });

    test('a waiting ticket whose member may no longer claim leaves the line and passes on', async () => {
      const blockers = [await lease(filler.token, filler.memberId), await lease(filler.token, filler.memberId)];
      const rejectedOne = (await ask(2, { queue: true })).body.ticket;
      const next = (await ask(3, { queue: true })).body.ticket;
      await ok(t.app, 'POST', `/v1/members/${people[2]!.memberId}/reject`, { token: v.operator.token });
      await ok(t.app, 'DELETE', `/v1/claims/${blockers[0]}`, { token: filler.token });
      assert.equal((await ok(t.app, 'GET', `/v1/tickets/${rejectedOne.id}`, { token: v.operator.token })).status, 'cancelled');
      assert.equal((await ticketOf(3, next.id)).status, 'held');
      const why = (await ok(t.app, 'GET', `/v1/audit?memberId=${people[2]!.memberId}&limit=500`, { token: v.operator.token })).data.find(
        (ev: any) => ev.entityId === rejectedOne.id && ev.action === 'ticket.cancelled',
      );
      assert.deepEqual(why.after.reasons.map((r: any) => r.code), ['MEMBER_NOT_VERIFIED']);
      await ok(t.app, 'POST', `/v1/members/${people[2]!.memberId}/verify`, { token: v.operator.token });
      // Checking in a hold through the claims API gives the ticket up, too.
      const holdId = (await ok(t.app, 'GET', `/v1/claims?memberId=${people[3]!.memberId}&live=true`, { token: people[3]!.token })).data[0].id;
      await ok(t.app, 'DELETE', `/v1/claims/${holdId}`, { token: people[3]!.token });
      assert.equal((await ticketOf(3, next.id)).status, 'cancelled');
      await ok(t.app, 'DELETE', `/v1/claims/${blockers[1]}`, { token: filler.token });
      assert.equal(await usedOf(office, 'seats'), 0);
    });

    test('a removed member’s tickets, waiting or held, leave the line at once; the line moves up', async () => {
      const [eve, fay, gus] = [await verifiedMember('eve@acme.test'), await verifiedMember('fay@acme.test'), await verifiedMember('gus@acme.test')];
      const queueUp = async (p: typeof eve) =>
        (await ok(t.app, 'POST', '/v1/claims', { token: p.token, body: { memberId: p.memberId, meter: 'seats', ttlSeconds: 600, fingerprint: 'removal', queue: true } })).ticket;
      const blockers = [await lease(filler.token, filler.memberId), await lease(filler.token, filler.memberId)];
      const [eveT, fayT, gusT] = [await queueUp(eve), await queueUp(fay), await queueUp(gus)];
      await ok(t.app, 'DELETE', `/v1/claims/${blockers[0]}`, { token: filler.token });
      const read = (id: string) => ok(t.app, 'GET', `/v1/tickets/${id}`, { token: v.operator.token });
      assert.deepEqual([(await read(eveT.id)).status, (await read(fayT.id)).position, (await read(gusT.id)).position], ['held', 1, 2]);

      await ok(t.app, 'DELETE', `/v1/members/${gus.memberId}`, { token: v.operator.token });
      await ok(t.app, 'DELETE', `/v1/members/${eve.memberId}`, { token: v.operator.token });
      assert.deepEqual([(await read(eveT.id)).status, (await read(gusT.id)).status], ['cancelled', 'cancelled']);
      assert.equal((await read(fayT.id)).position, 1);
      const audit = (await ok(t.app, 'GET', `/v1/audit?poolId=${office}&limit=500`, { token: v.operator.token })).data;
      const why = audit.find((e: any) => e.entityId === eveT.id && e.action === 'ticket.cancelled');
      assert.equal(why.after.reason, 'the member was removed');
      assert.equal(await usedOf(office, 'seats'), 1, 'the removed holder’s seat is free');

      // The next check-in serves the line: fay, first now, is held.
      await ok(t.app, 'DELETE', `/v1/claims/${blockers[1]}`, { token: filler.token });
      assert.equal((await read(fayT.id)).status, 'held');
      await ok(t.app, 'DELETE', `/v1/tickets/${fayT.id}`, { token: fay.token });
      assert.equal(await usedOf(office, 'seats'), 0);
      assert.deepEqual(await drift(), []);
    });

    test('a hold revoked when the limit drops (U5) has lapsed: it cannot be claimed', async () => {
      const blockers = [await lease(filler.token, filler.memberId), await lease(filler.token, filler.memberId)];
      const ticket = (await ask(0, { queue: true })).body.ticket;
      await ok(t.app, 'DELETE', `/v1/claims/${blockers[0]}`, { token: filler.token });
      assert.equal((await ticketOf(0, ticket.id)).status, 'held');
      // The newest claim beyond the new limit is the hold.
      await ok(t.app, 'PATCH', `/v1/licenses/${officeLicense}`, { token: v.operator.token, body: { limits: { seats: 1 } } });
      assert.equal((await ticketOf(0, ticket.id)).status, 'lapsed');
      const refused = await call(t.app, 'POST', `/v1/tickets/${ticket.id}/claim`, { token: people[0]!.token });
      assert.deepEqual([refused.status, refused.body.ticketStatus], [410, 'lapsed']);
      const stored = await rowsOf<{ status: string }>(t.deps.db, sql`SELECT status FROM tickets WHERE id = ${ticket.id}`);
      assert.equal(stored[0]!.status, 'lapsed', 'recorded once its member tried to claim it');
      await ok(t.app, 'PATCH', `/v1/licenses/${officeLicense}`, { token: v.operator.token, body: { limits: { seats: 2 } } });
      await ok(t.app, 'DELETE', `/v1/claims/${blockers[1]}`, { token: filler.token });
      assert.equal(await usedOf(office, 'seats'), 0);
      assert.deepEqual(await drift(), []);
    });

    test('only leases refused for limits alone queue, and only where the queue is on', async () => {
      const blockers = [await lease(filler.token, filler.memberId), await lease(filler.token, filler.memberId)];
      // A reason of the member's own is no reason to wait.
      await ok(t.app, 'POST', `/v1/members/${people[1]!.memberId}/reject`, { token: v.operator.token });
      const rejected = await ask(1, { queue: true });
      assert.deepEqual([rejected.status, rejected.body.reasons.map((r: any) => r.code)], [409, ['MEMBER_NOT_VERIFIED', 'LIMIT_REACHED']]);
      await ok(t.app, 'POST', `/v1/members/${people[1]!.memberId}/verify`, { token: v.operator.token });
      // The queue off: a plain 409.
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { queue: { enabled: false, claimTimeoutSeconds: TIMEOUT_S } } });
      const off = await ask(0, { queue: true });
      assert.deepEqual([off.status, off.body.code, off.body.reasons.map((r: any) => r.code)], [409, 'CLAIM_REFUSED', ['LIMIT_REACHED']]);
      await ok(t.app, 'PATCH', `/v1/pools/${office}`, { token: v.operator.token, body: { queue: { enabled: true, claimTimeoutSeconds: TIMEOUT_S } } });
      // queue: false (the default) is a plain 409 too.
      assert.equal((await ask(0)).status, 409);
      // Bad input: only a lease waits in line; queue is a boolean.
      const assignment = await ask(0, { queue: true, kind: 'assignment' });
      assert.deepEqual([assignment.status, assignment.body.errors.map((e: any) => e.path)], [422, ['body.queue']]);
      const word = await ask(0, { queue: 'yes' });
      assert.deepEqual([word.status, word.body.errors.map((e: any) => e.path)], [422, ['body.queue']]);
      for (const id of blockers) await ok(t.app, 'DELETE', `/v1/claims/${id}`, { token: filler.token });
    });

    test('lists of tickets: a member its own, a manager its pool; cursor-paginated', async () => {
      const mine = await ok(t.app, 'GET', `/v1/tickets?memberId=${people[0]!.memberId}&limit=1`, { token: people[0]!.token });
      assert.equal(mine.data.length, 1);
      assert.ok(mine.nextCursor);
      const rest = await ok(t.app, 'GET', `/v1/tickets?memberId=${people[0]!.memberId}&cursor=${mine.nextCursor}&limit=500`, { token: people[0]!.token });
      assert.ok(rest.data.every((x: any) => x.memberId === people[0]!.memberId && x.id > mine.data[0].id));
      const pool = await ok(t.app, 'GET', `/v1/tickets?poolId=${office}&limit=500`, { token: v.operator.token });
      assert.ok(pool.data.length >= 8);
      assert.deepEqual(await ok(t.app, 'GET', '/v1/tickets', { token: people[0]!.token }), { data: [], nextCursor: null }, 'a member holding no role reaches no pool');
      assert.equal((await call(t.app, 'GET', `/v1/tickets?poolId=${office}`, { token: people[0]!.token })).status, 404);
    });

    test('another tenant, and anyone but the member and its managers, is refused as if the ticket did not exist', async () => {
      const ticket = (await ok(t.app, 'GET', `/v1/tickets?memberId=${people[0]!.memberId}`, { token: people[0]!.token })).data[0];
      const other = await vendor(t, { name: 'Rival', meters: [{ key: 'seats' }] });
      const stranger = await person(t, 'stranger@elsewhere.test');
      for (const token of [other.operator.token, stranger.token, people[1]!.token]) {
        for (const [method, url] of [
          ['GET', `/v1/tickets/${ticket.id}`],
          ['GET', `/v1/tickets/${ticket.id}/events`],
          ['POST', `/v1/tickets/${ticket.id}/claim`],
          ['DELETE', `/v1/tickets/${ticket.id}`],
          ['GET', `/v1/tickets?memberId=${people[0]!.memberId}`],
        ] as const) {
          const res = await call(t.app, method, url, { token });
          assert.deepEqual([res.status, res.body.code], [404, 'NOT_FOUND'], `${method} ${url}`);
        }
      }
      for (const id of ['nope', newId('ticket'), newId('claim')]) {
        assert.equal((await call(t.app, 'GET', `/v1/tickets/${id}/events`, { token: v.operator.token })).status, 404);
      }
    });

    describe('events (a real server)', () => {
      let server: FastifyInstance;
      let base: string;
      const events = async (ticketId: string, token: string) => {
        const res = await fetch(`${base}/v1/tickets/${ticketId}/events`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
        return new EventReader(res.body!);
      };

      before(async () => {
        // A second server on the same database, as another process would be; it polls every 20 ms.
        server = await buildApp({ deps: t.deps, ticketEventsPollMs: 20 });
        await server.listen({ port: 0, host: '127.0.0.1' });
        base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
      });
      after(() => server.close());

      test('a stream tells each change of place and status, and ends with the ticket', async () => {
        const blockers = [await lease(filler.token, filler.memberId), await lease(filler.token, filler.memberId)];
        const [front, back] = [(await ask(0, { queue: true })).body.ticket, (await ask(1, { queue: true })).body.ticket];
        const stream = await events(back.id, people[1]!.token);
        assert.deepEqual(await stream.next().then((x) => [x.status, x.position]), ['waiting', 2]);

        await ok(t.app, 'DELETE', `/v1/claims/${blockers[0]}`, { token: filler.token });
        assert.deepEqual(await stream.next().then((x) => [x.status, x.position]), ['waiting', 1]);
        await ok(t.app, 'DELETE', `/v1/tickets/${front.id}`, { token: people[0]!.token });
        const held = await stream.next();
        assert.deepEqual([held.status, held.heldUntil], ['held', later(TIMEOUT_S)]);
        await ok(t.app, 'POST', `/v1/tickets/${back.id}/claim`, { token: people[1]!.token });
        const claimed = await stream.next();
        assert.deepEqual([claimed.status, typeof claimed.claimId], ['claimed', 'string']);
        assert.equal(await stream.next(), null, 'the stream ends with the ticket');

        // The clock alone lapses a hold: the poll sees it.
        const waiting = (await ask(2, { queue: true })).body.ticket;
        const lapsing = await events(waiting.id, people[2]!.token);
        assert.equal((await lapsing.next()).status, 'waiting');
        await ok(t.app, 'DELETE', `/v1/claims/${blockers[1]}`, { token: filler.token });
        assert.equal((await lapsing.next()).status, 'held');
        t.clock.advance((TIMEOUT_S + 1) * 1000);
        assert.equal((await lapsing.next()).status, 'lapsed');
        assert.equal(await lapsing.next(), null);
        await sweepExpiredClaims(t.deps);
        await ok(t.app, 'DELETE', `/v1/claims/${claimed.claimId}`, { token: people[1]!.token });

        // An ended ticket: one event, then the end.
        const over = await events(front.id, people[0]!.token);
        assert.equal((await over.next()).status, 'cancelled');
        assert.equal(await over.next(), null);
        assert.equal(await usedOf(office, 'seats'), 0);
      });

      test('a client that goes away, and a server that closes, end the stream cleanly', async () => {
        const blockers = [await lease(filler.token, filler.memberId), await lease(filler.token, filler.memberId)];
        const ticket = (await ask(3, { queue: true })).body.ticket;
        // A client that hangs up after the first event (its socket closes).
        const first = await new Promise<string>((resolve, reject) => {
          const req = get(`${base}/v1/tickets/${ticket.id}/events`, { headers: { authorization: `Bearer ${people[3]!.token}` } }, (res) => {
            res.setEncoding('utf8');
            res.once('data', (chunk: string) => {
              res.destroy();
              resolve(chunk);
            });
          });
          req.on('error', reject);
        });
        assert.match(first, /^event: ticket\ndata: .*"status":"waiting"/);

        const staying = await events(ticket.id, people[3]!.token);
        assert.equal((await staying.next()).status, 'waiting');
        // Closing the server ends the open stream instead of waiting for it.
        const other = await buildApp({ deps: t.deps, ticketEventsPollMs: 20 });
        await other.listen({ port: 0, host: '127.0.0.1' });
        const otherBase = `http://127.0.0.1:${(other.server.address() as AddressInfo).port}`;
        const res = await fetch(`${otherBase}/v1/tickets/${ticket.id}/events`, { headers: { authorization: `Bearer ${people[3]!.token}` } });
        const closing = new EventReader(res.body!);
        assert.equal((await closing.next()).status, 'waiting');
        await other.close();
        assert.equal(await closing.next(), null);

        await ok(t.app, 'DELETE', `/v1/tickets/${ticket.id}`, { token: people[3]!.token });
        assert.equal((await staying.next()).status, 'cancelled');
        assert.equal(await staying.next(), null);
        for (const id of blockers) await ok(t.app, 'DELETE', `/v1/claims/${id}`, { token: filler.token });
      });
    });
  });
}
