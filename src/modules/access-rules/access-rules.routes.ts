import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParam, IdParams } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { AccessRule, AccessVerdict, CheckAccessQuery, CreateAccessRuleBody, presentAccessRule } from './access-rules.schemas.js';
import { checkAccess, createAccessRule, listAccessRules, removeAccessRule } from './access-rules.service.js';

export const accessRuleRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['access rules'];
  app.post('/v1/pools/:id/access-rules', {
    schema: { tags, operationId: 'createAccessRule', description: 'Adds a rule that admits or excludes an e-mail address or a domain for new members of the pool and its subtree (R1). 409 ACCESS_RULE_EXISTS for the same rule twice.', summary: 'Admit or exclude by e-mail address or domain (R1)', params: IdParams, body: CreateAccessRuleBody, response: { 201: AccessRule, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentAccessRule(await createAccessRule(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/access-rules', {
    schema: { tags, operationId: 'listAccessRules', description: 'The pool\'s own access rules; the rules of its ancestors apply too.', summary: 'The pool\'s own access rules (its ancestors\' apply too)', params: IdParams, response: { 200: z.object({ data: z.array(AccessRule) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listAccessRules(deps, actorOf(request), request.params.id)).map(presentAccessRule) }));

  app.get('/v1/pools/:id/access-rules/check', {
    schema: { tags, operationId: 'checkAccess', description: 'Whether the pool admits an e-mail address under the rules of every pool on its path, and which rule decided.', summary: 'Whether the pool admits an address, by the rules of every pool on its path', params: IdParams, querystring: CheckAccessQuery, response: { 200: AccessVerdict, ...ERROR_RESPONSES } },
  }, async (request) => checkAccess(deps, actorOf(request), request.params.id, request.query.email));

  app.delete('/v1/pools/:id/access-rules/:ruleId', {
    schema: { tags, operationId: 'deleteAccessRule', description: 'Removes one of the pool\'s access rules; answers 204.', summary: 'Remove an access rule', params: z.object({ id: IdParam, ruleId: IdParam }).strict(), response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await removeAccessRule(deps, actorOf(request), request.params.id, request.params.ruleId);
    return reply.code(204).send(null);
  });
};
