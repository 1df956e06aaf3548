import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CLAIM_KINDS } from '../db/schema.js';
import type { Deps } from '../lib/context.js';
import { safeEqual } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import type { Outcome } from '../modules/claims/claims.engine.js';
import { countLiveClaimsByKind } from '../modules/claims/claims.repo.js';
import { countWaitingTickets } from '../modules/queue/tickets.repo.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The licensing figures of /metrics, counted by the routes once their answer is decided. */
    licensingMetrics: LicensingMetrics;
  }
}

/**
 * What licensepool does, for /metrics. The counters are incremented in the process that answered,
 * after the claim batch or the sync has finished (no query of their own, nothing on the hot path
 * but an increment); the gauges are counted in the database when /metrics is read.
 */
export class LicensingMetrics {
  private readonly claimsGranted: Counter<'kind'>;
  private readonly claimsRefused: Counter<'reason'>;
  private readonly claimsQueued: Counter;
  private readonly syncCalls: Counter<'outcome'>;
  private readonly loginFailures: Counter<'reason'>;

  constructor(registry: Registry, deps: Pick<Deps, 'db' | 'clock'>) {
    const registers = [registry];
    this.claimsGranted = new Counter({ name: 'licensepool_claims_granted_total', help: 'Claims granted, by kind (a live lease given back to the same client again is not counted)', labelNames: ['kind'], registers });
    this.claimsRefused = new Counter({ name: 'licensepool_claims_refused_total', help: 'Refused claim requests by reason code; a refusal with several reasons counts under each', labelNames: ['reason'], registers });
    this.claimsQueued = new Counter({ name: 'licensepool_claims_queued_total', help: 'Claim requests refused for limits that joined the queue instead (new tickets)', registers });
    this.syncCalls = new Counter({ name: 'licensepool_sync_calls_total', help: 'POST /v1/sync calls by outcome: ok, refused (SYNC_REFUSED), error (any other problem)', labelNames: ['outcome'], registers });
    this.loginFailures = new Counter({ name: 'licensepool_login_failures_total', help: 'Failed logins by reason: invalid_credentials, throttled (TOO_MANY_ATTEMPTS)', labelNames: ['reason'], registers });
    for (const kind of CLAIM_KINDS) if (kind !== 'hold') this.claimsGranted.inc({ kind }, 0);
    for (const outcome of ['ok', 'refused', 'error']) this.syncCalls.inc({ outcome }, 0);
    for (const reason of ['invalid_credentials', 'throttled']) this.loginFailures.inc({ reason }, 0);
    new Gauge({
      name: 'licensepool_claims_live',
      help: 'Live claims by kind (hold: units a queue ticket holds for its member), counted when /metrics is read',
      labelNames: ['kind'],
      registers,
      async collect() {
        this.reset();
        for (const kind of CLAIM_KINDS) this.set({ kind }, 0);
        for (const row of await countLiveClaimsByKind(deps.db, deps.clock.now()).catch(() => [])) this.set({ kind: row.kind }, row.count);
      },
    });
    new Gauge({
      name: 'licensepool_queue_tickets_waiting',
      help: 'Queue tickets waiting for units, counted when /metrics is read',
      registers,
      async collect() {
        this.set(await countWaitingTickets(deps.db).catch(() => 0));
      },
    });
  }

  /** A claim request's final answer (after the queue step). */
  claimDecided(outcome: Outcome): void {
    if (outcome.type === 'granted' && !outcome.reused) this.claimsGranted.inc({ kind: outcome.claim.kind });
    else if (outcome.type === 'refused') for (const r of outcome.reasons) this.claimsRefused.inc({ reason: r.code });
    else if (outcome.type === 'queued' && !outcome.reused) this.claimsQueued.inc();
  }

  syncAnswered(outcome: 'ok' | 'refused' | 'error'): void {
    this.syncCalls.inc({ outcome });
  }

  loginFailed(reason: 'invalid_credentials' | 'throttled'): void {
    this.loginFailures.inc({ reason });
  }
}

/**
 * Prometheus metrics of one app instance (its own registry, so tests can build many apps). With
 * `token` (METRICS_TOKEN), /metrics answers only `Authorization: Bearer <token>`, else 401.
 */
export function registerMetrics(
  app: FastifyInstance,
  deps: Pick<Deps, 'db' | 'clock'>,
  options: { processMetrics: boolean; more?: readonly Registry[]; token?: string | undefined },
): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'licensepool_' });
  const duration = new Histogram({
    name: 'licensepool_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.decorate('licensingMetrics', new LicensingMetrics(registry, deps));
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  const expected = options.token ? `Bearer ${options.token}` : null;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected && !safeEqual(request.headers.authorization ?? '', expected)) {
      throw new AppError('UNAUTHENTICATED', 'send the METRICS_TOKEN as a bearer token');
    }
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
