import type { Executor } from '../../db/client.js';
import { checkLicenseKey, generateLicenseKey } from '../../domain/license-keys.js';
import { DEFAULT_CONNECTION_THRESHOLD, effectiveStatus, FINAL_LICENSE_STATUSES, transition, type LicenseEvent, type StartRule } from '../../domain/license-status.js';
import { checkAgainstParent, checkDrawCoverage, drawClosure } from '../../domain/quota.js';
import { SYSTEM_ACTOR, type Actor, type Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { findAuditEvents, insertAuditEvent } from '../audit/audit.repo.js';
import { findFeatures, findMeters } from '../catalog/catalog.repo.js';
import { poolFor, rootFor } from '../pools/pool-access.js';
import { hitWindows, secondsUntilWindowEnds } from '../rate-limits/rate-limits.repo.js';
import { revokeBeyondLimit } from '../claims/claims.revoke.js';
import { findPool, lockPool, type PoolRow } from '../pools/pools.repo.js';
import { computeStateOf, type LoadedState } from '../state/state.service.js';
import { findHolders, type ClaimRow, type Holder } from '../claims/claims.repo.js';
import type { LicenseRow } from '../state/state.repo.js';
import {
  findLicense,
  findLicenseByKey,
  insertLicense,
  insertLicenseWithKey,
  lockLicensesAwaitingConnections,
  markExpiredLicenses,
  recordConnections,
  updateLicenseRow,
} from './licenses.repo.js';
import type { ActivateLicenseBody, ConnectionBody, CreateLicenseBody, PlaceLicenseBody, UpdateLicenseBody } from './licenses.schemas.js';

interface LicenseTerms {
  limits: Record<string, number | null>;
  features: string[];
  validFrom: Date;
  validUntil: Date | null;
}

const SEVERITY = ['LIMIT_EXCEEDS_PARENT', 'FEATURE_NOT_IN_PARENT', 'VALIDITY_OUTSIDE_PARENT'] as const;

const licenseAudit = (l: LicenseRow) => ({
  entityType: 'license',
  entityId: l.id,
  rootId: l.rootId,
  poolId: l.poolId,
  licenseId: l.id,
});

/** Every meter and feature in the root's catalog, and C3: drawn meters get at least as many units. */
async function checkCatalog(db: Executor, rootId: string, terms: Pick<LicenseTerms, 'limits' | 'features'>): Promise<void> {
  const meters = await findMeters(db, rootId);
  const features = await findFeatures(db, rootId);
  const meterKeys = new Set(meters.map((m) => m.key));
  const unknownMeters = Object.keys(terms.limits).filter((k) => !meterKeys.has(k));
  if (unknownMeters.length > 0) {
    throw new AppError('UNKNOWN_METER', `not in the catalog: ${unknownMeters.join(', ')}`, {
      errors: unknownMeters.map((k) => ({ path: `body.limits.${k}`, message: 'unknown meter' })),
    });
  }
  const featureKeys = new Set(features.map((f) => f.key));
  const unknownFeatures = terms.features.filter((k) => !featureKeys.has(k));
  if (unknownFeatures.length > 0) {
    throw new AppError('UNKNOWN_FEATURE', `not in the catalog: ${unknownFeatures.join(', ')}`, {
      errors: unknownFeatures.map((k) => ({ path: 'body.features', message: `unknown feature ${k}` })),
    });
  }
  const drawViolations = checkDrawCoverage(terms.limits, drawClosure(meters));
  if (drawViolations.length > 0) {
    const v = drawViolations[0]!;
    throw new AppError(
      'DRAWN_METER_TOO_LOW',
      `${v.drawnMeter} (${v.drawnLimit}) must be at least ${v.meter} (${v.limit}): each unit of ${v.meter} also takes one of ${v.drawnMeter}`,
      { violations: drawViolations },
    );
  }
}

/**
 * The rules a license's terms must meet on `pool`: validity in order; the catalog (checkCatalog);
 * L7 (no more than the parent pool has, at the moment the license starts). All violations of the
 * first failing rule are reported in `violations`.
 */
async function checkTerms(db: Executor, pool: PoolRow, terms: LicenseTerms, now: Date): Promise<void> {
  if (terms.validUntil !== null && terms.validUntil <= terms.validFrom) {
    throw new AppError('INVALID_VALIDITY', 'validUntil must come after validFrom', {
      errors: [{ path: 'body.validUntil', message: 'must come after validFrom' }],
    });
  }
  await checkCatalog(db, pool.rootId, terms);
  if (pool.parentId === null) return;
  const parent = await findPool(db, pool.parentId);
  const startsAt = terms.validFrom > now ? terms.validFrom : now;
  const { state } = await computeStateOf(db, parent!, startsAt);
  const parentViolations = checkAgainstParent(terms, state);
  if (parentViolations.length > 0) {
    // The most serious kind names the refusal; every violation is listed.
    const first = [...parentViolations].sort((a, b) => SEVERITY.indexOf(a.code) - SEVERITY.indexOf(b.code))[0]!;
    const detail =
      first.code === 'LIMIT_EXCEEDS_PARENT'
        ? `${first.meter}: ${first.limit} is more than the parent pool has (${first.parentLimit})`
        : first.code === 'FEATURE_NOT_IN_PARENT'
          ? `${first.feature}: the parent pool does not have this feature`
          : `${first.meter ?? first.feature}: the parent pool has it only until ${first.parentUntil}`;
    throw new AppError(first.code, detail, { violations: parentViolations });
  }
}

/** "Add new license" [001]: a license placed straight onto a pool, running from its validFrom. */
export async function placeLicense(deps: Deps, actor: Actor, poolId: string, input: PlaceLicenseBody): Promise<LicenseRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    // Locking the pool serializes license changes on it, so two checks never pass side by side.
    const pool = await poolFor(tx, actor, poolId, 'control', { lock: true });
    if (pool.status === 'closed') throw new AppError('INVALID_TRANSITION', 'the pool is closed');
    const terms: LicenseTerms = {
      limits: input.limits,
      features: input.features,
      validFrom: input.validFrom ? new Date(input.validFrom) : now,
      validUntil: input.validUntil ? new Date(input.validUntil) : null,
    };
    await checkTerms(tx, pool, terms, now);
    const license = await insertLicense(tx, {
      id: newId('license'),
      rootId: pool.rootId,
      poolId: pool.id,
      name: input.name ?? null,
      status: 'in_use',
      ...terms,
      createdAt: now,
      updatedAt: now,
    });
    await insertAuditEvent(tx, actor, now, { action: 'license.created', ...licenseAudit(license), after: license });
    return license;
  });
}

