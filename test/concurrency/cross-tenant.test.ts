/**
 * Issue 12: one tenant's request failed other tenants' claims. Two real server processes on one
 * PostgreSQL database; one vendor's clients check out and in for a few seconds while another
 * vendor sends, at the same time and to the same processes, claims PostgreSQL could not store
 * (lone UTF-16 surrogates and NUL in `fingerprint`, queued and not, and the like in other
 * fields). The first vendor must see no error at all; every hostile request gets a 4xx.
 * Registered only with TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HttpClient, createScratchDatabase, inParallel, startServer, type Reply, type ScratchDatabase, type ServerProcess } from './fleet.js';

const PROCESSES = 2;
const CLIENTS = 24;
const SEATS = 20;
const HOSTILE_CLIENTS = 6;
/** Between two requests of a hostile client: a steady stream (issue 12 saw 33 in 5 s), not a CPU flood. */
const HOSTILE_PAUSE_MS = 20;
const LOAD_MS = 5_000;
/** Rounds each client does at least, however slow a busy machine makes them. */
const MIN_ROUNDS = 5;
const ADMIN = { email: 'admin@cross-tenant.test', password: 'cross tenant admin password' };
const PASSWORD = 'cross tenant password';

/** Bodies that would fail a batch's transaction if they reached it (`memberId` filled in). */
function hostileBodies(memberId: string): Record<string, unknown>[] {
  const fingerprints = ['f\ud800', '\udc00', 'pair reversed \udc00\ud800', `${'x'.repeat(150)}\ud83d`, 'a\u0000b'];
  return [
    ...fingerprints.flatMap((fingerprint) => [
      // Queued: the ticket's jsonb audit row is what PostgreSQL refused in issue 12.
      { memberId, meter: 'seats', fingerprint, queue: true },
      { memberId, meter: 'seats', fingerprint },
    ]),
    { memberId, meter: 'seats\ud800' },
    { memberId: `${memberId}\ud800`, meter: 'seats' },
  ];
}

const base = process.env.TEST_DATABASE_URL;

