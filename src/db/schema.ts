import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => ts('created_at').notNull().defaultNow();

export const accounts = pgTable(
  'accounts',
  {
    id: text('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    address: jsonb('address').$type<PostalAddress | null>(),
    isSuperuser: boolean('is_superuser').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('accounts_email_lower_key').on(sql`lower(${t.email})`)],
);

export type PostalAddress = {
  line1: string;
  line2?: string | undefined;
  postalCode: string;
  city: string;
  region?: string | undefined;
  country: string;
};

/** Login sessions and API tokens: only the SHA-256 of the secret is stored. */
export const tokens = pgTable(
  'tokens',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['session', 'api'] }).notNull(),
    name: text('name'),
    secretHash: text('secret_hash').notNull(),
    poolId: text('pool_id').references(() => pools.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['operator', 'admin', 'manager', 'deputy'] }),
    expiresAt: ts('expires_at'),
    revokedAt: ts('revoked_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('tokens_secret_hash_key').on(t.secretHash), index('tokens_account_idx').on(t.accountId)],
);

export const POOL_STATUSES = ['applied', 'initializing', 'active', 'suspended', 'closed'] as const;
export type PoolStatus = (typeof POOL_STATUSES)[number];

/**
 * The pool tree. `path` holds the ids from the root down to the pool itself, so ancestors are
 * one index lookup (`id = ANY(path)`) and a subtree is one GIN lookup (`path @> ARRAY[id]`),
 * whatever the depth. Pools never move (licenses are never transferred), so paths never change.
 */
export const pools = pgTable(
  'pools',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id').notNull(),
    parentId: text('parent_id').references((): any => pools.id),
    path: text('path').array().notNull(),
    depth: integer('depth').notNull(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    status: text('status', { enum: POOL_STATUSES }).notNull(),
    restricted: boolean('restricted').notNull().default(false),
    validUntil: ts('valid_until'),
    maxBorrowDays: integer('max_borrow_days'),
    /** Roots only: the longest time to live a lease may ask for (SPEC "Claim": a root setting). */
    maxLeaseSeconds: integer('max_lease_seconds'),
    /** Roots only (M2): an account or device is in at most one pool of the root. On by default. */
    exclusiveMembership: boolean('exclusive_membership').notNull().default(true),
    queue: jsonb('queue').$type<{ enabled: boolean; claimTimeoutSeconds: number }>().notNull(),
    billingAddress: jsonb('billing_address').$type<PostalAddress | null>(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('pools_parent_idx').on(t.parentId, t.id),
    index('pools_root_idx').on(t.rootId, t.id),
    index('pools_path_gin').using('gin', t.path),
    /** License lists find licenses by their pool's name (pg_trgm). */
    index('pools_name_trgm').using('gin', t.name.op('gin_trgm_ops')),
    check('pools_root_has_no_parent', sql`(${t.parentId} IS NULL) = (${t.id} = ${t.rootId})`),
  ],
);

export const ROLES = ['operator', 'admin', 'manager', 'deputy'] as const;
export type Role = (typeof ROLES)[number];

export const roleBindings = pgTable(
  'role_bindings',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    poolId: text('pool_id')
      .notNull()
      .references(() => pools.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('role_bindings_account_pool_role_key').on(t.accountId, t.poolId, t.role),
    // A pool has one manager [000]; deputies are many.
    uniqueIndex('role_bindings_one_manager_key').on(t.poolId).where(sql`role = 'manager'`),
    index('role_bindings_pool_idx').on(t.poolId),
  ],
);

export const meters = pgTable(
  'meters',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    key: text('key').notNull(),
    name: text('name').notNull(),
    /** Keys of the meters one unit of this meter also takes (direct draws only). */
    draws: text('draws').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('meters_root_key').on(t.rootId, t.key)],
);

export const features = pgTable(
  'features',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    key: text('key').notNull(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('features_root_key').on(t.rootId, t.key)],
);

export const LICENSE_STATUSES = [
  'pending_provision',
  'pending_start',
  'in_use',
  'access_denied',
  'expired',
  'finalized',
] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

export const START_RULES = ['on_activation', 'on_connections'] as const;
export const BILLING_INTERVALS = ['monthly', 'annual'] as const;

export interface LicenseRequest {
  poolId?: string | null;
  partner?: string | null;
  distributor?: string | null;
  accessPoints?: number | null;
  rooms?: number | null;
  modules?: string[];
}