/** Loads a license with the pool it is on, checking the caller's permission there. */
export async function licenseFor(db: Executor, actor: Actor, id: string, permission: 'read' | 'control', lock = false) {
  if (!isIdOf('license', id)) throw notFound('license');
  const license = await findLicense(db, id, { lock });
  if (!license) throw notFound('license');
  // A license on no pool (a key not yet activated) belongs to its root's operators.
  const pool = await poolFor(db, actor, license.poolId ?? license.rootId, license.poolId ? permission : 'operate', {
    what: 'license',
    lock,
  });
  return { license, pool };
}

export async function getLicense(deps: Deps, actor: Actor, id: string): Promise<LicenseRow> {
  return (await licenseFor(deps.db, actor, id, 'read')).license;
}

/**
 * A change of terms in `tx`: re-checked like a new license, kept in the history, and the newest
 * claims beyond the pool's limit revoked (U5). Returns the license as changed and the claims revoked.
 */
async function changeLicenseTerms(tx: Executor, actor: Actor, id: string, input: UpdateLicenseBody, now: Date) {
  const { license, pool } = await licenseFor(tx, actor, id, 'control', true);
  const status = effectiveStatus(license, now);
  if (FINAL_LICENSE_STATUSES.includes(status)) throw new AppError('LICENSE_ENDED', `the license is ${status}`);
  const terms: LicenseTerms = {
    limits: input.limits ?? license.limits,
    features: input.features ?? license.features,
    validFrom: input.validFrom ? new Date(input.validFrom) : (license.validFrom ?? now),
    validUntil: input.validUntil === undefined ? license.validUntil : input.validUntil === null ? null : new Date(input.validUntil),
  };
  await checkTerms(tx, pool, terms, now);
  const updated = await updateLicenseRow(tx, license.id, {
    ...terms,
    ...(input.name !== undefined ? { name: input.name } : {}),
    updatedAt: now,
  });
  await insertAuditEvent(tx, actor, now, { action: 'license.updated', ...licenseAudit(license), before: license, after: updated });
  const revoked = await revokeBeyondLimit(tx, actor, pool, now, `the limit dropped below use: license ${license.id} was changed`);
  return { updated, pool, revoked };
}

