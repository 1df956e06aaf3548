/**
 * Crash safety: a server process is killed with SIGKILL in the middle of a claim load and
 * started again on the same data. What it answered must hold: every claim answered 201 is
 * there (live, or ended by a check-in this test sent), every check-in answered 204 has ended
 * its claim, and reconcile finds the usage counters equal to the live claims.
 *
 * - Embedded database: one real server on a PGlite data directory, killed, restarted on it.
 * - PostgreSQL (with TEST_DATABASE_URL): two servers on one scratch database; one is killed, the
 *   other keeps serving through it, then the killed one is started again.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { migratedPgliteDir, removePgliteDir } from '../helpers.js';
import {
  HttpClient,
  buildClaimTree,
  createScratchDatabase,
  inParallel,
  prng,
  startServer,
  type ClaimTree,
  type ScratchDatabase,
  type ServerProcess,
  type TreeMember,
  type TreeShape,
} from './fleet.js';

const ADMIN = { email: 'admin@crash.test', password: 'crash test admin password' };
const CLIENTS_PER_SERVER = 16;
/** The victim is killed once it has granted this many claims: well inside the load, not at its start. */
const GRANTED_BEFORE_KILL = 100;
/** How long the survivor (PostgreSQL) goes on serving after the kill. */
const SURVIVOR_MS_AFTER_KILL = 1_500;
/** Bounds the wait for the victim's grants: a machine far slower than CI fails instead of hanging. */
const LOAD_DEADLINE_MS = 60_000;

/** 4 leaves of 8 devices; the root's limits bind now and then, so refusals are part of the load. */
const SHAPE: TreeShape = {
  fanout: [1, 1, 2, 2],
  rootLimits: { seats: 60, product_a: 24, product_b: null },
  level1Limits: { seats: 60, product_a: 24, product_b: null },
  tightLeafLimits: { seats: 8, product_a: 3, product_b: null },
  tightLeafEvery: 2,
  devicesPerLeaf: 8,
  people: 0,
};

/** What one server answered: the claims it granted, and the check-ins sent to it and answered. */
class Ledger {
  readonly granted = new Set<string>();
  readonly checkInsSent = new Set<string>();
  readonly checkInsAnswered = new Set<string>();
  /** Requests sent and never answered because the server was killed under them. */
  cutOff = 0;
  grantedAfterKill = 0;
  readonly unexpected: string[] = [];
}

/**
 * One client of `http`: takes leases and assignments for `member` (at most 3 at a time),
 * renews leases and checks claims in, until `shouldStop`, or until its server is gone.
 */
async function claimClient(http: HttpClient, member: TreeMember, seed: number, ledger: Ledger, killed: () => boolean, shouldStop: () => boolean) {
  const random = prng(seed);
  const held: { id: string; lease: boolean }[] = [];
  const unexpected = (what: string, status: number, body: unknown) => {
    if (ledger.unexpected.length < 20) ledger.unexpected.push(`${what} → ${status} ${JSON.stringify(body)}`);
  };
  while (!shouldStop()) {
    try {
      if (held.length === 0 || (held.length < 3 && random() < 0.55)) {
        const lease = random() < 0.7;
        const r = random();
        const body = { memberId: member.id, meter: r < 0.6 ? 'seats' : r < 0.8 ? 'product_a' : 'product_b', kind: lease ? 'lease' : 'assignment', quantity: random() < 0.2 ? 2 : 1 };
        const res = await http.request('POST', '/v1/claims', { token: member.token, body });
        if (res.status === 201) {
          ledger.granted.add(res.body.id);
          if (killed()) ledger.grantedAfterKill++;
          held.push({ id: res.body.id, lease });
        } else if (res.status === 409 && res.body.code === 'CLAIM_REFUSED') {
          await new Promise((resolve) => setTimeout(resolve, 5 + random() * 20));
        } else {
          unexpected('checkout', res.status, res.body);
        }
        continue;
      }
      const i = Math.floor(random() * held.length);
      const claim = held[i]!;
      if (claim.lease && random() < 0.4) {
        const res = await http.request('POST', `/v1/claims/${claim.id}/heartbeat`, { token: member.token });
        if (res.status !== 200) unexpected('heartbeat', res.status, res.body);
        continue;
      }
      held.splice(i, 1);
      ledger.checkInsSent.add(claim.id);
      const res = await http.request('DELETE', `/v1/claims/${claim.id}`, { token: member.token });
      if (res.status === 204) ledger.checkInsAnswered.add(claim.id);
      else unexpected('check-in', res.status, res.body);
    } catch (err) {
      // The connection broke: only the killed server may do that, and only once killed.
      if (!killed()) unexpected('request', 0, String(err));
      ledger.cutOff++;
      return;
    }
  }
}