export const licenses = pgTable(
  'licenses',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    poolId: text('pool_id').references(() => pools.id),
    name: text('name'),
    status: text('status', { enum: LICENSE_STATUSES }).notNull(),
    /** meter key → units, or null for "no limit of its own". */
    limits: jsonb('limits').$type<Record<string, number | null>>().notNull(),
    features: text('features').array().notNull(),
    validFrom: ts('valid_from'),
    validUntil: ts('valid_until'),
    /** L3: the activation key of a license made by request (`POST /v1/licenses`); null for one placed straight on a pool. */
    key: text('key'),
    /** L1: the contract term, counted from the start (null: dated by validUntil alone). */
    termMonths: integer('term_months'),
    startRule: text('start_rule', { enum: START_RULES }).notNull().default('on_activation'),
    /** `on_connections`: how many distinct devices must connect before time runs [003]. */
    connectionThreshold: integer('connection_threshold'),
    billingInterval: text('billing_interval', { enum: BILLING_INTERVALS }),
    contractYears: integer('contract_years'),
    /** L1 request data [003]: the pool it is meant for, partner, distributor, APs or rooms, modules asked for. */
    request: jsonb('request').$type<LicenseRequest>(),
    activatedAt: ts('activated_at'),
    activatedBy: text('activated_by').references(() => accounts.id),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('licenses_key_key').on(t.key),
    index('licenses_pool_idx').on(t.poolId, t.status),
    index('licenses_root_idx').on(t.rootId, t.id),
    // Lists (L9), see licenses-list.repo.ts, which must use these very expressions: the sorts,
    // keyset-paged per root ("no end" sorts last, as infinity), and per root and stored status;
    // the text search's trigram indexes (pg_trgm, migration 0009) on a key fragment typed
    // without dashes, the name, the partner.
    index('licenses_root_until_idx').on(t.rootId, sql`coalesce("valid_until", 'infinity'::timestamptz)`, t.id),
    index('licenses_root_created_idx').on(t.rootId, t.createdAt, t.id),
    index('licenses_root_status_idx').on(t.rootId, t.status, t.id),
    index('licenses_root_status_until_idx').on(t.rootId, t.status, sql`coalesce("valid_until", 'infinity'::timestamptz)`, t.id),
    index('licenses_root_status_created_idx').on(t.rootId, t.status, t.createdAt, t.id),
    index('licenses_running_until_idx').on(
      sql`(CASE WHEN "status" IN ('pending_provision', 'pending_start', 'in_use', 'access_denied') THEN "valid_until" END)`,
    ),
    // N1 reminders (reminders.scan.ts): licenses whose end falls in a window, among those a
    // notice can be about (running, or expired for the cut-off and renewal notices).
    index('licenses_reminder_until_idx')
      .on(t.validUntil)
      .where(sql`"status" IN ('in_use', 'access_denied', 'expired') AND "pool_id" IS NOT NULL AND "valid_until" IS NOT NULL`),
    index('licenses_key_trgm').using('gin', sql`replace("key", '-', '') gin_trgm_ops`),
    index('licenses_name_trgm').using('gin', t.name.op('gin_trgm_ops')),
    index('licenses_partner_trgm').using('gin', sql`("request" ->> 'partner') gin_trgm_ops`),
    check('licenses_validity_order', sql`${t.validUntil} IS NULL OR ${t.validFrom} IS NULL OR ${t.validUntil} > ${t.validFrom}`),
  ],
);

/**
 * Units in use per pool and meter, counted over the pool's whole subtree: a claim adds its
 * units to the row of its pool and of every ancestor. The claim engine keeps these exact.
 */
export const poolUsage = pgTable(
  'pool_usage',
  {
    poolId: text('pool_id')
      .notNull()
      .references(() => pools.id),
    meterKey: text('meter_key').notNull(),
    used: bigint('used', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.poolId, t.meterKey] }), check('pool_usage_used_nonnegative', sql`${t.used} >= 0`)],
);

export const DEVICE_STATUSES = ['ok', 'lost', 'stolen'] as const;

/** Device registry of a root: serials are unique within a vendor's tree. */
export const devices = pgTable(
  'devices',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    serial: text('serial').notNull(),
    type: text('type').notNull(),
    status: text('status', { enum: DEVICE_STATUSES }).notNull().default('ok'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('devices_root_serial_key').on(t.rootId, t.serial)],
);

export const MEMBER_STATUSES = ['pending', 'verified', 'rejected'] as const;
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

