import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { Application, CreateApplicationBody, ListApplicationsQuery, presentApplication, RejectApplicationBody } from './applications.schemas.js';
import { approveApplication, createApplication, listApplications, rejectApplication } from './applications.service.js';

export const applicationRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['applications'];

  app.post('/v1/applications', {
    schema: { tags, operationId: 'createApplication', description: 'Any signed-in account applies for a new pool under a parent it can see, with company, contact, address and the manager\'s e-mail. The pool is created as `applied`.', summary: 'Apply for a pool under a parent (any signed-in account)', body: CreateApplicationBody, response: { 201: Application, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentApplication(await createApplication(deps, actorOf(request), request.body))));

  app.get('/v1/applications', {
    schema: { tags, operationId: 'listApplications', description: 'The applications under the pools you administer, optionally of one status; cursor pages.', summary: 'Applications under the pools you administer', querystring: ListApplicationsQuery, response: { 200: Page(Application), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listApplications(deps, actorOf(request), request.query), request.query.limit, presentApplication));

  app.post('/v1/applications/:id/approve', {
    schema: { tags, operationId: 'approveApplication', description: 'Approves an application: its pool becomes `initializing` with the named manager.', summary: 'Approve: the pool becomes initializing with the named manager', params: IdParams, response: { 200: Application, ...ERROR_RESPONSES } },
  }, async (request) => presentApplication(await approveApplication(deps, actorOf(request), request.params.id)));

  app.post('/v1/applications/:id/reject', {
    schema: { tags, operationId: 'rejectApplication', description: 'Rejects an application with a reason; the applied pool is closed.', summary: 'Reject with a reason: the applied pool is closed', params: IdParams, body: RejectApplicationBody, response: { 200: Application, ...ERROR_RESPONSES } },
  }, async (request) => presentApplication(await rejectApplication(deps, actorOf(request), request.params.id, request.body.reason)));
};
