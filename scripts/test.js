// `npm test`: builds the package and compiles the type-checked sources and tests, then runs the
// tests compiled (docs/testing.md). Tests run from .build/ as plain JavaScript instead of through
// tsx: each test file is a process of its own, and tsx's loader costs every one of them about a
// second of CPU, a tenth of the whole suite. The server's build (dist/, which the tests that start
// real servers run, with the console in dist/web), the tests' compilation, which is also the type
// check, and the console's type check run side by side.
import { spawn } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { compile, root, steps } from './build.js';

const started = Date.now();
try {
  // The SDK first: the server's tests import it as a package, so its declarations must exist.
  await steps.client();
  rmSync(`${root}/.build`, { recursive: true, force: true });
  await Promise.all([
    steps.server().then(steps.web),
    compile('-p', 'tsconfig.json', '--noEmit', 'false', '--outDir', '.build', '--sourceMap'),
    compile('-p', 'web', '--noEmit'),
  ]);
  cpSync(`${root}/src/db/migrations`, `${root}/.build/src/db/migrations`, { recursive: true });
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
process.stderr.write(`built and type-checked in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

const runner = spawn(process.execPath, ['--enable-source-maps', '.build/test/run-all.js'], { cwd: root, stdio: 'inherit' });
runner.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