export const members = pgTable(
  'members',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    poolId: text('pool_id')
      .notNull()
      .references(() => pools.id),
    accountId: text('account_id').references(() => accounts.id),
    deviceId: text('device_id').references(() => devices.id),
    status: text('status', { enum: MEMBER_STATUSES }).notNull(),
    decidedAt: ts('decided_at'),
    decidedBy: text('decided_by').references(() => accounts.id),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('members_pool_account_key').on(t.poolId, t.accountId),
    uniqueIndex('members_pool_device_key').on(t.poolId, t.deviceId),
    index('members_pool_idx').on(t.poolId, t.id),
    index('members_account_idx').on(t.accountId),
    check('members_account_xor_device', sql`(${t.accountId} IS NULL) <> (${t.deviceId} IS NULL)`),
  ],
);

/** Append-only: every change, with who, what, before, after and the request it came from. */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: ts('at').notNull(),
    actorId: text('actor_id'),
    tokenId: text('token_id'),
    action: text('action').notNull(),
    entityType: text('entity_type').notNull(),
    entityId: text('entity_id').notNull(),
    rootId: text('root_id'),
    poolId: text('pool_id'),
    licenseId: text('license_id'),
    memberId: text('member_id'),
    before: jsonb('before'),
    after: jsonb('after'),
    requestId: text('request_id'),
  },
  (t) => [
    index('audit_pool_idx').on(t.poolId, t.id),
    index('audit_license_idx').on(t.licenseId, t.id),
    index('audit_member_idx').on(t.memberId, t.id),
    index('audit_actor_idx').on(t.actorId, t.id),
    index('audit_root_idx').on(t.rootId, t.id),
  ],
);

/** Fixed-window counters shared by every process (login throttling, later key activation). */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  windowStart: ts('window_start').notNull(),
  count: integer('count').notNull(),
});

/** R1: who a pool admits, by e-mail address or domain [004]; judged by src/domain/access-rules.ts. */
export const accessRules = pgTable(
  'access_rules',
  {
    id: text('id').primaryKey(),
    poolId: text('pool_id')
      .notNull()
      .references(() => pools.id, { onDelete: 'cascade' }),
    effect: text('effect', { enum: ['include', 'exclude'] }).notNull(),
    match: text('match', { enum: ['domain', 'email'] }).notNull(),
    /** Lower-cased e-mail address or domain. */
    value: text('value').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('access_rules_pool_rule_key').on(t.poolId, t.effect, t.match, t.value)],
);

export const SIGNING_KEY_STATUSES = ['active', 'verifying', 'retired'] as const;

/**
 * Ed25519 keys a root signs licenses with. `active` signs; after a rotation the previous key is
 * `verifying` (still published in the JWKS, so licenses it signed keep verifying) until retired.
 */
export const signingKeys = pgTable(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    status: text('status', { enum: SIGNING_KEY_STATUSES }).notNull(),
    publicJwk: jsonb('public_jwk').$type<Record<string, string>>().notNull(),
    /**
     * Clear-text PKCS#8 PEM, as versions before 0017 stored it: NULL once the server has started
     * with a secret key, which moves it into `encryptedPrivateKey`. Never written now.
     */
    privateKey: text('private_key'),
    /** The PKCS#8 DER sealed by `SecretKeys` (`src/lib/secret-keys.ts`): `v1:<secret key id>:<nonce>:<ciphertext and tag>`. */
    encryptedPrivateKey: text('encrypted_private_key'),
    createdAt: createdAt(),
    retiredAt: ts('retired_at'),
  },
  (t) => [
    uniqueIndex('signing_keys_one_active_key').on(t.rootId).where(sql`status = 'active'`),
    check('signing_keys_private_key_once', sql`(${t.privateKey} IS NULL) <> (${t.encryptedPrivateKey} IS NULL)`),
    check('signing_keys_encrypted_format', sql`${t.encryptedPrivateKey} LIKE 'v1:%'`),
    index('signing_keys_root_idx').on(t.rootId, t.status),
  ],
);

/** `hold`: units a queue ticket holds for its member until claimed or lapsed (U4); not asked for directly. */
export const CLAIM_KINDS = ['lease', 'borrow', 'assignment', 'hold'] as const;
export const REQUESTED_CLAIM_KINDS = ['lease', 'borrow', 'assignment'] as const;
export const CLAIM_STATUSES = ['live', 'released', 'expired', 'revoked'] as const;

