import { z } from 'zod';

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url().optional(),
  LICENSEPOOL_DATA_DIR: z.string().default('./data'),
  LICENSEPOOL_ADMIN_EMAIL: z.string().email().default('admin@localhost.localdomain'),
  LICENSEPOOL_ADMIN_PASSWORD: z.string().min(12).optional(),
  PUBLIC_URL: z.string().url().optional(),
  /** Mail leaves through this SMTP server (`smtp://user:pass@host:587`, `smtps://…`); unset: mail waits in the outbox. */
  SMTP_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional()),
  /** The From address of mail; default `licensepool <no-reply@` + PUBLIC_URL's host + `>`. */
  MAIL_FROM: z.string().min(3).optional(),
  /** Webhook endpoints may point at private and loopback addresses (receivers on the operator's own network). */
  LICENSEPOOL_WEBHOOK_PRIVATE_TARGETS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** Run background jobs in this process (mail, sweeps); `false` for API-only replicas. */
  LICENSEPOOL_WORKERS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Background jobs one process runs at once. */
  LICENSEPOOL_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Behind a load balancer, trust X-Forwarded-For so login throttling sees the client address. */
  TRUST_PROXY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** PostgreSQL connections this process opens at most. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(20),
  /** The most claim requests one transaction decides (group commit); 1 commits every claim on its own. */
  LICENSEPOOL_CLAIM_BATCH_MAX: z.coerce.number().int().min(1).max(10_000).default(256),
  /** Seals the private signing keys at rest: 32 random bytes, base64 or hex. Unset: `<dataDir>/secret.key` (embedded), refused (PostgreSQL). */
  LICENSEPOOL_SECRET_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /** The secret key being rotated away from: still opens, never seals (docs/architecture.md, "Signing keys"). */
  LICENSEPOOL_SECRET_KEY_PREVIOUS: z.preprocess((v) => (v === '' ? undefined : v), z.string().optional()),
  /** When set, GET /metrics wants `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(16).optional()),
  /** Browser apps on these origins may call the API (CORS), e.g. `https://app.example.com,http://localhost:5173`; default none. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o !== ''))
    .pipe(z.array(z.string().refine(isOrigin, { message: 'each origin is scheme://host[:port], with no path or trailing slash' }))),
});

/** An origin as a browser sends it in `Origin`: `https://app.example.com`, no path, no trailing slash. */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

export type Config = {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  adminEmail: string;
  adminPassword: string | undefined;
  publicUrl: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  workers: boolean;
  webhookPrivateTargets: boolean;
  jobConcurrency: number;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  trustProxy: boolean;
  claimBatchMax: number;
  databasePoolSize: number;
  secretKey: string | undefined;
  previousSecretKey: string | undefined;
  metricsToken: string | undefined;
  corsOrigins: string[];
};

/** Parses the environment once; a bad value stops start-up with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const publicUrl = e.PUBLIC_URL ?? `http://localhost:${e.PORT}`;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.LICENSEPOOL_DATA_DIR,
    adminEmail: e.LICENSEPOOL_ADMIN_EMAIL,
    adminPassword: e.LICENSEPOOL_ADMIN_PASSWORD,
    publicUrl,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? `licensepool <no-reply@${new URL(publicUrl).hostname}>`,
    workers: e.LICENSEPOOL_WORKERS,
    webhookPrivateTargets: e.LICENSEPOOL_WEBHOOK_PRIVATE_TARGETS,
    jobConcurrency: e.LICENSEPOOL_JOB_CONCURRENCY,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    claimBatchMax: e.LICENSEPOOL_CLAIM_BATCH_MAX,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    secretKey: e.LICENSEPOOL_SECRET_KEY,
    previousSecretKey: e.LICENSEPOOL_SECRET_KEY_PREVIOUS,
    metricsToken: e.METRICS_TOKEN,
    corsOrigins: e.CORS_ORIGINS,
  };
}
