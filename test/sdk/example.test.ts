/**
 * examples/checkout.ts runs as its README says (a separate process, configured by environment
 * variables) against a listening server, so the example cannot rot.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { backends, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';
import { REPO_ROOT } from '../repo.js';

const ROOT_DIR = REPO_ROOT;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the example; `whenOut` is called with each chunk of its output, with a way to interrupt it. */
function runExample(env: Record<string, string>, whenOut?: (text: string, interrupt: () => void) => void): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/checkout.ts'], { cwd: ROOT_DIR, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      whenOut?.(stdout, () => child.kill('SIGINT'));
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

for (const backend of backends()) {
  describe(`examples/checkout.ts (${backend})`, { timeout: 120_000 }, () => {
    let t: TestApp;
    let v: Tree;
    let office: string;
    let env: Record<string, string>;

    const usedOf = async (meter: string) => (await ok(t.app, 'GET', `/v1/pools/${office}/state`, { token: v.operator.token })).meters.find((m: { key: string }) => m.key === meter).used as number;

    before(async () => {
      t = await createTestApp(backend);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      v = await vendor(t, { meters: [{ key: 'seats' }, { key: 'rooms' }] });
      office = await childPool(t, v.operator.token, v.root, { restricted: true });
      await ok(t.app, 'POST', `/v1/pools/${office}/licenses`, { token: v.operator.token, body: { limits: { seats: 5 } } });
      const user = await person(t, 'engineer@acme.test');
      const member = await ok(t.app, 'POST', `/v1/pools/${office}/members`, { token: v.operator.token, body: { email: user.email } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: v.operator.token });
      env = {
        LICENSEPOOL_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`,
        LICENSEPOOL_TOKEN: user.token,
        MEMBER_ID: member.id,
        METER: 'seats',
      };
    });
    after(() => t.close());

    test('checks out, holds the lease while working, releases', async () => {
      const run = await runExample({ ...env, WORK_SECONDS: '1', TTL_SECONDS: '30' });
      assert.equal(run.code, 0, run.stderr);
      const id = /checked out (clm_\w+)/.exec(run.stdout)?.[1];
      assert.ok(id, run.stdout);
      assert.match(run.stdout, new RegExp(`work done; released ${id}`));
      const claim = await ok(t.app, 'GET', `/v1/claims/${id}`, { token: v.operator.token });
      assert.deepEqual([claim.status, claim.ttlSeconds, claim.fingerprint], ['released', 30, 'examples/checkout.ts']);
      assert.equal(await usedOf('seats'), 0);
    });

    test('Ctrl-C releases early', async () => {
      let used: Promise<number> | null = null;
      const run = await runExample({ ...env, WORK_SECONDS: '120' }, (out, interrupt) => {
        if (used || !out.includes('checked out')) return;
        used = usedOf('seats');
        void used.then(interrupt);
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await used, 1, 'the lease was held while working');
      assert.match(run.stdout, /interrupted; released clm_/);
      assert.equal(await usedOf('seats'), 0);
    });

    test('a refusal prints every reason and exits 1', async () => {
      const run = await runExample({ ...env, METER: 'rooms' });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /refused:\n\s+LIMIT_REACHED .*"meter":"rooms","limit":0/);
    });
  });
}
