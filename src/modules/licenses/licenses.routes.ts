import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, PageQuery, Problem, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { iso } from '../../lib/time.js';
import {
  ActivateLicenseBody,
  ConnectionBody,
  ConnectionResult,
  CreateLicenseBody,
  ExportLicensesQuery,
  HistoryEntry,
  License,
  LicenseActionParams,
  ListLicensesQuery,
  PlaceLicenseBody,
  presentLicense,
  UpdateLicenseBody,
} from './licenses.schemas.js';
import {
  activateLicense,
  changeLicenseStatus,
  createLicense,
  getLicense,
  licenseHistory,
  placeLicense,
  recordConnection,
  updateLicense,
} from './licenses.service.js';
import { exportLicensesCsv, listLicensesPage } from './licenses.list.js';

export const licenseRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['licenses'];
  const present = (l: Parameters<typeof presentLicense>[0]) => presentLicense(l, deps.clock.now());

  app.post('/v1/pools/:id/licenses', {
    schema: { tags, operationId: 'addPoolLicense', description: 'Adds a license with limits per meter, features and a validity period directly onto the pool (those who control it). A child license may not give more than its parent pool has: 422 LIMIT_EXCEEDS_PARENT, FEATURE_NOT_IN_PARENT or VALIDITY_OUTSIDE_PARENT, naming the meter or feature.', summary: 'Add a license straight onto a pool ("Add new license")', params: IdParams, body: PlaceLicenseBody, response: { 201: License, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(present(await placeLicense(deps, actorOf(request), request.params.id, request.body))));

  app.post('/v1/licenses', {
    schema: { tags, operationId: 'requestLicense', description: 'A root\'s operators make a license from request data (seed 003): it starts `pending_provision` with a new license key for the customer, who binds it to a pool with activateLicense.', summary: "Make a license by request (a root's operators): pending_provision, with a new key for the customer", body: CreateLicenseBody, response: { 201: License, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(present(await createLicense(deps, actorOf(request), request.body))));

  app.post('/v1/licenses/activate', {
    schema: {
      tags,
      operationId: 'activateLicense',
      description: '"Send Key": binds the license with this key to the pool for good (its managers, or the vendor). 422 KEY_INVALID for a mistyped key, 404 KEY_NOT_FOUND, 409 KEY_ALREADY_ACTIVATED; attempts are rate-limited (429 TOO_MANY_ATTEMPTS).',
      summary: '"Send Key": bind the license with this key to a pool for good (its managers, or the vendor); rate-limited',
      body: ActivateLicenseBody,
      response: { 200: License, ...ERROR_RESPONSES, 429: Problem },
    },
  }, async (request) => present(await activateLicense(deps, actorOf(request), request.body, request.ip)));

  app.post('/v1/pools/:id/connections', {
    schema: {
      tags,
      operationId: 'recordConnection',
      description: 'Counts a device connection toward the start rule of the pool\'s licenses that wait for connections (the pool\'s managers); answers which licenses started.',
      summary: "A device connected to the pool: counts toward the start of its licenses waiting for connections (the pool's managers)",
      params: IdParams,
      body: ConnectionBody,
      response: { 200: ConnectionResult, ...ERROR_RESPONSES },
    },
  }, async (request) => recordConnection(deps, actorOf(request), request.params.id, request.body));

  app.get('/v1/licenses', {
    schema: {
      tags,
      operationId: 'listLicenses',
      description: 'The licenses within your reach, filtered by status (several), pool, subtree, end date range and text; sorted by a column; keyset cursor pages.',
      summary: 'List the licenses the caller reaches: filters by status, pool, subtree, end date and text; sorts; cursor pages',
      querystring: ListLicensesQuery,
      response: { 200: Page(License), ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const page = await listLicensesPage(deps, actorOf(request), request.query);
    return { data: page.rows.map(present), nextCursor: page.nextCursor };
  });

  app.get('/v1/licenses.csv', {
    schema: {
      tags,
      operationId: 'exportLicensesCsv',
      description: 'The license list as CSV (RFC 4180), every page of it, streamed; takes the filters and sort of listLicenses.',
      summary: 'The same list as CSV, every page of it, streamed (filters and sort as GET /v1/licenses)',
      querystring: ExportLicensesQuery,
      produces: ['text/csv'],
      response: { 200: z.string().describe('CSV (RFC 4180, UTF-8 with a byte-order mark), a header row first; cells that could run as formulas start with \''), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const csv = await exportLicensesCsv(deps, actorOf(request), request.query);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="licenses-${deps.clock.now().toISOString().slice(0, 10)}.csv"`)
      // A stream is sent as it is, never serialized: the 200 schema only documents it.
      .send(csv as unknown as string);
  });

  app.get('/v1/licenses/:id', {
    schema: { tags, operationId: 'getLicense', description: 'The license with its status, limits, features, validity, start rule and billing. 404 when it is not within your reach.', summary: 'Read a license', params: IdParams, response: { 200: License, ...ERROR_RESPONSES } },
  }, async (request) => present(await getLicense(deps, actorOf(request), request.params.id)));

  app.patch('/v1/licenses/:id', {
    schema: { tags, operationId: 'updateLicense', description: 'Changes limits, features or validity (an upgrade); the change is kept in the license\'s history. Lowering a limit below use revokes the live claims above it. Checked against the parent pool as when added.', summary: 'Change a license (an upgrade, kept in its history)', params: IdParams, body: UpdateLicenseBody, response: { 200: License, ...ERROR_RESPONSES } },
  }, async (request) => present(await updateLicense(deps, actorOf(request), request.params.id, request.body)));

  app.post('/v1/licenses/:id/:action', {
    schema: { tags, operationId: 'changeLicenseStatus', description: 'Moves the license to another status: `suspend`, `resume` or `finalize`. 409 INVALID_TRANSITION when its status does not allow it.', summary: 'Suspend, resume or finalize a license', params: LicenseActionParams, response: { 200: License, ...ERROR_RESPONSES } },
  }, async (request) => present(await changeLicenseStatus(deps, actorOf(request), request.params.id, request.params.action)));

  app.get('/v1/licenses/:id/history', {
    schema: {
      tags,
      operationId: 'listLicenseHistory',
      description: 'Every change of the license, oldest first: who, when, the values before and after.',
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
