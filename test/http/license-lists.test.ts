/**
 * License lists (L9 [003]): GET /v1/licenses filters, sorts and cursor pages, and the CSV export
 * GET /v1/licenses.csv, on one small tree whose every license is known by name:
 *
 *   root (vendor, unrestricted)
 *   ├── Region North ─ echo (finalized)
 *   │   └── Hotel Sunrise ─ alpha (ends 2027-01-01), bravo (ends 2026-03-01), golf (pending_start)
 *   ├── Hotel Moon ─ charlie (no end), delta (suspended, ends 2026-06-01), hotel (by key, 12 months)
 *   └── (no pool) ─ foxtrot (pending_provision)
 *
 * Read on 2026-07-01, so bravo is expired by the clock alone and delta (access_denied) too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { findLicensePage, type LicenseText } from '../../src/modules/licenses/licenses-list.repo.js';
import { exportLicensesCsv, textOf } from '../../src/modules/licenses/licenses.list.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'] as const;
type Name = (typeof NAMES)[number];
const SORTS = ['id', 'createdAt', '-createdAt', 'validUntil', '-validUntil'] as const;

interface Listed {
  id: string;
  name: string;
  key: string | null;
  status: string;
  poolId: string | null;
  validFrom: string | null;
  validUntil: string | null;
  createdAt: string;
  termMonths: number | null;
  request: { partner?: string; distributor?: string; accessPoints?: number; rooms?: number; modules?: string[] } | null;
  limits: Record<string, number | null>;
  features: string[];
  billing: { interval: string; contractYears: number } | null;
}

for (const backend of backends()) {
  describe(`license lists (${backend})`, () => {
    let t: TestApp;
    let tree: Tree;
    let other: Tree;
    let region: string;
    let sunrise: string;
    let moon: string;
    let manager: { token: string };
    let admin: { token: string };
    const id: Partial<Record<Name, string>> = {};
    let hotelKey: string;
    let all: Listed[];

    const list = async (query: string, token = tree.operator.token): Promise<Listed[]> => {
      const body = await ok(t.app, 'GET', `/v1/licenses?limit=500${query ? `&${query}` : ''}`, { token });
      assert.equal(body.nextCursor, null, 'one page holds them all');
      return body.data;
    };
    const names = async (query: string, token?: string) => (await list(query, token)).map((l) => l.name).sort();

    before(async () => {
      t = await createTestApp(backend);
      tree = await vendor(t, { meters: [{ key: 'aps' }, { key: 'rooms' }], features: ['guest_access', 'elevator'] });
      other = await vendor(t, { name: 'Other vendor', meters: [{ key: 'aps' }] });
      const op = tree.operator.token;
      region = await childPool(t, op, tree.root, { name: 'Region North' });
      sunrise = await childPool(t, op, region, { name: 'Hotel Sunrise' });
      moon = await childPool(t, op, tree.root, { name: 'Hotel Moon' });
      const m = await person(t, 'manager@north.test');
      await ok(t.app, 'POST', `/v1/pools/${region}/roles`, { token: op, body: { email: m.email, role: 'manager' } });
      manager = m;
      const a = await person(t, 'admin@vendor.test');
      await ok(t.app, 'POST', `/v1/pools/${tree.root}/roles`, { token: t.superuser, body: { email: a.email, role: 'admin' } });
      admin = a;

      // Created a few minutes apart, some at the same instant (createdAt ties are ordered by id).
      const place = async (name: Name, pool: string, body: Record<string, unknown>) => {
        id[name] = (await ok(t.app, 'POST', `/v1/pools/${pool}/licenses`, { token: op, body: { name, limits: { aps: 10 }, features: ['guest_access'], ...body } })).id;
      };
      const request = async (name: Name, body: Record<string, unknown>) => {
        const l = await ok(t.app, 'POST', '/v1/licenses', { token: op, body: { rootId: tree.root, name, limits: { aps: 20 }, ...body } });
        id[name] = l.id;
        return l.key as string;
      };
      await place('alpha', sunrise, { validUntil: '2027-01-01T00:00:00Z' });
      await place('bravo', sunrise, { validUntil: '2026-03-01T00:00:00Z' });
      t.clock.advance(60_000);
      await place('charlie', moon, {});
      await place('delta', moon, { validUntil: '2026-06-01T00:00:00Z' });
      await ok(t.app, 'POST', `/v1/licenses/${id.delta}/suspend`, { token: op });
      t.clock.advance(60_000);
      await place('echo', region, { validUntil: '2026-02-01T00:00:00Z' });
      await ok(t.app, 'POST', `/v1/licenses/${id.echo}/finalize`, { token: op });
      await request('foxtrot', {
        billing: { interval: 'monthly', contractYears: 3 },
        request: { partner: 'Acme Integrations', distributor: 'Dist One', accessPoints: 40, modules: ['guest_access', 'elevator'] },
      });
      t.clock.advance(-120_000);
      const golfKey = await request('golf', { startRule: { type: 'on_connections' }, request: { partner: 'Beta Partners' } });
      await ok(t.app, 'POST', '/v1/licenses/activate', { token: op, body: { key: golfKey, poolId: sunrise } });
      t.clock.set('2026-01-01T00:00:00.000Z');
      hotelKey = await request('hotel', { termMonths: 12, billing: { interval: 'annual', contractYears: 1 }, request: { partner: 'ACME integrations', rooms: 120 } });
      await ok(t.app, 'POST', '/v1/licenses/activate', { token: op, body: { key: hotelKey, poolId: moon } });
      await ok(t.app, 'POST', `/v1/pools/${(await childPool(t, other.operator.token, other.root, { name: 'Hotel Sunrise' }))}/licenses`, {
        token: other.operator.token,
        body: { name: 'alpha', limits: { aps: 1 } },
      });
      t.clock.set('2026-07-01T00:00:00.000Z');
      all = await list('');
    });
    after(() => t.close());

    test('the tree is as the header says (as of 2026-07-01, statuses by the clock)', () => {
      const status = Object.fromEntries(all.map((l) => [l.name, l.status]));
      assert.deepEqual(status, {
        alpha: 'in_use',
        bravo: 'expired',
        charlie: 'in_use',
        delta: 'expired',
        echo: 'finalized',
        foxtrot: 'pending_provision',
        golf: 'pending_start',
        hotel: 'in_use',
      });
      assert.equal(all.find((l) => l.name === 'hotel')!.validUntil, '2027-01-01T00:00:00.000Z');
    });

    test('status: one, several (comma-separated or repeated), and expired by the clock', async () => {
      assert.deepEqual(await names('status=in_use'), ['alpha', 'charlie', 'hotel']);
      assert.deepEqual(await names('status=expired'), ['bravo', 'delta']);
      assert.deepEqual(await names('status=finalized'), ['echo']);
      assert.deepEqual(await names('status=access_denied'), [], 'delta is past its end: expired, not access_denied');
      assert.deepEqual(await names('status=pending_provision,pending_start'), ['foxtrot', 'golf']);
      assert.deepEqual(await names('status=pending_start&status=expired&status=finalized'), ['bravo', 'delta', 'echo', 'golf']);
      assert.deepEqual(await names(`status=${['pending_provision', 'pending_start', 'in_use', 'access_denied', 'expired', 'finalized'].join(',')}`), [...NAMES]);
      // Before the ends came: bravo running, delta suspended.
      t.clock.set('2026-02-15T00:00:00.000Z');
      try {
        assert.deepEqual(await names('status=in_use'), ['alpha', 'bravo', 'charlie', 'hotel']);
        assert.deepEqual(await names('status=access_denied'), ['delta']);
        assert.deepEqual(await names('status=expired'), []);
        // An end at exactly now has come (validity is [from, until)).
        t.clock.set('2026-03-01T00:00:00.000Z');
        assert.deepEqual(await names('status=expired'), ['bravo']);
      } finally {
        t.clock.set('2026-07-01T00:00:00.000Z');
      }
      // Every license listed by a status shows that status.
      for (const s of ['in_use', 'expired', 'finalized', 'pending_start']) {
        for (const l of await list(`status=${s}`)) assert.equal(l.status, s);
      }
    });

    test('end dates: endsAfter inclusive, endsBefore exclusive, licenses without an end left out', async () => {
      assert.deepEqual(await names('endsAfter=2026-03-01T00:00:00Z&endsBefore=2027-01-01T00:00:00Z'), ['bravo', 'delta']);
      assert.deepEqual(await names('endsBefore=2026-03-01T00:00:00Z'), ['echo']);
      assert.deepEqual(await names('endsBefore=2026-03-01T00:00:00.001Z'), ['bravo', 'echo']);
      assert.deepEqual(await names('endsAfter=2027-01-01T00:00:00Z'), ['alpha', 'hotel']);
      assert.deepEqual(await names('endsAfter=2027-01-01T00:00:00.001Z'), []);
      assert.deepEqual(await names('endsAfter=2026-12-31T22:00:00-02:00'), ['alpha', 'hotel'], 'an offset is the same instant in UTC');
      assert.deepEqual(await names('endsAfter=2000-01-01T00:00:00Z'), ['alpha', 'bravo', 'delta', 'echo', 'hotel']);
      assert.deepEqual(await names('status=expired&endsAfter=2026-05-01T00:00:00Z'), ['delta']);
      assert.deepEqual(await names('endsAfter=2027-01-01T00:00:00Z&endsBefore=2026-01-01T00:00:00Z'), []);
    });

    test('pool and subtree: a pool alone, or it and everything below; licenses on no pool are in no subtree', async () => {
      assert.deepEqual(await names(`poolId=${region}`), ['echo']);
      assert.deepEqual(await names(`subtree=${region}`), ['alpha', 'bravo', 'echo', 'golf']);
      assert.deepEqual(await names(`subtree=${sunrise}`), ['alpha', 'bravo', 'golf']);
      assert.deepEqual(await names(`subtree=${moon}`), ['charlie', 'delta', 'hotel']);
      assert.deepEqual(await names(`subtree=${tree.root}`), ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'golf', 'hotel']);
      assert.deepEqual(await names(`subtree=${region}&status=in_use`), ['alpha']);
      assert.deepEqual(await names(`subtree=${region}&poolId=${sunrise}`), ['alpha', 'bravo', 'golf']);
      assert.deepEqual(await names(`subtree=${moon}&poolId=${sunrise}`), []);
    });

    test('text: key fragments however typed, partner, pool name and license name', async () => {
      const bare = hotelKey.replaceAll('-', '');
      for (const q of [
        hotelKey,
        hotelKey.toLowerCase(),
        bare.slice(3, 11).toLowerCase(),
        hotelKey.slice(3, 10),
        hotelKey.slice(3, 10).toLowerCase().replace('-', ' '),
        hotelKey.slice(3, 10).replace('-', '–'),
      ]) {
        assert.deepEqual(await names(`q=${encodeURIComponent(q)}`), ['hotel'], `q=${q}`);
      }
      assert.deepEqual(await names(`q=${encodeURIComponent(` ${hotelKey.slice(0, 5)} `)}`), ['hotel'], 'surrounding spaces are trimmed');
      assert.deepEqual(await names('q=acme'), ['foxtrot', 'hotel'], 'partner, any case');
      assert.deepEqual(await names('q=Beta%20Part'), ['golf']);
      assert.deepEqual(await names('q=sunrise'), ['alpha', 'bravo', 'golf'], 'pool name');
      assert.deepEqual(await names('q=HOTEL'), ['alpha', 'bravo', 'charlie', 'delta', 'golf', 'hotel'], 'pool names and the name hotel');
      assert.deepEqual(await names('q=harli'), ['charlie'], 'license name');
      assert.deepEqual(await names('q=acme&status=in_use'), ['hotel']);
      // LIKE's wildcards are plain characters.
      assert.deepEqual(await names('q=%25'), []);
      assert.deepEqual(await names('q=_'), []);
      assert.deepEqual(await names('q=%20%20'), [...NAMES], 'blank text filters nothing');
      // However the text is searched — its matches first (rare) or along the sort (common); the
      // pools it names as a list (few) or a subquery (many) — the same licenses.
      for (const raw of ['sunrise', 'hotel', 'moon', 'acme', hotelKey.slice(0, 7), 'nothing']) {
        for (const statuses of [undefined, ['in_use', 'expired'] as const]) {
          const filter = { scope: 'all' as const, sort: '-validUntil' as const, limit: 100, now: t.clock.now(), statuses };
          const ids = async (text: LicenseText) => (await findLicensePage(t.deps.db, { ...filter, text })).map((r) => r.license.id);
          const text = await textOf(t.deps.db, raw, undefined);
          assert.notEqual(text.poolIds, 'many');
          const listed = await ids(text);
          for (const variant of [{ poolIds: 'many' as const }, { rare: !text.rare }, { poolIds: 'many' as const, rare: !text.rare }, { within: [tree.root] }]) {
            const expected = variant.within ? listed.filter((x) => Object.values(id).includes(x)) : listed;
            assert.deepEqual(await ids({ ...text, ...variant }), expected, `${raw}, ${JSON.stringify(variant)}`);
          }
          if (raw !== 'nothing' && !statuses) assert.ok(listed.length > 0, raw);
        }
      }
    });

    test('every sort, page by page through the cursor: each license once, in order', async () => {
      const byId = (a: Listed, b: Listed) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      const time = (v: string | null) => (v === null ? Number.POSITIVE_INFINITY : Date.parse(v));
      const expected: Record<(typeof SORTS)[number], Listed[]> = {
        id: [...all].sort(byId),
        createdAt: [...all].sort((a, b) => time(a.createdAt) - time(b.createdAt) || byId(a, b)),
        '-createdAt': [...all].sort((a, b) => time(b.createdAt) - time(a.createdAt) || byId(b, a)),
        validUntil: [...all].sort((a, b) => (time(a.validUntil) === time(b.validUntil) ? byId(a, b) : time(a.validUntil) < time(b.validUntil) ? -1 : 1)),
        '-validUntil': [...all].sort((a, b) => (time(a.validUntil) === time(b.validUntil) ? byId(b, a) : time(a.validUntil) > time(b.validUntil) ? -1 : 1)),
      };
      // The fixture has ties to break: licenses made at one instant, and several without an end.
      assert.ok(new Set(all.map((l) => l.createdAt)).size < all.length);
      assert.ok(all.filter((l) => l.validUntil === null).length >= 3);
      const walk = async (query: string, limit: number) => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page: { data: Listed[]; nextCursor: string | null } = await ok(
            t.app,
            'GET',
            `/v1/licenses?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            { token: tree.operator.token },
          );
          assert.ok(page.data.length <= limit);
          seen.push(...page.data.map((l) => l.id));
          cursor = page.nextCursor;
          pages++;
        } while (cursor && pages < 20);
        return { seen, pages };
      };
      for (const sort of SORTS) {
        for (const limit of [1, 3, 5, 8]) {
          const { seen, pages } = await walk(`sort=${sort}`, limit);
          assert.deepEqual(seen, expected[sort].map((l) => l.id), `sort=${sort} limit=${limit}`);
          assert.equal(pages, Math.ceil(all.length / limit), `sort=${sort} limit=${limit}: no empty last page`);
        }
        // With statuses (read per stored status, the clock splitting in_use and access_denied).
        for (const statuses of [['expired', 'in_use', 'pending_start'], ['expired'], ['in_use', 'finalized']]) {
          for (const limit of [1, 2]) {
            const { seen } = await walk(`sort=${sort}&status=${statuses.join(',')}`, limit);
            const want = expected[sort].filter((l) => statuses.includes(l.status)).map((l) => l.id);
            assert.deepEqual(seen, want, `sort=${sort} status=${statuses} limit=${limit}`);
          }
        }
      }
      // Filters hold across pages.
      const first = await ok(t.app, 'GET', '/v1/licenses?sort=-validUntil&status=in_use,expired&limit=2', { token: tree.operator.token });
      const second = await ok(t.app, 'GET', `/v1/licenses?sort=-validUntil&status=in_use,expired&limit=2&cursor=${first.nextCursor}`, { token: tree.operator.token });
      const third = await ok(t.app, 'GET', `/v1/licenses?sort=-validUntil&status=in_use,expired&limit=2&cursor=${second.nextCursor}`, { token: tree.operator.token });
      assert.deepEqual([...first.data, ...second.data, ...third.data].map((l: Listed) => l.name), ['charlie', 'hotel', 'alpha', 'delta', 'bravo']);
      assert.equal(third.nextCursor, null);
    });

    test('cursors: another sort’s, malformed or forged ones are refused 422 at querystring.cursor', async () => {
      const page = await ok(t.app, 'GET', '/v1/licenses?sort=validUntil&limit=1', { token: tree.operator.token });
      const forge = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
      for (const [query, why] of [
        [`sort=createdAt&cursor=${page.nextCursor}`, 'a cursor of another sort'],
        [`cursor=${page.nextCursor}`, 'a cursor of another sort (the default)'],
        ['cursor=not-a-cursor', 'not base64 JSON'],
        [`cursor=${forge({ a: 1 })}`, 'not an array'],
        [`sort=validUntil&cursor=${forge(['validUntil', '2026-02-30T00:00:00.000000Z', all[0]!.id])}`, 'a date that does not exist'],
        [`sort=validUntil&cursor=${forge(['validUntil', "2026-01-01'; DROP TABLE licenses; --", all[0]!.id])}`, 'SQL in the value'],
        [`sort=createdAt&cursor=${forge(['createdAt', 'infinity', all[0]!.id])}`, 'infinity is for validUntil only'],
        [`sort=validUntil&cursor=${forge(['validUntil', '2026-01-01T00:00:00.000000Z', 'lic_\u0000'])}`, 'a NUL in the id'],
        [`cursor=${forge(['id', null, 'pool_01h2xcejqtf2nbrexx3vqjhp41'])}`, 'an id of another kind'],
      ] as const) {
        const res = await call(t.app, 'GET', `/v1/licenses?${query}`, { token: tree.operator.token });
        assert.equal(res.status, 422, `${why}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'VALIDATION_FAILED', why);
        assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['querystring.cursor'], why);
      }
    });

    test('reach: the root’s operators see licenses on no pool; an admin of the root and a manager see what is bound in their subtree', async () => {
      assert.deepEqual(await names('', tree.operator.token), [...NAMES]);
      assert.deepEqual(await names('', admin.token), ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'golf', 'hotel'], 'an admin does not operate: no foxtrot');
      assert.deepEqual(await names('', manager.token), ['alpha', 'bravo', 'echo', 'golf']);
      assert.deepEqual(await names('q=hotel', manager.token), ['alpha', 'bravo', 'golf']);
      assert.deepEqual(await names('status=pending_provision', manager.token), []);
      assert.deepEqual(await names(`subtree=${sunrise}`, manager.token), ['alpha', 'bravo', 'golf']);
      // A superuser sees everything, the other vendor's license too.
      assert.equal((await names('', t.superuser)).length, NAMES.length + 1);
      for (const url of [`/v1/licenses?subtree=${moon}`, `/v1/licenses?poolId=${moon}`, `/v1/licenses?subtree=${tree.root}`, `/v1/licenses.csv?subtree=${moon}`]) {
        const res = await call(t.app, 'GET', url, { token: manager.token });
        assert.ok([403, 404].includes(res.status), `${url} → ${res.status}`);
      }
    });

    test('another tenant sees none of it, by any filter, in JSON or CSV', async () => {
      const token = other.operator.token;
      assert.deepEqual(await names('', token), ['alpha']);
      const theirs = (await list('', token))[0]!;
      assert.notEqual(theirs.id, id.alpha);
      for (const q of ['q=acme', 'q=sunrise', `q=${hotelKey}`, 'status=pending_provision', 'endsAfter=2000-01-01T00:00:00Z']) {
        assert.deepEqual(await names(q, token), q === 'q=sunrise' ? ['alpha'] : [], q);
      }
      for (const filter of [`subtree=${region}`, `poolId=${sunrise}`, `subtree=${tree.root}`]) {
        for (const path of ['/v1/licenses', '/v1/licenses.csv']) {
          const res = await call(t.app, 'GET', `${path}?${filter}`, { token });
          assert.equal(res.status, 404, `${path}?${filter}`);
        }
      }
      const csv = await call(t.app, 'GET', '/v1/licenses.csv', { token });
      assert.equal(csv.status, 200);
      assert.deepEqual((parse(csv.body, { bom: true, columns: true }) as { id: string }[]).map((r) => r.id), [theirs.id]);
      const person_ = await person(t, 'nobody@licensepool.test');
      assert.deepEqual(await names('', person_.token), [], 'no role, no licenses');
    });

    /** The CSV of a query, parsed: header row → objects. */
    const csvOf = async (query: string, token = tree.operator.token) => {
      const res = await call(t.app, 'GET', `/v1/licenses.csv${query ? `?${query}` : ''}`, { token });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return { res, rows: parse(res.body, { bom: true, columns: true }) as Record<string, string>[] };
    };

    test('CSV: the same licenses, order and values as the JSON list of the same filter', async () => {
      const poolNames: Record<string, string> = { [region]: 'Region North', [sunrise]: 'Hotel Sunrise', [moon]: 'Hotel Moon' };
      for (const query of ['', 'sort=-validUntil', 'status=in_use,expired&sort=validUntil', `subtree=${region}`, 'q=acme', 'endsAfter=2026-03-01T00:00:00Z&sort=-createdAt']) {
        const json = await list(query);
        const { res, rows } = await csvOf(query);
        assert.match(String(res.headers['content-type']), /^text\/csv; charset=utf-8/);
        assert.equal(res.headers['content-disposition'], 'attachment; filename="licenses-2026-07-01.csv"');
        assert.ok(res.body.startsWith('\uFEFFid,key,status,poolId,poolName,partner,distributor,accessPoints,rooms,modules,features,limits,validFrom,validUntil,termMonths,billing,contractYears\r\n'));
        assert.deepEqual(
          rows,
          json.map((l) => ({
            id: l.id,
            key: l.key ?? '',
            status: l.status,
            poolId: l.poolId ?? '',
            poolName: l.poolId ? poolNames[l.poolId]! : '',
            partner: l.request?.partner ?? '',
            distributor: l.request?.distributor ?? '',
            accessPoints: l.request?.accessPoints?.toString() ?? '',
            rooms: l.request?.rooms?.toString() ?? '',
            modules: (l.request?.modules ?? []).join(' '),
            features: l.features.join(' '),
            limits: Object.entries(l.limits).map(([k, v]) => `${k}=${v ?? 'unlimited'}`).join(' '),
            validFrom: l.validFrom ?? '',
            validUntil: l.validUntil ?? '',
            termMonths: l.termMonths?.toString() ?? '',
            billing: l.billing?.interval ?? '',
            contractYears: l.billing?.contractYears.toString() ?? '',
          })),
          `CSV of ?${query}`,
        );
      }
      const foxtrot = (await csvOf('q=foxtrot')).rows;
      assert.deepEqual(
        foxtrot.map((r) => [r.key, r.partner, r.distributor, r.accessPoints, r.modules, r.billing, r.contractYears, r.termMonths]),
        [[all.find((l) => l.name === 'foxtrot')!.key, 'Acme Integrations', 'Dist One', '40', 'guest_access elevator', 'monthly', '3', '36']],
      );
      // Nothing matches: the header alone.
      const none = await csvOf('status=access_denied');
      assert.deepEqual(none.rows, []);
      assert.equal(none.res.body, '\uFEFFid,key,status,poolId,poolName,partner,distributor,accessPoints,rooms,modules,features,limits,validFrom,validUntil,termMonths,billing,contractYears\r\n');
    });

    test('CSV export in batches: the same file whatever the batch size', async () => {
      const whole = (await csvOf('sort=-validUntil')).res.body;
      const actor = { principal: { accountId: tree.operator.id, superuser: false, bindings: [{ poolId: tree.root, role: 'operator' as const }] }, tokenId: null, requestId: null };
      for (const batchSize of [1, 2, 7, 8]) {
        let text = '';
        for await (const chunk of await exportLicensesCsv(t.deps, actor, { sort: '-validUntil' }, { batchSize })) text += chunk;
        assert.equal(text, whole, `batches of ${batchSize}`);
      }
    });

    test('CSV escaping: quotes, commas and line breaks survive; formulas are defused with a leading quote', async () => {
      const op = tree.operator.token;
      const evil = await childPool(t, op, tree.root, { name: '=HYPERLINK("http://evil.test","click")' });
      await ok(t.app, 'POST', '/v1/licenses', {
        token: op,
        body: {
          rootId: tree.root,
          name: 'escapes',
          request: { partner: 'Smith, "Jones"\nand Sons', distributor: '@SUM(A1:A9)', modules: [] },
        },
      });
      await ok(t.app, 'POST', '/v1/licenses', { token: op, body: { rootId: tree.root, name: 'formulas', request: { partner: '+1+1', distributor: '-2-2' } } });
      await ok(t.app, 'POST', `/v1/pools/${evil}/licenses`, { token: op, body: { name: 'on evil pool', limits: { aps: 1 } } });
      const { res, rows } = await csvOf('q=escapes');
      assert.deepEqual(rows.map((r) => [r.partner, r.distributor]), [['Smith, "Jones"\nand Sons', "'@SUM(A1:A9)"]]);
      assert.ok(res.body.includes('"Smith, ""Jones""\nand Sons"'), 'RFC 4180 quoting');
      assert.deepEqual((await csvOf('q=formulas')).rows.map((r) => [r.partner, r.distributor]), [["'+1+1", "'-2-2"]]);
      const onEvil = await csvOf(`poolId=${evil}`);
      assert.deepEqual(onEvil.rows.map((r) => r.poolName), ['\'=HYPERLINK("http://evil.test","click")']);
      // Numbers are numbers, not text to defuse.
      assert.deepEqual((await csvOf('q=foxtrot')).rows.map((r) => r.accessPoints), ['40']);
    });
  });
}
