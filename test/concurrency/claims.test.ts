/**
 * U1 under real concurrency: three server processes on one PostgreSQL database, 201 clients
 * over keep-alive HTTP, 8,000 random claim operations (and at least 15 s of them) against a 5-level tree whose root is the
 * binding limit most of the time. A checker samples the counters throughout; afterwards every
 * granted claim is replayed in time order against every limit, and reconcile must find no drift.
 * Registered only with TEST_DATABASE_URL (it needs a PostgreSQL server to share).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import {
  HttpClient,
  TAKES,
  buildClaimTree,
  createScratchDatabase,
  prng,
  startServer,
  type ClaimTree,
  type Reply,
  type ScratchDatabase,
  type ServerProcess,
} from './fleet.js';

const PROCESSES = 3;
const CLIENTS = 201;
/**
 * The overlap comes from 201 clients at once, not from the count: a few thousand operations fill
 * the root to its limit many times over and make every kind of refusal.
 */
const OPERATIONS = 8_000;
/** Leases walked away from (10–15 s) must run out and be swept while the load goes on. */
const MIN_RUN_MS = 15_000;
/** The run stops at OPERATIONS, or (a machine far slower than CI, or a hang) after this long and fails the count. */
const DEADLINE_MS = 180_000;
const CHECK_EVERY_MS = 50;
const ADMIN = { email: 'admin@concurrency.test', password: 'concurrency admin password' };

const base = process.env.TEST_DATABASE_URL;

interface Held {
  id: string;
  kind: 'lease' | 'assignment';
  meter: string;
  fingerprint?: string;
}

interface Tally {
  ops: number;
  byStatus: Map<number, number>;
  refusals: number;
  /** Refusals whose reasons name the root, a level-1 pool, or the member's own leaf. */
  refusedAt: { root: number; level1: number; leaf: number };
  again: number;
  unexpected: string[];
}

/** One client: a member it acts for, its own claims, and a random mix of what clients do. */
async function runClient(http: HttpClient, tree: ClaimTree, memberIndex: number, seed: number, tally: Tally, shouldStop: () => boolean) {
  const random = prng(seed);
  const member = tree.members[memberIndex]!;
  const path = tree.paths.get(member.poolId)!;
  const held: Held[] = [];
  let fingerprints = 0;
  const unexpected = (what: string, res: Reply) => {
    if (tally.unexpected.length < 50) tally.unexpected.push(`${what} → ${res.status} ${JSON.stringify(res.body)}`);
  };
  const note = (res: Reply) => {
    tally.ops++;
    tally.byStatus.set(res.status, (tally.byStatus.get(res.status) ?? 0) + 1);
  };

  /** False when refused. */
  const checkout = async (): Promise<boolean> => {
    const r = random();
    const meter = r < 0.5 ? 'seats' : r < 0.8 ? 'product_a' : 'product_b';
    const lease = random() < 0.75;
    const body: Record<string, unknown> = { memberId: member.id, meter, kind: lease ? 'lease' : 'assignment' };
    if (random() < 0.2) body.quantity = 2 + Math.floor(random() * 2);
    if (lease) body.ttlSeconds = 10 + Math.floor(random() * 6);
    if (lease && random() < 0.3) body.fingerprint = `client-${seed}-${fingerprints++}`;
    const res = await http.request('POST', '/v1/claims', { token: member.token, body });
    note(res);
    if (res.status === 201) {
      held.push({ id: res.body.id, kind: lease ? 'lease' : 'assignment', meter, ...(body.fingerprint ? { fingerprint: body.fingerprint as string } : {}) });
      return true;
    }
    if (res.status === 409 && res.body.code === 'CLAIM_REFUSED') {
      tally.refusals++;
      const reasons = res.body.reasons as { code: string; poolId?: string }[];
      if (reasons.some((x) => x.code !== 'LIMIT_REACHED')) unexpected('checkout', res);
      if (reasons.some((x) => x.poolId === tree.root)) tally.refusedAt.root++;
      if (reasons.some((x) => x.poolId === path[1])) tally.refusedAt.level1++;
      if (reasons.some((x) => x.poolId === member.poolId)) tally.refusedAt.leaf++;
    } else {
      unexpected('checkout', res);
    }
    return false;
  };

  const again = async (claim: Held) => {
    // U3: the same client asking again gets its live lease back, unless it has meanwhile run out.
    const res = await http.request('POST', '/v1/claims', {
      token: member.token,
      body: { memberId: member.id, meter: claim.meter, ttlSeconds: 10, fingerprint: claim.fingerprint },
    });
    note(res);
    if (res.status === 200) {
      tally.again++;
      if (res.body.id !== claim.id) unexpected(`again for ${claim.id}`, res);
    } else if (res.status === 201) {
      held.splice(held.indexOf(claim), 1, { ...claim, id: res.body.id });
    } else if (res.status === 409 && res.body.reasons?.every((x: { code: string }) => x.code === 'LIMIT_REACHED')) {
      // It had run out, and its units went to others meanwhile.
      tally.refusals++;
      held.splice(held.indexOf(claim), 1);
    } else {
      unexpected('again', res);
    }
  };

  while (!shouldStop()) {
    const r = random();
    if (held.length === 0 || (held.length < 2 && r < 0.4)) {
      // Refused with nothing held: try again a little later, as a client would.
      if (!(await checkout()) && held.length === 0) await new Promise((resolve) => setTimeout(resolve, 5 + random() * 20));
      continue;
    }
    const claim = held[Math.floor(random() * held.length)]!;
    if (r < 0.65 && claim.kind === 'lease') {
      const res = await http.request('POST', `/v1/claims/${claim.id}/heartbeat`, { token: member.token });
      note(res);
      if (res.status === 410 && res.body.code === 'CLAIM_ENDED') held.splice(held.indexOf(claim), 1);
      else if (res.status !== 200) unexpected('heartbeat', res);
    } else if (r < 0.72 && claim.kind === 'lease') {
      // Walk away: the lease runs out and a sweep gives its units back.
      held.splice(held.indexOf(claim), 1);
    } else if (r < 0.78 && claim.fingerprint) {
      await again(claim);
    } else {
      const res = await http.request('DELETE', `/v1/claims/${claim.id}`, { token: member.token });
      note(res);
      if (res.status !== 204) unexpected('check-in', res);
      held.splice(held.indexOf(claim), 1);
      if (random() < 0.1) {
        // A check-in sent twice changes nothing the second time.
        const twice = await http.request('DELETE', `/v1/claims/${claim.id}`, { token: member.token });
        note(twice);
        if (twice.status !== 204) unexpected('check-in again', twice);
      }
    }
  }
}

