import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { assertUtf8Charset, utf8Text } from '../../http/input.js';
import { ERROR_RESPONSES, IdParams, Page, Problem, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { AppError } from '../../lib/errors.js';
import { AddMemberBody, ListMembersQuery, Member, MemberActionParams, MemberEntitlements, presentEntitlements, presentMember } from './members.schemas.js';
import { addMember, decideMember, getEntitlements, getMember, listMembers, removeMember } from './members.service.js';
import { Device, ListDevicesQuery, presentDevice, RegisterDeviceBody, ReportDeviceBody } from './devices.schemas.js';
import { listDevices, registerDevice, reportDevice } from './devices.service.js';
import { IMPORT_BODY_LIMIT, ImportMembersBody, ImportMembersQuery, ImportMembersResult } from './members-import.schemas.js';
import { importMembers } from './members.import.js';

export const memberRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['members'];
  app.post('/v1/pools/:id/members', {
    schema: { tags, operationId: 'addMember', description: 'Adds a person (by e-mail) or a device (by serial and type) to the pool; the member starts `pending` until an operator verifies it. Access rules of the pool\'s path apply. 409 MEMBER_EXISTS or MEMBER_IN_OTHER_POOL.', summary: 'Add a person (by e-mail) or a device (by serial and type); starts pending', params: IdParams, body: AddMemberBody, response: { 201: Member, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentMember(await addMember(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/members', {
    schema: { tags, operationId: 'listMembers', description: 'The members of the pool, optionally of one status, with cursor pages.', summary: 'Members of a pool', params: IdParams, querystring: ListMembersQuery, response: { 200: Page(Member), ...ERROR_RESPONSES } },
  }, async (request) => {
    const rows = await listMembers(deps, actorOf(request), request.params.id, request.query);
    return toPage(rows.map((r) => ({ ...r, id: r.member.id })), request.query.limit, presentMember);
  });

  app.get('/v1/members/:id', {
    schema: { tags, operationId: 'getMember', description: 'One member: its pool, kind, status and the person or device it stands for.', summary: 'Read a member', params: IdParams, response: { 200: Member, ...ERROR_RESPONSES } },
  }, async (request) => presentMember(await getMember(deps, actorOf(request), request.params.id)));

  app.get('/v1/members/:id/entitlements', {
    schema: {
      tags,
      operationId: 'getMemberEntitlements',
      description: 'What the member may use now: its effective features and remaining counts per meter, with end dates, after the whole ancestor chain. For the member\'s own account, or its pool\'s managers.',
      summary: "Entitlements: the member's effective features and remaining counts, with end dates, after its whole ancestor chain (its own account, or its pool's managers)",
      params: IdParams,
      response: { 200: MemberEntitlements, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const { view, at, entitlements } = await getEntitlements(deps, actorOf(request), request.params.id);
    return presentEntitlements(view, at, entitlements);
  });

  app.post('/v1/members/:id/:action', {
    schema: { tags, operationId: 'reviewMember', description: 'Operators verify (`verify`) or reject (`reject`) a pending member; only verified members may claim.', summary: 'Verify or reject a member (operators)', params: MemberActionParams, response: { 200: Member, ...ERROR_RESPONSES } },
  }, async (request) => presentMember(await decideMember(deps, actorOf(request), request.params.id, request.params.action)));

  app.delete('/v1/members/:id', {
    schema: { tags, operationId: 'removeMember', description: 'Removes the member at once; its live claims end. Answers 204.', summary: 'Remove a member at once', params: IdParams, response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await removeMember(deps, actorOf(request), request.params.id);
    return reply.code(204).send(null);
  });

  const deviceTags = ['devices'];
  app.post('/v1/pools/:id/devices', {
    schema: { tags: deviceTags, operationId: 'registerDevice', description: 'Adds a device by serial and type to the root\'s device registry (operators). 409 DEVICE_EXISTS for a serial already there.', summary: "Register a device in the root's registry (operators)", params: IdParams, body: RegisterDeviceBody, response: { 201: Device, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentDevice(await registerDevice(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/devices', {
    schema: { tags: deviceTags, operationId: 'listDevices', description: 'The root\'s device registry, or the one device with the serial given (operators); cursor pages.', summary: "The root's device registry, or the device with a serial (operators)", params: IdParams, querystring: ListDevicesQuery, response: { 200: Page(Device), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listDevices(deps, actorOf(request), request.params.id, request.query), request.query.limit, presentDevice));

  app.post('/v1/devices/:id/report', {
    schema: {
      tags: deviceTags,
      operationId: 'reportDevice',
      description: 'The root\'s operators report a device lost, stolen or found. Lost or stolen revokes its claims at once and blocks it (409 DEVICE_BLOCKED) until found.',
      summary: "Report a device lost, stolen or found (the root's operators); lost or stolen revokes its claims at once",
      params: IdParams,
      body: ReportDeviceBody,
      response: { 200: Device, ...ERROR_RESPONSES },
    },
  }, async (request) => presentDevice(await reportDevice(deps, actorOf(request), request.params.id, request.body)));

  // Bulk import takes a CSV file. Its own scope, so that only this route reads text/csv (and
  // only text/csv: anything else answers 415) and takes a body larger than 1 MiB.
  await app.register(async (csv) => {
    csv.removeAllContentTypeParsers();
    csv.addContentTypeParser('text/csv', { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, async (request: FastifyRequest, body: Buffer) => {
      assertUtf8Charset(request.headers['content-type']);
      const text = utf8Text(body);
      if (text === null) throw new AppError('VALIDATION_FAILED', 'body: the file is not UTF-8 text', { errors: [{ path: 'body', message: 'the file is not UTF-8 text' }] });
      return text;
    });
    csv.withTypeProvider<ZodTypeProvider>().post('/v1/pools/:id/members/import', {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags,
        operationId: 'importMembers',
        description: 'Adds members from a CSV file (`text/csv`: people by e-mail, devices by serial and type) and answers a result per line. With `?atomic=true` nothing is written when any line is bad (422 IMPORT_REJECTED with the lines).',
        summary: 'Import members from a CSV file (people by e-mail, devices by serial and type): a result per line; all or nothing with ?atomic=true',
        consumes: ['text/csv'],
        params: IdParams,
        querystring: ImportMembersQuery,
        body: ImportMembersBody,
        response: { 200: ImportMembersResult, ...ERROR_RESPONSES, 413: Problem, 415: Problem },
      },
    }, async (request) => importMembers(deps, actorOf(request), request.params.id, request.body, { atomic: request.query.atomic === 'true' }));
  });
};
