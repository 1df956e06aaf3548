import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of every response, written for the web console that will be served
 * from this origin: its scripts, styles and fonts are files of this origin, nothing inline, no
 * eval; images and fonts may be data: URIs (a bundler inlines small assets that way); no plugins,
 * no <base> elsewhere, forms post here only, and no other site may frame a page (clickjacking).
 * Swagger UI at /docs fits it as it is: its page loads its scripts and styles as files from
 * /docs/static, and its stylesheet's icons are data: images (test/http/security.test.ts reads the
 * page and checks every reference against this policy).
 */
export const CONTENT_SECURITY_POLICY = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
} as const;

/**
 * The policy as a header value; with `styleNonce`, style-src also admits <style> elements that
 * carry it (the console's index.html, src/http/console.ts: its component library adds its styles
 * as <style> tags). Written the way helmet writes it.
 */
export function contentSecurityPolicy(options: { https: boolean; styleNonce?: string }): string {
  const directives: Record<string, readonly string[]> = {
    ...CONTENT_SECURITY_POLICY,
    ...(options.styleNonce ? { 'style-src': [...CONTENT_SECURITY_POLICY['style-src'], `'nonce-${options.styleNonce}'`] } : {}),
    ...(options.https ? { 'upgrade-insecure-requests': [] } : {}),
  };
  return Object.entries(directives)
    .map(([name, values]) => [name, ...values].join(' '))
    .join(';');
}

/**
 * Security headers on every response (@fastify/helmet): the policy above, `nosniff`, no referrer,
 * frames refused, and HSTS only when the server is reached over HTTPS (PUBLIC_URL), since a
 * browser told to insist on HTTPS for a plain-HTTP host cannot reach it at all.
 */
export async function registerSecurityHeaders(app: FastifyInstance, options: { https: boolean }): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { ...CONTENT_SECURITY_POLICY, ...(options.https ? { 'upgrade-insecure-requests': [] } : {}) },
    },
    referrerPolicy: { policy: 'no-referrer' },
    // The same as frame-ancestors 'none', for browsers that predate it.
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
}
