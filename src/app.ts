import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { registerAuth } from './http/auth.js';
import { registerIdempotency } from './http/idempotency.js';
import { registerInputGuards } from './http/input.js';
import { registerMetrics } from './http/metrics.js';
import { finishDocument } from './http/openapi.js';
import { registerProblemHandlers, sendFrameworkProblem } from './http/problem.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import type { Deps } from './lib/context.js';
import { newId } from './lib/ids.js';
import { applicationRoutes } from './modules/applications/applications.routes.js';
import { accessRuleRoutes } from './modules/access-rules/access-rules.routes.js';
import { accountRoutes } from './modules/accounts/accounts.routes.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { catalogRoutes } from './modules/catalog/catalog.routes.js';
import { claimRoutes, reconcileRoutes } from './modules/claims/claims.routes.js';
import { jobRoutes } from './modules/jobs/jobs.routes.js';
import { licenseRoutes } from './modules/licenses/licenses.routes.js';
import { licenseDetailRoutes } from './modules/licenses/licenses-detail.routes.js';
import { memberRoutes } from './modules/members/members.routes.js';
import { notificationRoutes } from './modules/notifications/notifications.routes.js';
import { reminderRoutes } from './modules/notifications/reminders.routes.js';
import { poolRoutes } from './modules/pools/pools.routes.js';
import { ticketRoutes } from './modules/queue/tickets.routes.js';
import { signingRoutes } from './modules/signing/signing.routes.js';
import { stateRoutes } from './modules/state/state.routes.js';
import { syncRoutes } from './modules/sync/sync.routes.js';
import { systemRoutes } from './modules/system/system.routes.js';
import { webhookRoutes } from './modules/webhooks/webhooks.routes.js';
import { PUBLIC_TARGETS_ONLY, type TargetPolicy } from './modules/webhooks/webhooks.targets.js';

export interface AppOptions {
  deps: Deps;
  /** Trust X-Forwarded-For (behind a load balancer). */
  trustProxy?: boolean;
  /** Send cookies only over HTTPS, and HSTS (on when PUBLIC_URL is https). */
  secureCookies?: boolean;
  /** Process-wide metrics (CPU, memory, event loop); off in tests, which build many apps. */
  processMetrics?: boolean;
  /** The most claim requests one transaction decides (LICENSEPOOL_CLAIM_BATCH_MAX); default 256. */
  claimBatchMax?: number;
  /** How often an open ticket event stream reads its ticket for changes made elsewhere; default 1000 ms. */
  ticketEventsPollMs?: number;
  /** More figures for /metrics: the job runner's. */
  metrics?: Registry[];
  /** GET /metrics wants this bearer token (METRICS_TOKEN); unset: open. */
  metricsToken?: string | undefined;
  /** Where webhook endpoints may point (LICENSEPOOL_WEBHOOK_PRIVATE_TARGETS); default public addresses only. */
  webhookTargets?: TargetPolicy;
  /** Browser origins allowed to call the API (CORS_ORIGINS); default none, so no CORS headers. */
  corsOrigins?: string[];
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Builds the HTTP app with every module registered; never listens (main.ts does). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { deps } = options;
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    trustProxy: options.trustProxy ?? false,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newId('request');
    },
    ajv: { customOptions: { coerceTypes: false } },
    frameworkErrors: sendFrameworkProblem,
    // A closing server answers problem+json SERVER_CLOSING instead (src/http/problem.ts).
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // JSON is the one request format; text/plain would otherwise reach the schemas as a string.
  app.removeContentTypeParser('text/plain');
  registerProblemHandlers(app);
  registerInputGuards(app);
  await registerSecurityHeaders(app, { https: options.secureCookies ?? false });
  if (options.corsOrigins?.length) {
    // Bearer tokens only (the SDK's way): no credentials, so the session cookie and its CSRF
    // token stay same-site. Exposed: the headers a browser app may need to read.
    await app.register(fastifyCors, {
      origin: options.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: ['x-request-id', 'idempotent-replayed', 'retry-after', 'content-disposition'],
      maxAge: 600,
    });
  }
  await app.register(fastifyCookie);
  registerAuth(app, deps);
  // Before the modules: its hooks attach to the POST routes as they are declared.
  const idempotency = registerIdempotency(app, deps);
  registerMetrics(app, deps, { processMetrics: options.processMetrics ?? false, more: options.metrics ?? [], token: options.metricsToken });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'licensepool',
        version: '0.1.0',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        description: 'License pools in a reseller tree, exact claims and signed offline licenses. Errors are RFC 9457 problem+json with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A session token from /v1/auth/login or an API token' },
          session: { type: 'apiKey', in: 'cookie', name: 'lp_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: finishDocument(idempotency.documentHeader),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const modules = [systemRoutes, accountRoutes, poolRoutes, catalogRoutes, licenseRoutes, licenseDetailRoutes, stateRoutes, memberRoutes, auditRoutes, accessRuleRoutes, reconcileRoutes, signingRoutes, applicationRoutes, syncRoutes, notificationRoutes, reminderRoutes, jobRoutes];
  for (const plugin of modules) await app.register(plugin, { deps });
  await app.register(claimRoutes, { deps, maxBatch: options.claimBatchMax });
  await app.register(ticketRoutes, { deps, eventsPollMs: options.ticketEventsPollMs });
  await app.register(webhookRoutes, { deps, targets: options.webhookTargets ?? PUBLIC_TARGETS_ONLY });
  await app.register(authRoutes, { deps, secureCookies: options.secureCookies ?? false });
  return app;
}
