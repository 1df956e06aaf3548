/**
 * Tenant isolation, route by route. Two vendor roots, alpha (A) and bravo (B), each with an
 * operator, a catalog, a child pool with a license and a verified member. One table lists every
 * /v1 route with A's resources in its URL and body; each row is called with no token, with an
 * unknown token, with B's operator's token and with the token of a plain member of A's child
 * pool. None of them may get A's data or change it; routes about the caller itself, and lists
 * (which show only what the caller reaches), are marked in the table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { generateLicenseKey } from '../../src/domain/license-keys.js';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { newId } from '../../src/lib/ids.js';
import { queueMail } from '../../src/modules/notifications/mail.queue.js';
import { insertDeliveries } from '../../src/modules/webhooks/webhooks.repo.js';
import { backends, call, childPool, createTestApp, csvBody, ok, PASSWORD, person, vendor, type Answer, type TestApp } from '../helpers.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
interface Person {
  id: string;
  email: string;
  token: string;
}

/** One vendor root and everything in it the table points at. */
interface Tenant {
  label: string;
  root: string;
  rootName: string;
  child: string;
  childName: string;
  operator: Person;
  /** The operator's API token (the one its bearer secret belongs to). */
  operatorTokenId: string;
  /** A role binding at the child pool. */
  childRoleId: string;
  /** An access rule on the child pool. */
  childAccessRuleId: string;
  /** The member's live lease (fingerprint `member-app`) and a claim of its already checked in. */
  claimId: string;
  releasedClaimId: string;
  /** A queue ticket of the member, claimed: the lease it became. */
  ticketId: string;
  ticketClaimId: string;
  /** A rotated-out (`verifying`) signing key of the root, which its operator could retire. */
  signingKeyId: string;
  meter: { id: string; key: string };
  feature: { id: string; key: string };
  license: { id: string; name: string };
  member: { id: string; person: Person };
  /** A device in the root's registry. */
  deviceId: string;
  /** A package of the root's catalog, tied to the feature (so the member's sync delivers it). */
  packageId: string;
  /** A pending application under the root, and the pool it applies for. */
  application: { id: string; poolId: string };
  /** A message in the outbox about the child pool, to the operator, and the job that sends it. */
  messageId: string;
  mailJobId: string;
  /** A webhook endpoint of the root, its secret, and a failed delivery of it (which its operator could redeliver). */
  webhook: { id: string; secret: string; deliveryId: string };
}

/**
 * How a caller other than A's staff is answered:
 * - `denied`: 403 or 404 (problem+json), and exactly what a resource that does not exist gets;
 * - `list`: 200 with a page that holds none of A's data (lists show only the caller's reach);
 * - `self`: 2xx, about the caller itself (its account, its tokens, its session, its membership).
 */
type Expect = 'denied' | 'list' | 'self';

interface Row {
  method: Method;
  /** The route as the OpenAPI document names it. */
  route: string;
  url: (a: Tenant) => string;
  /** `me` is the caller, for bodies that name it (joining a pool, granting oneself a role). */
  body?: (a: Tenant, me: Person) => unknown;
  stranger: Expect;
  member: Expect;
  /** Why a caller is let through, for `self` rows. */
  why?: string;
  /** What a `self` answer may show the member of A beyond its own account. */
  memberSees?: (a: Tenant) => string[];
  /** Call with a fresh login session instead of the caller's API token (logout ends it). */
  session?: boolean;
}

const denied = { stranger: 'denied', member: 'denied' } as const;
const listed = { stranger: 'list', member: 'list' } as const;
const own = { stranger: 'self', member: 'self' } as const;

