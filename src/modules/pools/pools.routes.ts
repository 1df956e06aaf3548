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
    schema: { tags, operationId: 'createPool', description: 'Creates a sub-pool under `parentId` (administrators of the parent) or, without `parentId`, a root (superusers). A pool you cannot read answers 404; one you can read but not act on, 403.', summary: 'Create a pool (a root when parentId is absent)', body: CreatePoolBody, response: { 201: Pool, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentPool(await createPool(deps, actorOf(request), request.body))));

  app.post('/v1/roots', {
    // The answer may carry the new operator's generated password.
    onRequest: noStore,
    schema: {
      tags,
      operationId: 'createRoot',
      description: 'Superusers only. Creates a vendor root and grants its first operator, creating that account (with a generated password, shown once) when no account has the e-mail.',
      summary: 'Create a vendor root and its first operator in one step (superusers; the operator account is created when no account has the e-mail)',
      body: CreateRootBody,
      response: { 201: CreatedRoot, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const { pool, operator } = await createRoot(deps, actorOf(request), request.body);
    return reply.code(201).send({ pool: presentPool(pool), operator });
  });

  app.get('/v1/pools', {
    schema: { tags, operationId: 'listPools', description: 'The pools within your reach, filtered by parent, root, status and text in the name, in id order with cursor pages.', summary: 'List the pools you can see', querystring: ListPoolsQuery, response: { 200: Page(Pool), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listPools(deps, actorOf(request), request.query), request.query.limit, presentPool));

  app.get('/v1/pools/:id', {
    schema: { tags, operationId: 'getPool', description: 'The pool with its status, settings and billing address. A pool you cannot read answers 404; one you can read but not act on, 403.', summary: 'Read a pool', params: IdParams, response: { 200: Pool, ...ERROR_RESPONSES } },
  }, async (request) => presentPool(await getPool(deps, actorOf(request), request.params.id)));

  app.patch('/v1/pools/:id', {
    schema: { tags, operationId: 'updatePool', description: 'Changes the fields given. Managers change name, kind and billing address; the restriction switch, `validUntil`, `maxBorrowDays` and the queue are for those who control the pool (its operators, or an admin above it). A pool you cannot read answers 404; one you can read but not act on, 403.', summary: 'Change a pool\'s name, settings or billing address', params: IdParams, body: UpdatePoolBody, response: { 200: Pool, ...ERROR_RESPONSES } },
  }, async (request) => presentPool(await updatePool(deps, actorOf(request), request.params.id, request.body)));

  app.post('/v1/pools/:id/:action', {
    schema: {
      tags,
      operationId: 'changePoolStatus',
      description: 'Moves the pool to another status: `activate`, `suspend`, `resume` or `close`. 409 INVALID_TRANSITION when the status does not allow it. A pool you cannot read answers 404; one you can read but not act on, 403.',
      summary: 'Activate, suspend, resume or close a pool',
      params: PoolAction,
      response: { 200: Pool, ...ERROR_RESPONSES },
    },
  }, async (request) => presentPool(await changePoolStatus(deps, actorOf(request), request.params.id, request.params.action)));

  app.post('/v1/pools/:id/roles', {
    schema: { tags, operationId: 'grantRole', description: 'Grants a role (operator, admin, manager, deputy) at the pool to the account with the e-mail; the role holds in the whole subtree. One manager per pool: naming a new one replaces the old. 422 ACCOUNT_NOT_FOUND when no account has the e-mail.', summary: 'Give an account a role at the pool (and its subtree)', params: IdParams, body: GrantRoleBody, response: { 201: RoleBinding, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { binding, account } = await grantRole(deps, actorOf(request), request.params.id, request.body);
    return reply.code(201).send(presentRole(binding, account));
  });

  app.get('/v1/pools/:id/roles', {
    schema: { tags, operationId: 'listRoles', description: 'The role bindings held at this pool (not those inherited from above). A pool you cannot read answers 404; one you can read but not act on, 403.', summary: 'Roles held at the pool', params: IdParams, response: { 200: z.object({ data: z.array(RoleBinding) }), ...ERROR_RESPONSES } },
  }, async (request) => ({
    data: (await listRoles(deps, actorOf(request), request.params.id)).map((r) => presentRole(r.binding, r)),
  }));

  app.delete('/v1/pools/:id/roles/:roleId', {
    schema: { tags, operationId: 'revokeRole', description: 'Removes one role binding at the pool; answers 204. A pool you cannot read answers 404; one you can read but not act on, 403.', summary: 'Take a role away', params: z.object({ id: IdParam, roleId: IdParam }).strict(), response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await revokeRole(deps, actorOf(request), request.params.id, request.params.roleId);
    return reply.code(204).send(null);
  });

  app.post('/v1/pools/:id/terms', {
    schema: { tags, operationId: 'acceptTerms', description: 'Records that the pool accepts the given version of the terms, with who and when; part of initializing a pool.', summary: 'Accept the terms (the version is recorded with who and when)', params: IdParams, body: AcceptTermsBody, response: { 200: PoolInitialization, ...ERROR_RESPONSES } },
  }, async (request) => presentInitialization(await acceptTerms(deps, actorOf(request), request.params.id, request.body.version)));

  app.post('/v1/pools/:id/payment-method', {
    schema: { tags, operationId: 'setPaymentMethod', description: 'Stores the payment provider\'s reference for the pool; part of initializing a pool. Card data is never sent here.', summary: 'Give the payment provider\'s reference (never card data)', params: IdParams, body: PaymentMethodBody, response: { 200: PoolInitialization, ...ERROR_RESPONSES } },
  }, async (request) => presentInitialization(await setPaymentMethod(deps, actorOf(request), request.params.id, request.body.reference)));

  app.post('/v1/pools/:id/deputies', {
    schema: { tags, operationId: 'addDeputy', description: 'Grants the deputy role at the pool to the account with the e-mail; a deputy has the same rights as the manager.', summary: 'Add a deputy: same rights as the manager', params: IdParams, body: DeputyBody, response: { 201: RoleBinding, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { binding, account } = await addDeputy(deps, actorOf(request), request.params.id, request.body.email);
    return reply.code(201).send(presentRole(binding, account));
  });

  app.delete('/v1/pools/:id/deputies/:accountId', {
    schema: { tags, operationId: 'removeDeputy', description: 'Takes the deputy role at the pool away from the account; answers 204.', summary: 'Remove a deputy', params: z.object({ id: IdParam, accountId: IdParam }).strict(), response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await removeDeputy(deps, actorOf(request), request.params.id, request.params.accountId);
    return reply.code(204).send(null);
  });
};
