/**
 * `licensepool licenses create | list | export` as a vendor's staff runs them: the real command in
 * a child process, against a server whose database the test prepared through the API.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backends, childPool, vendor } from '../helpers.js';
import { cliServer, licensepool, type CliServer } from './run.js';

for (const backend of backends()) {
  describe(`licensepool licenses (${backend})`, () => {
    let server: CliServer;
    let env: Record<string, string>;
    let work: string;
    let root: string;
    let hotel: string;

    before(async () => {
      server = await cliServer(backend);
      work = await mkdtemp(join(tmpdir(), 'lp-cli-licenses-'));
      const v = await vendor(server.t, { name: 'Octopus', meters: [{ key: 'access_points' }, { key: 'rooms' }], features: ['guest'] });
      root = v.root;
      hotel = await childPool(server.t, v.operator.token, v.root, { name: 'Hotel Mar', kind: 'location' });
      // The vendor's staff, with the operator's token.
      env = server.as(v.operator.token);
    });
    after(async () => {
      await server.close();
      await rm(work, { recursive: true, force: true });
    });

    test('create prints the key; list and export show it, filtered; --json gives the API\'s shapes', async () => {
      const created = await licensepool(
        ['licenses', 'create', '--root', root, '--limits', 'access_points=40,rooms=120', '--features', 'guest', '--billing', 'monthly', '--contract-years', '2',
          '--start-rule', 'on_connections', '--threshold', '5', '--pool', hotel, '--partner', 'Wifi Partners SL', '--json'],
        env,
      );
      assert.equal(created.code, 0, created.stderr);
      const license = JSON.parse(created.stdout);
      assert.equal(license.status, 'pending_provision');
      assert.equal(license.termMonths, 24);
      assert.deepEqual(license.limits, { access_points: 40, rooms: 120 });
      assert.deepEqual(license.request, { poolId: hotel, partner: 'Wifi Partners SL' });

      const plain = await licensepool(['licenses', 'create', '--root', root, '--limits', 'rooms=10', '--term-months', '12'], env);
      assert.equal(plain.code, 0, plain.stderr);
      const [key, id, status] = plain.stdout.trim().split('\t');
      assert.match(key!, /^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/);
      assert.match(id!, /^lic_/);
      assert.equal(status, 'pending_provision');

      const listed = await licensepool(['licenses', 'list', '--status', 'pending_provision', '--q', 'wifi partners', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout).data.map((l: { id: string }) => l.id), [license.id]);
      const table = await licensepool(['licenses', 'list'], env);
      assert.deepEqual(table.stdout.trim().split('\n').map((line) => line.split('\t')[0]).sort(), [license.id, id].sort());

      const out = join(work, 'licenses.csv');
      const exported = await licensepool(['licenses', 'export', '--q', key!.slice(6, 11).toLowerCase(), '--out', out], env);
      assert.equal(exported.code, 0, exported.stderr);
      const csv = (await readFile(out, 'utf8')).replace(/^\uFEFF/, '').trim().split(/\r?\n/);
      assert.equal(csv.length, 2, csv.join('\n'));
      assert.ok(csv[1]!.includes(key!));
    });

    test('mistakes: a malformed flag is a usage error (exit 2); what the API refuses, an unknown root among it, is one line (exit 1); nothing is written', async () => {
      const [usage, bad, unknown, status, nowhere] = await Promise.all([
        licensepool(['licenses', 'create', '--root', root, '--term-months', 'twelve'], env),
        licensepool(['licenses', 'create', '--root', root, '--contract-years', '9', '--billing', 'monthly'], env),
        licensepool(['licenses', 'create', '--root', root, '--limits', 'parking=3'], env),
        licensepool(['licenses', 'list', '--status', 'sleeping'], env),
        licensepool(['licenses', 'create', '--root', 'pool_01h455vb4pex5vsknk084sn02q', '--limits', 'rooms=1'], env),
      ]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--term-months.*not a whole number: twelve/);
      assert.match(usage.stderr, /Usage: licensepool licenses create/, 'a usage error shows the usage');
      for (const [run, pattern] of [[bad, /^VALIDATION_FAILED: .*contractYears/], [unknown, /^UNKNOWN_METER: /], [status, /^VALIDATION_FAILED: .*status/], [nowhere, /^NOT_FOUND: /]] as const) {
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, pattern);
        assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
        assert.equal(run.stdout, '');
      }
      const list = await licensepool(['licenses', 'list', '--json'], env);
      assert.equal(JSON.parse(list.stdout).data.length, 2);
    });
  });
}
