/**
 * Where the repository is, and its compiled server, for tests that start processes or read files
 * beside the sources. The same whether a test runs through tsx from test/ or compiled from
 * .build/test/ (how `npm test` runs them, docs/testing.md).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function nearestPackageRoot(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at;
    if (dirname(at) === at) throw new Error(`no package.json above ${dir}`);
  }
}

/** The nearest folder above this file holding a package.json (.build/ holds none). */
export const REPO_ROOT = nearestPackageRoot(dirname(fileURLToPath(import.meta.url)));

/**
 * `dist/main.js`, what `npm start` runs, for tests that start real server processes: it starts in a
 * third of the CPU time of `tsx src/main.ts`. `npm test` builds it first; a test run on its own
 * after a change to src/ is told to build instead of silently testing the old code.
 */
export function builtServerEntry(): string {
  const entry = join(REPO_ROOT, 'dist', 'main.js');
  const built = statSync(entry, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) throw new Error('dist/main.js is missing: run `npm run build` (npm test does)');
  const sources = join(REPO_ROOT, 'src');
  for (const file of readdirSync(sources, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(ts|sql|json)$/.test(file) || file.endsWith('.test.ts')) continue;
    if (statSync(join(sources, file)).mtimeMs > built) throw new Error(`src/${file} is newer than dist/: run \`npm run build\` (npm test does)`);
  }
  return entry;
}
