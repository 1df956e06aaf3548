/**
 * Sync [000]: a verified member's app asks for its licenses and gets one signed token for the
 * member and one per verified device of its pool, plus the packages it is entitled to. The
 * answer is the member's entitlements (U6, with M2's strictest rule) put into tokens the app
 * checks offline until it syncs again.
 */
import { membershipEntitlements, type Entitlements } from '../../domain/entitlements.js';
import { earliest } from '../../domain/quota.js';
import type { Actor, Deps } from '../../lib/context.js';
import { AppError, notFound } from '../../lib/errors.js';
import { iso } from '../../lib/time.js';
import { findPackages, type PackageRow } from '../catalog/catalog.repo.js';
import { presentPackage } from '../catalog/catalog.schemas.js';
import { claimantFor } from '../claims/claimants.js';
import { findMember } from '../members/members.repo.js';
import { presentEntitlements } from '../members/members.schemas.js';
import { loadEntitlements } from '../members/members.service.js';
import { signLicenses } from '../signing/signing.service.js';
import { findMemberIdsOfAccount, findServedDevicesOfPool } from './sync.repo.js';
import type { SyncBody, SyncResult } from './sync.schemas.js';

/** The app should sync again within a day, to learn of changes (a removed member, a new license). */
export const SYNC_REFRESH_MS = 24 * 3600 * 1000;
/** Past refresh-by, tokens keep verifying this long for an app that cannot reach the server. */
export const SYNC_OFFLINE_GRACE_MS = 7 * 24 * 3600 * 1000;

const seconds = (at: Date | null) => (at === null ? null : Math.floor(at.getTime() / 1000));

/**
 * When what the entitlements grant ends: the earliest end on the path (`until`) or, sooner, when
 * the last granted feature and meter end. Null: no end.
 */
export function grantEnd(e: Entitlements): Date | null {
  const ends = [...e.features.filter((f) => f.enabled).map((f) => f.until), ...e.meters.filter((m) => m.limit !== 0).map((m) => m.until)];
  const last = ends.length === 0 || ends.includes(null) ? null : new Date(Math.max(...ends.map((d) => d!.getTime())));
  return earliest(e.until, last);
}

/**
 * The license claims a token carries for one subject: enabled features with their ends, and the
 * limit of every licensed meter (0 = not licensed, left out) with its end; NumericDate seconds,
 * null = no end.
 */
function grantClaims(e: Entitlements) {
  return {
    features: Object.fromEntries(e.features.filter((f) => f.enabled).map((f) => [f.key, seconds(f.until)])),
    limits: Object.fromEntries(e.meters.filter((m) => m.limit !== 0).map((m) => [m.key, { limit: m.limit, until: seconds(m.until) }])),
    end: seconds(grantEnd(e)),
  };
}

/** Packages whose feature is enabled, or whose meter is licensed, for the member. */
function entitledPackages(all: readonly PackageRow[], e: Entitlements): PackageRow[] {
  const features = new Set(e.features.filter((f) => f.enabled).map((f) => f.key));
  const meters = new Set(e.meters.filter((m) => m.limit !== 0).map((m) => m.key));
  return all.filter((p) => (p.featureKey !== null && features.has(p.featureKey)) || (p.meterKey !== null && meters.has(p.meterKey)));
}

/** The member a sync is for: the one named, or the caller's only membership (in the root, if given). */
async function memberToSync(deps: Deps, actor: Actor, input: SyncBody): Promise<string> {
  if (input.memberId !== undefined) return input.memberId;
  const ids = await findMemberIdsOfAccount(deps.db, actor.principal.accountId, input.rootId);
  if (ids.length === 0) {
    throw new AppError('SYNC_REFUSED', 'refused: MEMBER_NOT_FOUND', {
      reasons: [{ code: 'MEMBER_NOT_FOUND', detail: 'the account is not a member of any pool' + (input.rootId ? ` of ${input.rootId}` : '') }],
    });
  }
  if (ids.length > 1) throw new AppError('MEMBER_AMBIGUOUS', 'the account is a member of several pools: name the one to sync with memberId', { memberIds: ids });
  return ids[0]!;
}

export async function sync(deps: Deps, actor: Actor, input: SyncBody): Promise<SyncResult> {
  const memberId = await memberToSync(deps, actor, input);
  // Who may sync a member: its own account, or whoever manages its pool (the claims' rule).
  await claimantFor(deps.db, actor, memberId);
  const view = await findMember(deps.db, memberId);
  if (!view) throw notFound('member');
  const at = deps.clock.now();
  const { entitlements, input: loaded, path } = await loadEntitlements(deps.db, view, at);
  if (!entitlements.serving) {
    throw new AppError('SYNC_REFUSED', `refused: ${entitlements.reasons.map((r) => r.code).join(', ')}`, { reasons: entitlements.reasons });
  }
  const devices = await findServedDevicesOfPool(deps.db, view.member.poolId, view.member.id);
  const catalog = await findPackages(deps.db, view.member.rootId);
  // Every served device of the pool has the same grant: verified, not blocked, on the same path,
  // and no access rules (those judge e-mails). One computation serves them all.
  const deviceGrant = grantClaims(membershipEntitlements({ memberId: '', status: 'verified', deviceStatus: 'ok', access: null, path, held: [] }, loaded));
  const memberGrant = grantClaims(entitlements);
  const end = memberGrant.end === null ? null : new Date(memberGrant.end * 1000);
  const refreshBy = earliest(new Date(at.getTime() + SYNC_REFRESH_MS), end)!;
  const expiresAt = earliest(new Date(refreshBy.getTime() + SYNC_OFFLINE_GRACE_MS), end)!;
  const common = { pool: view.member.poolId, refreshBy: seconds(refreshBy) };
  const memberSubject = view.account
    ? { subject: 'account', account: { id: view.account.id, email: view.account.email } }
    : { subject: 'device', device: { serial: view.device!.serial, type: view.device!.type } };
  const tokens = await signLicenses(
    deps,
    view.member.rootId,
    [
      { ...common, sub: view.member.id, ...memberSubject, ...memberGrant },
      ...devices.map((d) => ({ ...common, sub: d.memberId, subject: 'device', device: { serial: d.serial, type: d.type }, ...deviceGrant })),
    ],
    { expiresAt },
  );
  return {
    memberId: view.member.id,
    poolId: view.member.poolId,
    rootId: view.member.rootId,
    issuedAt: at.toISOString(),
    refreshBy: refreshBy.toISOString(),
    expiresAt: expiresAt.toISOString(),
    until: iso(end),
    entitlements: presentEntitlements(view, at, entitlements),
    tokens: [
      { subject: 'member', memberId: view.member.id, device: view.device ? { serial: view.device.serial, type: view.device.type } : null, token: tokens[0]! },
      ...devices.map((d, i) => ({ subject: 'device' as const, memberId: d.memberId, device: { serial: d.serial, type: d.type }, token: tokens[i + 1]! })),
    ],
    packages: entitledPackages(catalog, entitlements).map(presentPackage),
  };
}
