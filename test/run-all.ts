/**
 * `npm test`: every `*.test.ts` under src/ and test/, and the console's browser tests
 * (web/e2e/*.test.ts), two files at a time, the longest first.
 * A long file started near the end would run alone at the tail while the other core idles, so
 * the long ones start first and the many short ones fill the gaps. (Node 20's `--test` sorts the
 * files it is given by name; its `run()` keeps the order.) Files not named below follow by name.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';

/** Measured alone on both databases (docs/testing.md), longest first. */
const LONGEST_FIRST = [
  'test/concurrency/claims.test.ts',
  'test/concurrency/reminder-workers.test.ts',
  'test/http/bad-input.test.ts',
  'test/cli/licenses.test.ts',
  'test/cli/members-import.test.ts',
  'test/http/reminders.test.ts',
  'test/concurrency/crash.test.ts',
  'test/concurrency/mail-workers.test.ts',
  'test/http/auth.test.ts',
  'test/http/isolation.test.ts',
  'test/http/members-import.test.ts',
  'test/sdk/client.test.ts',
  'test/sdk/example.test.ts',
];

const found = ['src', 'test']
  .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => `${dir}/${file}`))
  .concat(readdirSync('web/e2e').map((file) => `web/e2e/${file}`))
  .filter((file) => file.endsWith('.test.ts'))
  .sort();
const first = LONGEST_FIRST.filter((file) => found.includes(file));
const files = [...first, ...found.filter((file) => !first.includes(file))];

// The test files run with this process's `--import tsx`.
const stream = run({ files: files.map((file) => resolve(file)), concurrency: 2 });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
(process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap)).pipe(process.stdout);
