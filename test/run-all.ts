/**
 * `npm test`'s runner: every test file under src/ and test/ and the console's browser tests
 * (web/e2e/), three files at a time, the longest
 * first. A long file started near the end would run alone at the tail while the other cores
 * idle, so the long ones start first and the many short ones fill the gaps. (Node 20's `--test`
 * sorts the files it is given by name; its `run()` keeps the order.) Files not named below follow
 * by name. Three at a time, on two cores: the multi-process tests spend much of their time waiting
 * for servers, leases and mail, and a third file uses that time (docs/testing.md).
 *
 * `npm test` runs it compiled, from .build/test/ (scripts/test.js), on the compiled test files;
 * `node --import tsx test/run-all.ts` runs the sources through tsx.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

/** The folder holding src/ and test/: the repository, or .build/ when this file is the compiled one. */
const base = dirname(dirname(fileURLToPath(import.meta.url)));
const suffix = import.meta.url.endsWith('.ts') ? '.test.ts' : '.test.js';
const CONCURRENCY = Number(process.env.TEST_CONCURRENCY ?? 3);

/** Measured in a full run on both databases (docs/testing.md), longest first. */
const LONGEST_FIRST = [
  'web/e2e/console',
  'test/http/fuzz',
  'test/concurrency/reminder-workers',
  'test/http/bad-input',
  'test/package/install',
  'test/cli/secret-key',
  'test/package/start',
  'test/sdk/client',
  'test/concurrency/crash',
  'test/http/isolation',
  'test/concurrency/claims',
  'test/http/reminders',
  'test/cli/first-steps',
  'test/concurrency/mail-workers',
  'test/http/members-import',
  'test/cli/commands',
  'test/concurrency/cross-tenant',
  'test/http/claims',
];

const found = ['src', 'test', 'web/e2e']
  .flatMap((dir) => readdirSync(join(base, dir), { recursive: true, encoding: 'utf8' }).map((file) => `${dir}/${file}`))
  .filter((file) => file.endsWith(suffix))
  .map((file) => file.slice(0, -suffix.length))
  .sort();
const first = LONGEST_FIRST.filter((file) => found.includes(file));
const files = [...first, ...found.filter((file) => !first.includes(file))];

// The test files run with this process's flags (`--import tsx`, or `--enable-source-maps`).
const stream = run({ files: files.map((file) => join(base, `${file}${suffix}`)), concurrency: CONCURRENCY });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
(process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap)).pipe(process.stdout);
