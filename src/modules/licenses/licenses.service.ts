import type { Executor } from '../../db/client.js';
import { checkAgainstParent, checkDrawCoverage, drawClosure, licenseStatusAt } from '../../domain/quota.js';
import { ENDED_LICENSE_STATUSES, nextLicenseStatus, type LicenseAction } from '../../domain/status.js';
import { SYSTEM_ACTOR, type Actor, type Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { isIdOf, newId } from '../../lib/ids.js';
import { findAuditEvents, insertAuditEvent } from '../audit/audit.repo.js';
import { findFeatures, findMeters } from '../catalog/catalog.repo.js';
import { poolFor, reachOf } from '../pools/pool-access.js';
import { revokeBeyondLimit } from '../claims/claims.revoke.js';
import { findPool, lockPool, type PoolRow } from '../pools/pools.repo.js';
import { computeStateOf } from '../state/state.service.js';
import type { LicenseRow } from '../state/state.repo.js';
import { findLicense, findLicenses, insertLicense, markExpiredLicenses, updateLicenseRow } from './licenses.repo.js';
import type { ListLicensesQuery, PlaceLicenseBody, UpdateLicenseBody } from './licenses.schemas.js';

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

/**
 * The rules a license's terms must meet on `pool`: every meter and feature in the root's
 * catalog; validity in order; C3 (drawn meters get at least as many units); L7 (no more than
 * the parent pool has, at the moment the license starts). All violations of the first failing
 * rule are reported in `violations`.
 */
async function checkTerms(db: Executor, pool: PoolRow, terms: LicenseTerms, now: Date): Promise<void> {
  if (terms.validUntil !== null && terms.validUntil <= terms.validFrom) {
    throw new AppError('INVALID_VALIDITY', 'validUntil must come after validFrom', {
      errors: [{ path: 'body.validUntil', message: 'must come after validFrom' }],
    });
  }
  const meters = await findMeters(db, pool.rootId);
  const features = await findFeatures(db, pool.rootId);
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
async function licenseFor(db: Executor, actor: Actor, id: string, permission: 'read' | 'control', lock = false) {
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

/** Upgrades [003]: any change of terms, re-checked like a new license and kept in the history. */
export async function updateLicense(deps: Deps, actor: Actor, id: string, input: UpdateLicenseBody): Promise<LicenseRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { license, pool } = await licenseFor(tx, actor, id, 'control', true);
    const status = licenseStatusAt(license, now);
    if (ENDED_LICENSE_STATUSES.includes(status)) throw new AppError('LICENSE_ENDED', `the license is ${status}`);
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
    await revokeBeyondLimit(tx, actor, pool, now, `the limit dropped below use: license ${license.id} was changed`);
    return updated;
  });
}

export async function changeLicenseStatus(deps: Deps, actor: Actor, id: string, action: LicenseAction): Promise<LicenseRow> {
  return deps.db.transaction(async (tx) => {
    const now = deps.clock.now();
    const { license, pool } = await licenseFor(tx, actor, id, 'control', true);
    const current = licenseStatusAt(license, now);
    const next = nextLicenseStatus(current, action);
    if (!next) throw new AppError('INVALID_TRANSITION', `cannot ${action} a license that is ${current}`, { currentStatus: current });
    const updated = await updateLicenseRow(tx, license.id, { status: next, updatedAt: now });
    await insertAuditEvent(tx, actor, now, {
      action: `license.${action}`,
      ...licenseAudit(license),
      before: { status: current },
      after: { status: next },
    });
    if (license.poolId) await revokeBeyondLimit(tx, actor, pool, now, `the limit dropped below use: license ${license.id} was ${next.replace('_', ' ')}`);
    return updated;
  });
}

export async function listLicenses(deps: Deps, actor: Actor, query: ListLicensesQuery): Promise<LicenseRow[]> {
  let within = reachOf(actor);
  if (query.poolId) {
    await poolFor(deps.db, actor, query.poolId, 'read');
    within = undefined;
  }
  if (within && within.length === 0) return [];
  return findLicenses(deps.db, {
    poolId: query.poolId,
    status: query.status,
    endsAfter: query.endsAfter ? new Date(query.endsAfter) : undefined,
    endsBefore: query.endsBefore ? new Date(query.endsBefore) : undefined,
    q: query.q,
    within,
    after: query.cursor,
    limit: query.limit + 1,
    now: deps.clock.now(),
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
    for (const license of expired) {
      await insertAuditEvent(tx, SYSTEM_ACTOR, now, {
        action: 'license.expired',
        ...licenseAudit(license),
        before: { status: 'in_use' },
        after: { status: 'expired' },
      });
    }
    // Pools in id order, as claim batches share-lock them.
    const poolIds = [...new Set(expired.flatMap((l) => (l.poolId ? [l.poolId] : [])))].sort();
    for (const poolId of poolIds) {
      const pool = await lockPool(tx, poolId);
      if (pool) await revokeBeyondLimit(tx, SYSTEM_ACTOR, pool, now, 'the limit dropped below use: a license expired');
    }
    return expired.length;
  });
}
