import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import {
  CreateFeatureBody,
  CreateMeterBody,
  CreatePackageBody,
  Feature,
  ListPackagesQuery,
  Meter,
  Package,
  PackageParams,
  presentFeature,
  presentMeter,
  presentPackage,
} from './catalog.schemas.js';
import { createFeature, createMeter, createPackage, deletePackage, listCatalog, listPackages } from './catalog.service.js';

export const catalogRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const tags = ['catalog'];
  app.post('/v1/pools/:id/meters', {
    schema: { tags, operationId: 'createMeter', description: 'Adds a meter (a countable resource licenses limit, such as seats or SIP numbers) to the catalog of a root, optionally drawing on other meters. Operators of the root. 409 CATALOG_KEY_TAKEN for a key in use; 422 DRAW_CYCLE for draws that would form a cycle.', summary: 'Add a meter to a root\'s catalog', params: IdParams, body: CreateMeterBody, response: { 201: Meter, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentMeter(await createMeter(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/meters', {
    schema: { tags, operationId: 'listMeters', description: 'Every meter of the catalog of the pool\'s root, with what each draws on.', summary: 'Meters of the pool\'s root catalog', params: IdParams, response: { 200: z.object({ data: z.array(Meter) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listCatalog(deps, actorOf(request), request.params.id)).meters.map(presentMeter) }));

  app.post('/v1/pools/:id/features', {
    schema: { tags, operationId: 'createFeature', description: 'Adds a feature (a switch a license turns on) to the catalog of a root. Operators of the root. 409 CATALOG_KEY_TAKEN for a key in use.', summary: 'Add a feature to a root\'s catalog', params: IdParams, body: CreateFeatureBody, response: { 201: Feature, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentFeature(await createFeature(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/features', {
    schema: { tags, operationId: 'listFeatures', description: 'Every feature of the catalog of the pool\'s root.', summary: 'Features of the pool\'s root catalog', params: IdParams, response: { 200: z.object({ data: z.array(Feature) }), ...ERROR_RESPONSES } },
  }, async (request) => ({ data: (await listCatalog(deps, actorOf(request), request.params.id)).features.map(presentFeature) }));

  app.post('/v1/pools/:id/packages', {
    schema: { tags, operationId: 'createPackage', description: 'Adds a software package version for a device type, tied to a feature or a meter: members entitled to it receive it on sync. Operators of the root. 409 PACKAGE_EXISTS for a version already there.', summary: "Add a software package for a device type to a root's catalog, tied to a feature or a meter (operators)", params: IdParams, body: CreatePackageBody, response: { 201: Package, ...ERROR_RESPONSES } },
  }, async (request, reply) => reply.code(201).send(presentPackage(await createPackage(deps, actorOf(request), request.params.id, request.body))));

  app.get('/v1/pools/:id/packages', {
    schema: { tags, operationId: 'listPackages', description: 'The packages of the catalog of the pool\'s root, optionally for one device type, with cursor pages.', summary: "Packages of the pool's root catalog", params: IdParams, querystring: ListPackagesQuery, response: { 200: Page(Package), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listPackages(deps, actorOf(request), request.params.id, request.query), request.query.limit, presentPackage));

  app.delete('/v1/pools/:id/packages/:packageId', {
    schema: { tags, operationId: 'withdrawPackage', description: 'Withdraws a package from the catalog: sync stops delivering it. Operators of the root; answers 204.', summary: 'Withdraw a package: sync stops delivering it (operators)', params: PackageParams, response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await deletePackage(deps, actorOf(request), request.params.id, request.params.packageId);
    return reply.code(204).send(null);
  });
};
