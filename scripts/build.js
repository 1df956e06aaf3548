// `npm run build` (and `npm ci`, through `prepare`): the client SDK (packages/client/dist), then the
// server (dist/), each from a clean folder so no output of a moved or deleted source survives,
// the SQL migrations beside the compiled database code, where src/db/client.ts looks for them,
// and the web console (web/ → dist/web, which the server serves at `/`: docs/console.md).
// `node scripts/build.js client` (or `server`, `web`) builds one of them (scripts/test.js runs the
// server's and the console's builds beside the tests' compilation, once the SDK they need is built).
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs tsc with `args` in the repository, its messages passed through; rejects when it fails. */
export async function compile(...args) {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [tsc, ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    process.stdout.write(stdout);
  } catch (err) {
    process.stdout.write(err.stdout ?? '');
    process.stderr.write(err.stderr ?? '');
    throw new Error(`tsc ${args.join(' ')} failed`);
  }
}

export const steps = {
  async client() {
    rmSync(`${root}/packages/client/dist`, { recursive: true, force: true });
    await compile('-p', 'packages/client/tsconfig.json');
  },
  async server() {
    rmSync(`${root}/dist`, { recursive: true, force: true });
    await compile('-p', 'tsconfig.build.json');
    cpSync(`${root}/src/db/migrations`, `${root}/dist/db/migrations`, { recursive: true });
  },
  /** After the server's step, which empties dist/. */
  async web() {
    // Loaded here: building the SDK or the server needs no Vite.
    const { build } = await import('vite');
    await build({ configFile: `${root}/web/vite.config.ts`, logLevel: 'warn' });
    // Compressed once here rather than on every answer: the server sends the .br or .gz beside a
    // file to a browser that takes it (@fastify/static's preCompressed, src/http/console.ts).
    for (const file of readdirSync(`${root}/dist/web/assets`)) {
      if (!/\.(js|css|svg)$/.test(file)) continue;
      const path = `${root}/dist/web/assets/${file}`;
      const content = readFileSync(path);
      writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
    }
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2);
  try {
    for (const [name, step] of Object.entries(steps)) if (wanted.length === 0 || wanted.includes(name)) await step();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}
