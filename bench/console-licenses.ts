/**
 * The console's license list in Chromium (issue 14's speed target: "the license list of
 * 1,000,000 licenses answers a filter change in ≤ 300 ms end to end"). Run by
 * `npm run bench:licenses -- --browser` on the data bench/licenses.ts loads, against the same
 * server (which then also serves the built console: `npm run build` first).
 *
 * A person's filter change, timed in the page with the Performance API: from the change (a status
 * check box clicked, an end date typed; the handler runs in that same task) to the first animation
 * frame in which the page shows the new answer (the "Licenses found" section no longer
 * `aria-busy` after it was, or its rows changed). So it includes the URL update, the router, TanStack Query, the HTTP round trip with
 * the server's filtering, React's render and the layout before paint.
 */
import { performance } from 'node:perf_hooks';
import { chromium, type Locator } from 'playwright-core';
import { latencyStats } from './report.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** In the page: runs `act`, then resolves with the ms until a frame shows the new rows. */
const TIME_CHANGE = `(async (act, what) => {
  const found = document.querySelector('section[aria-label="Licenses found"]');
  const busy = () => found.getAttribute('aria-busy') === 'true';
  const before = found.textContent;
  // Every flip of aria-busy is seen, even when the answer comes within one frame.
  let sawBusy = false;
  const observer = new MutationObserver(() => { if (busy()) sawBusy = true; });
  observer.observe(found, { attributes: true, attributeFilter: ['aria-busy'] });
  const t0 = performance.now();
  act();
  return await new Promise((resolve, reject) => {
    const timeout = setTimeout(() => (observer.disconnect(), reject(new Error(what + ': no answer on screen within 10 s'))), 10000);
    const frame = () => {
      if (!busy() && (sawBusy || found.textContent !== before)) {
        clearTimeout(timeout);
        observer.disconnect();
        return resolve(performance.now() - t0);
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
})`;

async function timeClick(box: Locator, what: string): Promise<number> {
  return box.evaluate((input, [code, w]) => (0, eval)(code!)(() => (input as unknown as { click(): void }).click(), w), [TIME_CHANGE, what]) as Promise<number>;
}

/** Types a value into a (date) input as React sees typing: the native setter, then an input event. */
async function timeType(field: Locator, value: string): Promise<number> {
  return field.evaluate(
    (input, [code, v]) =>
      (0, eval)(code!)(() => {
        Object.getOwnPropertyDescriptor(Object.getPrototypeOf(input) as object, 'value')!.set!.call(input, v);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }, `typing ${v}`),
    [TIME_CHANGE, value],
  ) as Promise<number>;
}

/**
 * Logs in as `who`, opens the license list and times `changes` filter changes (statuses toggled
 * in turn, end-date ranges typed); returns the figures for the report.
 */
export async function timeConsoleFilterChanges(base: string, who: { email: string; password: string }, changes: number, random: () => number) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC' });
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByRole('textbox', { name: 'E-mail', exact: true }).fill(who.email);
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(who.password);
    const t0 = performance.now();
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Your pools', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Licenses', exact: true }).click();
    await page.getByRole('row').nth(20).waitFor();
    const firstScreen = performance.now() - t0;

    const statuses = ['In use', 'Pending start', 'Access denied', 'Contract finalized', 'Pending provision', 'Expired'];
    const byStatus: number[] = [];
    const byDate: number[] = [];
    const from = page.getByLabel('Ends on or after');
    const to = page.getByLabel('Ends on or before');
    // Warm-up, untimed, with filters the timed changes never repeat (a repeated one would come from the cache).
    await timeType(page.getByLabel('Search', { exact: true }), 'premium');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('row').nth(20).waitFor();
    // Statuses toggled on in turn, then off in the same order: 11 sets, each new (a set seen
    // before would come from the cache, not the server); the other changes are end-date ranges.
    const statusChanges = Math.min(11, Math.ceil(changes / 2));
    for (let i = 0; i < statusChanges; i++) {
      const status = statuses[i % statuses.length]!;
      byStatus.push(await timeClick(page.getByRole('checkbox', { name: status }), `toggling ${status} (change ${i + 1})`));
    }
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('row').nth(20).waitFor();
    for (let i = 0; i < changes - statusChanges; i++) {
      // A window of 10 to 100 days starting within the next two years: new values every time.
      const start = new Date(Date.now() + Math.floor(random() * 700) * 86_400_000);
      const end = new Date(start.getTime() + (10 + Math.floor(random() * 90)) * 86_400_000);
      await timeType(from, start.toISOString().slice(0, 10));
      byDate.push(await timeType(to, end.toISOString().slice(0, 10)));
    }
    return { firstScreen, byStatus: latencyStats(byStatus), byDate: latencyStats(byDate), all: latencyStats([...byStatus, ...byDate]) };
  } finally {
    await browser.close();
  }
}