/** Every (pool, meter) counter a claim in `poolId` on `meter` takes that has a limit. */
function limitedKeys(tree: ClaimTree, poolId: string, meter: string): string[] {
  return tree.paths.get(poolId)!.flatMap((p) => TAKES.get(meter)!.map((m) => `${p} ${m}`)).filter((k) => tree.limits.has(k));
}

interface HistoryRow {
  id: string;
  pool_id: string;
  meter_key: string;
  quantity: number;
  created_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
}

/**
 * Replays every claim ever granted by time (created_at → ended_at; still live: never ends) on
 * every limited counter it took, and reports each instant over a limit with the claims that
 * made it: the one that started, and those live then that ended soonest after.
 */
function replay(tree: ClaimTree, history: readonly HistoryRow[]): { peaks: Map<string, number>; over: string[] } {
  const events: { at: number; delta: number; key: string; claim: HistoryRow }[] = [];
  for (const claim of history) {
    for (const key of limitedKeys(tree, claim.pool_id, claim.meter_key)) {
      events.push({ at: claim.created_at.getTime(), delta: claim.quantity, key, claim });
      events.push({ at: claim.ended_at ? claim.ended_at.getTime() : Number.POSITIVE_INFINITY, delta: -claim.quantity, key, claim });
    }
  }
  // At equal instants units given back come first: a batch frees and retakes in one commit.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const level = new Map<string, number>();
  const peaks = new Map<string, number>();
  const over: string[] = [];
  const iso = (d: Date | null) => (d ? d.toISOString() : 'live');
  for (const e of events) {
    const now = (level.get(e.key) ?? 0) + e.delta;
    level.set(e.key, now);
    peaks.set(e.key, Math.max(peaks.get(e.key) ?? 0, now));
    const limit = tree.limits.get(e.key)!;
    if (now <= limit || over.length >= 5) continue;
    const endingSoon = history
      .filter((c) => limitedKeys(tree, c.pool_id, c.meter_key).includes(e.key) && c.created_at.getTime() <= e.at && c.ended_at && c.ended_at.getTime() > e.at)
      .sort((a, b) => a.ended_at!.getTime() - b.ended_at!.getTime())
      .slice(0, 3)
      .map((c) => `${c.id} (${c.quantity}, ${iso(c.created_at)} → ${iso(c.ended_at)}, ${c.end_reason})`);
    over.push(`${new Date(e.at).toISOString()} ${e.key}: ${now} > ${limit} when ${e.claim.id} (${e.claim.quantity}) started; live then and ending soonest: ${endingSoon.join('; ')}`);
  }
  return { peaks, over };
}

