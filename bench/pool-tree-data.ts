/**
 * The data of the pool-tree benchmarks (bench/pool-tree.ts over HTTP, bench/console-tree.ts in
 * Chromium): through the API a vendor root "Acme", its operator and a catalog (seats; apps drawing
 * on seats) with a license; then by SQL `distributors` × `dealers` × `buildings` pools below it,
 * a license on every distributor and dealer, and usage on every building summed onto its ancestors.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/client.js';
import { newId } from '../src/lib/ids.js';
import type { benchApi } from './api.js';

export const OPERATOR_EMAIL = 'operator@acme.test';

export interface PoolTreeShape {
  distributors: number;
  dealers: number;
  buildings: number;
}

export interface PoolTreeData {
  root: string;
  /** The operator's API token. */
  operator: string;
  distributors: string[];
  dealers: string[];
  buildings: string[];
  /** Pools in the database, the root included. */
  total: number;
  /** How long the SQL part took. */
  loadSeconds: number;
}

export async function seedPoolTree(db: Db, client: ReturnType<typeof benchApi>, superuser: string, shape: PoolTreeShape): Promise<PoolTreeData> {
  const api = async (method: string, path: string, token: string | null, body?: unknown) => (await client.api(method, path, token, body)).json;
  const root = (await api('POST', '/v1/pools', superuser, { name: 'Acme', kind: 'vendor', restricted: true })).id as string;
  const operator = await client.signUp(OPERATOR_EMAIL);
  await api('POST', `/v1/pools/${root}/roles`, superuser, { email: OPERATOR_EMAIL, role: 'operator' });
  await api('POST', `/v1/pools/${root}/meters`, operator, { key: 'seats', name: 'Seats', draws: [] });
  await api('POST', `/v1/pools/${root}/meters`, operator, { key: 'apps', name: 'Apps', draws: ['seats'] });
  await api('POST', `/v1/pools/${root}/licenses`, operator, { limits: { seats: 1_000_000, apps: 1_000_000 } });

  const loadStart = performance.now();
  const distributors = Array.from({ length: shape.distributors }, () => newId('pool'));
  const dealers = Array.from({ length: shape.distributors * shape.dealers }, () => newId('pool'));
  const buildings = Array.from({ length: shape.distributors * shape.dealers * shape.buildings }, () => newId('pool'));
  const text = (xs: readonly string[]) => sql`ARRAY[${sql.join(xs.map((x) => sql`${x}`), sql`, `)}]::text[]`;
  /** One level by one INSERT … SELECT, in chunks (a statement's parameters are bounded). */
  const insertLevel = async (ids: string[], parentOf: (i: number) => string, nameOf: (i: number) => string, kind: string, restricted: boolean) => {
    for (let from = 0; from < ids.length; from += 10_000) {
      const chunk = ids.slice(from, from + 10_000);
      const idx = chunk.map((_, i) => from + i);
      await db.execute(sql`
        INSERT INTO pools (id, root_id, parent_id, path, depth, name, kind, status, restricted, queue)
        SELECT u.id, p.root_id, p.id, p.path || u.id, p.depth + 1, u.name, ${kind}, 'active', ${restricted}, '{"enabled": false, "claimTimeoutSeconds": 300}'
        FROM unnest(${text(chunk)}, ${text(idx.map(parentOf))}, ${text(idx.map(nameOf))}) AS u(id, parent, name) JOIN pools p ON p.id = u.parent`);
    }
  };
  await insertLevel(distributors, () => root, (i) => `Distributor ${String(i + 1).padStart(2, '0')}`, 'distributor', true);
  await insertLevel(dealers, (i) => distributors[Math.floor(i / shape.dealers)]!, (i) => `Dealer ${String(i + 1).padStart(4, '0')}`, 'dealer', true);
  await insertLevel(buildings, (i) => dealers[Math.floor(i / shape.buildings)]!, (i) => `Building ${String(i + 1).padStart(6, '0')}`, 'building', false);
  // A license on every distributor and dealer; usage on every building, summed onto its ancestors.
  await db.execute(sql`
    INSERT INTO licenses (id, root_id, pool_id, status, limits, features, valid_from, created_at, updated_at)
    SELECT 'lic_' || substr(md5(p.id), 1, 26), p.root_id, p.id, 'in_use',
           CASE WHEN p.depth = 1 THEN '{"seats": 50000, "apps": 20000}'::jsonb ELSE '{"seats": 300, "apps": 100}'::jsonb END,
           ARRAY[]::text[], now() - interval '1 day', now(), now()
    FROM pools p WHERE p.depth IN (1, 2)`);
  await db.execute(sql`
    INSERT INTO pool_usage (pool_id, meter_key, used)
    SELECT ancestor, 'seats', sum((hashint4(length(b.id) + ascii(right(b.id, 1))) & 3) % 3)
    FROM pools b CROSS JOIN LATERAL unnest(b.path) AS ancestor
    WHERE b.depth = 3 GROUP BY ancestor`);
  for (const table of ['pools', 'licenses', 'pool_usage']) await db.execute(sql.raw(`VACUUM ANALYZE ${table}`));
  const total = Number(((await db.execute(sql`SELECT count(*)::int AS n FROM pools`)) as unknown as { rows: { n: number }[] }).rows[0]!.n);
  return { root, operator, distributors, dealers, buildings, total, loadSeconds: (performance.now() - loadStart) / 1000 };
}
