import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { Jwks, KeyParams, presentJwk, presentSigningKey, SigningKey } from './signing.schemas.js';
import { listSigningKeys, publishedKeys, retireSigningKey, rotateSigningKey } from './signing.service.js';

/** Verifiers may cache the JWKS this long; a retired key can stay trusted by a cache as long. */
const JWKS_MAX_AGE_SECONDS = 300;

export const signingRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['signing'];

  app.get('/.well-known/jwks.json', {
    schema: {
      tags,
      operationId: 'getJwks',
      description: 'The public keys (JWKS) that verify signed license tokens: the active and verifying keys of every root. Public and cacheable.',
      summary: 'Public keys that verify license tokens (active and verifying keys of every root)',
      security: [],
      response: { 200: Jwks },
    },
  }, async (_request, reply) => {
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    return { keys: (await publishedKeys(deps)).map((k) => presentJwk(k.publicJwk)) };
  });

  app.get('/v1/pools/:id/signing-keys', {
    schema: { tags, operationId: 'listSigningKeys', description: 'The root\'s signing keys with their status; public halves only.', summary: 'The root\'s signing keys (public halves only)', params: IdParams, response: { 200: z.object({ data: z.array(SigningKey) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listSigningKeys(deps, actorOf(request), request.params.id)).map(presentSigningKey) }));

  app.post('/v1/pools/:id/signing-keys/rotate', {
    schema: {
      tags,
      operationId: 'rotateSigningKey',
      description: 'Makes a new active signing key for the root; licenses are signed with it from now on, and the previous active key keeps verifying until retired.',
      summary: 'Sign with a new key from now on; the previous active key keeps verifying until retired',
      params: IdParams,
      response: { 201: SigningKey, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => reply.code(201).send(presentSigningKey(await rotateSigningKey(deps, actorOf(request), request.params.id))));

  app.post('/v1/pools/:id/signing-keys/:kid/retire', {
    schema: {
      tags,
      operationId: 'retireSigningKey',
      description: 'Unpublishes a verifying key from the JWKS: licenses it signed stop verifying.',
      summary: 'Unpublish a verifying key: licenses it signed stop verifying',
      params: KeyParams,
      response: { 200: SigningKey, ...ERROR_RESPONSES },
    },
  }, async (request) => presentSigningKey(await retireSigningKey(deps, actorOf(request), request.params.id, request.params.kid)));
};