/**
 * A member using units of a meter. Live claims are what `pool_usage` counts: each takes
 * `quantity` units of its meter and of every meter that meter draws on, on its pool and on
 * every ancestor. A lease or borrow is live until `expires_at`; an assignment until released.
 */
export const claims = pgTable(
  'claims',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id').notNull(),
    poolId: text('pool_id').notNull(),
    memberId: text('member_id').notNull(),
    meterKey: text('meter_key').notNull(),
    quantity: integer('quantity').notNull(),
    kind: text('kind', { enum: CLAIM_KINDS }).notNull(),
    fingerprint: text('fingerprint'),
    /** Leases: what each heartbeat extends by. */
    ttlSeconds: integer('ttl_seconds'),
    status: text('status', { enum: CLAIM_STATUSES }).notNull(),
    expiresAt: ts('expires_at'),
    createdAt: createdAt(),
    endedAt: ts('ended_at'),
    endReason: text('end_reason'),
  },
  (t) => [
    index('claims_pool_idx').on(t.poolId, t.id),
    index('claims_member_idx').on(t.memberId, t.meterKey).where(sql`status = 'live'`),
    index('claims_expiry_idx').on(t.expiresAt).where(sql`status = 'live'`),
    check('claims_quantity_positive', sql`${t.quantity} > 0`),
  ],
);

