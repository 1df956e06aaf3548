/**
 * What every answer tells a browser and a client about security (issue 13): the bearer challenge
 * on 401, and helmet's headers on API routes, errors and the Swagger UI at /docs, whose page must
 * still load everything it references under the Content-Security-Policy; and the web console's
 * page (issue 14), whose style nonce is new on every answer and admitted by that answer alone.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CSP_NONCE_PLACEHOLDER } from '../../src/http/console.js';
import { backends, call, createTestApp, person, SUPERUSER, type TestApp } from '../helpers.js';

/** `a b; c d e` → { a: ['b'], c: ['d', 'e'] }. */
function directives(header: unknown): Record<string, string[]> {
  assert.equal(typeof header, 'string', 'a Content-Security-Policy header');
  return Object.fromEntries(
    (header as string)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

/** Whether `directive` (or default-src, when absent) lets the page load `url` (same origin, or a data: URI). */
function permits(csp: Record<string, string[]>, directive: string, url: string): boolean {
  const sources = csp[directive] ?? csp['default-src'] ?? [];
  if (url.startsWith('data:')) return sources.includes('data:');
  return !/^[a-z]+:/i.test(url) && !url.startsWith('//') && sources.includes("'self'");
}

const CHALLENGE = 'Bearer realm="licensepool"';

for (const backend of backends()) {
  describe(`security headers and the bearer challenge (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    test('every 401 carries WWW-Authenticate: Bearer, with error="invalid_token" when the token sent is not good', async () => {
      const none = await call(t.app, 'GET', '/v1/pools');
      assert.equal(none.status, 401);
      assert.equal(none.headers['www-authenticate'], CHALLENGE);

      for (const authorization of ['Bearer lpt_unknown', 'Basic dXNlcjpwYXNz']) {
        const bad = await call(t.app, 'GET', '/v1/pools', { headers: { authorization } });
        assert.equal(bad.status, 401);
        assert.equal(bad.body.code, 'UNAUTHENTICATED');
        assert.equal(bad.headers['www-authenticate'], `${CHALLENGE}, error="invalid_token", error_description="The token is invalid, expired or revoked"`);
      }
      // A revoked token too: the client learns to get a new one.
      const someone = await person(t, 'revoked@security.test');
      const tokens = (await call(t.app, 'GET', '/v1/tokens', { token: someone.token })).body.data;
      await call(t.app, 'DELETE', `/v1/tokens/${tokens[0].id}`, { token: someone.token });
      assert.match(String((await call(t.app, 'GET', '/v1/pools', { token: someone.token })).headers['www-authenticate']), /error="invalid_token"/);

      const login = await call(t.app, 'POST', '/v1/auth/login', { body: { email: SUPERUSER.email, password: 'not the password' } });
      assert.equal(login.status, 401);
      assert.equal(login.body.code, 'INVALID_CREDENTIALS');
      assert.equal(login.headers['www-authenticate'], CHALLENGE);

      // Not on other answers.
      const fine = await call(t.app, 'GET', '/v1/pools', { token: t.superuser });
      assert.equal(fine.status, 200);
      assert.equal(fine.headers['www-authenticate'], undefined);
    });

    test('an API route, an error and a missing route carry the security headers; no HSTS over plain HTTP', async () => {
      for (const [url, status] of [['/v1/pools', 200], ['/v1/pools/pool_nope', 404], ['/v1/nowhere', 404], ['/.well-known/jwks.json', 200]] as const) {
        const res = await call(t.app, 'GET', url, { token: t.superuser });
        assert.equal(res.status, status, url);
        const h = res.headers;
        assert.equal(h['x-content-type-options'], 'nosniff', url);
        assert.equal(h['referrer-policy'], 'no-referrer', url);
        assert.equal(h['x-frame-options'], 'DENY', url);
        assert.equal(h['strict-transport-security'], undefined, url);
        const csp = directives(h['content-security-policy']);
        assert.deepEqual(csp['default-src'], ["'self'"]);
        assert.deepEqual(csp['script-src'], ["'self'"], 'no inline scripts, no eval');
        assert.deepEqual(csp['script-src-attr'], ["'none'"]);
        assert.deepEqual(csp['style-src'], ["'self'"]);
        assert.deepEqual(csp['object-src'], ["'none'"]);
        assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
        assert.deepEqual(csp['base-uri'], ["'self'"]);
        assert.deepEqual(csp['form-action'], ["'self'"]);
        assert.equal(csp['upgrade-insecure-requests'], undefined, 'plain HTTP stays usable');
      }
    });

    test('HSTS and upgrade-insecure-requests only when the server is reached over HTTPS (PUBLIC_URL)', async () => {
      const { buildApp } = await import('../../src/app.js');
      const https = await buildApp({ deps: t.deps, secureCookies: true });
      after(() => https.close());
      const res = await call(https, 'GET', '/v1/pools', { token: t.superuser });
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.deepEqual(directives(res.headers['content-security-policy'])['upgrade-insecure-requests'], []);
    });

    test('Swagger UI at /docs loads: every script, stylesheet, icon and image it references is permitted by its policy and served', async () => {
      const page = await call(t.app, 'GET', '/docs/');
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      const html = String(page.body);
      const csp = directives(page.headers['content-security-policy']);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');

      // Nothing inline: the policy allows no inline script, style element or style attribute.
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);

      const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
      const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
      const icons = [...html.matchAll(/<link[^>]*rel="icon"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(scripts.length >= 3 && styles.length >= 1 && icons.length >= 1, 'the page references its assets');
      const load = async (kind: string, ref: string, contentType: RegExp) => {
        assert.ok(permits(csp, kind, ref), `${kind} permits ${ref}`);
        const res = await call(t.app, 'GET', new URL(ref, 'http://licensepool.test/docs/').pathname);
        assert.equal(res.status, 200, ref);
        assert.match(String(res.headers['content-type']), contentType, ref);
        return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
      };
      for (const ref of scripts) await load('script-src', ref, /javascript/);
      for (const ref of icons) await load('img-src', ref, /^image\//);
      for (const ref of styles) {
        const css = await load('style-src', ref, /^text\/css/);
        // What the stylesheets load in turn: their images are data: URIs.
        for (const [, url] of css.matchAll(/url\(\s*["']?([^"')]+)/g)) {
          assert.ok(permits(csp, url!.startsWith('data:font') ? 'font-src' : 'img-src', url!), `the stylesheet's ${url!.slice(0, 30)}…`);
        }
      }
      // The initializer fetches the OpenAPI document from ./json (connect-src).
      const initializer = await load('script-src', scripts.find((s) => s.includes('initializer'))!, /javascript/);
      assert.match(initializer, /resolveUrl\('\.\/json'\)/);
      assert.ok(permits(csp, 'connect-src', './json'));
      const spec = await call(t.app, 'GET', '/docs/json');
      assert.equal(spec.status, 200);
      assert.equal(spec.body.openapi, '3.1.0');
    });

    test('the console: index.html for / and for other pages (history fallback) with a fresh style nonce in the page and in its policy alone; assets cached for a year; API misses stay problem+json', async () => {
      // A built console as Vite writes it (web/vite.config.ts: html.cspNonce).
      const dir = mkdtempSync(join(tmpdir(), 'licensepool-console-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      mkdirSync(join(dir, 'assets'));
      writeFileSync(
        join(dir, 'index.html'),
        `<!doctype html><html><head><meta property="csp-nonce" nonce="${CSP_NONCE_PLACEHOLDER}"><script type="module" src="/assets/app-1a2b.js" nonce="${CSP_NONCE_PLACEHOLDER}"></script></head><body><div id="root"></div></body></html>`,
      );
      writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log("console")');
      const { buildApp } = await import('../../src/app.js');
      const app = await buildApp({ deps: t.deps, consoleDir: dir });
      after(() => app.close());
      const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

      const nonces = [];
      for (const url of ['/', '/pools/pool_somewhere?tab=licenses', '/account']) {
        const page = await call(app, 'GET', url, { headers: html });
        assert.equal(page.status, 200, url);
        assert.match(String(page.headers['content-type']), /^text\/html/);
        assert.equal(page.headers['cache-control'], 'no-store');
        const body = String(page.body);
        assert.ok(!body.includes(CSP_NONCE_PLACEHOLDER), 'the placeholder is replaced');
        const nonce = /<meta property="csp-nonce" nonce="([^"]+)">/.exec(body)?.[1];
        assert.match(nonce ?? '', /^[A-Za-z0-9+/]{22}==$/, '128 random bits');
        const csp = directives(page.headers['content-security-policy']);
        assert.deepEqual(csp['style-src'], ["'self'", `'nonce-${nonce}'`]);
        assert.deepEqual(csp['script-src'], ["'self'"], 'scripts stay files of this origin');
        assert.deepEqual(csp['script-src-attr'], ["'none'"]);
        assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
        assert.equal(page.headers['x-frame-options'], 'DENY');
        nonces.push(nonce);
      }
      assert.equal(new Set(nonces).size, nonces.length, 'a new nonce on every answer');

      const asset = await call(app, 'GET', '/assets/app-1a2b.js');
      assert.equal(asset.status, 200);
      assert.match(String(asset.headers['content-type']), /javascript/);
      assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.deepEqual(directives(asset.headers['content-security-policy'])['style-src'], ["'self'"], 'no nonce outside the page');

      // The page is never served as a file (its placeholder would be a nonce anyone knows).
      assert.equal((await call(app, 'GET', '/index.html')).status, 404);
      // The API's paths keep their problem+json 404, also for a browser asking for HTML.
      for (const url of ['/v1/nowhere', '/v1', '/healthz/more', '/openapi.json/x', '/metrics/x']) {
        const miss = await call(app, 'GET', url, { headers: html });
        assert.equal(miss.status, 404, url);
        assert.equal(miss.body.code, 'ROUTE_NOT_FOUND', url);
      }
      // A program asking for JSON at a page path gets the problem too, not the page.
      const json = await call(app, 'GET', '/pools/pool_somewhere', { headers: { accept: 'application/json' } });
      assert.equal(json.status, 404);
      assert.equal(json.body.code, 'ROUTE_NOT_FOUND');
      assert.equal((await call(app, 'POST', '/pools', { headers: html, body: {} })).status, 404);

      // Without a built console (the tests' app, running from src/): the API alone.
      const none = await call(t.app, 'GET', '/', { headers: html });
      assert.equal(none.status, 404);
      assert.equal(none.body.code, 'ROUTE_NOT_FOUND');
    });
  });
}
