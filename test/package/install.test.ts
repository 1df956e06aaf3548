/**
 * The packages as a user gets them: `npm pack` of the server and of the client SDK, each installed
 * into an empty folder with npm. The SDK imports in plain Node (no tsx), works, type-checks from
 * its `.d.ts` alone, and brings no server package with it; the server tarball alone runs
 * `npx licensepool serve` to a healthy /readyz. Needs the build (`npm test` builds first) and
 * the npm registry (the cache makes it quick).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../repo.js';

const ROOT = REPO_ROOT;
const run = promisify(execFile);
const NPM_QUIET = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
/** Packages of the server that an SDK user must never get. */
const SERVER_PACKAGES = ['licensepool', 'fastify', 'pg', '@electric-sql/pglite', 'drizzle-orm', 'argon2', 'pino', 'zod', 'nodemailer', 'pdfkit', 'tsx'];

/** `npm pack` without scripts: the build is already there (a pack would otherwise build again). */
async function pack(dest: string, workspace?: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest, ...(workspace ? ['--workspace', workspace] : [])], { cwd: ROOT });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return join(dest, packed!.filename);
}

/** An empty folder with its own package.json, so npm installs there and not in a parent. */
function emptyProject(parent: string, name: string): string {
  const project = mkdtempSync(join(parent, `${name}-`));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `try-${name}`, private: true, type: 'module' }));
  return project;
}

/** Every package name in an npm dependency tree (`npm ls --all --json`). */
function namesIn(tree: { dependencies?: Record<string, unknown> }): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([name, sub]) => [name, ...namesIn(sub as { dependencies?: Record<string, unknown> })]);
}

describe('the packed tarballs, installed', () => {
  let work: string;
  let serverTarball: string;
  let clientTarball: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'licensepool-pack-'));
    serverTarball = await pack(work);
    clientTarball = await pack(work, '@licensepool/client');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('@licensepool/client: plain Node imports and uses it, its types stand alone, and it brings jose and nothing of the server', async () => {
    const app = emptyProject(work, 'sdk-user');
    await run('npm', ['install', clientTarball, ...NPM_QUIET], { cwd: app });

    const { stdout: ls } = await run('npm', ['ls', '--all', '--json'], { cwd: app });
    const installed = namesIn(JSON.parse(ls) as { dependencies?: Record<string, unknown> });
    assert.deepEqual(installed.sort(), ['@licensepool/client', 'jose'], 'the SDK depends on jose alone');
    for (const name of SERVER_PACKAGES) assert.ok(!existsSync(join(app, 'node_modules', name)), `${name} was installed with the SDK`);

    // Plain node, ESM: sign a license token as the server does (EdDSA, typ license+jwt, kid) and
    // verify it offline with the SDK against the JWKS; a client is made without any server code.
    writeFileSync(
      join(app, 'check.js'),
      `import { createClient, verifyLicense, LicenseVerificationError, LICENSE_TOKEN_ALG, LICENSE_TOKEN_TYPE } from '@licensepool/client';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: LICENSE_TOKEN_ALG, use: 'sig' };
const token = await new SignJWT({ root: 'pool_1', seats: 5 })
  .setProtectedHeader({ alg: LICENSE_TOKEN_ALG, typ: LICENSE_TOKEN_TYPE, kid: 'k1' })
  .setIssuedAt().setExpirationTime('1h').sign(privateKey);
const payload = await verifyLicense(token, { keys: [jwk] }, { rootId: 'pool_1' });
const wrongRoot = await verifyLicense(token, { keys: [jwk] }, { rootId: 'pool_2' }).catch((e) => e instanceof LicenseVerificationError && e.code);
const client = createClient({ baseUrl: 'http://127.0.0.1:1', token: 't' });
console.log(JSON.stringify({ seats: payload.seats, wrongRoot, checkout: typeof client.checkout }));
`,
    );
    const { stdout } = await run(process.execPath, ['check.js'], { cwd: app });
    assert.deepEqual(JSON.parse(stdout), { seats: 5, wrongRoot: 'WRONG_ROOT', checkout: 'function' });

    // The published .d.ts alone type-check a consumer (as a bundler's TypeScript sees them).
    writeFileSync(
      join(app, 'typed.ts'),
      `import { createClient, type Claim, type RefusalReason } from '@licensepool/client';
const client = createClient({ baseUrl: 'https://licenses.example.com', token: 't' });
export async function seats(memberId: string): Promise<Claim> {
  const lease = await client.checkout({ memberId, meter: 'seats' });
  return lease.claim;
}
export const reason: RefusalReason = { code: 'LIMIT_REACHED', poolId: 'p', meter: 'seats', limit: 1, used: 1 };
`,
    );
    const compilerOptions = { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023', 'dom'], types: [] };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['typed.ts'] }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const typed = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).catch(
      (e: { stdout: string }) => ({ stdout: e.stdout, failed: true }),
    );
    assert.ok(!('failed' in typed), `the SDK's types do not stand alone:\n${typed.stdout}`);
  });

  test('licensepool: the tarball alone installs and `npx licensepool serve` answers /readyz and serves the web console', async () => {
    const dir = emptyProject(work, 'server-user');
    await run('npm', ['install', serverTarball, ...NPM_QUIET], { cwd: dir });
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', 'licensepool', 'package.json'), 'utf8')) as { version: string };
    assert.equal(pkg.version, '0.1.0');
    assert.ok(!existsSync(join(dir, 'node_modules', 'tsx')), 'the server runs compiled, without tsx');
    assert.ok(existsSync(join(dir, 'node_modules', 'licensepool', 'dist', 'db', 'migrations', 'meta', '_journal.json')), 'the migrations ship with it');

    const { DATABASE_URL: _url, PORT: _port, ...inherited } = process.env;
    // Its own process group, so the test can end npx and everything under it together.
    const server = spawn('npx', ['--no-install', 'licensepool', 'serve'], {
      cwd: dir,
      detached: true,
      env: { ...inherited, HOST: '127.0.0.1', PORT: '0', LICENSEPOOL_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    let stderr = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      const until = Date.now() + 90_000;
      let ready = false;
      while (!ready) {
        assert.ok(Date.now() < until, `not ready within 90 s:\n${stderr}`);
        assert.equal(server.exitCode, null, `licensepool serve exited:\n${stderr}`);
        const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
        if (url) ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(stderr, /First start: log in as admin@localhost\.localdomain with the password \S+/);
      // The console ships built in the tarball: its page and the script it loads.
      const url = /listening on (http:\/\/\S+)/.exec(stderr)![1]!;
      const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      const script = /<script type="module" crossorigin src="([^"]+)"/.exec(await page.text())?.[1];
      assert.ok(script, 'the page loads its script');
      assert.equal((await fetch(`${url}${script}`)).status, 200);
    } finally {
      process.kill(-server.pid!, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-server.pid!, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  });
});
