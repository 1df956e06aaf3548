/**
 * Signing keys and license tokens: the JWKS, rotation and retirement by a root's operators, and
 * offline verification with the client SDK (imported as a consumer does, `@licensepool/client`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { decodeProtectedHeader } from 'jose';
import { verifyLicense, type LicenseVerificationCode } from '@licensepool/client';
import { auditEvents, signingKeys } from '../../src/db/schema.js';
import { newId } from '../../src/lib/ids.js';
import { DAY_MS } from '../../src/lib/time.js';
import { signLicense } from '../../src/modules/signing/signing.service.js';
import { backends, call, childPool, createTestApp, ok, person, vendor, type TestApp, type Tree } from '../helpers.js';

/** A borrow-like token of `root`, valid for 30 days from the test clock. */
const sign = (t: TestApp, root: string, claims: Record<string, unknown> = { pool: root, sub: 'mem_test', features: ['door'], limits: { seats: 2 } }) =>
  signLicense(t.deps, root, claims, { expiresAt: new Date(t.clock.now().getTime() + 30 * DAY_MS) });

const jwks = async (t: TestApp) => {
  const res = await call(t.app, 'GET', '/.well-known/jwks.json');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};

async function refusal(promise: Promise<unknown>): Promise<LicenseVerificationCode> {
  try {
    await promise;
  } catch (error: any) {
    assert.equal(error.name, 'LicenseVerificationError', String(error));
    return error.code;
  }
  assert.fail('the token verified');
}

/** The same token with its payload changed and its header and signature kept. */
function tampered(token: string, change: (payload: any) => void): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  change(claims);
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

/** Anything that looks like private key material. */
function assertNoPrivateKey(body: unknown, where: string): void {
  const text = JSON.stringify(body);
  assert.doesNotMatch(text, /PRIVATE KEY|privateKey|"d":/, where);
}

