import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf, CSRF_COOKIE, SESSION_COOKIE } from '../../http/auth.js';
import { noStore } from '../../http/cache.js';
import { ERROR_RESPONSES, IdParams, Problem } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { presentAccount } from '../accounts/accounts.schemas.js';
import { ApiToken, CreatedApiToken, CreateTokenBody, LoginBody, LoginResponse, presentToken } from './auth.schemas.js';
import { createApiToken, listApiTokens, login, revokeToken, SESSION_TTL_MS } from './auth.service.js';

export const authRoutes: FastifyPluginAsyncZod<{ deps: Deps; secureCookies: boolean }> = async (app, { deps, secureCookies }) => {
  const tags = ['auth'];
  app.post('/v1/auth/login', {
    onRequest: noStore,
    schema: {
      tags,
      operationId: 'logIn',
      description: 'Checks e-mail and password and starts a session: its token in the answer, the HTTP-only session cookie and the CSRF cookie that state-changing calls made with the session cookie echo. 401 INVALID_CREDENTIALS; repeated failures are slowed and then refused (429 TOO_MANY_ATTEMPTS).',
      summary: 'Log in with e-mail and password',
      security: [],
      body: LoginBody,
      response: { 200: LoginResponse, 429: Problem, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const session = await login(deps, request.body, request.ip).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'INVALID_CREDENTIALS') app.licensingMetrics.loginFailed('invalid_credentials');
      if (err instanceof AppError && err.code === 'TOO_MANY_ATTEMPTS') app.licensingMetrics.loginFailed('throttled');
      throw err;
    });
    const cookie = { path: '/', sameSite: 'lax' as const, secure: secureCookies, maxAge: SESSION_TTL_MS / 1000 };
    reply.setCookie(SESSION_COOKIE, session.secret, { ...cookie, httpOnly: true });
    reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...cookie, httpOnly: false });
    return {
      token: session.secret,
      csrfToken: session.csrfToken,
      expiresAt: session.expiresAt.toISOString(),
      account: presentAccount(session.account),
    };
  });

  app.post('/v1/auth/logout', {
    schema: { tags, operationId: 'logOut', description: 'Ends the session of the token or cookie sent, and clears the session and CSRF cookies; answers 204.', summary: 'End the current session', response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const actor = actorOf(request);
    if (actor.tokenId && request.auth?.kind === 'session') await revokeToken(deps, actor, actor.tokenId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  app.post('/v1/tokens', {
    onRequest: noStore,
    schema: { tags, operationId: 'createToken', description: 'Creates a named API token for your account, optionally with an expiry; the secret is in this answer only.', summary: 'Create an API token (the secret is shown once)', body: CreateTokenBody, response: { 201: CreatedApiToken, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { token, secret } = await createApiToken(deps, actorOf(request), request.body);
    return reply.code(201).send({ ...presentToken(token), token: secret });
  });

  app.get('/v1/tokens', {
    schema: { tags, operationId: 'listTokens', description: 'Your API tokens, without their secrets.', summary: 'Your API tokens', response: { 200: z.object({ data: z.array(ApiToken) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listApiTokens(deps, actorOf(request))).map(presentToken) }));

  app.delete('/v1/tokens/:id', {
    schema: { tags, operationId: 'revokeToken', description: 'Revokes one of your API tokens at once; answers 204.', summary: 'Revoke one of your API tokens', params: IdParams, response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await revokeToken(deps, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });
};
