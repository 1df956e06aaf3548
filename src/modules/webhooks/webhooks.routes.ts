import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../http/auth.js';
import { noStore } from '../../http/cache.js';
import { ERROR_RESPONSES, IdParams, Page, PageQuery, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import {
  CreateWebhookBody,
  DeliveriesQuery,
  Delivery,
  DeliveryDetail,
  DeliveryParams,
  presentDelivery,
  presentDeliveryDetail,
  presentWebhook,
  UpdateWebhookBody,
  Webhook,
  WebhookParams,
  WebhookWithSecret,
} from './webhooks.schemas.js';
import { createWebhook, deleteWebhook, getDelivery, getWebhook, listDeliveries, listWebhooks, redeliver, rotateWebhookSecret, updateWebhook } from './webhooks.service.js';
import type { TargetPolicy } from './webhooks.targets.js';

const tags = ['webhooks'];
const withSecret = (w: Parameters<typeof presentWebhook>[0]) => ({ ...presentWebhook(w), secret: w.secret });

/** N6: a root's webhook endpoints and their delivery log (operators); docs/notifications.md "Webhooks". */
export const webhookRoutes: FastifyPluginAsyncZod<{ deps: Deps; targets: TargetPolicy }> = async (app, { deps, targets }) => {
  app.post('/v1/pools/:id/webhooks', {
    onRequest: noStore,
    schema: {
      tags,
      operationId: 'createWebhook',
      description: 'Registers an endpoint that receives signed deliveries of the chosen events anywhere in the root\'s tree (operators). The signing secret is in this answer only. 422 WEBHOOK_TARGET_FORBIDDEN for a private address.',
      summary: 'Register an endpoint that receives signed deliveries of the chosen events anywhere in the root’s tree (operators)',
      params: IdParams,
      body: CreateWebhookBody,
      response: { 201: WebhookWithSecret, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const created = await createWebhook(deps, actorOf(request), targets, request.params.id, request.body);
    return reply.code(201).send(withSecret(created));
  });

  app.get('/v1/pools/:id/webhooks', {
    schema: { tags, operationId: 'listWebhooks', description: 'The root\'s webhook endpoints (operators); cursor pages.', summary: "The root's webhook endpoints (operators)", params: IdParams, querystring: z.object(PageQuery).strict(), response: { 200: Page(Webhook), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listWebhooks(deps, actorOf(request), request.params.id, request.query), request.query.limit, presentWebhook));

  app.get('/v1/pools/:id/webhooks/:webhookId', {
    schema: { tags, operationId: 'getWebhook', description: 'One webhook endpoint of the root (operators), without its secret.', summary: 'One webhook endpoint (operators)', params: WebhookParams, response: { 200: Webhook, ...ERROR_RESPONSES } },
  }, async (request) => presentWebhook(await getWebhook(deps, actorOf(request), request.params.id, request.params.webhookId)));

  app.patch('/v1/pools/:id/webhooks/:webhookId', {
    schema: { tags, operationId: 'updateWebhook', description: 'Changes an endpoint\'s URL, events or description, or turns it off and on (operators); fields not given stay.', summary: 'Change an endpoint’s URL, events, description, or turn it off and on (operators)', params: WebhookParams, body: UpdateWebhookBody, response: { 200: Webhook, ...ERROR_RESPONSES } },
  }, async (request) => presentWebhook(await updateWebhook(deps, actorOf(request), targets, request.params.id, request.params.webhookId, request.body)));

  app.delete('/v1/pools/:id/webhooks/:webhookId', {
    schema: { tags, operationId: 'deleteWebhook', description: 'Removes an endpoint and its delivery log (operators); answers 204.', summary: 'Remove an endpoint and its delivery log (operators)', params: WebhookParams, response: { 204: z.null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    await deleteWebhook(deps, actorOf(request), request.params.id, request.params.webhookId);
    return reply.code(204).send(null);
  });

  app.post('/v1/pools/:id/webhooks/:webhookId/rotate-secret', {
    onRequest: noStore,
    schema: { tags, operationId: 'rotateWebhookSecret', description: 'Replaces the endpoint\'s signing secret; the new one is in this answer only (operators).', summary: 'Replace the signing secret; the new one is shown once (operators)', params: WebhookParams, response: { 200: WebhookWithSecret, ...ERROR_RESPONSES } },
  }, async (request) => withSecret(await rotateWebhookSecret(deps, actorOf(request), request.params.id, request.params.webhookId)));

  app.get('/v1/pools/:id/webhooks/:webhookId/deliveries', {
    schema: { tags, operationId: 'listWebhookDeliveries', description: 'The delivery log of an endpoint, oldest first, filtered by status and event type (operators); cursor pages.', summary: 'The delivery log of an endpoint, oldest first (operators)', params: WebhookParams, querystring: DeliveriesQuery, response: { 200: Page(Delivery), ...ERROR_RESPONSES } },
  }, async (request) => toPage(await listDeliveries(deps, actorOf(request), request.params.id, request.params.webhookId, request.query), request.query.limit, presentDelivery));

  app.get('/v1/pools/:id/webhooks/:webhookId/deliveries/:deliveryId', {
    schema: { tags, operationId: 'getWebhookDelivery', description: 'One delivery: its body and every attempt with what the receiver answered (operators).', summary: 'One delivery: its body and every attempt with what the receiver answered (operators)', params: DeliveryParams, response: { 200: DeliveryDetail, ...ERROR_RESPONSES } },
  }, async (request) => {
    const { delivery, attempts } = await getDelivery(deps, actorOf(request), request.params.id, request.params.webhookId, request.params.deliveryId);
    return presentDeliveryDetail(delivery, attempts);
  });

  app.post('/v1/pools/:id/webhooks/:webhookId/deliveries/:deliveryId/redeliver', {
    schema: {
      tags,
      operationId: 'redeliverWebhookDelivery',
      description: 'Sends a finished delivery again, same id and body, with a new round of retries (operators).',
      summary: 'Send a finished delivery again, same id and body, with a new round of retries (operators)',
      params: DeliveryParams,
      response: { 202: Delivery, ...ERROR_RESPONSES },
    },
  }, async (request, reply) => {
    const pending = await redeliver(deps, actorOf(request), request.params.id, request.params.webhookId, request.params.deliveryId);
    return reply.code(202).send(presentDelivery(pending));
  });
};