/** Every claim of the tree (all within its operator's reach), through the API, page by page. */
async function claimsOfRoot(http: HttpClient, tree: ClaimTree): Promise<Map<string, { status: string; endReason: string | null }>> {
  const claims = new Map<string, { status: string; endReason: string | null }>();
  let cursor: string | null = null;
  for (let page = 0; page < 1_000; page++) {
    const query: string = `/v1/claims?limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const body = await http.ok('GET', query, { token: tree.operatorToken });
    for (const c of body.data as { id: string; status: string; endReason: string | null }[]) claims.set(c.id, { status: c.status, endReason: c.endReason });
    cursor = body.nextCursor;
    if (!cursor) return claims;
  }
  throw new Error('more than 1,000 pages of claims');
}

/**
 * The acceptance after the restart, through `http` (a server running on the data): every
 * granted claim is there, live or checked in by a check-in that was sent; every answered
 * check-in ended its claim; no counter drifted; and the server takes a new claim.
 */
async function assertAnswersHeld(http: HttpClient, tree: ClaimTree, ledgers: Ledger[]): Promise<void> {
  const claims = await claimsOfRoot(http, tree);
  const missing: string[] = [];
  const endedOtherwise: string[] = [];
  const stillLive: string[] = [];
  for (const ledger of ledgers) {
    for (const id of ledger.granted) {
      const claim = claims.get(id);
      if (!claim) missing.push(id);
      else if (claim.status !== 'live' && !(claim.status === 'released' && claim.endReason === 'checked in' && ledger.checkInsSent.has(id))) {
        endedOtherwise.push(`${id}: ${claim.status} (${claim.endReason})`);
      }
    }
    for (const id of ledger.checkInsAnswered) if (claims.get(id)?.status !== 'released') stillLive.push(`${id}: ${claims.get(id)?.status}`);
  }
  assert.deepEqual(missing, [], 'every claim answered 201 is there');
  assert.deepEqual(endedOtherwise, [], 'a granted claim is live, or ended by a check-in sent for it');
  assert.deepEqual(stillLive, [], 'every check-in answered 204 ended its claim');
  const reconcile = await http.ok('GET', `/v1/pools/${tree.root}/reconcile`, { token: tree.operatorToken });
  assert.deepEqual(reconcile.drift, [], 'the usage counters equal the live claims');

  const member = tree.members[0]!;
  const fresh = await http.request('POST', '/v1/claims', { token: member.token, body: { memberId: member.id, meter: 'product_b', kind: 'lease' } });
  assert.ok(fresh.status === 201 || (fresh.status === 409 && fresh.body.code === 'CLAIM_REFUSED'), `a new claim after the restart: ${fresh.status} ${JSON.stringify(fresh.body)}`);
  if (fresh.status === 201) await http.ok('DELETE', `/v1/claims/${fresh.body.id}`, { token: member.token });
}

/**
 * Runs CLIENTS_PER_SERVER clients on each server (members dealt out in turn), kills `victim`
 * once it has granted GRANTED_BEFORE_KILL claims, lets the others serve SURVIVOR_MS_AFTER_KILL
 * more, and returns each server's ledger.
 */
async function loadAndKill(servers: ServerProcess[], victim: ServerProcess, tree: ClaimTree): Promise<Ledger[]> {
  const ledgers = servers.map(() => new Ledger());
  const victimLedger = ledgers[servers.indexOf(victim)]!;
  const clients = servers.map((s) => new HttpClient(s.url, CLIENTS_PER_SERVER));
  let killedAt = 0;
  let stopping = false;
  const killed = () => killedAt > 0;
  const started = performance.now();
  try {
    const load = Promise.all(
      servers.flatMap((_, s) =>
        Array.from({ length: CLIENTS_PER_SERVER }, (_, c) => {
          const member = tree.members[(c * servers.length + s) % tree.members.length]!;
          return claimClient(clients[s]!, member, 7000 + s * 100 + c, ledgers[s]!, killed, () => stopping);
        }),
      ),
    );
    while (victimLedger.granted.size < GRANTED_BEFORE_KILL && performance.now() - started < LOAD_DEADLINE_MS) await new Promise((r) => setTimeout(r, 10));
    killedAt = performance.now();
    await victim.kill();
    await new Promise((r) => setTimeout(r, servers.length > 1 ? SURVIVOR_MS_AFTER_KILL : 0));
    stopping = true;
    await load;
  } finally {
    for (const c of clients) c.close();
  }
  assert.ok(victimLedger.granted.size >= GRANTED_BEFORE_KILL, `the victim granted ${victimLedger.granted.size} claims within ${LOAD_DEADLINE_MS} ms`);
  assert.ok(victimLedger.cutOff > 0, 'the kill cut requests off: it came under load');
  for (const ledger of ledgers) assert.deepEqual(ledger.unexpected, [], 'no answer outside the protocol, no broken connection but to the killed server');
  console.log(
    `crash: ${ledgers.map((l, i) => `server ${i + 1}${servers[i] === victim ? ' (killed)' : ''}: ${l.granted.size} granted, ${l.checkInsAnswered.size}/${l.checkInsSent.size} check-ins answered, ${l.cutOff} cut off, ${l.grantedAfterKill} granted after the kill`).join('; ')}; killed after ${Math.round(killedAt - started)} ms`,
  );
  return ledgers;
}

describe('crash safety: a server killed under claim load and restarted on the same data', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const running = (server: ServerProcess) => {
    cleanup.push(() => server.stop());
    return server;
  };

  test('embedded database (PGlite): one process, SIGKILL, restart on the data directory', async () => {
    const dataDir = await migratedPgliteDir();
    cleanup.push(() => removePgliteDir(dataDir));
    const env = { DATABASE_URL: undefined, LICENSEPOOL_DATA_DIR: dataDir, LICENSEPOOL_ADMIN_EMAIL: ADMIN.email, LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'warn' };
    const first = running(await startServer({ env }));
    const setup = new HttpClient(first.url, 8);
    const tree = await buildClaimTree(setup, ADMIN, SHAPE).finally(() => setup.close());

    const ledgers = await loadAndKill([first], first, tree);

    const restarted = running(await startServer({ env }));
    const http = new HttpClient(restarted.url, 1);
    try {
      await assertAnswersHeld(http, tree, ledgers);
    } finally {
      http.close();
    }
    assert.deepEqual(restarted.errors, [], 'the restarted server logged no error');
    assert.deepEqual(first.errors, [], 'the killed server logged no error before its end');
  });

  const base = process.env.TEST_DATABASE_URL;
  if (base) {
    test('PostgreSQL: two processes, one killed while the other serves on, then restarted', async () => {
      const database: ScratchDatabase = await createScratchDatabase(base, 'lp_crash');
      cleanup.push(() => database.drop());
      const env = { DATABASE_URL: database.url, LICENSEPOOL_ADMIN_EMAIL: ADMIN.email, LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL: 'warn', DATABASE_POOL_SIZE: '8' };
      // The first migrates and creates the superuser; the second starts while the tree is built.
      const victim = running(await startServer({ env }));
      const setup = new HttpClient(victim.url, 8);
      const [survivor, tree] = await Promise.all([
        startServer({ env }).then(running),
        buildClaimTree(setup, ADMIN, SHAPE).finally(() => setup.close()),
      ]);

      const ledgers = await loadAndKill([victim, survivor], victim, tree);
      assert.ok(ledgers[1]!.grantedAfterKill > 0, 'the survivor went on granting claims after the kill');

      const restarted = running(await startServer({ env }));
      await inParallel([restarted, survivor], 2, async (server) => {
        const http = new HttpClient(server.url, 1);
        try {
          await assertAnswersHeld(http, tree, ledgers);
        } finally {
          http.close();
        }
      });
      for (const server of [victim, survivor, restarted]) assert.deepEqual(server.errors, [], 'no server logged an error');
    });
  }
});
