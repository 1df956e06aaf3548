// The console's build (`npm run build` runs it through scripts/build.js): web/ → dist/web, which
// the server serves at `/` (src/http/console.ts).
import { fileURLToPath } from 'node:url';
import { tanstackRouter } from '@tanstack/router-plugin/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const web = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: web,
  base: '/',
  // The server puts a fresh nonce in place of this on every answer of index.html
  // (src/http/console.ts); Mantine reads it for its <style> tags (src/main.tsx).
  html: { cspNonce: 'LICENSEPOOL_CSP_NONCE' },
  plugins: [
    // Before react(): it turns src/routes/ into src/routeTree.gen.ts (checked in, so the type
    // check needs no build) and splits each route's page into its own chunk.
    tanstackRouter({ target: 'react', autoCodeSplitting: true, routesDirectory: `${web}src/routes`, generatedRouteTree: `${web}src/routeTree.gen.ts`, quoteStyle: 'single', semicolons: true }),
    react(),
  ],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    // Small files inline as data: URIs would be fine under the policy (img-src/font-src data:),
    // but scripts never are: everything is a file of this origin.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  // `npm run dev` serves the API on :3000; `npx vite web` serves the console with the API behind it.
  server: { proxy: { '/v1': 'http://localhost:3000' } },
});
