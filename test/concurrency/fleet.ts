/**
 * Real server processes for the concurrency and crash tests and the claims benchmark: a fresh PostgreSQL
 * database, `node dist/main.js` children on free ports, a lean keep-alive HTTP
 * client, and the 5-level pool tree with a hot root built through the public API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { builtServerEntry, REPO_ROOT } from '../repo.js';
import { TEST_SECRET_KEY } from '../secret-key.js';

// ---------------------------------------------------------------------------------------------
// A fresh database

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A new database on the server of `baseUrl` (a role that may create databases): empty, for the
 * servers to migrate, or a copy of `template` (a database nobody is connected to).
 */
export async function createScratchDatabase(baseUrl: string, prefix = 'lp_conc', template?: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: baseUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Server processes

export interface ServerProcess {
  url: string;
  pid: number;
  /** Log lines at level error or above, and anything written to stderr. */
  errors: string[];
  /** SIGTERM (graceful close), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash would end it: no close, no flush; resolves once it has exited. */
  kill(): Promise<void>;
}

/**
 * Only a bound against a server that never starts: on a loaded machine (a test run beside
 * others, several servers starting at once) one start can take tens of seconds.
 */
const START_TIMEOUT_MS = 120_000;

const running = new Set<ChildProcess>();
// Whatever happens to this process, its servers do not outlive it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `command` (default: the licensepool server) with `env` added to this process's
 * environment, PORT=0 and HOST=127.0.0.1, and resolves once it printed its address and answers
 * `readyPath`.
 */
export async function startServer(options: {
  env: Record<string, string | undefined>;
  command?: string[];
  readyPath?: string;
  extraNodeArgs?: string[];
  /** Run src/main.ts through tsx (the claims benchmark's query counter hooks into it) instead of dist/main.js. */
  fromSource?: boolean;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const args = options.command ?? (options.fromSource ? ['--import', 'tsx', ...(options.extraNodeArgs ?? []), 'src/main.ts'] : [...(options.extraNodeArgs ?? []), builtServerEntry()]);
  // The tests' secret key: a server on PostgreSQL refuses to start without one.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LICENSEPOOL_SECRET_KEY: TEST_SECRET_KEY };
  for (const [k, v] of Object.entries(options.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const errors: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => { running.delete(child); resolve(); }));

  const started = new Promise<string>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? START_TIMEOUT_MS;
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms: ${errors.join('\n')}`)), timeoutMs);
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const address = /listening on (http:\/\/\S+)/.exec(line)?.[1];
        if (address) {
          clearTimeout(timer);
          resolve(address);
        } else if (line.startsWith('{')) {
          try {
            if ((JSON.parse(line) as { level?: number }).level! >= 50) errors.push(line);
          } catch {
            errors.push(line);
          }
        }
      }
    });
    // stderr carries the start-up banner for people (framed by box-drawing characters: it has the
    // address); anything else there is an error.
    let pendingErr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      pendingErr += chunk;
      const lines = pendingErr.split('\n');
      pendingErr = lines.pop()!;
      for (const line of lines) {
        if (!/^[┌│└]/.test(line)) errors.push(line);
        const address = /listening on (http:\/\/\S+)/.exec(line)?.[1];
        if (address) {
          clearTimeout(timer);
          resolve(address);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${errors.join('\n')}`));
    });
  });

  let url: string;
  try {
    url = await started;
    await waitUntilReady(url, options.readyPath ?? '/readyz');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    url,
    pid: child.pid!,
    errors,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function waitUntilReady(url: string, path: string): Promise<void> {
  const probe = new HttpClient(url, 1);
  try {
    for (let i = 0; ; i++) {
      const res = await probe.request('GET', path).catch(() => ({ status: 0 }));
      if (res.status === 200) return;
      if (i > 100) throw new Error(`${url}${path} never answered 200`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    probe.close();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Reply {
  status: number;
  body: any;
  headers: http.IncomingHttpHeaders;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** JSON over keep-alive sockets to one server; `maxSockets` bounds the connections. */
export class HttpClient {
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;

  constructor(baseUrl: string, maxSockets: number) {
    const u = new URL(baseUrl);
    this.#host = u.hostname;
    this.#port = Number(u.port);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(method: string, path: string, options: { token?: string | undefined; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ agent: this.#agent, host: this.#host, port: this.#port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = String(res.headers['content-type'] ?? '').includes('json') && text.length > 0;
          resolve({ status: res.statusCode!, body: json ? JSON.parse(text) : text, headers: res.headers });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      // A server that stops answering fails the run instead of hanging it.
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path}: no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      req.end(payload);
    });
  }

  /** A request that must succeed (2xx): throws with the problem document otherwise. */
  async ok(method: string, path: string, options: { token?: string | undefined; body?: unknown } = {}): Promise<any> {
    const res = await this.request(method, path, options);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  close(): void {
    this.#agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The tree

export type Limits = Record<string, number | null>;

/** Meters of the tree: product_a and product_b each also take a seat (C1). */
export const METERS = [
  { key: 'seats', draws: [] as string[] },
  { key: 'product_a', draws: ['seats'] },
  { key: 'product_b', draws: ['seats'] },
];
/** Meter → every meter one unit of it takes, itself included. */
export const TAKES: ReadonlyMap<string, readonly string[]> = new Map(METERS.map((m) => [m.key, [m.key, ...m.draws]]));

export interface TreeShape {
  /** Children per pool below the root: 4 entries make 5 levels. */
  fanout: [number, number, number, number];
  /** The root's license: the binding limit most of the time. */
  rootLimits: Limits;
  /** The level-1 pools' licenses (restricted); together they give more than the root. */
  level1Limits: Limits;
  /** Every `tightLeafEvery`-th leaf is restricted to `tightLeafLimits`. */
  tightLeafLimits: Limits;
  tightLeafEvery: number;
  /** Device members per leaf, verified. */
  devicesPerLeaf: number;
  /** People who are members (in the first leaves) and act with their own tokens. */
  people: number;
}

export interface TreeMember {
  id: string;
  poolId: string;
  /** The token its clients act with: its own (a person), or a manager's of its pool's path. */
  token: string;
}

export interface ClaimTree {
  root: string;
  /** Pool id → its path, root first. */
  paths: Map<string, string[]>;
  /** The limits configured: `${poolId} ${meter}` → units (meters with a number only). */
  limits: Map<string, number>;
  members: TreeMember[];
  /** The root's operator. */
  operatorToken: string;
}

const PASSWORD = 'concurrency test password';

/** Runs `fn` over `items`, `width` at a time. */
export async function inParallel<T, R>(items: readonly T[], width: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

async function signUp(http: HttpClient, email: string): Promise<string> {
  await http.ok('POST', '/v1/accounts', { body: { email, name: email.split('@')[0], password: PASSWORD } });
  return (await http.ok('POST', '/v1/auth/login', { body: { email, password: PASSWORD } })).token;
}

/**
 * Builds the tree through the API as the superuser `admin`: a restricted root with the
 * meters and its license, restricted level-1 pools (a manager each), unrestricted levels below
 * except every `tightLeafEvery`-th leaf, verified device members in every leaf and `people`
 * person members. Every pool is activated.
 */
export async function buildClaimTree(http: HttpClient, admin: { email: string; password: string }, shape: TreeShape): Promise<ClaimTree> {
  const superuser = (await http.ok('POST', '/v1/auth/login', { body: admin })).token;
  const tag = randomBytes(3).toString('hex');
  const root = await http.ok('POST', '/v1/pools', { token: superuser, body: { name: `Vendor ${tag}`, kind: 'vendor', restricted: true } });
  if (root.status !== 'active') await http.ok('POST', `/v1/pools/${root.id}/activate`, { token: superuser });
  const operatorEmail = `operator.${tag}@concurrency.test`;
  const operatorToken = await signUp(http, operatorEmail);
  await http.ok('POST', `/v1/pools/${root.id}/roles`, { token: superuser, body: { email: operatorEmail, role: 'operator' } });
  for (const m of METERS) await http.ok('POST', `/v1/pools/${root.id}/meters`, { token: operatorToken, body: { key: m.key, name: m.key, draws: m.draws } });

  const paths = new Map<string, string[]>([[root.id, [root.id]]]);
  const limits = new Map<string, number>();
  const license = async (poolId: string, given: Limits) => {
    await http.ok('POST', `/v1/pools/${poolId}/licenses`, { token: operatorToken, body: { limits: given } });
    for (const [meter, units] of Object.entries(given)) if (units !== null) limits.set(`${poolId} ${meter}`, units);
  };
  await license(root.id, shape.rootLimits);

  const kinds = ['distributor', 'dealer', 'company', 'building'];
  let level = [root.id];
  const levels: string[][] = [];
  for (let depth = 0; depth < shape.fanout.length; depth++) {
    const parents = level.flatMap((parent) => Array.from({ length: shape.fanout[depth]! }, (_, i) => ({ parent, i })));
    level = await inParallel(parents, 8, async ({ parent, i }, n) => {
      const restricted = depth === 0 || (depth === shape.fanout.length - 1 && n % shape.tightLeafEvery === 0);
      const pool = await http.ok('POST', '/v1/pools', {
        token: operatorToken,
        body: { name: `${kinds[depth]} ${i}`, kind: kinds[depth], parentId: parent, restricted },
      });
      await http.ok('POST', `/v1/pools/${pool.id}/activate`, { token: operatorToken });
      paths.set(pool.id, [...paths.get(parent)!, pool.id]);
      if (restricted) await license(pool.id, depth === 0 ? shape.level1Limits : shape.tightLeafLimits);
      return pool.id as string;
    });
    levels.push(level);
  }

  // A manager on each level-1 pool acts for the device members below it.
  const managerOf = new Map<string, string>();
  await inParallel(levels[0]!, 4, async (poolId, i) => {
    const email = `manager${i}.${tag}@concurrency.test`;
    const token = await signUp(http, email);
    await http.ok('POST', `/v1/pools/${poolId}/roles`, { token: operatorToken, body: { email, role: 'manager' } });
    managerOf.set(poolId, token);
  });

  const leaves = level;
  const wanted = [
    ...Array.from({ length: shape.people }, (_, i) => ({ leaf: leaves[i % leaves.length]!, person: i, device: -1 })),
    ...leaves.flatMap((leaf, l) => Array.from({ length: shape.devicesPerLeaf }, (_, d) => ({ leaf, person: -1, device: l * shape.devicesPerLeaf + d }))),
  ];
  const members = await inParallel(wanted, 8, async ({ leaf, person, device }) => {
    let token: string;
    let body: unknown;
    if (person >= 0) {
      const email = `member${person}.${tag}@concurrency.test`;
      token = await signUp(http, email);
      body = { email };
    } else {
      // Devices alternate between the root's operator and their distributor's manager.
      token = device % 2 === 0 ? operatorToken : managerOf.get(paths.get(leaf)![1]!)!;
      body = { device: { serial: `SN-${tag}-${device}`, type: 'WiDI' } };
    }
    const member = await http.ok('POST', `/v1/pools/${leaf}/members`, { token: operatorToken, body });
    await http.ok('POST', `/v1/members/${member.id}/verify`, { token: operatorToken });
    return { id: member.id as string, poolId: leaf, token };
  });
  return { root: root.id, paths, limits, members, operatorToken };
}

// ---------------------------------------------------------------------------------------------
// Small tools

/** Seeded PRNG (mulberry32): a run can be repeated. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
