/**
 * The browser tests' harness (docs/console.md): the real server (`node dist/main.js`, built by
 * `npm run build`) on a fresh copy of a migrated embedded database, ONE headless Debian Chromium
 * (playwright-core) for every journey of the run, and per journey a fresh browser context (its
 * own cookies) whose page is checked for console errors, checked with axe-core, and
 * photographed into docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { startServer, type ServerProcess } from '../../test/concurrency/fleet.js';
import { migratedPgliteDir, removePgliteDir } from '../../test/helpers.js';
import { REPO_ROOT } from '../../test/repo.js';

const REPO = `${REPO_ROOT}/`;
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = `${REPO}docs/screenshots`;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const ADMIN = { email: 'admin@console.test', password: 'the console admin password' };
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export interface Answer {
  status: number;
  body: any;
}

/** One journey's browser page and what it logged. */
export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions so far (CSP violations are console errors). */
  errors: string[];
  /** Fails the test when the page logged any error. */
  assertNoConsoleErrors(): void;
  /** axe-core on the page as it is now: fails on any serious or critical violation. */
  assertAccessible(what: string): Promise<void>;
  /** docs/screenshots/<name>.png of the page as it is now. */
  screenshot(name: string): Promise<void>;
  /** Calls the API from the page, with its session cookie (and CSRF token on unsafe calls). */
  fetchApi(method: string, path: string, body?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * The browser's own report of an HTTP refusal the page asked for and handled ("Failed to load
 * resource: … status of 404"): an answer of the API, not an error of the page. Everything else
 * at level error (exceptions, CSP violations, 5xx answers, missing files) counts.
 */
function isHandledApiRefusal(message: ConsoleMessage): boolean {
  const url = message.location().url;
  return /^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text()) && new URL(url, 'http://x').pathname.startsWith('/v1/');
}

export class Harness {
  readonly #server: ServerProcess;
  readonly #browser: Browser;
  readonly #dataDir: string;
  readonly baseUrl: string;
  #adminToken: string | null = null;

  private constructor(server: ServerProcess, browser: Browser, dataDir: string) {
    this.#server = server;
    this.#browser = browser;
    this.#dataDir = dataDir;
    this.baseUrl = server.url;
  }

  static async start(): Promise<Harness> {
    assert.ok(existsSync(`${REPO}dist/web/index.html`), 'the console is built: run `npm run build` first');
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (Debian package chromium; .ci/run installs it)`);
    const dataDir = await migratedPgliteDir();
    const [server, browser] = await Promise.all([
      startServer({
        env: { LICENSEPOOL_DATA_DIR: dataDir, LICENSEPOOL_ADMIN_EMAIL: ADMIN.email, LICENSEPOOL_ADMIN_PASSWORD: ADMIN.password, DATABASE_URL: undefined, LOG_LEVEL: 'warn' },
      }),
      chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      }),
    ]);
    return new Harness(server, browser, dataDir);
  }

  async close(): Promise<void> {
    await this.#browser.close().catch(() => {});
    await this.#server.stop();
    await removePgliteDir(this.#dataDir);
  }

  /** The API over HTTP as a program calls it (bearer token), for setting a journey's scene. */
  async api(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
  }

  /** Like `api`, failing on anything but 2xx. */
  async ok(method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<any> {
    const answer = await this.api(method, path, options);
    assert.ok(answer.status < 300, `${method} ${path} → ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }

  /** A session token of the first superuser. */
  async adminToken(): Promise<string> {
    this.#adminToken ??= (await this.ok('POST', '/v1/auth/login', { body: ADMIN })).token as string;
    return this.#adminToken;
  }

  /** A vendor root with its first operator (an account with this e-mail and password). */
  async tenant(name: string, operator: { email: string; password: string }, options: { restricted?: boolean } = {}): Promise<{ rootId: string }> {
    const body = { name, restricted: options.restricted ?? false, operator: { ...operator, name: operator.email.split('@')[0] } };
    const created = await this.ok('POST', '/v1/roots', { token: await this.adminToken(), body });
    return { rootId: created.pool.id };
  }

  /** A fresh context (no cookies) and page at the desktop size, unless told otherwise. */
  async newPage(viewport = DESKTOP): Promise<ConsolePage> {
    const context = await this.#browser.newContext({ baseURL: this.baseUrl, viewport, locale: 'en-GB', timezoneId: 'UTC' });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && !isHandledApiRefusal(message)) errors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    return {
      page,
      context,
      errors,
      assertNoConsoleErrors: () => assert.deepEqual(errors, [], 'the page logged no errors'),
      async assertAccessible(what) {
        if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
        const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
          r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) })))`)) as { impact: string }[];
        const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert.deepEqual(serious, [], `axe-core finds no serious or critical violation on ${what}`);
      },
      async screenshot(name) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        // The whole page by a viewport as tall as it (a full-page capture would draw the fixed
        // header again where the capture scrolled to).
        const viewport = page.viewportSize()!;
        const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
        await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, height) });
        await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, animations: 'disabled' });
        await page.setViewportSize(viewport);
      },
      async fetchApi(method, path, body) {
        return page.evaluate(
          `(async ({ method, path, body }) => {
            const csrf = document.cookie.split('; ').find((c) => c.startsWith('lp_csrf='))?.slice('lp_csrf='.length);
            const headers = { ...(csrf && method !== 'GET' ? { 'x-csrf-token': decodeURIComponent(csrf) } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
            const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
            const text = await res.text();
            return { status: res.status, body: text && (res.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : text };
          })(${JSON.stringify({ method, path, body })})`,
        ) as Promise<Answer>;
      },
      close: () => context.close(),
    };
  }
}

/** Logs in through the login page and waits for the shell. */
export async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByRole('textbox', { name: 'E-mail', exact: true }).fill(email);
  await page.getByRole('textbox', { name: 'Password', exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Your pools', level: 1 }).waitFor();
}

/** The visible text of the first element the locator finds, once it is there, its spaces collapsed. */
export async function textOf(locator: ReturnType<Page['getByRole']>): Promise<string> {
  await locator.first().waitFor();
  return (await locator.first().innerText()).replace(/\s+/g, ' ').trim();
}