if (base) {
  describe('one tenant cannot fail another tenant’s claims (2 processes, PostgreSQL)', () => {
    let database: ScratchDatabase;
    const servers: ServerProcess[] = [];
    let victim: { root: string; token: string; members: string[] };
    let hostile: { token: string; member: string };

    before(async () => {
      database = await createScratchDatabase(base, 'lp_tenant');
      const env = {
        DATABASE_URL: database.url,
        LICENSEPOOL_ADMIN_EMAIL: ADMIN.email,
        LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password,
        LOG_LEVEL: 'warn',
        DATABASE_POOL_SIZE: '6',
      };
      // A busy machine (CI running other suites) can take long to start a process.
      servers.push(await startServer({ env, timeoutMs: 120_000 }));
      servers.push(...(await Promise.all(Array.from({ length: PROCESSES - 1 }, () => startServer({ env, timeoutMs: 120_000 })))));

      const http = new HttpClient(servers[0]!.url, 8);
      try {
        const superuser = (await http.ok('POST', '/v1/auth/login', { body: ADMIN })).token;
        const operator = async (name: string) => {
          const email = `operator@${name}.test`;
          await http.ok('POST', '/v1/accounts', { body: { email, name, password: PASSWORD } });
          const token = (await http.ok('POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).token as string;
          const root = await http.ok('POST', '/v1/pools', { token: superuser, body: { name, kind: 'vendor', restricted: true } });
          if (root.status !== 'active') await http.ok('POST', `/v1/pools/${root.id}/activate`, { token: superuser });
          await http.ok('POST', `/v1/pools/${root.id}/roles`, { token: superuser, body: { email, role: 'operator' } });
          await http.ok('POST', `/v1/pools/${root.id}/meters`, { token, body: { key: 'seats', name: 'Seats', draws: [] } });
          return { root: root.id as string, token };
        };
        const member = async (token: string, poolId: string, serial: string) => {
          const m = await http.ok('POST', `/v1/pools/${poolId}/members`, { token, body: { device: { serial, type: 'WiDI' } } });
          await http.ok('POST', `/v1/members/${m.id}/verify`, { token });
          return m.id as string;
        };

        const v = await operator('victim');
        await http.ok('POST', `/v1/pools/${v.root}/licenses`, { token: v.token, body: { limits: { seats: SEATS } } });
        const members = await inParallel(Array.from({ length: CLIENTS }, (_, i) => i), 8, (i) => member(v.token, v.root, `V-${i}`));
        victim = { ...v, members };

        // The hostile vendor's office has one seat, taken, and its queue on: its leases queue.
        const h = await operator('hostile');
        await http.ok('POST', `/v1/pools/${h.root}/licenses`, { token: h.token, body: { limits: { seats: 10 } } });
        const office = await http.ok('POST', '/v1/pools', { token: h.token, body: { name: 'Office', kind: 'company', parentId: h.root, restricted: true } });
        await http.ok('POST', `/v1/pools/${office.id}/activate`, { token: h.token });
        await http.ok('POST', `/v1/pools/${office.id}/licenses`, { token: h.token, body: { limits: { seats: 1 } } });
        await http.ok('PATCH', `/v1/pools/${office.id}`, { token: h.token, body: { queue: { enabled: true, claimTimeoutSeconds: 60 } } });
        const hostileMember = await member(h.token, office.id, 'H-1');
        await http.ok('POST', '/v1/claims', { token: h.token, body: { memberId: hostileMember, meter: 'seats', ttlSeconds: 3600 } });
        hostile = { token: h.token, member: hostileMember };
      } finally {
        http.close();
      }
    });

    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await database?.drop();
    });

    test(`${CLIENTS} clients check out and in for ${LOAD_MS / 1000} s without an error while ${HOSTILE_CLIENTS} hostile clients send unstorable claims`, async () => {
      const clients = servers.map((s) => new HttpClient(s.url, CLIENTS));
      const unexpected: string[] = [];
      const note = (what: string, res: Reply) => {
        if (unexpected.length < 30) unexpected.push(`${what} → ${res.status} ${JSON.stringify(res.body)}`);
      };
      const counts = { granted: 0, refused: 0, checkedIn: 0, hostile: 0, hostileStatuses: new Map<number, number>() };
      const started = performance.now();
      let victimDone = false;
      const running = (round: number) => round < MIN_ROUNDS || performance.now() - started < LOAD_MS;
      try {
        const victimClient = async (i: number) => {
          const http = clients[i % PROCESSES]!;
          const memberId = victim.members[i]!;
          for (let n = 0; running(n); n++) {
            const out = await http.request('POST', '/v1/claims', { token: victim.token, body: { memberId, meter: 'seats', ttlSeconds: 60, fingerprint: `client-${i}-${n}` } });
            if (out.status === 201) {
              counts.granted++;
              const back = await http.request('DELETE', `/v1/claims/${out.body.id}`, { token: victim.token });
              if (back.status === 204) counts.checkedIn++;
              else note('check-in', back);
            } else if (out.status === 409 && out.body.code === 'CLAIM_REFUSED' && out.body.reasons.every((r: { code: string }) => r.code === 'LIMIT_REACHED')) {
              counts.refused++;
            } else {
              note('checkout', out);
            }
          }
        };
        const hostileClient = async (i: number) => {
          const http = clients[i % PROCESSES]!;
          const bodies = hostileBodies(hostile.member);
          // Attacks go on for as long as the victim's clients run.
          for (let n = 0; n < MIN_ROUNDS || !victimDone; n++) {
            const body = bodies[(n + i) % bodies.length];
            const res = await http.request('POST', '/v1/claims', { token: hostile.token, body });
            counts.hostile++;
            counts.hostileStatuses.set(res.status, (counts.hostileStatuses.get(res.status) ?? 0) + 1);
            if (res.status < 400 || res.status >= 500 || typeof res.body.code !== 'string') note(`hostile ${JSON.stringify(body)}`, res);
            await new Promise((resolve) => setTimeout(resolve, HOSTILE_PAUSE_MS));
          }
        };
        const attacks = Promise.all(Array.from({ length: HOSTILE_CLIENTS }, (_, i) => hostileClient(i)));
        await Promise.all(Array.from({ length: CLIENTS }, (_, i) => victimClient(i))).finally(() => {
          victimDone = true;
        });
        await attacks;
      } finally {
        for (const c of clients) c.close();
      }
      const statuses = [...counts.hostileStatuses].map(([s, n]) => `${s}×${n}`).join(' ');
      console.log(
        `cross-tenant: ${counts.granted} checkouts granted, ${counts.refused} refused for the limit, ${counts.checkedIn} checked in; ` +
          `${counts.hostile} hostile requests (${statuses}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );

      const operator = new HttpClient(servers[1]!.url, 1);
      const reconcile = await operator.ok('GET', `/v1/pools/${victim.root}/reconcile`, { token: victim.token }).finally(() => operator.close());
      assert.deepEqual(unexpected, [], 'the victim saw no error, and every hostile request got a 4xx problem');
      assert.deepEqual(servers.flatMap((s) => s.errors), [], 'no server logged an error');
      assert.deepEqual(reconcile.drift, [], 'the counters equal the live claims');
      assert.equal(counts.checkedIn, counts.granted, 'every granted checkout was checked in');
      assert.ok(counts.granted + counts.refused >= CLIENTS * MIN_ROUNDS && counts.granted > counts.refused, `${counts.granted} checkouts granted, ${counts.refused} refused`);
      assert.ok(counts.hostile >= HOSTILE_CLIENTS * MIN_ROUNDS, `only ${counts.hostile} hostile requests`);
    });
  });
}