/** Upgrades [003]: any change of terms, re-checked like a new license and kept in the history. */
export async function updateLicense(deps: Deps, actor: Actor, id: string, input: UpdateLicenseBody): Promise<LicenseRow> {
  return deps.db.transaction(async (tx) => (await changeLicenseTerms(tx, actor, id, input, deps.clock.now())).updated);
}

export interface LicenseChangePreview {
  license: LicenseRow;
  /** The claims saving the change would revoke (U5), as they would end. */
  revoked: ClaimRow[];
  holders: Map<string, Holder>;
  /** The license state of the license's pool after the change. */
  state: LoadedState;
}

/** Carries a preview out of the transaction it rolls back. */
class PreviewRolledBack extends Error {
  constructor(readonly preview: LicenseChangePreview) {
    super('preview rolled back');
  }
}

/**
 * A dry run of `updateLicense` (issue 14: the console shows which live claims a change would
 * revoke before it is saved). The very change is made in a transaction that is then rolled back,
 * so the answer is exactly what saving would do — the same checks and refusals, the same U5 rule
 * picking the same claims — and nothing is written. The price: while it runs it holds the locks
 * the change takes (the pool's row, the claims and counters it would revoke), a few milliseconds
 * in which claims on that subtree wait, as for a real change.
 */
export async function previewLicenseChange(deps: Deps, actor: Actor, id: string, input: UpdateLicenseBody): Promise<LicenseChangePreview> {
  try {
    await deps.db.transaction(async (tx) => {
      const now = deps.clock.now();
      const { updated, pool, revoked } = await changeLicenseTerms(tx, actor, id, input, now);
      const state = await computeStateOf(tx, pool, now);
      throw new PreviewRolledBack({ license: updated, revoked, holders: await findHolders(tx, revoked.map((c) => c.memberId)), state });
    });
  } catch (err) {
    if (err instanceof PreviewRolledBack) return err.preview;
    throw err;
  }
  throw new Error('a license change preview was not rolled back');
}

/** What the domain's start rule reads of a row. */
const startRuleOf = (l: LicenseRow): StartRule =>
  l.startRule === 'on_connections' ? { type: 'on_connections', threshold: l.connectionThreshold ?? DEFAULT_CONNECTION_THRESHOLD } : { type: 'on_activation' };

/**
 * Applies an L2 event to a locked license: the domain machine decides, the row and the audit
 * trail record it, and a license that stops giving (suspended, finalized) revokes the newest
 * claims beyond the pool's limit (U5) in the same transaction.
 */
async function applyEvent(tx: Executor, actor: Actor, license: LicenseRow, pool: PoolRow | null, event: LicenseEvent, now: Date, patch: Partial<LicenseRow> = {}) {
  const before = effectiveStatus(license, now);
  const next = transition({ ...license, startRule: startRuleOf(license) }, event, now);
  if (!next.ok) {
    const code = next.reason === 'LICENSE_ENDED' ? 'LICENSE_ENDED' : next.reason === 'KEY_ALREADY_ACTIVATED' ? 'KEY_ALREADY_ACTIVATED' : 'INVALID_TRANSITION';
    throw new AppError(code, next.detail, { currentStatus: next.currentStatus });
  }
  if (!next.changed && Object.keys(patch).length === 0) return license;
  const updated = await updateLicenseRow(tx, license.id, { ...patch, status: next.status, validFrom: next.validFrom, validUntil: next.validUntil, updatedAt: now });
  await insertAuditEvent(tx, actor, now, {
    action: `license.${EVENT_ACTIONS[event.type]}`,
    ...licenseAudit(updated),
    // The status, and whichever of the binding and the dates the event changed.
    before: { status: before, ...changedFields(license, updated, license) },
    after: { status: updated.status, ...changedFields(license, updated, updated) },
  });
  if (pool && before === 'in_use' && updated.status !== 'in_use') {
    await revokeBeyondLimit(tx, actor, pool, now, `the limit dropped below use: license ${license.id} was ${updated.status.replace('_', ' ')}`);
  }
  return updated;
}

