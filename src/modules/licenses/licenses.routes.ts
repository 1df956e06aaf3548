import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, PageQuery, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { iso } from '../../lib/time.js';
import {
  HistoryEntry,
  License,
  LicenseActionParams,
  ListLicensesQuery,
  PlaceLicenseBody,
  presentLicense,
  UpdateLicenseBody,
} from './licenses.schemas.js';
import { changeLicenseStatus, getLicense, licenseHistory, listLicenses, placeLicense, updateLicense } from './licenses.service.js';

export const licenseRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['licenses'];
  const present = (l: Parameters<typeof presentLicense>[0]) => presentLicense(l, deps.clock.now());

  app.post('/v1/pools/:id/licenses', {
    schema: { tags, summary: 'Add a license straight onto a pool ("Add new license")', params: IdParams, body: PlaceLicenseBody, response: { 201: License, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(present(await placeLicense(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/licenses', {
    schema: { tags, summary: 'List licenses', querystring: ListLicensesQuery, response: { 200: Page(License), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listLicenses(deps, actorOf(request), request.query), request.query.limit, present));

  app.get('/v1/licenses/:id', {
    schema: { tags, summary: 'Read a license', params: IdParams, response: { 200: License, ...ERROR_RESPONSES } },
  }, async (request) => present(await getLicense(deps, actorOf(request), request.params.id)));

  app.patch('/v1/licenses/:id', {
    schema: { tags, summary: 'Change a license (an upgrade, kept in its history)', params: IdParams, body: UpdateLicenseBody, response: { 200: License, ...ERROR_RESPONSES } },
  }, async (request) => present(await updateLicense(deps, actorOf(request), request.params.id, request.body)));

  app.post('/v1/licenses/:id/:action', {
    schema: { tags, summary: 'Suspend, resume or finalize a license', params: LicenseActionParams, response: { 200: License, ...ERROR_RESPONSES } },
  }, async (request) => present(await changeLicenseStatus(deps, actorOf(request), request.params.id, request.params.action)));

  app.get('/v1/licenses/:id/history', {
    schema: {
      tags,
      summary: 'Every change of the license: who, when, before, after',
      params: IdParams,
      querystring: z.object(PageQuery).strict(),
      response: { 200: Page(HistoryEntry), ...ERROR_RESPONSES },
    },
  }, async (request) =>
    toPage(await licenseHistory(deps, actorOf(request), request.params.id, request.query), request.query.limit, (e) => ({
      id: e.id,
      at: iso(e.at)!,
      action: e.action,
      actorId: e.actorId,
      before: e.before,
      after: e.after,
      requestId: e.requestId,
    })));
};
