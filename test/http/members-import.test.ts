/**
 * Bulk import of members from CSV (POST /v1/pools/{id}/members/import): addMember's rules on
 * every row, a result per line, all or nothing on request, and the 10,000-row acceptance — the
 * good rows in, each bad one reported by its line.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { backends, call, childPool, createTestApp, csvBody, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

for (const backend of backends()) {
  describe(`member import from CSV (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let flatA: string;
    let flatB: string;
    let manager: { id: string; email: string; token: string };

    const importInto = (pool: string, csv: string, options: { token?: string; atomic?: boolean; headers?: Record<string, string> } = {}) =>
      call(t.app, 'POST', `/v1/pools/${pool}/members/import${options.atomic === undefined ? '' : `?atomic=${options.atomic}`}`, {
        token: options.token ?? manager.token,
        body: csvBody(csv),
        ...(options.headers ? { headers: options.headers } : {}),
      });
    const count = async (query: ReturnType<typeof sql>) => Number((await rowsOf<{ n: number | string }>(t.deps.db, query))[0]!.n);
    const membersOf = (pool: string) => count(sql`SELECT count(*) AS n FROM members WHERE pool_id = ${pool}`);
    /** Rows that any import could write: members, devices, audit events. */
    const written = async () => ({
      members: await count(sql`SELECT count(*) AS n FROM members`),
      devices: await count(sql`SELECT count(*) AS n FROM devices`),
      events: await count(sql`SELECT count(*) AS n FROM audit_events`),
    });
    const failedLines = (body: any) => body.rows.filter((r: any) => r.status === 'failed').map((r: any) => [r.line, r.code]);

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Door Systems' });
      flatA = await childPool(t, v.operator.token, v.root, { name: 'Apartment A' });
      flatB = await childPool(t, v.operator.token, v.root, { name: 'Apartment B' });
      manager = await person(t, 'manager.a@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flatA}/roles`, { token: v.operator.token, body: { email: manager.email, role: 'manager' } });
    });
    after(() => t.close());

    test('a manager imports people and devices; every data row is answered by its line, the good ones pending', async () => {
      const anna = await person(t, 'anna@door.test');
      const ben = await person(t, 'ben@door.test');
      const known = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-KNOWN', type: 'WiDI' } });
      const csv = [
        'email,serial,type', // 1
        'anna@door.test,,', // 2 added
        ',SN-NEW-1,WiDI', // 3 added, registered on the way
        ',SN-KNOWN,WiDI', // 4 added, the registry's entry
        '', // 5 blank: skipped
        '  BEN@door.test ,,', // 6 added (trimmed, any case)
        'nobody@door.test,,', // 7 no account
        'not-an-email,,', // 8 invalid
        'anna@door.test,SN-X,WiDI', // 9 both
        ',SN-LONELY,', // 10 serial without type
        'Anna@Door.test,,', // 11 same person as line 2
        ',SN-NEW-1,Other', // 12 same device as line 3
        'x@door.test,,,surplus', // 13 a field beyond the header
      ].join('\n');
      const res = await importInto(flatA, csv);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.imported, 4);
      assert.equal(res.body.failed, 7);
      assert.deepEqual(res.body.rows.map((r: any) => [r.line, r.status]), [
        [2, 'added'], [3, 'added'], [4, 'added'], [6, 'added'],
        [7, 'failed'], [8, 'failed'], [9, 'failed'], [10, 'failed'], [11, 'failed'], [12, 'failed'], [13, 'failed'],
      ]);
      assert.deepEqual(failedLines(res.body), [
        [7, 'ACCOUNT_NOT_FOUND'], [8, 'VALIDATION_FAILED'], [9, 'VALIDATION_FAILED'], [10, 'VALIDATION_FAILED'],
        [11, 'DUPLICATE_ROW'], [12, 'DUPLICATE_ROW'], [13, 'VALIDATION_FAILED'],
      ]);
      const byLine = new Map(res.body.rows.map((r: any) => [r.line, r]));
      assert.match((byLine.get(7) as any).detail, /nobody@door\.test/);
      assert.match((byLine.get(11) as any).detail, /line 2/);
      assert.match((byLine.get(12) as any).detail, /line 3/);

      const list = await ok(t.app, 'GET', `/v1/pools/${flatA}/members`, { token: manager.token });
      const who = list.data.map((m: any) => [m.id, m.status, m.account?.id ?? m.device.serial]);
      assert.deepEqual(who, [
        [(byLine.get(2) as any).memberId, 'pending', anna.id],
        [(byLine.get(3) as any).memberId, 'pending', 'SN-NEW-1'],
        [(byLine.get(4) as any).memberId, 'pending', 'SN-KNOWN'],
        [(byLine.get(6) as any).memberId, 'pending', ben.id],
      ]);
      assert.equal(list.data[2].device.id, known.id, 'the registry entry is used, not a second one');
      const registered = await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=SN-NEW-1`, { token: v.operator.token });
      assert.deepEqual(registered.data.map((d: any) => [d.serial, d.type, d.status]), [['SN-NEW-1', 'WiDI', 'ok']]);

      const audit = await ok(t.app, 'GET', `/v1/audit?poolId=${flatA}&limit=500`, { token: v.operator.token });
      const added = audit.data.filter((e: any) => e.action === 'member.added');
      assert.deepEqual(added.map((e: any) => e.memberId).sort(), list.data.map((m: any) => m.id).sort());
      for (const e of added) assert.equal(e.actorId, manager.id);
    });

    test('the rules of a single add: another pool (not named), a blocked device, already a member', async () => {
      const elsewhere = await person(t, 'elsewhere@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flatB}/members`, { token: v.operator.token, body: { email: elsewhere.email } });
      await ok(t.app, 'POST', `/v1/pools/${flatB}/members`, { token: v.operator.token, body: { device: { serial: 'SN-IN-B', type: 'WiDI' } } });
      const stolen = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'SN-STOLEN', type: 'WiDI' } });
      await ok(t.app, 'POST', `/v1/devices/${stolen.id}/report`, { token: v.operator.token, body: { status: 'stolen' } });
      const csv = 'serial,type,email\n,,elsewhere@door.test\nSN-IN-B,WiDI,\nSN-STOLEN,WiDI,\n,,anna@door.test\nSN-KNOWN,WiDI,\n';
      const res = await importInto(flatA, csv);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(failedLines(res.body), [[2, 'MEMBER_IN_OTHER_POOL'], [3, 'MEMBER_IN_OTHER_POOL'], [4, 'DEVICE_BLOCKED'], [5, 'MEMBER_EXISTS'], [6, 'MEMBER_EXISTS']]);
      assert.equal(res.body.imported, 0);
      assert.doesNotMatch(JSON.stringify(res.body), new RegExp(flatB), 'the other pool is not named');

      // With exclusive membership off, the same file admits the members of pool B.
      await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { exclusiveMembership: false } });
      try {
        const again = await importInto(flatA, csv);
        assert.deepEqual(failedLines(again.body), [[4, 'DEVICE_BLOCKED'], [5, 'MEMBER_EXISTS'], [6, 'MEMBER_EXISTS']]);
        assert.deepEqual(again.body.rows.filter((r: any) => r.status === 'added').map((r: any) => r.line), [2, 3]);
      } finally {
        await ok(t.app, 'PATCH', `/v1/pools/${v.root}`, { token: v.operator.token, body: { exclusiveMembership: true } });
      }
    });

    test('all or nothing: a bad row writes nothing and names the bad rows; a clean file goes in whole', async () => {
      const flat = await childPool(t, v.operator.token, v.root, { name: 'Atomic flat' });
      await person(t, 'carla@door.test');
      await person(t, 'dan@door.test');
      const before_ = await written();
      const bad = 'email,serial,type\ncarla@door.test,,\n,SN-ATOMIC-1,WiDI\nghost@door.test,,\ndan@door.test,,\n,SN-STOLEN,WiDI\n';
      const refused = await importInto(flat, bad, { token: v.operator.token, atomic: true });
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.equal(refused.body.code, 'IMPORT_REJECTED');
      assert.equal(refused.body.failed, 2);
      assert.deepEqual(refused.body.rows.map((r: any) => [r.line, r.code]), [[4, 'ACCOUNT_NOT_FOUND'], [6, 'DEVICE_BLOCKED']]);
      assert.deepEqual(await written(), before_, 'no member, no device registered, no event');
      assert.equal((await ok(t.app, 'GET', `/v1/pools/${v.root}/devices?serial=SN-ATOMIC-1`, { token: v.operator.token })).data.length, 0);

      const good = 'email,serial,type\ncarla@door.test,,\n,SN-ATOMIC-1,WiDI\ndan@door.test,,\n';
      const accepted = await importInto(flat, good, { token: v.operator.token, atomic: true });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.deepEqual([accepted.body.imported, accepted.body.failed], [3, 0]);
      assert.equal(await membersOf(flat), 3);
      // A file-level check (a duplicate) rejects the atomic import too.
      const dup = await importInto(flat, 'email\nerin@door.test\nerin@door.test\n', { token: v.operator.token, atomic: true });
      assert.equal(dup.body.code, 'IMPORT_REJECTED');
      assert.deepEqual(dup.body.rows.map((r: any) => [r.line, r.code]), [[2, 'ACCOUNT_NOT_FOUND'], [3, 'DUPLICATE_ROW']]);
    });

    test('who may import: the pool\'s managers and the vendor; a member of the pool, a manager of another pool and strangers may not', async () => {
      const flat = await childPool(t, v.operator.token, v.root, { name: 'Guarded flat' });
      const resident = await person(t, 'resident@door.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${flat}/members`, { token: v.operator.token, body: { email: resident.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      const otherManager = await person(t, 'manager.b@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flatB}/roles`, { token: v.operator.token, body: { email: otherManager.email, role: 'manager' } });
      const stranger = await vendor(t, { name: 'Other Vendor' });
      await person(t, 'fresh@door.test');
      const csv = 'email\nfresh@door.test\n';
      const before_ = await written();
      for (const [who, token] of [['member of the pool', resident.token], ['manager of another pool', otherManager.token], ["another vendor's operator", stranger.operator.token]] as const) {
        const res = await importInto(flat, csv, { token });
        assert.equal(res.status, 404, `${who}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'NOT_FOUND', who);
      }
      const anonymous = await call(t.app, 'POST', `/v1/pools/${flat}/members/import`, { body: csvBody(csv) });
      assert.equal(anonymous.status, 401);
      assert.deepEqual(await written(), before_);

      const deputy = await person(t, 'deputy@door.test');
      await ok(t.app, 'POST', `/v1/pools/${flat}/deputies`, { token: v.operator.token, body: { email: deputy.email } });
      const byDeputy = await importInto(flat, csv, { token: deputy.token });
      assert.equal(byDeputy.status, 200, JSON.stringify(byDeputy.body));
      assert.equal(byDeputy.body.imported, 1);

      await ok(t.app, 'POST', `/v1/pools/${flat}/close`, { token: v.operator.token });
      const closed = await importInto(flat, 'email\nresident@door.test\n', { token: v.operator.token });
      assert.equal(closed.status, 409);
      assert.equal(closed.body.code, 'INVALID_TRANSITION');
    });

    test('the file: a header is required; semicolons, tabs, a BOM, CRLF and quoted fields are read; broken CSV is refused whole', async () => {
      const flat = await childPool(t, v.operator.token, v.root, { name: 'Format flat' });
      await person(t, 'fay@door.test');
      await person(t, 'gus@door.test');
      const before_ = await written();
      for (const [what, csv, message] of [
        ['an empty file', '', /empty/],
        ['no header', 'fay@door.test\ngus@door.test\n', /header/],
        ['serial without type', 'serial\nSN-1\n', /type/],
        ['a column twice', 'email,email\nfay@door.test,fay@door.test\n', /twice/],
        ['a quote never closed', 'email\nfay@door.test\n"gus@door.test\n', /not readable as CSV/],
      ] as const) {
        const res = await importInto(flat, csv, { token: v.operator.token });
        assert.equal(res.status, 422, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'VALIDATION_FAILED', what);
        assert.deepEqual(res.body.errors.map((e: any) => e.path), ['body'], what);
        assert.match(res.body.detail, message, what);
      }
      const nul = await importInto(flat, 'email\nfay@door.test\u0000\n', { token: v.operator.token });
      assert.equal(nul.status, 422);
      assert.deepEqual(nul.body.errors.map((e: any) => e.path), ['body']);
      const json = await call(t.app, 'POST', `/v1/pools/${flat}/members/import`, { token: v.operator.token, body: { email: 'fay@door.test' } });
      assert.equal(json.status, 415, 'only text/csv');
      assert.equal(json.body.code, 'UNSUPPORTED_MEDIA_TYPE');
      assert.deepEqual(await written(), before_, 'nothing written by a refused file');

      const semicolons = await importInto(flat, '\uFEFFEmail;Name\r\n"fay@door.test";"Fay"\r\n\r\n"gus@door.test";"Gus ""G"" Smith"\r\n', { token: v.operator.token });
      assert.equal(semicolons.status, 200, JSON.stringify(semicolons.body));
      assert.deepEqual(semicolons.body.rows.map((r: any) => [r.line, r.status]), [[2, 'added'], [4, 'added']], 'CRLF and blank lines counted as lines');
      const tabs = await importInto(flat, 'serial\ttype\nSN-TAB-1\tWiDI\n"SN-TAB\n2"\tWiDI\nSN-TAB-3\tWiDI\n', { token: v.operator.token });
      assert.deepEqual(tabs.body.rows.map((r: any) => [r.line, r.status]), [[2, 'added'], [3, 'added'], [5, 'added']], 'a quoted line break: the next row starts on line 5');
    });

    test('a retry with the same Idempotency-Key gets the first answer, not a second import', async () => {
      const flat = await childPool(t, v.operator.token, v.root, { name: 'Retry flat' });
      const csv = 'serial,type\nSN-RETRY-1,WiDI\nSN-RETRY-2,WiDI\n';
      const first = await importInto(flat, csv, { headers: { 'idempotency-key': 'import-1' }, token: v.operator.token });
      assert.equal(first.status, 200);
      assert.equal(first.body.imported, 2);
      const retry = await importInto(flat, csv, { headers: { 'idempotency-key': 'import-1' }, token: v.operator.token });
      assert.equal(retry.headers['idempotent-replayed'], 'true');
      assert.deepEqual(retry.body, first.body);
      const other = await importInto(flat, 'serial,type\nSN-RETRY-3,WiDI\n', { headers: { 'idempotency-key': 'import-1' }, token: v.operator.token });
      assert.equal(other.status, 422);
      assert.equal(other.body.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(await membersOf(flat), 2);
    });

    test('imports and single adds racing for the same people and devices: no deadlock, each lands in exactly one pool', async () => {
      const pools: string[] = [];
      for (let i = 0; i < 5; i++) pools.push(await childPool(t, v.operator.token, v.root, { name: `Race ${i}` }));
      await t.deps.db.execute(sql`
        INSERT INTO accounts (id, email, name, password_hash)
        SELECT 'acc_race' || lpad(i::text, 5, '0'), 'racer' || i || '@race.test', 'Racer ' || i, 'not-a-hash'
        FROM generate_series(1, 1200) AS i`);
      const people = Array.from({ length: 1200 }, (_, i) => `racer${i + 1}@race.test,,`);
      const devices = Array.from({ length: 300 }, (_, i) => `,RACE-${String(i + 1).padStart(4, '0')},WiDI`);
      const file = (rows: string[]) => `email,serial,type\n${rows.join('\n')}\n`;
      // Fixed shuffles: an atomic import holds all its locks at once, in the global order whatever the file's order.
      const shuffle = (rows: string[], step: number) => rows.map((row, i) => ({ row, k: (i * step) % 1499 })).sort((a, b) => a.k - b.k).map((x) => x.row);
      const everyone = [...people, ...devices];
      const answers = await Promise.all([
        importInto(pools[0]!, file(everyone), { token: v.operator.token }),
        importInto(pools[1]!, file([...everyone].reverse()), { token: v.operator.token }),
        importInto(pools[2]!, file(shuffle(everyone, 7919)), { token: v.operator.token, atomic: true }),
        importInto(pools[3]!, file(shuffle(everyone, 104_729)), { token: v.operator.token, atomic: true }),
        ...Array.from({ length: 12 }, (_, i) =>
          call(t.app, 'POST', `/v1/pools/${pools[4]}/members`, { token: v.operator.token, body: i % 2 ? { email: `racer${i * 97 + 1}@race.test` } : { device: { serial: `RACE-${String(i * 23 + 1).padStart(4, '0')}`, type: 'WiDI' } } }),
        ),
      ]);
      for (const a of answers) assert.ok(a.status < 500, JSON.stringify(a.body).slice(0, 500));
      for (const a of answers.slice(0, 2)) {
        assert.equal(a.status, 200);
        assert.deepEqual([...new Set(a.body.rows.filter((r: any) => r.status === 'failed').map((r: any) => r.code))].filter((c) => c !== 'MEMBER_IN_OTHER_POOL'), []);
      }
      for (const a of answers.slice(2, 4)) assert.ok([200, 422].includes(a.status), 'an atomic import goes in whole or not at all');
      const placed = await rowsOf<{ who: string; pools: number }>(
        t.deps.db,
        sql`SELECT coalesce(m.account_id, m.device_id) AS who, count(*)::int AS pools FROM members m
            WHERE m.pool_id IN (${pools[0]}, ${pools[1]}, ${pools[2]}, ${pools[3]}, ${pools[4]}) GROUP BY 1`,
      );
      assert.equal(placed.length, 1500, 'every person and device is in some pool');
      assert.deepEqual(placed.filter((p) => p.pools !== 1), [], 'and in one only');
      const added = answers.slice(0, 4).reduce((n, a) => n + (a.status === 200 ? a.body.imported : 0), 0) + answers.slice(4).filter((a) => a.status === 201).length;
      assert.equal(added, 1500, 'the answers say what was written');
    });

    test('10,000 rows with bad ones among them: the good rows in, each bad one reported by its line', async (ctx) => {
      const flat = await childPool(t, v.operator.token, v.root, { name: 'Big building' });
      // 6,000 accounts straight into the table (signing up through the API hashes each password).
      await t.deps.db.execute(sql`
        INSERT INTO accounts (id, email, name, password_hash)
        SELECT 'acc_bulk' || lpad(i::text, 5, '0'), 'tenant' || i || '@big.test', 'Tenant ' || i, 'not-a-hash'
        FROM generate_series(1, 6000) AS i`);
      // Ten of them already live in pool B, and one device is stolen.
      for (let i = 1; i <= 10; i++) await ok(t.app, 'POST', `/v1/pools/${flatB}/members`, { token: v.operator.token, body: { email: `tenant${i}@big.test` } });
      const stolen = await ok(t.app, 'POST', `/v1/pools/${v.root}/devices`, { token: v.operator.token, body: { serial: 'BIG-STOLEN', type: 'WiDI' } });
      await ok(t.app, 'POST', `/v1/devices/${stolen.id}/report`, { token: v.operator.token, body: { status: 'lost' } });

      const lines = ['email,serial,type'];
      const expected = new Map<number, string>();
      let person_ = 0;
      let device = 0;
      for (let n = 1; n <= 10_000; n++) {
        const line = n + 1;
        if (n % 100 === 0) {
          // One bad row in a hundred, of every kind in turn.
          const kind = (n / 100) % 6;
          const [text, code] = ([
            [`nobody${n}@big.test,,`, 'ACCOUNT_NOT_FOUND'],
            ['not an e-mail,,', 'VALIDATION_FAILED'],
            [`tenant${1 + (n / 100) % 10}@big.test,,`, 'MEMBER_IN_OTHER_POOL'],
            [',BIG-STOLEN,WiDI', 'DEVICE_BLOCKED'],
            [`,BIG-${n},`, 'VALIDATION_FAILED'],
            [`TENANT11@big.test,,`, 'DUPLICATE_ROW'],
          ] as const)[kind]!;
          lines.push(text);
          // The stolen device's second appearance is a duplicate of its first.
          const blockedBefore = [...expected.values()].includes('DEVICE_BLOCKED');
          expected.set(line, code === 'DEVICE_BLOCKED' && blockedBefore ? 'DUPLICATE_ROW' : code);
          // tenant1..10 each appear several times: the first time in another pool, then duplicates.
          if (code === 'MEMBER_IN_OTHER_POOL' && lines.slice(1, -1).includes(text)) expected.set(line, 'DUPLICATE_ROW');
        } else if (n % 2 === 0 && person_ < 5_500) {
          person_++;
          lines.push(`tenant${10 + person_}@big.test,,`);
        } else {
          device++;
          lines.push(`,BIG-DEV-${String(device).padStart(5, '0')},WiDI`);
        }
      }
      assert.equal(lines.length, 10_001);
      const started = performance.now();
      const res = await importInto(flat, `${lines.join('\n')}\n`, { token: v.operator.token });
      const ms = performance.now() - started;
      ctx.diagnostic(`10,000 rows on ${backend}: ${Math.round(ms)} ms`);
      assert.equal(res.status, 200);
      assert.equal(res.body.rows.length, 10_000);
      const bad = new Map<number, string>(failedLines(res.body));
      assert.deepEqual([...bad.entries()].sort((a, b) => a[0] - b[0]), [...expected.entries()].sort((a, b) => a[0] - b[0]));
      assert.equal(res.body.failed, 100);
      assert.equal(res.body.imported, 9_900);
      assert.equal(await membersOf(flat), 9_900);
      assert.equal(await count(sql`SELECT count(*) AS n FROM members WHERE pool_id = ${flat} AND status = 'pending'`), 9_900);
      assert.equal(await count(sql`SELECT count(*) AS n FROM audit_events WHERE pool_id = ${flat} AND action = 'member.added'`), 9_900);
      // Every added row names its member, and the list shows them in the file's order.
      const page = await ok(t.app, 'GET', `/v1/pools/${flat}/members?limit=3`, { token: v.operator.token });
      assert.deepEqual(page.data.map((m: any) => m.id), res.body.rows.filter((r: any) => r.status === 'added').slice(0, 3).map((r: any) => r.memberId));
      assert.ok(ms < 30_000, `took ${ms} ms`);
    });
  });
}
