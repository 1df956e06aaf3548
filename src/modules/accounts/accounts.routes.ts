import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { Account, ChangePasswordBody, CreateAccountBody, MyRole, presentAccount, UpdateAccountBody } from './accounts.schemas.js';
import { changeMyPassword, createAccount, listMyRoles, updateMyAccount } from './accounts.service.js';

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

  app.patch('/v1/accounts/me', {
    schema: { tags, operationId: 'updateMyAccount', description: 'Changes the name or postal address of the account you are logged in as ("My account"); the e-mail stays.', summary: 'Change your name or postal address', body: UpdateAccountBody, response: { 200: Account, ...ERROR_RESPONSES } },
  }, async (request) => presentAccount(await updateMyAccount(deps, actorOf(request), request.body)));

  app.post('/v1/accounts/me/password', {
    schema: {
      tags,
      operationId: 'changeMyPassword',
      description: 'Changes your password, given the one in use now. Every other session of the account ends; this one and API tokens stay.',
      summary: 'Change your password (your other sessions end)',
      body: ChangePasswordBody,
      response: { 204: z.null(), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    await changeMyPassword(deps, actorOf(request), request.body);
    return reply.code(204).send(null);
  });

  app.get('/v1/accounts/me/roles', {
    schema: { tags, operationId: 'listMyRoles', description: 'The roles you hold (operator, admin, manager, deputy) and the pool each is held at: what the console shows you and where.', summary: 'The roles you hold and the pools they are held at', response: { 200: z.object({ data: z.array(MyRole) }), ...ERROR_RESPONSES } },
  }, async (request) => ({
    data: (await listMyRoles(deps, actorOf(request))).map(({ role, pool }) => ({
      role,
      pool: { id: pool.id, rootId: pool.rootId, parentId: pool.parentId, depth: pool.depth, name: pool.name, kind: pool.kind, status: pool.status },
    })),
  }));
};
