/**
 * Private signing keys at rest (issue 13): a dump of the database holds none in clear text, a
 * server with the wrong secret key says so instead of signing with something else, clear-text
 * rows of an older version are sealed at start, and a rotation of the secret key re-encrypts
 * every key while signing goes on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { verifyLicense } from '@licensepool/client';
import { buildApp } from '../../src/app.js';
import { rowsOf, type Executor } from '../../src/db/client.js';
import { signingKeys } from '../../src/db/schema.js';
import { newId } from '../../src/lib/ids.js';
import { SecretKeys } from '../../src/lib/secret-keys.js';
import { reencryptSigningKeys, sealClearTextSigningKeys, unreadableSigningKeys } from '../../src/modules/signing/signing.secrets.js';
import { signLicense } from '../../src/modules/signing/signing.service.js';
import { backends, call, childPool, createTestApp, ok, person, TEST_SECRET_KEY, testSecretKeys, vendor, verifiedMember, type TestApp, type Tree } from '../helpers.js';

const DAY_MS = 86_400_000;
const testKeyBytes = Buffer.from(TEST_SECRET_KEY, 'base64');

/** Every row of every table of the database, as text: what a dump through SQL shows. */
async function dumpThroughSql(db: Executor): Promise<string> {
  const tables = await rowsOf<{ name: string }>(db, sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`);
  assert.ok(tables.some((t) => t.name === 'signing_keys'));
  const parts: string[] = [];
  for (const { name } of tables) parts.push(`${name}\n${JSON.stringify(await rowsOf(db, sql.raw(`SELECT * FROM "${name}"`)))}`);
  return parts.join('\n');
}

/** `pg_dump` of the test's PostgreSQL database (TEST_DATABASE_URL's server, the current database). */
async function pgDump(db: Executor): Promise<string> {
  const [{ name }] = (await rowsOf<{ name: string }>(db, sql`SELECT current_database() AS name`)) as [{ name: string }];
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  const { stdout } = await promisify(execFile)('pg_dump', ['--no-owner', url.toString()], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Every form the private key could take in a dump: PKCS#8 DER as base64, base64url and hex, and the seed (JWK `d`). */
function privateKeyForms(der: Buffer): string[] {
  const seed = der.subarray(der.length - 32);
  return [der.toString('base64'), der.toString('base64url'), der.toString('hex'), seed.toString('base64url'), seed.toString('base64'), seed.toString('hex')];
}

/** A failed insert (Drizzle wraps the database's error as its cause) naming the check constraint. */
const violates = (constraint: string) => (err: any) => String(err.cause?.message ?? err.message).includes(constraint);

function assertNoPrivateKeyIn(dump: string, der: Buffer, where: string): void {
  assert.doesNotMatch(dump, /PRIVATE KEY/, where);
  for (const form of privateKeyForms(der)) assert.ok(!dump.includes(form), `${where} shows the private key (${form.slice(0, 12)}…)`);
}

for (const backend of backends()) {
  describe(`private signing keys at rest (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let member: { id: string; token: string };
    const jwks = async () => (await call(t.app, 'GET', '/.well-known/jwks.json')).body;
    const keyRows = (rootId: string) => t.deps.db.select().from(signingKeys).where(eq(signingKeys.rootId, rootId)).orderBy(signingKeys.kid);
    /** The app on the same database with other secret keys (another server process, configured differently). */
    const appWith = async (secretKeys: SecretKeys) => {
      const app = await buildApp({ deps: { ...t.deps, secretKeys } });
      after(() => app.close());
      return app;
    };

    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Sealed' });
      const pool = await childPool(t, v.operator.token, v.root);
      const resident = await person(t, 'resident@sealed.test');
      member = { id: await verifiedMember(t, v.operator.token, pool, { email: resident.email }), token: resident.token };
    });
    after(() => t.close());

    test('a dump of the database holds no private key in clear text, and the signed tokens verify', async () => {
      const synced = await ok(t.app, 'POST', '/v1/sync', { token: member.token, body: { memberId: member.id } });
      const keys = await jwks();
      for (const x of synced.tokens) await verifyLicense(x.token, keys, { rootId: v.root, currentDate: t.clock.now() });

      const [row] = await keyRows(v.root);
      assert.equal(row!.privateKey, null);
      assert.match(row!.encryptedPrivateKey!, new RegExp(`^v1:${testSecretKeys().currentId}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$`));
      // The test knows the secret key, so it can tell what the clear text would have been.
      const der = testSecretKeys().open(row!.encryptedPrivateKey!, row!.kid);
      assert.equal(der.length, 48, 'PKCS#8 DER of an Ed25519 key');

      const viaSql = await dumpThroughSql(t.deps.db);
      assert.ok(viaSql.includes(row!.encryptedPrivateKey!), 'the dump holds the sealed key');
      assertNoPrivateKeyIn(viaSql, der, 'SELECT * of every table');
      if (backend === 'postgres') {
        const dumped = await pgDump(t.deps.db);
        assert.ok(dumped.includes(row!.encryptedPrivateKey!), 'pg_dump holds the sealed key');
        assertNoPrivateKeyIn(dumped, der, 'pg_dump');
      }
    });

    test('with the wrong secret key: SIGNING_KEY_UNAVAILABLE and the key it needs, never a token signed otherwise', async () => {
      const wrong = SecretKeys.generate();
      const app = await appWith(wrong);
      const res = await call(app, 'POST', '/v1/sync', { token: member.token, body: { memberId: member.id } });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'SIGNING_KEY_UNAVAILABLE');
      assert.doesNotMatch(JSON.stringify(res.body), /token/i);

      // What start-up reports, and what the log says: the key id it was sealed under.
      const [row] = await keyRows(v.root);
      assert.deepEqual(await unreadableSigningKeys({ db: t.deps.db, secretKeys: wrong }), [
        { kid: row!.kid, rootId: v.root, status: 'active', secretKeyId: testSecretKeys().currentId },
      ]);
      assert.deepEqual(await unreadableSigningKeys(t.deps), []);
      assert.throws(() => wrong.open(row!.encryptedPrivateKey!, row!.kid), new RegExp(`encrypted under secret key ${testSecretKeys().currentId}.*set LICENSEPOOL_SECRET_KEY`));
      // A sealed value copied onto another key's row does not open there (the kid is authenticated data).
      assert.throws(() => testSecretKeys().open(row!.encryptedPrivateKey!, newId('signingKey')), /does not open/);
    });

    test('a borrow on a root whose key cannot be read answers SIGNING_KEY_UNAVAILABLE and gives its unit back, so a retry takes no second one', async () => {
      const lender = await vendor(t, { name: 'Lender', meters: [{ key: 'seats' }] });
      const pool = await childPool(t, lender.operator.token, lender.root);
      await ok(t.app, 'PATCH', `/v1/pools/${pool}`, { token: lender.operator.token, body: { maxBorrowDays: 7 } });
      const borrower = await person(t, 'borrower@sealed.test');
      const memberId = await verifiedMember(t, lender.operator.token, pool, { email: borrower.email });
      // The root's first key, made under the right secret key.
      await ok(t.app, 'POST', '/v1/sync', { token: borrower.token, body: { memberId } });
      const app = await appWith(SecretKeys.generate());
      const body = { memberId, meter: 'seats', kind: 'borrow', borrowDays: 3 };
      for (const key of ['borrow-1', 'borrow-1']) {
        const res = await call(app, 'POST', '/v1/claims', { token: borrower.token, headers: { 'idempotency-key': key }, body });
        assert.deepEqual([res.status, res.body.code], [503, 'SIGNING_KEY_UNAVAILABLE']);
      }
      const claims = await ok(t.app, 'GET', `/v1/claims?memberId=${memberId}`, { token: lender.operator.token });
      assert.deepEqual(claims.data.map((c: any) => [c.kind, c.status]), [['borrow', 'released'], ['borrow', 'released']]);
      const state = await ok(t.app, 'GET', `/v1/pools/${pool}/state`, { token: lender.operator.token });
      assert.equal(state.meters.find((m: any) => m.key === 'seats')?.used ?? 0, 0);
    });

    test('a key stored in clear text by an older version is encrypted at start and keeps signing', async () => {
      const old = await vendor(t, { name: 'Legacy' });
      const kid = newId('signingKey');
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const { kty, crv, x } = publicKey.export({ format: 'jwk' });
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const legacy = { kid, rootId: old.root, status: 'active' as const, publicJwk: { kty: kty!, crv: crv!, x: x!, kid, alg: 'EdDSA', use: 'sig' }, createdAt: t.clock.now() };
      // The columns cannot hold both forms, nor something that is not a sealed value.
      await assert.rejects(t.deps.db.insert(signingKeys).values({ ...legacy, privateKey: pem, encryptedPrivateKey: 'v1:x:y:z' }), violates('signing_keys_private_key_once'));
      await assert.rejects(t.deps.db.insert(signingKeys).values({ ...legacy, encryptedPrivateKey: pem }), violates('signing_keys_encrypted_format'));
      await t.deps.db.insert(signingKeys).values({ ...legacy, privateKey: pem });

      assert.equal(await sealClearTextSigningKeys(t.deps), 1);
      assert.equal(await sealClearTextSigningKeys(t.deps), 0, 'a second start finds nothing to seal');
      const [row] = await keyRows(old.root);
      assert.equal(row!.privateKey, null);
      const der = privateKey.export({ type: 'pkcs8', format: 'der' });
      assert.deepEqual(testSecretKeys().open(row!.encryptedPrivateKey!, kid), der);
      assertNoPrivateKeyIn(await dumpThroughSql(t.deps.db), der, 'SELECT * of every table');

      const token = await signLicense(t.deps, old.root, { sub: 'mem_test' }, { expiresAt: new Date(t.clock.now().getTime() + DAY_MS) });
      const payload = await verifyLicense(token, await jwks(), { rootId: old.root, currentDate: t.clock.now() });
      assert.equal(payload.sub, 'mem_test');
      assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid, kid);
    });

    test('rotating the secret key re-encrypts every private key; signing works under the new key alone', async () => {
      // Two keys of this root (active and verifying), and the other roots' keys: all of them move.
      await ok(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/rotate`, { token: v.operator.token });
      const before = await t.deps.db.select().from(signingKeys);
      assert.ok(before.length >= 3);

      const next = randomBytes(32);
      const during = SecretKeys.of(next, [testKeyBytes]);
      // Both keys open during the transition: a server given both signs before and after the re-encryption.
      const transitional = await appWith(during);
      await ok(transitional, 'POST', '/v1/sync', { token: member.token, body: { memberId: member.id } });

      const result = await reencryptSigningKeys({ db: t.deps.db, secretKeys: during });
      assert.deepEqual(result, { secretKeyId: during.currentId, reencrypted: before.length, sealed: 0, unchanged: 0, unreadable: [] });
      const afterRows = await t.deps.db.select().from(signingKeys);
      for (const row of afterRows) {
        assert.ok(row.encryptedPrivateKey!.startsWith(`v1:${during.currentId}:`), row.kid);
        const earlier = before.find((b) => b.kid === row.kid)!;
        assert.deepEqual(during.open(row.encryptedPrivateKey!, row.kid), testSecretKeys().open(earlier.encryptedPrivateKey!, row.kid), 'the same private key');
      }
      assert.deepEqual(await reencryptSigningKeys({ db: t.deps.db, secretKeys: during }), { secretKeyId: during.currentId, reencrypted: 0, sealed: 0, unchanged: before.length, unreadable: [] });

      // The new key alone signs, and the tokens verify; the old key alone no longer opens anything.
      const rotated = await appWith(SecretKeys.of(next));
      const synced = await ok(rotated, 'POST', '/v1/sync', { token: member.token, body: { memberId: member.id } });
      for (const x of synced.tokens) await verifyLicense(x.token, await jwks(), { rootId: v.root, currentDate: t.clock.now() });
      const stale = await appWith(testSecretKeys());
      assert.equal((await call(stale, 'POST', '/v1/sync', { token: member.token, body: { memberId: member.id } })).body.code, 'SIGNING_KEY_UNAVAILABLE');
    });
  });
}
