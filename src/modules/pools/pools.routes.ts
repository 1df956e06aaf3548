import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { noStore } from '../../http/cache.js';
import { ERROR_RESPONSES, IdParam, IdParams, Page, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import {
  AcceptTermsBody,
  DeputyBody,
  GrantRoleBody,
  PaymentMethodBody,
  PoolInitialization,
  presentInitialization,
  ListedPool,
  ListPoolsQuery,
  CreatePoolBody,
  CreatedRoot,
  CreateRootBody,
  Pool,
  PoolAction,
  presentPool,
  presentRole,
  RoleBinding,
  UpdatePoolBody,
} from './pools.schemas.js';
import {
  acceptTerms,
  addDeputy,
  changePoolStatus,
  createPool,
  createRoot,
  getPool,
  grantRole,
  listPools,
  listRoles,
  removeDeputy,
  revokeRole,
  setPaymentMethod,
  updatePool,
} from './pools.service.js';

export const poolRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['pools'];

  app.post('/v1/pools', {
    schema: { tags, summary: 'Create a pool (a root when parentId is absent)', body: CreatePoolBody, response: { 201: Pool, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentPool(await createPool(deps, actorOf(request), request.body))));

  app.post('/v1/roots', {
    // The answer may carry the new operator's generated password.
    onRequest: noStore,
    schema: {
      tags,
      summary: 'Create a vendor root and its first operator in one step (superusers; the operator account is created when no account has the e-mail)',
      body: CreateRootBody,
      response: { 201: CreatedRoot, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { pool, operator } = await createRoot(deps, actorOf(request), request.body);
    return reply.code(201).send({ pool: presentPool(pool), operator });
  });

  app.get('/v1/pools', {
    schema: {
      tags,
      summary: 'List the pools you can see: children of a pool (parentId), where your tree starts (top=true), or by name (q); tree=true adds what a tree view needs',
      querystring: ListPoolsQuery,
      response: { 200: Page(ListedPool), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { rows, tree } = await listPools(deps, actorOf(request), request.query);
    return toPage(rows, request.query.limit, (p) => ({ ...presentPool(p), ...(tree ? { tree: tree.get(p.id)! } : {}) }));
  });

  app.get('/v1/pools/:id', {
    schema: { tags, summary: 'Read a pool', params: IdParams, response: { 200: Pool, ...ERROR_RESPONSES } },
  }, async (request) => presentPool(await getPool(deps, actorOf(request), request.params.id)));

  app.patch('/v1/pools/:id', {
    schema: { tags, summary: 'Change a pool\'s name, settings or billing address', params: IdParams, body: UpdatePoolBody, response: { 200: Pool, ...ERROR_RESPONSES } },
  }, async (request) => presentPool(await updatePool(deps, actorOf(request), request.params.id, request.body)));

  app.post('/v1/pools/:id/:action', {
    schema: {
      tags,
      summary: 'Activate, suspend, resume or close a pool',
      params: PoolAction,
      response: { 200: Pool, ...ERROR_RESPONSES },
    },
  }, async (request) => presentPool(await changePoolStatus(deps, actorOf(request), request.params.id, request.params.action)));

  app.post('/v1/pools/:id/roles', {
    schema: { tags, summary: 'Give an account a role at the pool (and its subtree)', params: IdParams, body: GrantRoleBody, response: { 201: RoleBinding, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { binding, account } = await grantRole(deps, actorOf(request), request.params.id, request.body);
    return reply.code(201).send(presentRole(binding, account));
  });

  app.get('/v1/pools/:id/roles', {
    schema: { tags, summary: 'Roles held at the pool', params: IdParams, response: { 200: z.object({ data: z.array(RoleBinding) }), ...ERROR_RESPONSES } },
  }, async (request) => ({
    data: (await listRoles(deps, actorOf(request), request.params.id)).map((r) => presentRole(r.binding, r)),
  }));

  app.delete('/v1/pools/:id/roles/:roleId', {
    schema: { tags, summary: 'Take a role away', params: z.object({ id: IdParam, roleId: IdParam }).strict(), response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await revokeRole(deps, actorOf(request), request.params.id, request.params.roleId);
    return reply.code(204).send(null);
  });

  app.post('/v1/pools/:id/terms', {
    schema: { tags, summary: 'Accept the terms (the version is recorded with who and when)', params: IdParams, body: AcceptTermsBody, response: { 200: PoolInitialization, ...ERROR_RESPONSES } },
  }, async (request) => presentInitialization(await acceptTerms(deps, actorOf(request), request.params.id, request.body.version)));

  app.post('/v1/pools/:id/payment-method', {
    schema: { tags, summary: 'Give the payment provider\'s reference (never card data)', params: IdParams, body: PaymentMethodBody, response: { 200: PoolInitialization, ...ERROR_RESPONSES } },
  }, async (request) => presentInitialization(await setPaymentMethod(deps, actorOf(request), request.params.id, request.body.reference)));

  app.post('/v1/pools/:id/deputies', {
    schema: { tags, summary: 'Add a deputy: same rights as the manager', params: IdParams, body: DeputyBody, response: { 201: RoleBinding, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { binding, account } = await addDeputy(deps, actorOf(request), request.params.id, request.body.email);
    return reply.code(201).send(presentRole(binding, account));
  });

  app.delete('/v1/pools/:id/deputies/:accountId', {
    schema: { tags, summary: 'Remove a deputy', params: z.object({ id: IdParam, accountId: IdParam }).strict(), response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await removeDeputy(deps, actorOf(request), request.params.id, request.params.accountId);
    return reply.code(204).send(null);
  });
};
