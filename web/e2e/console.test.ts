/**
 * The console in a real browser (issue 14): every journey of web/e2e/journeys/ against one server
 * and ONE Chromium for the whole run (a browser per journey file would start several on a
 * two-core machine). A journey is a module exporting `journey(harness)` that declares its tests;
 * adding one is adding a file there.
 */
import { readdirSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { Harness } from './harness.js';

const folder = new URL('./journeys/', import.meta.url);
const journeys = await Promise.all(
  readdirSync(folder)
    .filter((file) => /\.journey\.[jt]s$/.test(file))
    .sort()
    .map(async (file) => ({ file, module: (await import(new URL(file, folder).href)) as { journey: (h: () => Harness) => void } })),
);

describe('the web console in Chromium', () => {
  let harness: Harness;
  before(async () => {
    harness = await Harness.start();
  });
  after(() => harness?.close());

  for (const { file, module } of journeys) {
    describe(file.replace(/\.journey\.[jt]s$/, ''), () => module.journey(() => harness));
  }
});