const TABLE: Row[] = [
  // accounts
  { method: 'GET', route: '/v1/accounts/me', url: () => '/v1/accounts/me', ...own, why: 'every caller reads its own account' },
  { method: 'GET', route: '/v1/accounts/me/roles', url: () => '/v1/accounts/me/roles', ...own, why: 'every caller lists its own roles' },
  // Its own name again: A's member lists of before and after compare equal.
  { method: 'PATCH', route: '/v1/accounts/me', url: () => '/v1/accounts/me', body: (_a, caller) => ({ name: caller.email.split('@')[0] }), ...own, why: 'every caller changes its own name' },
  // The same password again: the rows after it log in with it.
  { method: 'POST', route: '/v1/accounts/me/password', url: () => '/v1/accounts/me/password', body: () => ({ currentPassword: PASSWORD, newPassword: PASSWORD }), ...own, why: 'every caller changes its own password' },

  // pools
  { method: 'POST', route: '/v1/pools', url: () => '/v1/pools', body: () => ({ name: 'intruder root', kind: 'vendor' }), ...denied },
  { method: 'POST', route: '/v1/pools', url: () => '/v1/pools', body: (a) => ({ name: 'intruder', kind: 'company', parentId: a.child }), ...denied },
  { method: 'POST', route: '/v1/roots', url: () => '/v1/roots', body: (a) => ({ name: 'intruder root', operator: { email: a.operator.email } }), ...denied },
  { method: 'GET', route: '/v1/pools', url: () => '/v1/pools', ...listed },
  { method: 'GET', route: '/v1/pools', url: (a) => `/v1/pools?rootId=${a.root}`, ...listed },
  { method: 'GET', route: '/v1/pools', url: (a) => `/v1/pools?parentId=${a.root}`, ...listed },
  { method: 'GET', route: '/v1/pools', url: () => '/v1/pools?q=alpha', ...listed },
  { method: 'GET', route: '/v1/pools', url: (a) => `/v1/pools?parentId=${a.root}&tree=true`, ...listed },
  { method: 'GET', route: '/v1/pools', url: () => '/v1/pools?q=alpha&tree=true', ...listed },
  { method: 'GET', route: '/v1/pools', url: () => '/v1/pools?top=true&tree=true', ...listed },
  { method: 'GET', route: '/v1/pools/{id}', url: (a) => `/v1/pools/${a.root}`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}', url: (a) => `/v1/pools/${a.child}`, ...denied },
  { method: 'PATCH', route: '/v1/pools/{id}', url: (a) => `/v1/pools/${a.child}`, body: () => ({ name: 'hijacked' }), ...denied },
  { method: 'PATCH', route: '/v1/pools/{id}', url: (a) => `/v1/pools/${a.child}`, body: () => ({ restricted: true, validUntil: '2026-01-02T00:00:00Z' }), ...denied },
  ...(['activate', 'suspend', 'resume', 'close'] as const).map((action): Row => ({
    method: 'POST',
    route: '/v1/pools/{id}/{action}',
    url: (a) => `/v1/pools/${a.child}/${action}`,
    ...denied,
  })),
  { method: 'POST', route: '/v1/pools/{id}/roles', url: (a) => `/v1/pools/${a.root}/roles`, body: (_a, me) => ({ email: me.email, role: 'operator' }), ...denied },
  { method: 'POST', route: '/v1/pools/{id}/roles', url: (a) => `/v1/pools/${a.child}/roles`, body: (_a, me) => ({ email: me.email, role: 'deputy' }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/roles', url: (a) => `/v1/pools/${a.child}/roles`, ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/roles/{roleId}', url: (a) => `/v1/pools/${a.child}/roles/${a.childRoleId}`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/access-rules', url: (a) => `/v1/pools/${a.child}/access-rules`, body: (_a, me) => ({ effect: 'include', match: 'email', value: me.email }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/access-rules', url: (a) => `/v1/pools/${a.child}/access-rules`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/access-rules/check', url: (a) => `/v1/pools/${a.child}/access-rules/check?email=${encodeURIComponent(a.member.person.email)}`, ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/access-rules/{ruleId}', url: (a) => `/v1/pools/${a.child}/access-rules/${a.childAccessRuleId}`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/state', url: (a) => `/v1/pools/${a.child}/state`, ...denied },

  // signing keys (the JWKS at /.well-known/jwks.json is public and outside /v1)
  { method: 'GET', route: '/v1/pools/{id}/signing-keys', url: (a) => `/v1/pools/${a.root}/signing-keys`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/signing-keys/rotate', url: (a) => `/v1/pools/${a.root}/signing-keys/rotate`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/signing-keys/{kid}/retire', url: (a) => `/v1/pools/${a.root}/signing-keys/${a.signingKeyId}/retire`, ...denied },

  // catalog
  { method: 'POST', route: '/v1/pools/{id}/meters', url: (a) => `/v1/pools/${a.root}/meters`, body: () => ({ key: 'intruder_meter', name: 'x', draws: [] }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/meters', url: (a) => `/v1/pools/${a.root}/meters`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/meters', url: (a) => `/v1/pools/${a.child}/meters`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/features', url: (a) => `/v1/pools/${a.root}/features`, body: () => ({ key: 'intruder_feature', name: 'x' }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/features', url: (a) => `/v1/pools/${a.root}/features`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/features', url: (a) => `/v1/pools/${a.child}/features`, ...denied },
  {
    method: 'POST',
    route: '/v1/pools/{id}/packages',
    url: (a) => `/v1/pools/${a.root}/packages`,
    body: (a) => ({ name: 'intruder', version: '1', deviceType: 'WiDI', sha256: 'f'.repeat(64), size: 1, url: 'https://intruder.test/x', feature: a.feature.key }),
    ...denied,
  },
  { method: 'GET', route: '/v1/pools/{id}/packages', url: (a) => `/v1/pools/${a.root}/packages`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/packages', url: (a) => `/v1/pools/${a.child}/packages`, ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/packages/{packageId}', url: (a) => `/v1/pools/${a.root}/packages/${a.packageId}`, ...denied },

  // licenses
  { method: 'POST', route: '/v1/pools/{id}/licenses', url: (a) => `/v1/pools/${a.child}/licenses`, body: (a) => ({ limits: { [a.meter.key]: 5 } }), ...denied },
  { method: 'GET', route: '/v1/licenses', url: () => '/v1/licenses', ...listed },
  { method: 'GET', route: '/v1/licenses', url: () => '/v1/licenses?q=alpha', ...listed },
  { method: 'GET', route: '/v1/licenses', url: (a) => `/v1/licenses?poolId=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/licenses', url: (a) => `/v1/licenses?subtree=${a.root}`, ...denied },
  { method: 'GET', route: '/v1/licenses', url: (a) => `/v1/licenses?q=${a.license.name}&status=in_use,pending_provision&sort=-validUntil`, ...listed },
  { method: 'GET', route: '/v1/licenses.csv', url: () => '/v1/licenses.csv', ...listed },
  { method: 'GET', route: '/v1/licenses.csv', url: (a) => `/v1/licenses.csv?q=${a.rootName}`, ...listed },
  { method: 'GET', route: '/v1/licenses.csv', url: (a) => `/v1/licenses.csv?subtree=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/licenses.csv', url: (a) => `/v1/licenses.csv?poolId=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/licenses/{id}', url: (a) => `/v1/licenses/${a.license.id}`, ...denied },
  { method: 'PATCH', route: '/v1/licenses/{id}', url: (a) => `/v1/licenses/${a.license.id}`, body: (a) => ({ limits: { [a.meter.key]: 0 } }), ...denied },
  { method: 'POST', route: '/v1/licenses/{id}/preview', url: (a) => `/v1/licenses/${a.license.id}/preview`, body: (a) => ({ limits: { [a.meter.key]: 0 } }), ...denied },
  ...(['suspend', 'resume', 'finalize'] as const).map((action): Row => ({
    method: 'POST',
    route: '/v1/licenses/{id}/{action}',
    url: (a) => `/v1/licenses/${a.license.id}/${action}`,
    ...denied,
  })),
  { method: 'GET', route: '/v1/licenses/{id}/history', url: (a) => `/v1/licenses/${a.license.id}/history`, ...denied },
  { method: 'POST', route: '/v1/licenses', url: () => '/v1/licenses', body: (a) => ({ rootId: a.root, limits: { [a.meter.key]: 5 } }), ...denied },
  // A well-formed key nobody holds: the pool decides (a malformed key is refused before anything is looked up).
  { method: 'POST', route: '/v1/licenses/activate', url: () => '/v1/licenses/activate', body: (a) => ({ key: generateLicenseKey(), poolId: a.child }), ...denied },
  { method: 'POST', route: '/v1/pools/{id}/connections', url: (a) => `/v1/pools/${a.child}/connections`, body: () => ({ serial: 'INTRUDER-AP' }), ...denied },
  ...(['summary', 'assignments', 'assignments/members', 'certificate.pdf', 'notifications'] as const).map((tail): Row => ({
    method: 'GET',
    route: `/v1/licenses/{id}/${tail}`,
    url: (a) => `/v1/licenses/${a.license.id}/${tail}`,
    ...denied,
  })),

  // members
  { method: 'POST', route: '/v1/pools/{id}/members', url: (a) => `/v1/pools/${a.child}/members`, body: (_a, me) => ({ email: me.email }), ...denied },
  { method: 'POST', route: '/v1/pools/{id}/members', url: (a) => `/v1/pools/${a.child}/members`, body: () => ({ device: { serial: 'INTRUDER-1', type: 'WiDI' } }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/members', url: (a) => `/v1/pools/${a.child}/members`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/members/import', url: (a) => `/v1/pools/${a.child}/members/import`, body: (_a, me) => csvBody(`email,serial,type\n${me.email},,\n,INTRUDER-2,WiDI\n`), ...denied },
  {
    method: 'GET',
    route: '/v1/members/{id}',
    url: (a) => `/v1/members/${a.member.id}`,
    stranger: 'denied',
    member: 'self',
    why: 'a member reads its own membership (its pool and root included)',
    memberSees: (a) => [a.child, a.root],
  },
  {
    method: 'GET',
    route: '/v1/members/{id}/entitlements',
    url: (a) => `/v1/members/${a.member.id}/entitlements`,
    stranger: 'denied',
    member: 'self',
    why: 'a member reads its own entitlements (its pool and the catalog keys it is entitled to)',
    memberSees: (a) => [a.child, a.meter.key, a.feature.key],
  },
  { method: 'DELETE', route: '/v1/members/{id}', url: (a) => `/v1/members/${a.member.id}`, ...denied },

  // sync: a member syncs itself; it changes nothing
  {
    method: 'POST',
    route: '/v1/sync',
    url: () => '/v1/sync',
    body: (a) => ({ memberId: a.member.id }),
    stranger: 'denied',
    member: 'self',
    why: 'a member syncs its own licenses (its pool, root, entitlements and the packages they entitle it to)',
    memberSees: (a) => [a.child, a.root, a.member.id, a.meter.key, a.feature.key, a.packageId],
  },

  // applications, initialization, deputies
  {
    method: 'POST',
    route: '/v1/applications',
    url: () => '/v1/applications',
    body: (a, me) => ({ parentId: a.child, company: 'Intruder', contactName: 'Intruder', address: { line1: 'x', postalCode: '1', city: 'x', country: 'CH' }, email: me.email, phone: '+41 1', managerEmail: me.email }),
    ...denied,
  },
  { method: 'GET', route: '/v1/applications', url: () => '/v1/applications', ...listed },
  { method: 'GET', route: '/v1/applications', url: () => '/v1/applications?status=pending', ...listed },
  { method: 'POST', route: '/v1/applications/{id}/approve', url: (a) => `/v1/applications/${a.application.id}/approve`, ...denied },
  { method: 'POST', route: '/v1/applications/{id}/reject', url: (a) => `/v1/applications/${a.application.id}/reject`, body: () => ({ reason: 'intruder' }), ...denied },
  { method: 'POST', route: '/v1/pools/{id}/terms', url: (a) => `/v1/pools/${a.child}/terms`, body: () => ({ version: 'intruder' }), ...denied },
  { method: 'POST', route: '/v1/pools/{id}/payment-method', url: (a) => `/v1/pools/${a.child}/payment-method`, body: () => ({ reference: 'pm_intruder' }), ...denied },
  { method: 'POST', route: '/v1/pools/{id}/deputies', url: (a) => `/v1/pools/${a.child}/deputies`, body: (_a, me) => ({ email: me.email }), ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/deputies/{accountId}', url: (a) => `/v1/pools/${a.child}/deputies/${a.operator.id}`, ...denied },

  // device registry
  { method: 'POST', route: '/v1/pools/{id}/devices', url: (a) => `/v1/pools/${a.root}/devices`, body: () => ({ serial: 'INTRUDER-2', type: 'WiDI' }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/devices', url: (a) => `/v1/pools/${a.root}/devices`, ...denied },
  { method: 'POST', route: '/v1/devices/{id}/report', url: (a) => `/v1/devices/${a.deviceId}/report`, body: () => ({ status: 'stolen' }), ...denied },

  // claims: a member acts on its own; the self answers below change nothing (the same client
  // asking again gets its live lease back, a heartbeat renews it, checking in an ended claim is a no-op)
  {
    method: 'POST',
    route: '/v1/claims',
    url: () => '/v1/claims',
    body: (a) => ({ memberId: a.member.id, meter: a.meter.key, fingerprint: 'member-app', ttlSeconds: 86_400 }),
    stranger: 'denied',
    member: 'self',
    why: 'a member claims for itself (here it gets its live lease back)',
    memberSees: (a) => [a.child, a.root, a.member.id, a.claimId, a.meter.key],
  },
  {
    method: 'GET',
    route: '/v1/claims',
    url: (a) => `/v1/claims?memberId=${a.member.id}`,
    stranger: 'denied',
    member: 'self',
    why: 'a member lists its own claims',
    memberSees: (a) => [a.child, a.root, a.member.id, a.claimId, a.releasedClaimId, a.ticketClaimId, a.meter.key],
  },
  { method: 'GET', route: '/v1/claims', url: (a) => `/v1/claims?poolId=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/claims', url: (a) => `/v1/claims?poolId=${a.root}&subtree=true&live=true`, ...denied },
  // Force-release is for the pool's operators and admins: not even the holder's own app may use it.
  { method: 'POST', route: '/v1/claims/{id}/release', url: (a) => `/v1/claims/${a.claimId}/release`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/reconcile', url: (a) => `/v1/pools/${a.root}/reconcile`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/reconcile', url: (a) => `/v1/pools/${a.root}/reconcile`, ...denied },
  // Every root the caller operates: B's operator reconciles B's root, a member none.
  { method: 'GET', route: '/v1/reconcile', url: () => '/v1/reconcile', ...listed },
  { method: 'POST', route: '/v1/reconcile', url: () => '/v1/reconcile', ...listed },
  {
    method: 'GET',
    route: '/v1/claims/{id}',
    url: (a) => `/v1/claims/${a.claimId}`,
    stranger: 'denied',
    member: 'self',
    why: 'a member reads its own claim',
    memberSees: (a) => [a.child, a.root, a.member.id, a.claimId, a.meter.key],
  },
  {
    method: 'POST',
    route: '/v1/claims/{id}/heartbeat',
    url: (a) => `/v1/claims/${a.claimId}/heartbeat`,
    stranger: 'denied',
    member: 'self',
    why: 'a member renews its own lease',
    memberSees: (a) => [a.child, a.root, a.member.id, a.claimId, a.meter.key],
  },
  {
    method: 'DELETE',
    route: '/v1/claims/{id}',
    url: (a) => `/v1/claims/${a.releasedClaimId}`,
    stranger: 'denied',
    member: 'self',
    why: 'a member checks in its own claim (this one has ended: nothing changes)',
  },
  // queue tickets: the member's own; the self answers change nothing (the ticket is claimed:
  // claiming it again answers its lease, cancelling an ended ticket is a no-op)
  {
    method: 'GET',
    route: '/v1/tickets',
    url: (a) => `/v1/tickets?memberId=${a.member.id}`,
    stranger: 'denied',
    member: 'self',
    why: 'a member lists its own tickets',
    memberSees: (a) => [a.child, a.root, a.member.id, a.ticketId, a.ticketClaimId, a.meter.key],
  },
  { method: 'GET', route: '/v1/tickets', url: (a) => `/v1/tickets?poolId=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/tickets', url: (a) => `/v1/tickets?poolId=${a.root}&subtree=true&open=true`, ...denied },
  { method: 'GET', route: '/v1/tickets', url: () => '/v1/tickets', ...listed },
  ...(['', '/events'] as const).map((tail): Row => ({
    method: 'GET',
    route: `/v1/tickets/{id}${tail}`,
    url: (a) => `/v1/tickets/${a.ticketId}${tail}`,
    stranger: 'denied',
    member: 'self',
    why: tail ? 'a member follows its own ticket' : 'a member reads its own ticket',
    memberSees: (a) => [a.child, a.root, a.member.id, a.ticketId, a.ticketClaimId, a.meter.key],
  })),
  {
    method: 'POST',
    route: '/v1/tickets/{id}/claim',
    url: (a) => `/v1/tickets/${a.ticketId}/claim`,
    stranger: 'denied',
    member: 'self',
    why: 'a member claims its own ticket (claimed already: it gets the same lease back)',
    memberSees: (a) => [a.child, a.root, a.member.id, a.ticketClaimId, a.meter.key],
  },
  {
    method: 'DELETE',
    route: '/v1/tickets/{id}',
    url: (a) => `/v1/tickets/${a.ticketId}`,
    stranger: 'denied',
    member: 'self',
    why: 'a member cancels its own ticket (this one has ended: nothing changes)',
  },
  ...(['verify', 'reject'] as const).map((action): Row => ({
    method: 'POST',
    route: '/v1/members/{id}/{action}',
    url: (a) => `/v1/members/${a.member.id}/${action}`,
    ...denied,
  })),

  // audit
  // mail and background jobs (issue 6)
  { method: 'GET', route: '/v1/outbox', url: () => '/v1/outbox', ...listed },
  { method: 'GET', route: '/v1/outbox', url: (a) => `/v1/outbox?to=${encodeURIComponent(a.operator.email)}&event=member.verified&status=pending`, ...listed },
  { method: 'GET', route: '/v1/outbox', url: (a) => `/v1/outbox?poolId=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/outbox/{id}', url: (a) => `/v1/outbox/${a.messageId}`, ...denied },
  { method: 'POST', route: '/v1/outbox/{id}/retry', url: (a) => `/v1/outbox/${a.messageId}/retry`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/templates', url: (a) => `/v1/pools/${a.root}/templates`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/templates/{event}', url: (a) => `/v1/pools/${a.root}/templates/member.verified`, ...denied },
  { method: 'PUT', route: '/v1/pools/{id}/templates/{event}', url: (a) => `/v1/pools/${a.root}/templates/member.verified`, body: () => ({ subject: 'hijacked', text: 'hijacked', html: 'hijacked' }), ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/templates/{event}', url: (a) => `/v1/pools/${a.root}/templates/member.verified`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/templates/{event}/preview', url: (a) => `/v1/pools/${a.root}/templates/member.verified/preview`, body: () => ({}), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/notification-settings', url: (a) => `/v1/pools/${a.root}/notification-settings`, ...denied },
  { method: 'PATCH', route: '/v1/pools/{id}/notification-settings', url: (a) => `/v1/pools/${a.root}/notification-settings`, body: () => ({ notifyParentAdmins: false }), ...denied },
  // expiry reminder rules (N1)
  { method: 'GET', route: '/v1/pools/{id}/reminder-rule', url: (a) => `/v1/pools/${a.child}/reminder-rule`, ...denied },
  { method: 'PUT', route: '/v1/pools/{id}/reminder-rule', url: (a) => `/v1/pools/${a.child}/reminder-rule`, body: () => ({ offsets: [-3] }), ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/reminder-rule', url: (a) => `/v1/pools/${a.root}/reminder-rule`, ...denied },
  { method: 'GET', route: '/v1/licenses/{id}/reminder-rule', url: (a) => `/v1/licenses/${a.license.id}/reminder-rule`, ...denied },
  { method: 'PUT', route: '/v1/licenses/{id}/reminder-rule', url: (a) => `/v1/licenses/${a.license.id}/reminder-rule`, body: () => ({ fromDays: 10, every: 'daily' }), ...denied },
  { method: 'DELETE', route: '/v1/licenses/{id}/reminder-rule', url: (a) => `/v1/licenses/${a.license.id}/reminder-rule`, ...denied },
  // webhooks (N6): the root's operators only
  { method: 'POST', route: '/v1/pools/{id}/webhooks', url: (a) => `/v1/pools/${a.root}/webhooks`, body: () => ({ url: 'https://93.184.215.14/intruder', events: ['*'] }), ...denied },
  { method: 'GET', route: '/v1/pools/{id}/webhooks', url: (a) => `/v1/pools/${a.root}/webhooks`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/webhooks/{webhookId}', url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}`, ...denied },
  { method: 'PATCH', route: '/v1/pools/{id}/webhooks/{webhookId}', url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}`, body: () => ({ url: 'https://93.184.215.14/intruder' }), ...denied },
  { method: 'DELETE', route: '/v1/pools/{id}/webhooks/{webhookId}', url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}`, ...denied },
  { method: 'POST', route: '/v1/pools/{id}/webhooks/{webhookId}/rotate-secret', url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}/rotate-secret`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/webhooks/{webhookId}/deliveries', url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}/deliveries`, ...denied },
  { method: 'GET', route: '/v1/pools/{id}/webhooks/{webhookId}/deliveries/{deliveryId}', url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}/deliveries/${a.webhook.deliveryId}`, ...denied },
  {
    method: 'POST',
    route: '/v1/pools/{id}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver',
    url: (a) => `/v1/pools/${a.root}/webhooks/${a.webhook.id}/deliveries/${a.webhook.deliveryId}/redeliver`,
    ...denied,
  },
  // Jobs belong to the deployment: superusers only; to anyone else the list is empty and a job unknown.
  { method: 'GET', route: '/v1/jobs', url: () => '/v1/jobs?status=queued', ...listed },
  { method: 'POST', route: '/v1/jobs/{id}/retry', url: (a) => `/v1/jobs/${a.mailJobId}/retry`, ...denied },

  { method: 'GET', route: '/v1/audit', url: () => '/v1/audit', ...listed },
  { method: 'GET', route: '/v1/audit', url: (a) => `/v1/audit?poolId=${a.child}`, ...denied },
  { method: 'GET', route: '/v1/audit', url: (a) => `/v1/audit?licenseId=${a.license.id}`, ...listed },
  { method: 'GET', route: '/v1/audit', url: (a) => `/v1/audit?memberId=${a.member.id}`, ...listed },
  { method: 'GET', route: '/v1/audit', url: (a) => `/v1/audit?actorId=${a.operator.id}`, ...listed },

  // auth
  { method: 'POST', route: '/v1/auth/logout', url: () => '/v1/auth/logout', ...own, session: true, why: 'every caller ends its own session' },
  { method: 'POST', route: '/v1/tokens', url: () => '/v1/tokens', body: () => ({ name: 'my own' }), ...own, why: 'every caller makes API tokens for itself' },
  { method: 'POST', route: '/v1/tokens', url: () => '/v1/tokens', body: (a) => ({ name: 'scoped', poolId: a.child, role: 'deputy' }), ...denied },
  { method: 'GET', route: '/v1/tokens', url: () => '/v1/tokens', ...own, why: 'every caller lists its own API tokens' },
  { method: 'DELETE', route: '/v1/tokens/{id}', url: (a) => `/v1/tokens/${a.operatorTokenId}`, ...denied },
];

/** Routes anyone may call without a token. */
const PUBLIC = new Set(['POST /v1/accounts', 'POST /v1/auth/login']);

async function buildTenant(t: TestApp, label: string): Promise<Tenant> {
  const meterKey = `${label}_seats`;
  const featureKey = `${label}_door`;
  const rootName = `${label}-root`;
  const tree = await vendor(t, { name: rootName, meters: [{ key: meterKey }], features: [featureKey] });
  const op = tree.operator;
  const meters = await ok(t.app, 'GET', `/v1/pools/${tree.root}/meters`, { token: op.token });
  const features = await ok(t.app, 'GET', `/v1/pools/${tree.root}/features`, { token: op.token });
  const childName = `${label}-child`;
  const child = await childPool(t, op.token, tree.root, { name: childName });
  const licenseName = `${label}-license`;
  const license = await ok(t.app, 'POST', `/v1/pools/${child}/licenses`, {
    token: op.token,
    body: { name: licenseName, limits: { [meterKey]: 10 }, features: [featureKey] },
  });
  const role = await ok(t.app, 'POST', `/v1/pools/${child}/roles`, { token: op.token, body: { email: op.email, role: 'deputy' } });
  const accessRule = await ok(t.app, 'POST', `/v1/pools/${child}/access-rules`, { token: op.token, body: { effect: 'exclude', match: 'domain', value: `${label}.rival.test` } });
  const memberPerson = await person(t, `${label}.member@licensepool.test`);
  const member = await ok(t.app, 'POST', `/v1/pools/${child}/members`, { token: op.token, body: { email: memberPerson.email } });
  await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: op.token });
  const lease = await ok(t.app, 'POST', '/v1/claims', {
    token: op.token,
    body: { memberId: member.id, meter: meterKey, fingerprint: 'member-app', ttlSeconds: 86_400 },
  });
  // The pool (bound by its license, queue on) full, a queue ticket; the check-in gives it a
  // hold, which the member claims.
  await ok(t.app, 'PATCH', `/v1/pools/${child}`, { token: op.token, body: { restricted: true, queue: { enabled: true, claimTimeoutSeconds: 300 } } });
  const ended = await ok(t.app, 'POST', '/v1/claims', { token: op.token, body: { memberId: member.id, meter: meterKey, kind: 'assignment', quantity: 9 } });
  const queued = await ok(t.app, 'POST', '/v1/claims', { token: op.token, body: { memberId: member.id, meter: meterKey, fingerprint: 'member-queue', queue: true } });
  await ok(t.app, 'DELETE', `/v1/claims/${ended.id}`, { token: op.token });
  const ticketLease = await ok(t.app, 'POST', `/v1/tickets/${queued.ticket.id}/claim`, { token: memberPerson.token });
  const device = await ok(t.app, 'POST', `/v1/pools/${tree.root}/devices`, { token: op.token, body: { serial: `${label}-SN-1`, type: 'WiDI' } });
  const pkg = await ok(t.app, 'POST', `/v1/pools/${tree.root}/packages`, {
    token: op.token,
    body: { name: 'door-firmware', version: '1.0.0', deviceType: 'WiDI', sha256: 'a'.repeat(64), size: 1024, url: 'https://downloads.example.test/fw.bin', feature: featureKey },
  });
  const applied = await ok(t.app, 'POST', '/v1/applications', {
    token: memberPerson.token,
    body: { parentId: tree.root, company: `${label}-applicant`, contactName: 'Applicant', address: { line1: 'Road 1', postalCode: '1000', city: 'Town', country: 'CH' }, email: memberPerson.email, phone: '+41 1 234', managerEmail: memberPerson.email },
  });
  // Mail about the child pool, waiting in the outbox (no SMTP here), to the operator.
  const [message] = await t.deps.db.transaction((tx) =>
    queueMail(tx, [{ key: `isolation:${label}`, event: 'member.verified', rootId: tree.root, poolId: child, memberId: member.id, to: { email: op.email, name: op.email, accountId: op.id }, variables: { memberLabel: memberPerson.email } }], { publicUrl: 'http://localhost' }, t.clock.now()),
  );
  const [mailJob] = await rowsOf<{ id: string }>(t.deps.db, sql`SELECT id FROM jobs WHERE dedupe_key = ${`mail:${message!.id}`}`);
  const webhook = await ok(t.app, 'POST', `/v1/pools/${tree.root}/webhooks`, { token: op.token, body: { url: `https://93.184.215.14/${label}`, events: ['*'] } });
  const [delivery] = await insertDeliveries(t.deps.db, [
    { id: newId('webhookDelivery'), endpointId: webhook.id, rootId: tree.root, eventId: newId('event'), eventType: 'member.verified', body: JSON.stringify({ label }), status: 'failed', createdAt: t.clock.now(), updatedAt: t.clock.now() },
  ]);
  const tokens = await ok(t.app, 'GET', '/v1/tokens', { token: op.token });
  const retiring = await ok(t.app, 'POST', `/v1/pools/${tree.root}/signing-keys/rotate`, { token: op.token });
  await ok(t.app, 'POST', `/v1/pools/${tree.root}/signing-keys/rotate`, { token: op.token });
  return {
    label,
    root: tree.root,
    rootName,
    child,
    childName,
    operator: op,
    operatorTokenId: tokens.data[0].id,
    childRoleId: role.id,
    childAccessRuleId: accessRule.id,
    claimId: lease.id,
    releasedClaimId: ended.id,
    ticketId: queued.ticket.id,
    ticketClaimId: ticketLease.id,
    signingKeyId: retiring.kid,
    meter: { id: meters.data[0].id, key: meterKey },
    feature: { id: features.data[0].id, key: featureKey },
    license: { id: license.id, name: licenseName },
    member: { id: member.id, person: memberPerson },
    deviceId: device.id,
    packageId: pkg.id,
    application: { id: applied.id, poolId: applied.poolId },
    messageId: message!.id,
    mailJobId: mailJob!.id,
    webhook: { id: webhook.id, secret: webhook.secret, deliveryId: delivery!.id },
  };
}

/** The same shape with ids nobody holds: what a tenant that does not exist looks like. */
function ghostOf(a: Tenant): Tenant {
  const ghostPerson = (p: Person): Person => ({ ...p, id: newId('account') });
  return {
    ...a,
    root: newId('pool'),
    child: newId('pool'),
    operator: ghostPerson(a.operator),
    operatorTokenId: newId('token'),
    childRoleId: newId('role'),
    childAccessRuleId: newId('accessRule'),
    claimId: newId('claim'),
    releasedClaimId: newId('claim'),
    ticketId: newId('ticket'),
    ticketClaimId: newId('claim'),
    signingKeyId: newId('signingKey'),
    meter: { ...a.meter, id: newId('meter') },
    feature: { ...a.feature, id: newId('feature') },
    license: { ...a.license, id: newId('license') },
    member: { id: newId('member'), person: ghostPerson(a.member.person) },
    deviceId: newId('device'),
    packageId: newId('package'),
    application: { id: newId('application'), poolId: newId('pool') },
    messageId: newId('message'),
    mailJobId: newId('job'),
    webhook: { ...a.webhook, id: newId('webhook'), deliveryId: newId('webhookDelivery') },
  };
}

/** Every string that names something of A; none may reach another caller unless it sent it. */
function secretsOf(a: Tenant): string[] {
  return [
    a.label, // in every name, key and e-mail of A
    a.root,
    a.child,
    a.rootName,
    a.childName,
    a.operator.id,
    a.operator.email,
    a.operatorTokenId,
    a.childRoleId,
    a.childAccessRuleId,
    a.claimId,
    a.releasedClaimId,
    a.ticketId,
    a.ticketClaimId,
    a.signingKeyId,
    a.meter.id,
    a.meter.key,
    a.feature.id,
    a.feature.key,
    a.license.id,
    a.license.name,
    a.member.id,
    a.member.person.id,
    a.member.person.email,
    a.deviceId,
    a.packageId,
    a.application.id,
    a.application.poolId,
    a.messageId,
    a.webhook.id,
    a.webhook.secret,
    a.webhook.deliveryId,
  ];
}

function assertProblem(res: Answer, where: string): void {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${where}: content-type`);
  assert.equal(typeof res.body.code, 'string', `${where}: code`);
  assert.equal(typeof res.body.requestId, 'string', `${where}: requestId`);
  assert.equal(res.body.status, res.status, `${where}: status member`);
}

const label = (row: Row, a: Tenant) => `${row.method} ${row.url(a)}`;

for (const backend of backends()) {
  describe(`isolation between roots (${backend})`, () => {
    let t: TestApp;
    let A: Tenant;
    let B: Tenant;
    /** What A's operator sees of A before anyone else calls; compared at the end. */
    let before_: unknown;
    /** The ids of the API tokens A's member holds before anyone else calls. */
    let memberTokensBefore: string[];

    /** A's view of everything the table could touch, as A's operator reads it. */
    async function viewOfA(): Promise<unknown> {
      const token = A.operator.token;
      const urls = [
        `/v1/pools/${A.root}`,
        `/v1/pools/${A.child}`,
        `/v1/pools?rootId=${A.root}`,
        `/v1/pools/${A.root}/roles`,
        `/v1/pools/${A.child}/roles`,
        `/v1/pools/${A.root}/meters`,
        `/v1/pools/${A.root}/features`,
        `/v1/pools/${A.child}/state`,
        `/v1/pools/${A.root}/signing-keys`,
        `/v1/licenses?poolId=${A.child}`,
        `/v1/licenses/${A.license.id}/history`,
        `/v1/pools/${A.child}/members`,
        `/v1/members/${A.member.id}`,
        `/v1/pools/${A.root}/devices`,
        `/v1/audit?poolId=${A.root}&limit=500`,
        `/v1/pools/${A.root}/templates`,
        `/v1/pools/${A.root}/notification-settings`,
        `/v1/pools/${A.child}/reminder-rule`,
        `/v1/licenses/${A.license.id}/reminder-rule`,
        `/v1/pools/${A.root}/webhooks`,
        `/v1/pools/${A.root}/webhooks/${A.webhook.id}/deliveries/${A.webhook.deliveryId}`,
        '/v1/outbox',
        '/v1/tokens',
      ];
      const view: Record<string, unknown> = {};
      for (const url of urls) view[url] = await ok(t.app, 'GET', url, { token });
      return view;
    }

    before(async () => {
      t = await createTestApp(backend);
      A = await buildTenant(t, 'alpha');
      B = await buildTenant(t, 'bravo');
      before_ = await viewOfA();
      memberTokensBefore = (await ok(t.app, 'GET', '/v1/tokens', { token: A.member.person.token })).data.map((k: any) => k.id);
    });
    after(() => t.close());

    test('the table has a row for every authenticated /v1 route and action in the OpenAPI document', async () => {
      const doc = await call(t.app, 'GET', '/openapi.json');
      const documented = new Set<string>();
      const actions = new Map<string, string[]>();
      for (const [path, ops] of Object.entries<Record<string, any>>(doc.body.paths)) {
        if (!path.startsWith('/v1/')) continue;
        for (const [method, op] of Object.entries<any>(ops)) {
          const key = `${method.toUpperCase()} ${path}`;
          if (PUBLIC.has(key)) continue;
          documented.add(key);
          const action = (op.parameters ?? []).find((p: any) => p.in === 'path' && p.name === 'action');
          if (action) actions.set(key, action.schema.enum);
        }
      }
      const tabled = new Set(TABLE.map((r) => `${r.method} ${r.route}`));
      assert.deepEqual([...documented].filter((k) => !tabled.has(k)).sort(), [], 'routes without an isolation row');
      assert.deepEqual([...tabled].filter((k) => !documented.has(k)).sort(), [], 'rows naming no documented route');
      for (const [key, values] of actions) {
        const covered = TABLE.filter((r) => `${r.method} ${r.route}` === key).map((r) => r.url(A).split('/').pop());
        assert.deepEqual([...new Set(covered)].sort(), [...values].sort(), `every action of ${key}`);
      }
      for (const row of TABLE) {
        if (row.stranger === 'self' || row.member === 'self') assert.ok(row.why, `${row.method} ${row.route}: say why it is let through`);
      }
    });

    test("the table's read URLs answer A's own operator (so a refusal below is isolation, not a typo)", async () => {
      for (const row of TABLE.filter((r) => r.method === 'GET')) {
        const res = await call(t.app, 'GET', row.url(A), { token: A.operator.token });
        assert.equal(res.status, 200, `${label(row, A)} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    });

    test('without a token, or with an unknown one, every route answers 401 UNAUTHENTICATED', async (ctx) => {
      for (const token of [undefined, 'lpt_notatokenanyoneholds']) {
        for (const row of TABLE) {
          await ctx.test(`${token ? 'unknown token' : 'no token'}: ${label(row, A)}`, async () => {
            const res = await call(t.app, row.method, row.url(A), { token, ...(row.body ? { body: row.body(A, B.operator) } : {}) });
            assert.equal(res.status, 401, JSON.stringify(res.body));
            assertProblem(res, label(row, A));
            assert.equal(res.body.code, 'UNAUTHENTICATED');
          });
        }
      }
    });

    /**
     * Calls every row as `caller` and checks it against `expectation(row)`. A refusal must be
     * the answer a resource that does not exist gets: another tenant learns nothing, not even
     * that A's ids are real.
     */
    async function walk(
      ctx: TestContext,
      who: string,
      caller: Person,
      expectation: (row: Row) => Expect,
      mayShow: (row: Row) => string[],
    ) {
      const ghost = ghostOf(A);
      for (const row of TABLE) {
        await ctx.test(`${who}: ${label(row, A)}`, async () => {
          let token = caller.token;
          if (row.session) token = (await ok(t.app, 'POST', '/v1/auth/login', { body: { email: caller.email, password: PASSWORD } })).token;
          const body = row.body?.(A, caller);
          const res = await call(t.app, row.method, row.url(A), { token, ...(body !== undefined ? { body } : {}) });
          const where = `${who} ${label(row, A)} → ${res.status} ${JSON.stringify(res.body)}`;
          const expect = expectation(row);
          if (expect === 'denied') {
            assert.ok([403, 404].includes(res.status), where);
            assertProblem(res, where);
            const ghostBody = row.body?.(ghost, caller);
            const none = await call(t.app, row.method, row.url(ghost), { token, ...(ghostBody !== undefined ? { body: ghostBody } : {}) });
            assert.deepEqual([res.status, res.body.code], [none.status, none.body.code], `${where}: differs from a resource that does not exist`);
          } else if (expect === 'list') {
            assert.equal(res.status, 200, where);
            // A list page, or a CSV export (whose text is checked for leaks below).
            assert.ok(Array.isArray(res.body.data) || String(res.headers['content-type']).startsWith('text/csv'), where);
          } else {
            assert.ok(res.status >= 200 && res.status < 300, where);
          }
          // Nothing of A in the answer but what the caller sent (or, for `self`, may see).
          const sent = decodeURIComponent(row.url(A)) + JSON.stringify(body ?? null);
          const allowed = expect === 'self' ? mayShow(row) : [];
          const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
          for (const secret of secretsOf(A)) {
            if (sent.includes(secret) || allowed.includes(secret)) continue;
            assert.ok(!text.includes(secret), `${where}: leaks ${secret}`);
          }
        });
      }
    }

    test("another root's operator gets 403/404 or its own data on every route, never A's", async (ctx) => {
      await walk(ctx, "B's operator", B.operator, (row) => row.stranger, () => []);
    });

    test("a verified member of A's child pool, holding no role, gets nothing beyond itself", async (ctx) => {
      const me = A.member.person;
      // The member's own account is its own business; its e-mail holds A's label.
      const itself = [me.id, me.email, me.email.split('@')[0]!, A.label];
      await walk(ctx, "A's member", me, (row) => row.member, (row) => [...itself, ...(row.memberSees?.(A) ?? [])]);
    });

    test('HEAD on the read routes tells another root nothing either', async () => {
      for (const row of TABLE.filter((r) => r.method === 'GET' && r.stranger === 'denied')) {
        const res = await t.app.inject({ method: 'HEAD', url: row.url(A), headers: { authorization: `Bearer ${B.operator.token}` } });
        assert.ok([403, 404].includes(res.statusCode), `HEAD ${row.url(A)} → ${res.statusCode}`);
        assert.equal(res.body, '');
      }
    });

    test("lists show another root its own pools, licenses and audit events and nothing of A's", async () => {
      const token = B.operator.token;
      const pools = await call(t.app, 'GET', '/v1/pools', { token });
      assert.equal(pools.status, 200);
      assert.deepEqual(pools.body.data.map((p: any) => p.id).sort(), [B.root, B.child, B.application.poolId].sort());

      const licenses = await call(t.app, 'GET', '/v1/licenses', { token });
      assert.equal(licenses.status, 200);
      assert.deepEqual(licenses.body.data.map((l: any) => l.id), [B.license.id]);

      const audit = await call(t.app, 'GET', '/v1/audit?limit=500', { token });
      assert.equal(audit.status, 200);
      assert.ok(audit.body.data.length > 0, "B's operator sees the events of its own tree");
      for (const e of audit.body.data) assert.equal(e.rootId, B.root, JSON.stringify(e));

      // Filters naming A's things narrow B's own reach: empty pages, not A's data.
      for (const url of [`/v1/pools?rootId=${A.root}`, `/v1/pools?parentId=${A.root}`, `/v1/audit?licenseId=${A.license.id}`, `/v1/audit?actorId=${A.operator.id}`]) {
        const res = await call(t.app, 'GET', url, { token });
        assert.equal(res.status, 200, url);
        assert.deepEqual(res.body, { data: [], nextCursor: null }, url);
      }

      // And the member of A, holding no role, sees no pools, licenses or events at all.
      for (const url of ['/v1/pools', '/v1/licenses', '/v1/audit']) {
        const res = await call(t.app, 'GET', url, { token: A.member.person.token });
        assert.equal(res.status, 200, url);
        assert.deepEqual(res.body, { data: [], nextCursor: null }, url);
      }
    });

    test("after all of that, A's pools, catalog, licenses, members, roles, tokens and audit trail are as they were", async () => {
      assert.deepEqual(await viewOfA(), before_);
      // The member made tokens of its own in the walk; none it held before was revoked.
      const now = (await ok(t.app, 'GET', '/v1/tokens', { token: A.member.person.token })).data.map((k: any) => k.id);
      for (const id of memberTokensBefore) assert.ok(now.includes(id), `member token ${id} survived`);
    });
  });
}
