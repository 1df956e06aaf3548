import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { Account, CreateAccountBody, presentAccount } from './accounts.schemas.js';
import { createAccount } from './accounts.service.js';

export const accountRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['accounts'];
  app.post('/v1/accounts', {
    schema: { tags, operationId: 'createAccount', description: 'Signs up a new account with e-mail, name and password. The account holds no role until one is granted or its application is approved. 409 EMAIL_TAKEN when the e-mail has an account.', summary: 'Create an account (sign up)', security: [], body: CreateAccountBody, response: { 201: Account, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const account = await createAccount(deps, request.auth?.actor ?? null, request.body);
    return reply.code(201).send(presentAccount(account));
  });

  app.get('/v1/accounts/me', {
    schema: { tags, operationId: 'getMyAccount', description: 'The account of the session or token that sends the request: e-mail, name, postal address and whether it is a superuser.', summary: 'The account you are logged in as', response: { 200: Account, ...ERROR_RESPONSES } },
  }, async (request) => {
    actorOf(request);
    return presentAccount(request.auth!.account);
  });
};