function changedFields(a: LicenseRow, b: LicenseRow, from: LicenseRow) {
  const keys = (['poolId', 'validFrom', 'validUntil'] as const).filter((k) => String(a[k]) !== String(b[k]));
  return Object.fromEntries(keys.map((k) => [k, from[k]]));
}

const EVENT_ACTIONS: Record<LicenseEvent['type'], string> = {
  activate: 'activated',
  connections: 'started',
  suspend: 'suspend',
  resume: 'resume',
  finalize: 'finalize',
  expire: 'expired',
};

export async function changeLicenseStatus(deps: Deps, actor: Actor, id: string, action: 'suspend' | 'resume' | 'finalize'): Promise<LicenseRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { license, pool } = await licenseFor(tx, actor, id, 'control', true);
    return applyEvent(tx, actor, license, license.poolId ? pool : null, { type: action }, now);
  });
}

/**
 * L1: the vendor (a root's operator) makes a license by request: no pool yet
 * (`pending_provision`), a new key to hand to the customer. The term defaults to the contract
 * years; the catalog rules apply now, the parent's (L7) at activation.
 */
export async function createLicense(deps: Deps, actor: Actor, input: CreateLicenseBody): Promise<LicenseRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const root = await rootFor(tx, actor, input.rootId, 'licenses made by request');
    await checkCatalog(tx, root.id, input);
    if (input.request?.poolId) {
      const meant = await findPool(tx, input.request.poolId);
      if (!meant || meant.rootId !== root.id) throw notFound('pool');
    }
    const termMonths = input.termMonths ?? (input.billing ? input.billing.contractYears * 12 : null);
    const validUntil = input.validUntil ? new Date(input.validUntil) : null;
    if (validUntil !== null && validUntil <= now) {
      throw new AppError('INVALID_VALIDITY', 'validUntil must lie in the future', { errors: [{ path: 'body.validUntil', message: 'must lie in the future' }] });
    }
    const row = {
      id: newId('license'),
      rootId: root.id,
      poolId: null,
      name: input.name ?? null,
      status: 'pending_provision' as const,
      limits: input.limits,
      features: input.features,
      validFrom: null,
      validUntil,
      termMonths,
      startRule: input.startRule.type,
      connectionThreshold: input.startRule.type === 'on_connections' ? (input.startRule.threshold ?? DEFAULT_CONNECTION_THRESHOLD) : null,
      billingInterval: input.billing?.interval ?? null,
      contractYears: input.billing?.contractYears ?? null,
      request: input.request ?? null,
      createdAt: now,
      updatedAt: now,
    };
    // 108 random bits: a clash is not expected in the life of the universe, but the unique
    // index has the last word, and a key is never reused.
    let license: LicenseRow | undefined;
    for (let attempt = 0; !license; attempt++) {
      if (attempt === 3) throw new Error('could not draw an unused license key');
      license = await insertLicenseWithKey(tx, { ...row, key: generateLicenseKey() });
    }
    await insertAuditEvent(tx, actor, now, { action: 'license.created', ...licenseAudit(license), after: license });
    return license;
  });
}

/** Activation attempts per account, and per client address, in a quarter of an hour. */
const ACTIVATION_WINDOW_MS = 15 * 60_000;
const ACTIVATION_ATTEMPTS = 20;

/**
 * L4 "Send Key": a manager of the pool (or the vendor) binds the license to it for good. The
 * key's check character is judged before any lookup (`KEY_INVALID`); then unknown
 * (`KEY_NOT_FOUND`, also for another vendor's key), already activated and ended keys are refused
 * with their own codes. Every attempt counts against a limit per account and per address.
 */
