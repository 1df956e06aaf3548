import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { certificateFileName, renderCertificate } from './licenses.certificate.js';
import { licenseAssignments, licenseCertificateData, licenseSummary, licenseUsingMembers } from './licenses.detail.js';
import { LicenseAssignments, LicenseSummary, UsingMember, UsingMembersQuery } from './licenses-detail.schemas.js';

/** The license detail view (L8) and certificate (L9); docs/licenses.md "Detail and certificate". */
export const licenseDetailRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['licenses'];

  app.get('/v1/licenses/:id/summary', {
    schema: {
      tags,
      operationId: 'getLicenseSummary',
      description: 'The General tab of the license view: pool, start, end, duration, access points and rooms (maximum and in use), modules and limits.',
      summary: 'General data of the license view: pool, start, end, duration, access points and rooms (maximum and in use), modules, limits',
      params: IdParams,
      response: { 200: LicenseSummary, ...ERROR_RESPONSES },
    },
  }, async (request) => licenseSummary(deps, actorOf(request), request.params.id));

  app.get('/v1/licenses/:id/assignments', {
    schema: {
      tags,
      operationId: 'getLicenseAssignments',
      description: 'The Assignments tab: the pool the license is bound to, what uses the meters it gives there, and its configured elements.',
      summary: 'Assignments: the pool the license is bound to, what uses the meters it gives there, and its configured elements',
      params: IdParams,
      response: { 200: LicenseAssignments, ...ERROR_RESPONSES },
    },
  }, async (request) => licenseAssignments(deps, actorOf(request), request.params.id));

  app.get('/v1/licenses/:id/assignments/members', {
    schema: {
      tags,
      operationId: 'listLicenseMembers',
      description: 'The members with live claims, in the license\'s pool subtree, on the meters the license gives; cursor pages.',
      summary: "The members using the license: live claims in its pool's subtree on the meters it gives",
      params: IdParams,
      querystring: UsingMembersQuery,
      response: { 200: Page(UsingMember), ...ERROR_RESPONSES },
    },
  }, async (request) => toPage(await licenseUsingMembers(deps, actorOf(request), request.params.id, request.query), request.query.limit, (m) => m));

  app.get('/v1/licenses/:id/certificate.pdf', {
    schema: {
      tags,
      operationId: 'getLicenseCertificate',
      description: 'A one-page PDF certificate of the license: key, pool or location, modules, limits, term and issue date.',
      summary: 'The license certificate (PDF, one page): key, pool/location, modules, limits, term and issue date',
      params: IdParams,
      produces: ['application/pdf'],
      response: { 200: z.string().describe('application/pdf'), ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const detail = await licenseCertificateData(deps, actorOf(request), request.params.id);
    const pdf = await renderCertificate({ ...detail, issuedAt: deps.clock.now() });
    // Bytes are sent as they are, past the serializer; the 200 schema only documents them.
    return reply
      .header('content-type', 'application/pdf')
      .header('content-disposition', `attachment; filename="${certificateFileName(detail.license)}"`)
      .header('cache-control', 'private, no-store')
      .send(pdf as unknown as string);
  });
};
