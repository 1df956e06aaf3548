import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { contentSecurityPolicy } from './security-headers.js';

/**
 * The placeholder Vite writes as every tag's `nonce` in index.html (web/vite.config.ts,
 * `html.cspNonce`); each answer of the page replaces it with a fresh nonce.
 */
export const CSP_NONCE_PLACEHOLDER = 'LICENSEPOOL_CSP_NONCE';

/** Paths the API owns: a miss there stays the API's problem+json 404, never the console's page. */
const API_PREFIXES = ['/v1', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics', '/.well-known'];

/** Whether `path` belongs to the API: one of its prefixes, or anything under one. */
const isApiPath = (path: string): boolean => API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/** Whether the built console is at `dir` (its index.html), so app.ts registers it only then. */
export const consoleBuilt = (dir: string): boolean => existsSync(join(dir, 'index.html'));

/**
 * Serves the web console built by Vite (`dist/web`) from this process at `/`:
 * - its hashed files under /assets with a year's immutable cache (a new build has new names),
 *   compressed at build time (brotli or gzip, as the browser accepts);
 * - index.html for `/` and for every other GET that asks for HTML outside the API's paths
 *   (history fallback: /pools/pool_… reloaded in the browser is the console's route), never
 *   cached, with a nonce of its own in place of the build's placeholder and in the page's
 *   `style-src`, so the component library may add its <style> tags while the policy still
 *   refuses every other inline style and script.
 * Anything else (an unknown API path, a JSON request) gets the API's problem+json 404.
 */
export async function registerConsole(app: FastifyInstance, options: { dir: string; https: boolean }): Promise<void> {
  const page = readFileSync(join(options.dir, 'index.html'), 'utf8');
  await app.register(fastifyStatic, {
    root: options.dir,
    // One route per built file, read once at start: no file-system look-up for other paths.
    wildcard: false,
    index: false,
    globIgnore: ['index.html', '**/*.br', '**/*.gz'],
    // The .br and .gz files scripts/build.js writes beside each asset.
    preCompressed: true,
    decorateReply: false,
    schemaHide: true,
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    },
  });

  const sendPage = (reply: FastifyReply) => {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .header('cache-control', 'no-store')
      .header('content-security-policy', contentSecurityPolicy({ https: options.https, styleNonce: nonce }))
      .type('text/html; charset=utf-8')
      .send(page.replaceAll(CSP_NONCE_PLACEHOLDER, nonce));
  };
  const wantsPage = (request: FastifyRequest) => {
    const path = request.url.split('?')[0]!;
    return !isApiPath(path) && (request.headers.accept ?? '').includes('text/html');
  };
  // Any query: the console's routes keep their own search parameters (filters, a redirect).
  const schema = { hide: true, querystring: z.looseObject({}) };
  app.get('/', { schema }, async (request, reply) => (wantsPage(request) ? sendPage(reply) : reply.callNotFound()));
  app.get('/*', { schema }, async (request, reply) => (wantsPage(request) ? sendPage(reply) : reply.callNotFound()));
}