for (const backend of backends()) {
  describe(`signing keys and license tokens (${backend})`, () => {
    let t: TestApp;
    let v: Tree;
    let child: string;
    before(async () => {
      t = await createTestApp(backend);
      v = await vendor(t, { name: 'Signer', meters: [{ key: 'seats' }], features: ['door'] });
      child = await childPool(t, v.operator.token, v.root);
    });
    after(() => t.close());

    test('a token signed by the service verifies offline against the JWKS fetched over HTTP', async () => {
      const token = await sign(t, v.root);
      const header = decodeProtectedHeader(token);
      assert.equal(header.alg, 'EdDSA');
      assert.equal(header.typ, 'license+jwt');
      assert.match(String(header.kid), /^key_/);

      const res = await call(t.app, 'GET', '/.well-known/jwks.json');
      assert.equal(res.status, 200);
      assert.match(String(res.headers['cache-control']), /max-age=\d+/);
      const key = res.body.keys.find((k: any) => k.kid === header.kid);
      assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      assert.deepEqual([key.kty, key.crv, key.alg, key.use], ['OKP', 'Ed25519', 'EdDSA', 'sig']);
      assertNoPrivateKey(res.body, 'jwks');

      const payload = await verifyLicense(token, res.body, { currentDate: t.clock.now(), rootId: v.root });
      assert.equal(payload.root, v.root);
      assert.equal(payload.sub, 'mem_test');
      assert.deepEqual(payload.limits, { seats: 2 });
      assert.equal(payload.iat, Math.floor(t.clock.now().getTime() / 1000), 'iat comes from the injected clock');
      assert.equal(payload.exp, payload.iat! + 30 * 86_400);

      // Signing again reuses the root's key: one active key, created once.
      assert.equal(decodeProtectedHeader(await sign(t, v.root)).kid, header.kid);
      const created = await t.deps.db.select().from(auditEvents).where(and(eq(auditEvents.rootId, v.root), eq(auditEvents.action, 'signing_key.created')));
      assert.equal(created.length, 1);
      assertNoPrivateKey(created, 'audit');
    });

    test('a tampered, expired, foreign or malformed token is refused with its reason', async () => {
      const token = await sign(t, v.root);
      const keys = await jwks(t);
      const now = t.clock.now();
      assert.equal(await refusal(verifyLicense(tampered(token, (p) => (p.limits.seats = 200)), keys, { currentDate: now })), 'INVALID_SIGNATURE');
      assert.equal(await refusal(verifyLicense(tampered(token, (p) => (p.exp += 365 * 86_400)), keys, { currentDate: now })), 'INVALID_SIGNATURE');
      assert.equal(await refusal(verifyLicense(token, keys, { currentDate: new Date(now.getTime() + 31 * DAY_MS) })), 'EXPIRED');
      assert.equal(await refusal(verifyLicense(token, keys, { currentDate: now, rootId: child })), 'WRONG_ROOT');
      assert.equal(await refusal(verifyLicense(token, { keys: [] }, { currentDate: now })), 'UNKNOWN_KEY');
      assert.equal(await refusal(verifyLicense('not.a.token', keys, { currentDate: now })), 'MALFORMED');
    });

    test('rotation: old tokens keep verifying, new ones carry the new kid; retiring the old key ends its tokens', async () => {
      const before = await sign(t, v.root);
      const oldKid = decodeProtectedHeader(before).kid!;

      const rotated = await call(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/rotate`, { token: v.operator.token });
      assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
      assert.equal(rotated.body.status, 'active');
      assert.notEqual(rotated.body.kid, oldKid);
      assertNoPrivateKey(rotated.body, 'rotate');

      const listed = await ok(t.app, 'GET', `/v1/pools/${v.root}/signing-keys`, { token: v.operator.token });
      assert.deepEqual(listed.data.map((k: any) => [k.kid, k.status]), [[oldKid, 'verifying'], [rotated.body.kid, 'active']]);
      for (const k of listed.data) assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'kid', 'publicJwk', 'retiredAt', 'rootId', 'status']);
      assertNoPrivateKey(listed, 'list');

      const after = await sign(t, v.root);
      assert.equal(decodeProtectedHeader(after).kid, rotated.body.kid);
      let keys = await jwks(t);
      assert.deepEqual(keys.keys.map((k: any) => k.kid).filter((kid: string) => [oldKid, rotated.body.kid].includes(kid)).sort(), [oldKid, rotated.body.kid].sort());
      await verifyLicense(before, keys, { currentDate: t.clock.now() });
      await verifyLicense(after, keys, { currentDate: t.clock.now() });

      const active = await call(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/${rotated.body.kid}/retire`, { token: v.operator.token });
      assert.equal(active.status, 409);
      assert.equal(active.body.code, 'INVALID_TRANSITION');
      assert.equal(active.body.currentStatus, 'active');

      t.clock.advanceDays(1);
      const retired = await ok(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/${oldKid}/retire`, { token: v.operator.token });
      assert.equal(retired.status, 'retired');
      assert.equal(retired.retiredAt, t.clock.now().toISOString());
      assertNoPrivateKey(retired, 'retire');
      keys = await jwks(t);
      assert.ok(!keys.keys.some((k: any) => k.kid === oldKid), 'a retired key leaves the JWKS');
      assert.equal(await refusal(verifyLicense(before, keys, { currentDate: t.clock.now() })), 'UNKNOWN_KEY');
      await verifyLicense(after, keys, { currentDate: t.clock.now() });

      const again = await call(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/${oldKid}/retire`, { token: v.operator.token });
      assert.deepEqual([again.status, again.body.code, again.body.currentStatus], [409, 'INVALID_TRANSITION', 'retired']);

      const events = await ok(t.app, 'GET', `/v1/audit?poolId=${v.root}&limit=500`, { token: v.operator.token });
      const actions = events.data.filter((e: any) => e.action.startsWith('signing_key.')).map((e: any) => [e.action, e.entityId, e.actorId]);
      assert.deepEqual(actions.slice(-2), [['signing_key.rotated', rotated.body.kid, v.operator.id], ['signing_key.retired', oldKid, v.operator.id]]);
      assertNoPrivateKey(events, 'audit');
    });

    test("only the root's operators manage its keys, and only on the root", async () => {
      const admin = await person(t, 'keys.admin@licensepool.test');
      await ok(t.app, 'POST', `/v1/pools/${v.root}/roles`, { token: v.operator.token, body: { email: admin.email, role: 'admin' } });
      const other = await vendor(t, { name: 'Other vendor' });
      // Two rotations leave a verifying key whatever came before: a retire that could succeed.
      for (let i = 0; i < 2; i++) await ok(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/rotate`, { token: v.operator.token });
      const { data } = await ok(t.app, 'GET', `/v1/pools/${v.root}/signing-keys`, { token: v.operator.token });
      const kid = data.find((k: any) => k.status === 'verifying').kid;
      const routes: ['GET' | 'POST', string][] = [
        ['GET', `/v1/pools/${v.root}/signing-keys`],
        ['POST', `/v1/pools/${v.root}/signing-keys/rotate`],
        ['POST', `/v1/pools/${v.root}/signing-keys/${kid}/retire`],
      ];
      const keysBefore = await t.deps.db.select().from(signingKeys).where(eq(signingKeys.rootId, v.root));
      for (const [method, url] of routes) {
        assert.equal((await call(t.app, method, url)).status, 401, `${method} ${url} without a token`);
        const byAdmin = await call(t.app, method, url, { token: admin.token });
        assert.deepEqual([byAdmin.status, byAdmin.body.code], [403, 'FORBIDDEN'], `${method} ${url} by an admin of the root`);
        const byStranger = await call(t.app, method, url, { token: other.operator.token });
        assert.deepEqual([byStranger.status, byStranger.body.code], [404, 'NOT_FOUND'], `${method} ${url} by another root's operator`);
        const onChild = await call(t.app, method, url.replace(v.root, child), { token: v.operator.token });
        assert.deepEqual([onChild.status, onChild.body.code, onChild.body.rootId], [422, 'NOT_A_ROOT', v.root], `${method} ${url} on a child pool`);
      }
      assert.deepEqual(await t.deps.db.select().from(signingKeys).where(eq(signingKeys.rootId, v.root)), keysBefore, 'no refusal changed a key');

      const unknown = await call(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/${newId('signingKey')}/retire`, { token: v.operator.token });
      assert.deepEqual([unknown.status, unknown.body.code], [404, 'NOT_FOUND']);
      const othersKid = (await ok(t.app, 'POST', `/v1/pools/${other.root}/signing-keys/rotate`, { token: other.operator.token })).kid;
      const foreign = await call(t.app, 'POST', `/v1/pools/${v.root}/signing-keys/${othersKid}/retire`, { token: v.operator.token });
      assert.deepEqual([foreign.status, foreign.body.code], [404, 'NOT_FOUND'], "another root's key is not found under this root");
    });

    test('signLicense refuses a pool that is not a root and a token that would be born expired', async () => {
      await assert.rejects(sign(t, child), (e: any) => e.code === 'NOT_A_ROOT');
      await assert.rejects(signLicense(t.deps, v.root, {}, { expiresAt: t.clock.now() }), /expire after/);
    });

    test('10 parallel first uses on a fresh root create exactly one active key', async () => {
      const root = await ok(t.app, 'POST', '/v1/pools', { token: t.superuser, body: { name: 'Fresh', kind: 'vendor' } });
      const tokens = await Promise.all(Array.from({ length: 10 }, () => sign(t, root.id)));
      const kids = new Set(tokens.map((token) => decodeProtectedHeader(token).kid));
      assert.equal(kids.size, 1);
      const rows = await t.deps.db.select().from(signingKeys).where(eq(signingKeys.rootId, root.id));
      assert.deepEqual(rows.map((r) => [r.kid, r.status]), [[[...kids][0], 'active']]);
      const keys = await jwks(t);
      for (const token of tokens) await verifyLicense(token, keys, { currentDate: t.clock.now(), rootId: root.id });
      const created = await t.deps.db.select().from(auditEvents).where(and(eq(auditEvents.rootId, root.id), eq(auditEvents.action, 'signing_key.created')));
      assert.equal(created.length, 1);
    });

    test('a rotation racing first uses leaves one active key and every token verifiable', async () => {
      const root = await ok(t.app, 'POST', '/v1/pools', { token: t.superuser, body: { name: 'Racing', kind: 'vendor' } });
      const [rotation, ...tokens] = await Promise.all([
        call(t.app, 'POST', `/v1/pools/${root.id}/signing-keys/rotate`, { token: t.superuser }),
        ...Array.from({ length: 5 }, () => sign(t, root.id)),
      ]);
      assert.equal((rotation as any).status, 201, JSON.stringify((rotation as any).body));
      const rows = await t.deps.db.select().from(signingKeys).where(eq(signingKeys.rootId, root.id));
      assert.equal(rows.filter((r) => r.status === 'active').length, 1);
      assert.equal(rows.find((r) => r.status === 'active')!.kid, (rotation as any).body.kid, 'the rotation made the active key');
      const keys = await jwks(t);
      for (const token of tokens as string[]) await verifyLicense(token, keys, { currentDate: t.clock.now(), rootId: root.id });
    });
  });
}