export async function activateLicense(deps: Deps, actor: Actor, input: ActivateLicenseBody, clientAddress: string): Promise<LicenseRow> {
  const now = deps.clock.now();
  // Counted before the outcome is known, in one atomic statement, so failures and successes alike
  // are limited and attempts made at once are each counted.
  const hits = await hitWindows(deps.db, [`activate:account:${actor.principal.accountId}`, `activate:ip:${clientAddress}`], now, ACTIVATION_WINDOW_MS);
  const exceeded = hits.filter((hit) => hit.count > ACTIVATION_ATTEMPTS);
  if (exceeded.length > 0) {
    const retryAfter = Math.max(...exceeded.map((hit) => secondsUntilWindowEnds(hit, now, ACTIVATION_WINDOW_MS)));
    throw new AppError('TOO_MANY_ATTEMPTS', `too many license activations; try again in ${retryAfter} seconds`, { retryAfter });
  }
  const checked = checkLicenseKey(input.key);
  if (!checked.ok) throw new AppError('KEY_INVALID', `not a valid license key: ${checked.detail}`, { keyProblem: checked.reason });
  return deps.db.transaction(async (tx) => {
    // The pool first (locked: license changes on a pool take turns), then the license.
    const pool = await poolFor(tx, actor, input.poolId, 'manage', { lock: true });
    if (pool.status === 'closed') throw new AppError('INVALID_TRANSITION', 'the pool is closed');
    const license = await findLicenseByKey(tx, checked.key, { lock: true });
    if (!license || license.rootId !== pool.rootId) throw new AppError('KEY_NOT_FOUND', 'no license has this key');
    // Judged first, so an activated or ended key is refused before the pool's terms are checked.
    const judged = transition({ ...license, startRule: startRuleOf(license) }, { type: 'activate' }, now);
    if (judged.ok) await checkTerms(tx, pool, { limits: license.limits, features: license.features, validFrom: judged.validFrom ?? now, validUntil: judged.validUntil }, now);
    return applyEvent(tx, actor, license, pool, { type: 'activate' }, now, { poolId: pool.id, activatedAt: now, activatedBy: actor.principal.accountId });
  });
}

/**
 * L5: a device connected to the pool. Each license of the pool waiting for connections counts
 * the serial once; the one that reaches its threshold starts now (`in_use`, end = now + term).
 */
export async function recordConnection(deps: Deps, actor: Actor, poolId: string, input: ConnectionBody) {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const pool = await poolFor(tx, actor, poolId, 'manage', { lock: true });
    const waiting = await lockLicensesAwaitingConnections(tx, pool.id);
    const counts = await recordConnections(tx, waiting.map((l) => l.id), input.serial, now);
    const licenses = [];
    for (const license of waiting) {
      const connections = counts.get(license.id) ?? 0;
      const updated = await applyEvent(tx, actor, license, pool, { type: 'connections', distinctDevices: connections }, now);
      licenses.push({ id: updated.id, status: updated.status, connections, threshold: license.connectionThreshold ?? DEFAULT_CONNECTION_THRESHOLD });
    }
    return { poolId: pool.id, serial: input.serial, licenses };
  });
}

/** L8: every change of the license, oldest first, from the audit trail. */
export async function licenseHistory(deps: Deps, actor: Actor, id: string, page: { limit: number; cursor?: string | undefined }) {
  const { license } = await licenseFor(deps.db, actor, id, 'read');
  return findAuditEvents(deps.db, { licenseId: license.id, after: page.cursor, limit: page.limit + 1 });
}

/**
 * Records `expired` on running licenses whose end has passed (reads already show them expired
 * by the clock; this writes the transition into each license's history). Safe to run from any
 * number of processes at once: the UPDATE takes each row once.
 */
export async function expireLicenses(deps: Deps): Promise<number> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const expired = await markExpiredLicenses(tx, now);
    for (const { before, license } of expired) {
      await insertAuditEvent(tx, SYSTEM_ACTOR, now, {
        action: 'license.expired',
        ...licenseAudit(license),
        before: { status: before },
        after: { status: 'expired' },
      });
    }
    // Pools in id order, as claim batches share-lock them.
    const poolIds = [...new Set(expired.flatMap(({ license }) => (license.poolId ? [license.poolId] : [])))].sort();
    for (const poolId of poolIds) {
      const pool = await lockPool(tx, poolId);
      if (pool) await revokeBeyondLimit(tx, SYSTEM_ACTOR, pool, now, 'the limit dropped below use: a license expired');
    }
    return expired.length;
  });
}
