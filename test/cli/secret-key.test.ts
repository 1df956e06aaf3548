/**
 * The secret key as an operator meets it: `licensepool secret-key rotate` in a child process, and
 * the server's start without LICENSEPOOL_SECRET_KEY (a generated secret.key on the embedded
 * database; a refusal on PostgreSQL).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { verifyLicense } from '@licensepool/client';
import { pino } from 'pino';
import { signingKeys } from '../../src/db/schema.js';
import { systemClock } from '../../src/lib/clock.js';
import { SecretKeys } from '../../src/lib/secret-keys.js';
import { signLicense } from '../../src/modules/signing/signing.service.js';
import { createScratchDatabase, startServer } from '../concurrency/fleet.js';
import { backends, childPool, migratedPgliteDir, ok, person, removePgliteDir, TEST_SECRET_KEY, vendor, verifiedMember } from '../helpers.js';
import { licensepool, setUpThroughApi, storageFor } from './run.js';

const DAY_MS = 86_400_000;

for (const backend of backends()) {
  describe(`licensepool secret-key rotate (${backend})`, () => {
    let storage: Awaited<ReturnType<typeof storageFor>>;
    let root: string;
    let resident: { memberId: string; token: string };

    before(async () => {
      storage = await storageFor(backend);
      ({ root, resident } = await setUpThroughApi(storage, async (t) => {
        const v = await vendor(t, { name: 'Rotating' });
        const pool = await childPool(t, v.operator.token, v.root);
        const someone = await person(t, 'resident@rotating.test');
        const memberId = await verifiedMember(t, v.operator.token, pool, { email: someone.email });
        // A first signature creates the root's key, sealed under the tests' secret key.
        await ok(t.app, 'POST', '/v1/sync', { token: someone.token, body: { memberId } });
        return { root: v.root, resident: { memberId, token: someone.token } };
      }));
    });
    after(() => storage.dispose());

    /** Signs with the root's key under `secretKey` alone, and verifies the token against the stored public key. */
    async function signsUnder(secretKey: string): Promise<void> {
      const database = await storage.open();
      try {
        const deps = { db: database.db, clock: systemClock, log: pino({ level: 'silent' }), secretKeys: SecretKeys.of(Buffer.from(secretKey, 'base64')) };
        const token = await signLicense(deps, root, { sub: 'mem_test' }, { expiresAt: new Date(Date.now() + DAY_MS) });
        const keys = (await database.db.select().from(signingKeys).where(eq(signingKeys.rootId, root))).map((k) => k.publicJwk);
        assert.equal((await verifyLicense(token, { keys }, { rootId: root })).sub, 'mem_test');
      } finally {
        await database.close();
      }
    }

    test('re-encrypts every key under the new secret key, opening them with the previous one; signing works under the new key alone', async () => {
      const next = randomBytes(32).toString('base64');
      const run = await licensepool(['secret-key', 'rotate'], { ...storage.env, LICENSEPOOL_SECRET_KEY: next, LICENSEPOOL_SECRET_KEY_PREVIOUS: TEST_SECRET_KEY });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /: 1 re-encrypted, 0 encrypted \(were clear text\), 0 already under it, 0 unreadable\n$/);
      await signsUnder(next);
      await assert.rejects(signsUnder(TEST_SECRET_KEY), (e: any) => e.code === 'SIGNING_KEY_UNAVAILABLE');

      // Run again: nothing to do. Under a third key without the previous one: the key cannot move, and the command says which.
      const again = await licensepool(['secret-key', 'rotate'], { ...storage.env, LICENSEPOOL_SECRET_KEY: next });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /0 re-encrypted, 0 encrypted \(were clear text\), 1 already under it/);
      const unrelated = await licensepool(['secret-key', 'rotate'], { ...storage.env, LICENSEPOOL_SECRET_KEY: randomBytes(32).toString('hex') });
      assert.equal(unrelated.code, 1);
      assert.match(unrelated.stdout, new RegExp(`^key_\\w+\\t${root}\\tactive\\tsealed under secret key [0-9a-f]{12}: not given, left as it is\\n`));
      await signsUnder(next);
    });

    test('a server started with the wrong LICENSEPOOL_SECRET_KEY logs which key it needs and answers SIGNING_KEY_UNAVAILABLE, never a token', async () => {
      const server = await startServer({ env: { ...storage.env, LICENSEPOOL_SECRET_KEY: randomBytes(32).toString('base64') }, timeoutMs: 120_000 });
      try {
        const res = await fetch(`${server.url}/v1/sync`, {
          method: 'POST',
          headers: { authorization: `Bearer ${resident.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ memberId: resident.memberId }),
        });
        assert.equal(res.status, 503);
        assert.equal(((await res.json()) as { code: string }).code, 'SIGNING_KEY_UNAVAILABLE');
        // The log comes through another pipe than the answer: give it a moment to arrive.
        const atSync = /cannot sign: key_/;
        for (let i = 0; i < 100 && !atSync.test(server.errors.join('\n')); i++) await new Promise((r) => setTimeout(r, 50));
        const said = server.errors.join('\n');
        assert.match(said, /this signing key is encrypted under another secret key/, 'at start');
        assert.match(said, new RegExp(`cannot sign: key_\\w+ is encrypted under secret key [0-9a-f]{12}, and this server holds [0-9a-f]{12}: set LICENSEPOOL_SECRET_KEY`), 'at the sync');
      } finally {
        await server.stop();
      }
    });

    test('a malformed key or none (on PostgreSQL) is refused with what to do', async () => {
      const malformed = await licensepool(['secret-key', 'rotate'], { ...storage.env, LICENSEPOOL_SECRET_KEY: 'not-a-key' });
      assert.equal(malformed.code, 1);
      assert.match(malformed.stderr, /LICENSEPOOL_SECRET_KEY must be 32 random bytes, as base64 \(44 characters\) or hex \(64 digits\); make one with: openssl rand -base64 32/);
      if (backend === 'postgres') {
        const none = await licensepool(['secret-key', 'rotate'], { ...storage.env, LICENSEPOOL_SECRET_KEY: '' });
        assert.equal(none.code, 1);
        assert.match(none.stderr, /LICENSEPOOL_SECRET_KEY is not set/);
      }
    });
  });
}

for (const backend of backends()) {
  describe(`the server without LICENSEPOOL_SECRET_KEY (${backend})`, () => {
    if (backend === 'pglite') {
      test('generates <dataDir>/secret.key once (mode 0600) and keeps using it', async () => {
        const dir = await migratedPgliteDir();
        after(() => removePgliteDir(dir));
        const env = { LICENSEPOOL_DATA_DIR: dir, DATABASE_URL: undefined, LICENSEPOOL_SECRET_KEY: undefined };
        const first = await startServer({ env, timeoutMs: 120_000 });
        await first.stop();
        const file = join(dir, 'secret.key');
        assert.equal((await stat(file)).mode & 0o777, 0o600);
        const key = await readFile(file, 'utf8');
        assert.equal(Buffer.from(key.trim(), 'base64').length, 32);
        const second = await startServer({ env, timeoutMs: 120_000 });
        await second.stop();
        assert.equal(await readFile(file, 'utf8'), key, 'the second start reads the same key');
      });
    } else {
      test('refuses to start, saying why', async () => {
        const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'lp_cli');
        after(() => scratch.drop());
        await assert.rejects(startServer({ env: { DATABASE_URL: scratch.url, LICENSEPOOL_SECRET_KEY: undefined } }), /exited with 1 before listening: .*LICENSEPOOL_SECRET_KEY is not set/s);
      });
    }
  });
}
