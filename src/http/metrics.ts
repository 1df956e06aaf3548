import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one app instance (its own registry, so tests can build many apps). */
export function registerMetrics(app: FastifyInstance, options: { processMetrics: boolean; more?: readonly Registry[] }): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'licensepool_' });
  const duration = new Histogram({
    name: 'licensepool_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return options.more?.length ? Registry.merge([registry, ...options.more]).metrics() : registry.metrics();
  });
  return registry;
}

/**
 * A gauge of rows by status, counted in the database when /metrics is read: every status in
 * `statuses` appears (0 when none), and a failed count leaves them at 0 rather than failing
 * the whole page.
 */
export function statusCountGauge(
  registry: Registry,
  gauge: { name: string; help: string; statuses: readonly string[] },
  count: () => Promise<{ status: string; count: number }[]>,
): void {
  new Gauge({
    name: gauge.name,
    help: gauge.help,
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const status of gauge.statuses) this.set({ status }, 0);
      for (const row of await count().catch(() => [])) this.set({ status: row.status }, Number(row.count));
    },
  });
}
