import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Page, PageQuery, toPage } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { z } from 'zod';
import {
  LicenseNotification,
  NotificationSettings,
  OutboxMessage,
  OutboxQuery,
  PatchSettingsBody,
  PreviewBody,
  Preview,
  PutTemplateBody,
  Template,
  TemplateParams,
  presentLicenseNotification,
  presentMessage,
  presentSettings,
  presentTemplate,
} from './notifications.schemas.js';
import {
  getMessage,
  getSettings,
  getTemplate,
  licenseNotifications,
  listOutbox,
  listTemplates,
  previewTemplate,
  resetTemplate,
  retryMessage,
  saveTemplate,
  updateSettings,
} from './notifications.service.js';

/** The outbox (N5), mail templates (N3), notification settings (N2); docs/notifications.md. */
export const notificationRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const mail = ['mail'];

  app.get('/v1/outbox', {
    schema: {
      tags: mail,
      operationId: 'listOutboxMessages',
      description: 'Mail in the outbox, sent or not: all of it for superusers, the mail about their trees for operators, the mail addressed to them for everyone; cursor pages.',
      summary: 'Mail in the outbox, sent or not: all of it for superusers, the mail about their trees for operators, the mail addressed to them for everyone',
      querystring: OutboxQuery,
      response: { 200: Page(OutboxMessage), ...ERROR_RESPONSES },
    },
  }, async (request) => toPage(await listOutbox(deps, actorOf(request), request.query), request.query.limit, presentMessage));

  app.get('/v1/outbox/:id', {
    schema: { tags: mail, operationId: 'getOutboxMessage', description: 'One message of the outbox, with its text and HTML and its delivery status.', summary: 'One message, with its text and HTML', params: IdParams, response: { 200: OutboxMessage, ...ERROR_RESPONSES } },
  }, async (request) => presentMessage(await getMessage(deps, actorOf(request), request.params.id)));

  app.post('/v1/outbox/:id/retry', {
    schema: {
      tags: mail,
      operationId: 'retryOutboxMessage',
      description: 'Sends a failed message (a dead letter) again with a fresh set of attempts (operators of its root).',
      summary: 'Send a failed message (a dead letter) again, with a fresh set of attempts (operators of its root)',
      params: IdParams,
      response: { 200: OutboxMessage, ...ERROR_RESPONSES },
    },
  }, async (request) => presentMessage(await retryMessage(deps, actorOf(request), request.params.id)));

  app.get('/v1/licenses/:id/notifications', {
    schema: {
      tags: ['licenses'],
      operationId: 'listLicenseNotifications',
      description: 'The notifications sent, or waiting to be sent, about the license: reminders and status changes; cursor pages.',
      summary: 'The notifications sent (or waiting to be sent) about the license: reminders and status changes',
      params: IdParams,
      querystring: z.object(PageQuery).strict(),
      response: { 200: Page(LicenseNotification), ...ERROR_RESPONSES },
    },
  }, async (request) =>
    toPage(await licenseNotifications(deps, actorOf(request), request.params.id, request.query), request.query.limit, presentLicenseNotification),
  );

  app.get('/v1/pools/:id/templates', {
    schema: {
      tags: mail,
      operationId: 'listTemplates',
      description: 'Every event\'s mail template on a root: its own version or the default, with the variables it takes (operators).',
      summary: "Every event's mail template on a root: its own version or the default, with the variables it takes (operators)",
      params: IdParams,
      response: { 200: z.object({ data: z.array(Template) }), ...ERROR_RESPONSES },
    },
  }, async (request) => ({ data: (await listTemplates(deps, actorOf(request), request.params.id)).map((t) => presentTemplate(t.event, t.own)) }));

  app.get('/v1/pools/:id/templates/:event', {
    schema: { tags: mail, operationId: 'getTemplate', description: 'One event\'s mail template on a root: its own version or the default, with the variables it takes (operators).', summary: "One event's mail template on a root (operators)", params: TemplateParams, response: { 200: Template, ...ERROR_RESPONSES } },
  }, async (request) => {
    const t = await getTemplate(deps, actorOf(request), request.params.id, request.params.event);
    return presentTemplate(t.event, t.own);
  });

  app.put('/v1/pools/:id/templates/:event', {
    schema: {
      tags: mail,
      operationId: 'setTemplate',
      description: 'Sets the root\'s own subject, text and HTML of an event\'s mail (Mustache). Unknown variables are refused (422).',
      summary: "Sets the root's own version of an event's mail (Mustache; unknown variables are refused)",
      params: TemplateParams,
      body: PutTemplateBody,
      response: { 200: Template, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const t = await saveTemplate(deps, actorOf(request), request.params.id, request.params.event, request.body);
    return presentTemplate(t.event, t.own);
  });

  app.delete('/v1/pools/:id/templates/:event', {
    schema: { tags: mail, operationId: 'resetTemplate', description: 'Removes the root\'s own version of an event\'s mail: the default applies again.', summary: 'Back to the default template of the event', params: TemplateParams, response: { 200: Template, ...ERROR_RESPONSES } },
  }, async (request) => {
    const t = await resetTemplate(deps, actorOf(request), request.params.id, request.params.event);
    return presentTemplate(t.event, t.own);
  });

  app.post('/v1/pools/:id/templates/:event/preview', {
    schema: {
      tags: mail,
      operationId: 'previewTemplate',
      description: 'Renders the event\'s mail with sample variables, or the ones given, and optionally unsaved parts of the template. Sends nothing.',
      summary: "Renders the event's mail with sample variables, or the ones given, and optionally unsaved parts; sends nothing",
      params: TemplateParams,
      body: PreviewBody,
      response: { 200: Preview, ...ERROR_RESPONSES },
    },
  }, async (request) => previewTemplate(deps, actorOf(request), request.params.id, request.params.event, request.body));

  app.get('/v1/pools/:id/notification-settings', {
    schema: { tags: mail, operationId: 'getNotificationSettings', description: 'Who a root\'s notices go to (N2): operators, managers, extra addresses (operators).', summary: "Who a root's notices go to (N2) (operators)", params: IdParams, response: { 200: NotificationSettings, ...ERROR_RESPONSES } },
  }, async (request) => {
    const s = await getSettings(deps, actorOf(request), request.params.id);
    return presentSettings(s.rootId, s.row);
  });

  app.patch('/v1/pools/:id/notification-settings', {
    schema: {
      tags: mail,
      operationId: 'updateNotificationSettings',
      description: 'Changes who a root\'s notices go to (operators); fields not given stay.',
      summary: "Changes who a root's notices go to (operators)",
      params: IdParams,
      body: PatchSettingsBody,
      response: { 200: NotificationSettings, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const s = await updateSettings(deps, actorOf(request), request.params.id, request.body);
    return presentSettings(s.rootId, s.row);
  });
};