if (base) {
  describe('claims under real concurrency (3 processes, PostgreSQL)', () => {
    let database: ScratchDatabase;
    const servers: ServerProcess[] = [];
    let tree: ClaimTree;

    before(async () => {
      database = await createScratchDatabase(base);
      const env = {
        DATABASE_URL: database.url,
        LICENSEPOOL_ADMIN_EMAIL: ADMIN.email,
        LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password,
        LOG_LEVEL: 'warn',
        // The other suites share the server's max_connections (100) while this one runs.
        DATABASE_POOL_SIZE: '8',
      };
      // Started together, as replicas are: one applies the migrations under the advisory lock
      // and one creates the superuser, the others start on the result.
      servers.push(...(await Promise.all(Array.from({ length: PROCESSES }, () => startServer({ env })))));
      const setup = new HttpClient(servers[0]!.url, 8);
      try {
        tree = await buildClaimTree(setup, ADMIN, {
          fanout: [2, 2, 2, 3],
          rootLimits: { seats: 230, product_a: 60, product_b: null },
          level1Limits: { seats: 170, product_a: 48, product_b: null },
          tightLeafLimits: { seats: 3, product_a: 1, product_b: null },
          tightLeafEvery: 4,
          devicesPerLeaf: 8,
          people: 9,
        });
      } finally {
        setup.close();
      }
    });

    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await database?.drop();
    });

    test(`${CLIENTS} clients, ${OPERATIONS} operations over ${PROCESSES} processes: never over a limit, replay and reconcile agree`, async () => {
      assert.ok(tree.members.length >= CLIENTS - 10, `members: ${tree.members.length}`);
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        // The checker: every counter with a limit, sampled throughout the run.
        let samples = 0;
        const overLimit: string[] = [];
        let checking = true;
        const checker = (async () => {
          while (checking) {
            const { rows } = await db.query<{ pool_id: string; meter_key: string; used: string }>('SELECT pool_id, meter_key, used FROM pool_usage');
            samples++;
            for (const r of rows) {
              const limit = tree.limits.get(`${r.pool_id} ${r.meter_key}`);
              if (limit !== undefined && Number(r.used) > limit && overLimit.length < 20) overLimit.push(`${r.pool_id} ${r.meter_key}: used ${r.used} > ${limit}`);
            }
            await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
          }
        })();

        const tally: Tally = { ops: 0, byStatus: new Map(), refusals: 0, refusedAt: { root: 0, level1: 0, leaf: 0 }, again: 0, unexpected: [] };
        const perServer = Math.ceil(CLIENTS / PROCESSES);
        const clients = servers.map((s) => new HttpClient(s.url, perServer));
        const started = performance.now();
        const shouldStop = () => (tally.ops >= OPERATIONS && performance.now() - started >= MIN_RUN_MS) || performance.now() - started > DEADLINE_MS;
        try {
          await Promise.all(
            Array.from({ length: CLIENTS }, (_, i) => runClient(clients[i % PROCESSES]!, tree, i % tree.members.length, 1000 + i, tally, shouldStop)),
          );
        } finally {
          for (const c of clients) c.close();
          checking = false;
          await checker;
        }
        const seconds = (performance.now() - started) / 1000;
        const granted = (tally.byStatus.get(201) ?? 0) + (tally.byStatus.get(200) ?? 0);

        const { rows: history } = await db.query<HistoryRow>(
          'SELECT id, pool_id, meter_key, quantity, created_at, ended_at, end_reason FROM claims WHERE root_id = $1',
          [tree.root],
        );
        const replayed = replay(tree, history);
        const peakOfRoot = replayed.peaks.get(`${tree.root} seats`) ?? 0;
        const expired = history.filter((c) => c.end_reason === 'not renewed in time').length;

        const operator = new HttpClient(servers[1]!.url, 1);
        const reconcile = await operator.ok('GET', `/v1/pools/${tree.root}/reconcile`, { token: tree.operatorToken }).finally(() => operator.close());

        const statuses = [...tally.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
        console.log(
          `concurrency: ${tally.ops} ops in ${seconds.toFixed(1)} s (${Math.round(tally.ops / seconds)} ops/s) by ${CLIENTS} clients on ${PROCESSES} processes; ` +
            `${granted} granted, ${tally.refusals} refused (root ${tally.refusedAt.root}, level 1 ${tally.refusedAt.level1}, leaf ${tally.refusedAt.leaf}), ` +
            `${tally.again} leases given back again, ${expired} expired and swept; ${statuses}; ${samples} checker samples; root seats peak ${peakOfRoot}/${tree.limits.get(`${tree.root} seats`)}`,
        );

        assert.deepEqual(tally.unexpected, [], 'no 5xx and no answer outside the protocol');
        assert.deepEqual(servers.flatMap((s) => s.errors), [], 'no server logged an error');
        assert.deepEqual(overLimit, [], 'the checker never saw a counter over its limit');
        assert.deepEqual(replayed.over, [], 'no instant of the replayed history is over a limit');
        assert.deepEqual(reconcile.drift, [], 'the counters equal the live claims');
        assert.ok(tally.ops >= OPERATIONS, `only ${tally.ops} operations within ${DEADLINE_MS} ms`);
        assert.ok(samples >= 20, `the checker sampled ${samples} times`);
        assert.ok(tally.refusedAt.root > 0 && tally.refusedAt.leaf > 0, 'the root and the tight leaves both refused');
        assert.ok(tally.refusedAt.root > tally.refusals / 2, 'the root was the binding limit most of the time');
        assert.equal(peakOfRoot, tree.limits.get(`${tree.root} seats`), 'the root was filled to its limit');
        assert.ok(expired > 0, 'some leases ran out and were swept');
        assert.ok(tally.again > 0, 'some clients got their live lease back');
      } finally {
        await db.end();
      }
    });
  });
}
