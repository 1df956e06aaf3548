// `npm run build` (and `npm ci`, through `prepare`): the client SDK (packages/client/dist), then the
// server (dist/), each from a clean folder so no output of a moved or deleted source survives,
// the SQL migrations beside the compiled database code, where src/db/client.ts looks for them,
// and the web console (web/ → dist/web, which the server serves at `/`: docs/console.md).
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build as viteBuild } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compile = (project) => execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });

rmSync(`${root}/packages/client/dist`, { recursive: true, force: true });
compile('packages/client/tsconfig.json');
rmSync(`${root}/dist`, { recursive: true, force: true });
compile('tsconfig.build.json');
cpSync(`${root}/src/db/migrations`, `${root}/dist/db/migrations`, { recursive: true });
await viteBuild({ configFile: `${root}/web/vite.config.ts`, logLevel: 'warn' });
// Compressed once here rather than on every answer: the server sends the .br or .gz beside a
// file to a browser that takes it (@fastify/static's preCompressed, src/http/console.ts).
for (const file of readdirSync(`${root}/dist/web/assets`)) {
  if (!/\.(js|css|svg)$/.test(file)) continue;
  const path = `${root}/dist/web/assets/${file}`;
  const content = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
}
