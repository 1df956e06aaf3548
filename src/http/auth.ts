import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor, Deps } from '../lib/context.js';
import { csrfTokenFor, safeEqual } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import { authenticate, type Authenticated } from '../modules/auth/auth.service.js';

export const SESSION_COOKIE = 'lp_session';
export const CSRF_COOKIE = 'lp_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    auth: Authenticated | null;
    /** Credentials were sent but are unknown, expired or revoked. */
    authRejected: boolean;
  }
}

/**
 * Resolves the caller from `Authorization: Bearer …` (programs) or the session cookie (the web
 * UI). Cookie-authenticated unsafe requests must echo the session's CSRF token in
 * `X-CSRF-Token`: another site can make the browser send the cookie, but cannot read the token.
 */
export function registerAuth(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest('auth', null);
  app.decorateRequest('authRejected', false);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    let secret: string | undefined;
    let viaCookie = false;
    if (header !== undefined) {
      secret = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header)?.[1];
      if (!secret) {
        request.authRejected = true;
        return;
      }
    } else if (request.cookies[SESSION_COOKIE]) {
      secret = request.cookies[SESSION_COOKIE];
      viaCookie = true;
    }
    if (!secret) return;
    const auth = secret.length <= 200 ? await authenticate(deps, secret, request.id) : null;
    if (!auth) {
      request.authRejected = true;
      return;
    }
    if (viaCookie && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, csrfTokenFor(secret))) throw new AppError('CSRF_TOKEN_INVALID');
    }
    request.auth = auth;
  });
}

/** The authenticated actor of a request; 401 when there is none. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.auth) {
    throw new AppError('UNAUTHENTICATED', request.authRejected ? 'the token is invalid, expired or revoked' : 'send a bearer token or log in');
  }
  return request.auth.actor;
}
