/**
 * `licensepool licenses create | list | export` as a vendor's staff runs them: the real command in
 * a child process, on the database the test prepared through the API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, childPool, vendor } from '../helpers.js';
import { licensepool, setUpThroughApi, storageFor } from './run.js';

for (const backend of backends()) {
  describe(`licensepool licenses (${backend})`, () => {
    let storage: Awaited<ReturnType<typeof storageFor>>;
    let work: string;
    let root: string;
    let hotel: string;

    before(async () => {
      storage = await storageFor(backend);
      work = await mkdtemp(join(tmpdir(), 'lp-cli-licenses-'));
      await setUpThroughApi(storage, async (t) => {
        const v = await vendor(t, { name: 'Octopus', meters: [{ key: 'access_points' }, { key: 'rooms' }], features: ['guest'] });
        root = v.root;
        hotel = await childPool(t, v.operator.token, v.root, { name: 'Hotel Mar', kind: 'location' });
      });
    });
    after(async () => {
      await storage.dispose();
      await rm(work, { recursive: true, force: true });
    });

    test('create prints the key; list and export show it, filtered; --json gives the API\'s shapes', async () => {
      const created = await licensepool(
        ['licenses', 'create', '--root', root, '--limits', 'access_points=40,rooms=120', '--features', 'guest', '--billing', 'monthly', '--contract-years', '2',
          '--start-rule', 'on_connections', '--threshold', '5', '--pool', hotel, '--partner', 'Wifi Partners SL', '--json'],
        storage.env,
      );
      assert.equal(created.code, 0, created.stderr);
      const license = JSON.parse(created.stdout);
      assert.equal(license.status, 'pending_provision');
      assert.equal(license.termMonths, 24);
      assert.deepEqual(license.limits, { access_points: 40, rooms: 120 });
      assert.deepEqual(license.request, { poolId: hotel, partner: 'Wifi Partners SL' });

      const plain = await licensepool(['licenses', 'create', '--root', root, '--limits', 'rooms=10', '--term-months', '12'], storage.env);
      assert.equal(plain.code, 0, plain.stderr);
      const [key, id, status] = plain.stdout.trim().split('\t');
      assert.match(key!, /^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/);
      assert.match(id!, /^lic_/);
      assert.equal(status, 'pending_provision');

      const listed = await licensepool(['licenses', 'list', '--status', 'pending_provision', '--q', 'wifi partners', '--json'], storage.env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout).data.map((l: { id: string }) => l.id), [license.id]);
      const table = await licensepool(['licenses', 'list'], storage.env);
      assert.deepEqual(table.stdout.trim().split('\n').map((line) => line.split('\t')[0]).sort(), [license.id, id].sort());

      const out = join(work, 'licenses.csv');
      const exported = await licensepool(['licenses', 'export', '--q', key!.slice(6, 11).toLowerCase(), '--out', out], storage.env);
      assert.equal(exported.code, 0, exported.stderr);
      const csv = (await readFile(out, 'utf8')).replace(/^\uFEFF/, '').trim().split(/\r?\n/);
      assert.equal(csv.length, 2, csv.join('\n'));
      assert.ok(csv[1]!.includes(key!));
    });

    test('bad flags answer a usage error (exit 2) and write nothing', async () => {
      const bad = await licensepool(['licenses', 'create', '--root', root, '--contract-years', '9', '--billing', 'monthly'], storage.env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /contractYears/);
      const unknown = await licensepool(['licenses', 'create', '--root', root, '--limits', 'parking=3'], storage.env);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /UNKNOWN_METER/);
      const status = await licensepool(['licenses', 'list', '--status', 'sleeping'], storage.env);
      assert.equal(status.code, 2);
      const list = await licensepool(['licenses', 'list', '--json'], storage.env);
      assert.equal(JSON.parse(list.stdout).data.length, 2);
    });
  });
}