export const TICKET_STATUSES = ['waiting', 'held', 'claimed', 'lapsed', 'cancelled'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/**
 * A place in a pool's queue for a meter (U4), FIFO by id. When units free up the head ticket
 * gets a `hold` claim on them for the pool's `claimTimeoutSeconds`; claiming turns the hold into
 * a lease, and a hold that runs out lapses and the next ticket is served.
 */
export const tickets = pgTable(
  'tickets',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id').notNull(),
    poolId: text('pool_id').notNull(),
    memberId: text('member_id').notNull(),
    meterKey: text('meter_key').notNull(),
    quantity: integer('quantity').notNull(),
    /** The lease asked for, given when the ticket is claimed. */
    ttlSeconds: integer('ttl_seconds').notNull(),
    fingerprint: text('fingerprint'),
    status: text('status', { enum: TICKET_STATUSES }).notNull(),
    holdClaimId: text('hold_claim_id'),
    heldUntil: ts('held_until'),
    claimId: text('claim_id'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    endedAt: ts('ended_at'),
  },
  (t) => [
    index('tickets_queue_idx').on(t.poolId, t.meterKey, t.id).where(sql`status = 'waiting'`),
    index('tickets_member_idx').on(t.memberId, t.id),
    index('tickets_root_waiting_idx').on(t.rootId, t.id).where(sql`status = 'waiting'`),
    uniqueIndex('tickets_hold_claim_key').on(t.holdClaimId),
  ],
);

/**
 * U3: the first answer to a creating request that carried an `Idempotency-Key`, per account and
 * key, so a retry gets the same answer. `request_hash` catches a key reused for another request.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    accountId: text('account_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    body: jsonb('body'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

export const APPLICATION_STATUSES = ['pending', 'approved', 'rejected'] as const;
export type ApplicationStatus = (typeof APPLICATION_STATUSES)[number];

/**
 * P1: a request for a pool under `parent_id` [000]. The pool exists from the start in `applied`
 * (so its id is stable), and approval moves it to `initializing` with the named manager.
 */
export const applications = pgTable(
  'applications',
  {
    id: text('id').primaryKey(),
    parentId: text('parent_id')
      .notNull()
      .references(() => pools.id),
    poolId: text('pool_id')
      .notNull()
      .references(() => pools.id),
    applicantId: text('applicant_id')
      .notNull()
      .references(() => accounts.id),
    managerId: text('manager_id')
      .notNull()
      .references(() => accounts.id),
    company: text('company').notNull(),
    contactName: text('contact_name').notNull(),
    address: jsonb('address').$type<PostalAddress>().notNull(),
    email: text('email').notNull(),
    phone: text('phone').notNull(),
    status: text('status', { enum: APPLICATION_STATUSES }).notNull(),
    reason: text('reason'),
    decidedBy: text('decided_by').references(() => accounts.id),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('applications_pool_key').on(t.poolId), index('applications_parent_idx').on(t.parentId)],
);

/**
 * The manager's steps before a pool opens [000]: the terms version accepted (who, when) and an
 * opaque payment-method reference from the payment provider (never card data).
 */
export const poolInitialization = pgTable('pool_initialization', {
  poolId: text('pool_id')
    .primaryKey()
    .references(() => pools.id, { onDelete: 'cascade' }),
  termsVersion: text('terms_version'),
  termsAcceptedBy: text('terms_accepted_by').references(() => accounts.id),
  termsAcceptedAt: ts('terms_accepted_at'),
  paymentReference: text('payment_reference'),
  paymentSetBy: text('payment_set_by').references(() => accounts.id),
  paymentSetAt: ts('payment_set_at'),
});

/**
 * C4: software for a device type, delivered on sync to the members its feature or meter is
 * licensed to [000]. Catalog entries, keyed like licenses by the feature's or meter's key.
 */
export const packages = pgTable(
  'packages',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    name: text('name').notNull(),
    version: text('version').notNull(),
    deviceType: text('device_type').notNull(),
    sha256: text('sha256').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    url: text('url').notNull(),
    featureKey: text('feature_key'),
    meterKey: text('meter_key'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('packages_root_name_version_type_key').on(t.rootId, t.name, t.version, t.deviceType),
    check('packages_feature_xor_meter', sql`(${t.featureKey} IS NULL) <> (${t.meterKey} IS NULL)`),
  ],
);

/**
 * L5: the distinct devices that connected to a pool while a license of it waited for its start
 * (`on_connections`); one row per license and serial, so a repeated device counts once.
 */
export const licenseConnections = pgTable(
  'license_connections',
  {
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id),
    serial: text('serial').notNull(),
    connectedAt: ts('connected_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.licenseId, t.serial] })],
);

export const JOB_STATUSES = ['queued', 'running', 'done', 'dead'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * Background work (src/modules/jobs): claimed with FOR UPDATE SKIP LOCKED under a lease
 * (`locked_until`) that expires when a worker dies, retried with backoff, `dead` after
 * `max_attempts`. `dedupe_key`: at most one job per key while the row exists.
 */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: JOB_STATUSES }).notNull(),
    runAt: ts('run_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    lockedBy: text('locked_by'),
    lockedUntil: ts('locked_until'),
    lastError: text('last_error'),
    dedupeKey: text('dedupe_key'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    uniqueIndex('jobs_dedupe_key').on(t.dedupeKey),
    // Claiming: the due jobs of one kind, oldest first.
    index('jobs_queued_idx').on(t.kind, t.runAt, t.id).where(sql`status = 'queued'`),
    // Leases that ran out (a worker died).
    index('jobs_running_idx').on(t.lockedUntil).where(sql`status = 'running'`),
    // Lists (dead letters) and pruning of finished jobs.
    index('jobs_status_idx').on(t.status, t.kind, t.id),
    index('jobs_finished_idx').on(t.finishedAt).where(sql`status IN ('done', 'dead')`),
  ],
);

/**
 * Recurring work: one row per schedule; whoever moves `next_run_at` on (one UPDATE, so one
 * process per occurrence) enqueues that occurrence's job in the same transaction.
 */
export const jobSchedules = pgTable('job_schedules', {
  name: text('name').primaryKey(),
  kind: text('kind').notNull(),
  payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  everySeconds: integer('every_seconds').notNull(),
  nextRunAt: ts('next_run_at').notNull(),
  lastRunAt: ts('last_run_at'),
  updatedAt: ts('updated_at').notNull(),
});

export const OUTBOX_STATUSES = ['pending', 'sent', 'failed'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

/**
 * N5: every e-mail licensepool sends, rendered, written in the transaction that decided to send
 * it and sent after commit by a `mail.send` job. `dedupe_key` (event, template, recipient) keeps
 * a retried job from writing a message twice. Without SMTP, messages stay `pending` here.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: text('id').primaryKey(),
    dedupeKey: text('dedupe_key').notNull(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    poolId: text('pool_id').references(() => pools.id),
    licenseId: text('license_id'),
    memberId: text('member_id'),
    /** The audit event the message tells of, if any. */
    sourceEventId: text('source_event_id'),
    /** The template event (`member.verified`, `license.expiring`…). */
    event: text('event').notNull(),
    toEmail: text('to_email').notNull(),
    toAccountId: text('to_account_id').references(() => accounts.id),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    /** The Message-ID header: the same on every attempt, so a duplicate delivery is recognizable. */
    messageId: text('message_id').notNull(),
    status: text('status', { enum: OUTBOX_STATUSES }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
    sentAt: ts('sent_at'),
  },
  (t) => [
    uniqueIndex('outbox_dedupe_key').on(t.dedupeKey),
    index('outbox_pool_idx').on(t.poolId, t.id),
    index('outbox_root_idx').on(t.rootId, t.id),
    index('outbox_license_idx').on(t.licenseId, t.id),
    index('outbox_to_account_idx').on(t.toAccountId, t.id),
    index('outbox_unsent_idx').on(t.status, t.id).where(sql`status <> 'sent'`),
  ],
);

/** N3: a root's own version of an event's mail; the shipped default applies where there is none. */
export const mailTemplates = pgTable(
  'mail_templates',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    event: text('event').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    updatedBy: text('updated_by'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [uniqueIndex('mail_templates_root_event_key').on(t.rootId, t.event)],
);

/** N2: who a root's notices go to beyond a pool's manager and deputies. Absent row: the defaults. */
export const notificationSettings = pgTable('notification_settings', {
  rootId: text('root_id')
    .primaryKey()
    .references(() => pools.id),
  /** Pool notices (license status, limit reached, reminders) also to the admins of the pool's parent (the reseller). */
  notifyParentAdmins: boolean('notify_parent_admins').notNull().default(true),
  updatedBy: text('updated_by'),
  updatedAt: ts('updated_at').notNull(),
});

/**
 * N1: a reminder rule set on a license, a pool or a root (`scope_id`); the nearest one wins
 * (license, its pool, up the path, the root), else the default offsets [003]. Either a list of
 * offsets in days from the end (`offsets`), or "from `from_days` days before the end, once /
 * daily / weekly / every 30 days" (`every`). See src/modules/notifications/reminders.rules.ts.
 */
export const reminderRules = pgTable('reminder_rules', {
  scopeId: text('scope_id').primaryKey(),
  scopeType: text('scope_type', { enum: ['pool', 'license'] }).notNull(),
  rootId: text('root_id')
    .notNull()
    .references(() => pools.id),
  offsets: integer('offsets').array(),
  fromDays: integer('from_days'),
  every: text('every', { enum: ['once', 'daily', 'weekly', 'every_30_days'] }),
  updatedBy: text('updated_by'),
  updatedAt: ts('updated_at').notNull(),
});

/**
 * N1: each reminder occurrence (license, offset, end date) claimed once, in the scan's
 * transaction that queues its mail: the scan skips what is here, so an occurrence is mailed
 * once across restarts and replicas whatever the recipients.
 */
export const remindersSent = pgTable(
  'reminders_sent',
  {
    licenseId: text('license_id')
      .notNull()
      .references(() => licenses.id),
    offsetDays: integer('offset_days').notNull(),
    endsAt: ts('ends_at').notNull(),
    sentAt: ts('sent_at').notNull(),
    recipients: integer('recipients').notNull(),
  },
  (t) => [primaryKey({ columns: [t.licenseId, t.offsetDays, t.endsAt] })],
);

/**
 * N6: an HTTPS (or HTTP) endpoint of a root that hears of the event types in `events` (`*`:
 * all) anywhere in the root's tree. `secret` signs every delivery (HMAC-SHA256, Standard
 * Webhooks); it is kept as is because signing needs it, and shown only when made or rotated.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    rootId: text('root_id')
      .notNull()
      .references(() => pools.id),
    url: text('url').notNull(),
    description: text('description'),
    events: text('events').array().notNull(),
    secret: text('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdBy: text('created_by'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [index('webhook_endpoints_root_idx').on(t.rootId, t.id)],
);

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * N6: one event for one endpoint, written in the `notify` job's transaction (once: unique per
 * endpoint and event) and sent after commit by `webhook.deliver` jobs. `body` is fixed when the
 * delivery is made, so every attempt and redelivery sends the same bytes under the same id
 * (the `webhook-id` header), which is how a receiver recognizes a repeat.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    rootId: text('root_id').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    body: text('body').notNull(),
    status: text('status', { enum: WEBHOOK_DELIVERY_STATUSES }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_endpoint_event_key').on(t.endpointId, t.eventId),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
    // Pruning of finished deliveries.
    index('webhook_deliveries_finished_idx').on(t.updatedAt).where(sql`status <> 'pending'`),
  ],
);

/** N6, the delivery log: each HTTP attempt of a delivery, with what the receiver answered. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    at: ts('at').notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    /** The start of the receiver's answer (at most 1 KiB), for debugging. */
    responseBody: text('response_body'),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.attempt] })],
);
