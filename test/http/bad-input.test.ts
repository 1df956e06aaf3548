/**
 * Bad input, route by route. Every route that takes a body gets malformed JSON, bodies that
 * are not objects, a wrong type, a missing field, an unknown field, a 100 KB string, a NUL
 * character and a lone UTF-16 surrogate in every field of a valid body, and a body over 1 MiB; every query parameter and
 * every path id gets malformed values. All of it must answer 4xx problem+json naming the field,
 * never 5xx, and write nothing to the database.
 *
 * The defects are generated from each route's request schema in the OpenAPI document, applied
 * one at a time to a body the table knows to be valid, so each answer can be checked to name
 * exactly the field that was spoiled; the last test sends the valid bodies to prove they are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { newId } from '../../src/lib/ids.js';
import { backends, call, childPool, createTestApp, csvBody, ok, PASSWORD, person, SUPERUSER, vendor, type Answer, type RawBody, type TestApp } from '../helpers.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, any>;

/** What the table's URLs and bodies point at. */
interface World {
  root: string;
  child: string;
  license: string;
  member: string;
  roleId: string;
  tokenId: string;
  /** A live lease of the (verified) member. */
  claimId: string;
  /** A waiting queue ticket of the member. */
  ticketId: string;
  /** A device in the root's registry, in no pool. */
  device: string;
  /** A pending application under the root, and the account that made it (manager-to-be). */
  application: string;
  applicant: { id: string; email: string };
  /** The key of a license made by request, not yet activated. */
  licenseKey: string;
  /** A webhook endpoint of the root. */
  webhook: string;
}

interface BodyRow {
  method: Method;
  route: string;
  url: (w: World) => string;
  /** A body the route accepts (checked by the last test). */
  valid: (w: World) => { [key: string]: Json };
  /** Public routes are called without a token. */
  public?: boolean;
}

const ADDRESS = { line1: 'Main St 1', postalCode: '1000', city: 'Bern', country: 'CH' };

/** Ordered so that the last test can send each valid body in turn and see it accepted. */
const BODY_ROUTES: BodyRow[] = [
  {
    method: 'POST',
    route: '/v1/accounts',
    url: () => '/v1/accounts',
    public: true,
    valid: () => ({ email: 'new.person@licensepool.test', name: 'New Person', password: PASSWORD, address: ADDRESS }),
  },
  { method: 'POST', route: '/v1/auth/login', url: () => '/v1/auth/login', public: true, valid: () => ({ email: 'new.person@licensepool.test', password: PASSWORD }) },
  { method: 'PATCH', route: '/v1/accounts/me', url: () => '/v1/accounts/me', valid: () => ({ name: 'Root User', address: ADDRESS }) },
  // The same password again: later rows log in with it.
  { method: 'POST', route: '/v1/accounts/me/password', url: () => '/v1/accounts/me/password', valid: () => ({ currentPassword: SUPERUSER.password, newPassword: SUPERUSER.password }) },
  {
    method: 'POST',
    route: '/v1/pools',
    url: () => '/v1/pools',
    valid: (w) => ({ name: 'Shop', kind: 'company', parentId: w.root, restricted: false, validUntil: '2027-01-01T00:00:00Z' }),
  },
  {
    method: 'POST',
    route: '/v1/roots',
    url: () => '/v1/roots',
    valid: () => ({ name: 'Second Vendor', kind: 'vendor', restricted: false, operator: { email: 'second.operator@licensepool.test', name: 'Second Operator', password: PASSWORD } }),
  },
  {
    method: 'PATCH',
    route: '/v1/pools/{id}',
    url: (w) => `/v1/pools/${w.child}`,
    valid: () => ({
      name: 'Renamed',
      kind: 'building',
      restricted: false,
      validUntil: null,
      maxBorrowDays: 7,
      queue: { enabled: true, claimTimeoutSeconds: 60 },
      billingAddress: ADDRESS,
    }),
  },
  { method: 'POST', route: '/v1/pools/{id}/roles', url: (w) => `/v1/pools/${w.child}/roles`, valid: () => ({ email: 'new.person@licensepool.test', role: 'manager' }) },
  {
    method: 'POST',
    route: '/v1/applications',
    url: () => '/v1/applications',
    valid: (w) => ({ parentId: w.root, company: 'Doors Ltd', contactName: 'Anna Keller', address: ADDRESS, email: 'office@doors.test', phone: '+41 44 123 45 67', managerEmail: w.applicant.email }),
  },
  { method: 'POST', route: '/v1/applications/{id}/reject', url: (w) => `/v1/applications/${w.application}/reject`, valid: () => ({ reason: 'incomplete' }) },
  { method: 'POST', route: '/v1/pools/{id}/terms', url: (w) => `/v1/pools/${w.child}/terms`, valid: () => ({ version: '2026-01' }) },
  { method: 'POST', route: '/v1/pools/{id}/payment-method', url: (w) => `/v1/pools/${w.child}/payment-method`, valid: () => ({ reference: 'pm_1NfZr2AbCdEf' }) },
  { method: 'POST', route: '/v1/pools/{id}/deputies', url: (w) => `/v1/pools/${w.child}/deputies`, valid: (w) => ({ email: w.applicant.email }) },
  { method: 'POST', route: '/v1/claims', url: () => '/v1/claims', valid: (w) => ({ memberId: w.member, meter: 'seats', kind: 'lease', quantity: 1, ttlSeconds: 60, fingerprint: 'bad-input', queue: true }) },
  { method: 'POST', route: '/v1/pools/{id}/access-rules', url: (w) => `/v1/pools/${w.child}/access-rules`, valid: () => ({ effect: 'exclude', match: 'domain', value: 'rival.test' }) },
  { method: 'POST', route: '/v1/pools/{id}/meters', url: (w) => `/v1/pools/${w.root}/meters`, valid: () => ({ key: 'rooms', name: 'Rooms', draws: ['seats'] }) },
  { method: 'POST', route: '/v1/pools/{id}/features', url: (w) => `/v1/pools/${w.root}/features`, valid: () => ({ key: 'elevator', name: 'Elevator' }) },
  {
    method: 'POST',
    route: '/v1/pools/{id}/packages',
    url: (w) => `/v1/pools/${w.root}/packages`,
    valid: () => ({ name: 'sta-firmware', version: '4.2.0', deviceType: 'WiDI', sha256: 'a'.repeat(64), size: 1024, url: 'https://downloads.example.test/sta.bin', feature: 'elevator' }),
  },
  {
    method: 'POST',
    route: '/v1/pools/{id}/licenses',
    url: (w) => `/v1/pools/${w.child}/licenses`,
    valid: () => ({ name: 'Premium', limits: { seats: 5, rooms: null }, features: ['door'], validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z' }),
  },
  {
    method: 'PATCH',
    route: '/v1/licenses/{id}',
    url: (w) => `/v1/licenses/${w.license}`,
    valid: () => ({ name: 'Gold', limits: { seats: 3 }, features: [], validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-06-01T00:00:00+02:00' }),
  },
  {
    method: 'POST',
    route: '/v1/licenses/{id}/preview',
    url: (w) => `/v1/licenses/${w.license}/preview`,
    valid: () => ({ name: 'Gold', limits: { seats: 3 }, features: [], validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-06-01T00:00:00+02:00' }),
  },
  {
    method: 'POST',
    route: '/v1/licenses',
    url: () => '/v1/licenses',
    valid: (w) => ({
      rootId: w.root,
      name: 'Requested',
      limits: { seats: 5 },
      features: ['door'],
      termMonths: 12,
      validUntil: '2030-01-01T00:00:00Z',
      startRule: { type: 'on_connections', threshold: 5 },
      billing: { interval: 'annual', contractYears: 1 },
      request: { poolId: w.child, partner: 'Partner', distributor: 'Distributor', accessPoints: 10, rooms: 20, modules: ['door'] },
    }),
  },
  { method: 'POST', route: '/v1/licenses/activate', url: () => '/v1/licenses/activate', valid: (w) => ({ key: w.licenseKey, poolId: w.child }) },
  { method: 'POST', route: '/v1/pools/{id}/connections', url: (w) => `/v1/pools/${w.child}/connections`, valid: () => ({ serial: 'AP-0001' }) },
  { method: 'PATCH', route: '/v1/pools/{id}', url: (w) => `/v1/pools/${w.root}`, valid: () => ({ name: 'Vendor', exclusiveMembership: false }) },
  { method: 'POST', route: '/v1/pools/{id}/devices', url: (w) => `/v1/pools/${w.root}/devices`, valid: () => ({ serial: 'SN-0100', type: 'WiDI' }) },
  { method: 'POST', route: '/v1/devices/{id}/report', url: (w) => `/v1/devices/${w.device}/report`, valid: () => ({ status: 'lost' }) },
  { method: 'POST', route: '/v1/pools/{id}/members', url: (w) => `/v1/pools/${w.child}/members`, valid: () => ({ device: { serial: 'SN-0001', type: 'WiDI' } }) },
  { method: 'POST', route: '/v1/pools/{id}/members', url: (w) => `/v1/pools/${w.child}/members`, valid: () => ({ email: 'new.person@licensepool.test' }) },
  { method: 'POST', route: '/v1/sync', url: () => '/v1/sync', valid: (w) => ({ memberId: w.member, rootId: w.root }) },
  {
    method: 'PUT',
    route: '/v1/pools/{id}/templates/{event}',
    url: (w) => `/v1/pools/${w.root}/templates/member.verified`,
    valid: () => ({ subject: 'Verified: {{memberLabel}}', text: '{{memberLabel}} is in {{poolName}}.', html: '<p>{{memberLabel}} is in {{poolName}}.</p>' }),
  },
  {
    method: 'POST',
    route: '/v1/pools/{id}/templates/{event}/preview',
    url: (w) => `/v1/pools/${w.root}/templates/member.verified/preview`,
    valid: () => ({ subject: 'Hi {{poolName}}', text: 'Text {{memberLabel}}', html: '<b>{{memberLabel}}</b>', variables: { poolName: 'Sunset', memberLabel: 'tenant@example.com' } }),
  },
  { method: 'PATCH', route: '/v1/pools/{id}/notification-settings', url: (w) => `/v1/pools/${w.root}/notification-settings`, valid: () => ({ notifyParentAdmins: false }) },
  { method: 'PUT', route: '/v1/pools/{id}/reminder-rule', url: (w) => `/v1/pools/${w.child}/reminder-rule`, valid: () => ({ offsets: [-30, -7, 0, 1] }) },
  { method: 'PUT', route: '/v1/licenses/{id}/reminder-rule', url: (w) => `/v1/licenses/${w.license}/reminder-rule`, valid: () => ({ fromDays: 60, every: 'weekly' }) },
  {
    method: 'POST',
    route: '/v1/tokens',
    url: () => '/v1/tokens',
    valid: (w) => ({ name: 'ci', poolId: w.child, role: 'operator', expiresAt: '2027-01-01T00:00:00Z' }),
  },
  {
    method: 'POST',
    route: '/v1/pools/{id}/webhooks',
    url: (w) => `/v1/pools/${w.root}/webhooks`,
    valid: () => ({ url: 'https://93.184.215.14/hooks', events: ['license.created', 'member.verified'], description: 'CRM', enabled: true }),
  },
  {
    method: 'PATCH',
    route: '/v1/pools/{id}/webhooks/{webhookId}',
    url: (w) => `/v1/pools/${w.root}/webhooks/${w.webhook}`,
    valid: () => ({ url: 'https://93.184.215.15/hooks', events: ['*'], description: null, enabled: false }),
  },
];

/** Routes that take a file rather than JSON (text/csv only; their own checks below). */
interface CsvRow {
  method: 'POST';
  route: string;
  url: (w: World) => string;
  /** A file the route accepts. */
  valid: (w: World) => RawBody;
  /** The largest body it takes. */
  limit: number;
}

const CSV_ROUTES: CsvRow[] = [
  { method: 'POST', route: '/v1/pools/{id}/members/import', url: (w) => `/v1/pools/${w.child}/members/import`, valid: () => csvBody('serial,type\nSN-IMPORT-1,WiDI\n'), limit: 5 * 1024 * 1024 },
];

/** Path parameters: a real value of the right kind for each route prefix and parameter. */
function realParam(route: string, name: string, w: World, actions: string[]): string {
  if (name === 'action') return actions[0]!;
  if (name === 'roleId') return w.roleId;
  if (name === 'accountId') return w.applicant.id;
  // Mail templates and notification settings live on the root; no message or job is held.
  if (name === 'event') return 'member.verified';
  if (route.startsWith('/v1/pools/{id}/templates') || route === '/v1/pools/{id}/notification-settings') return w.root;
  if (route.startsWith('/v1/outbox/')) return newId('message');
  if (route.startsWith('/v1/jobs/')) return newId('job');
  if (route.startsWith('/v1/applications/')) return w.application;
  // Signing keys live on the root (a child answers NOT_A_ROOT); no kid is held, so {kid} is never what answers.
  if (route.startsWith('/v1/pools/{id}/signing-keys')) return name === 'kid' ? newId('signingKey') : w.root;
  if (name === 'webhookId') return w.webhook;
  // No delivery is held: {deliveryId} is never what answers.
  if (name === 'deliveryId') return newId('webhookDelivery');
  if (route.startsWith('/v1/pools/{id}/webhooks')) return w.root;
  // No package is held: {packageId} is never what answers.
  if (name === 'packageId') return newId('package');
  if (route === '/v1/pools/{id}/reconcile' || route === '/v1/pools/{id}/devices' || route.startsWith('/v1/pools/{id}/packages')) return w.root;
  if (route.startsWith('/v1/devices/')) return w.device;
  if (route.startsWith('/v1/pools/')) return w.child;
  if (route.startsWith('/v1/licenses/')) return w.license;
  if (route.startsWith('/v1/members/')) return w.member;
  if (route.startsWith('/v1/tokens/')) return w.tokenId;
  if (route.startsWith('/v1/claims/')) return w.claimId;
  if (route.startsWith('/v1/tickets/')) return w.ticketId;
  throw new Error(`no id for ${name} in ${route}: add one to realParam`);
}

/**
 * Ids no route may take for anything but "not found"; `right` is the real id the slot takes. Ids
 * of its kind are left out: a child pool in a root-only slot is a real pool (422 NOT_A_ROOT).
 */
const NOT_FOUND_IDS = (w: World, right: string): [string, string][] => [
  ...[w.child, w.license, w.member, w.roleId, w.tokenId, w.claimId, w.ticketId].filter((id) => id.split('_')[0] !== right.split('_')[0]).map((id): [string, string] => [`a real id of another kind (${id.split('_')[0]})`, id]),
  ['a word', 'nope'],
  ['SQL', "'; DROP TABLE pools; --"],
  ['quotes', 'pool_\' OR \'1\'=\'1'],
  ['an encoded slash', '%2F..%2Fpools'],
  ['emoji', '%F0%9F%92%A9'],
  ['a prefix without a body', 'pool_'],
  ['the wrong alphabet', 'pool_ilouilouilouilouilouilouil'],
  ['a well-formed id nobody holds (pool)', newId('pool')],
  ['a well-formed id nobody holds (license)', newId('license')],
  ['a well-formed id nobody holds (member)', newId('member')],
  ['a well-formed id nobody holds (token)', newId('token')],
  ['a well-formed id nobody holds (role)', newId('role')],
  ['a well-formed id nobody holds (ticket)', newId('ticket')],
  ['a well-formed id nobody holds (device)', newId('device')],
];

/** Ids refused as invalid input (a field path is named), not looked up. */
const INVALID_IDS: [string, string, RegExp][] = [
  ['65 characters', 'x'.repeat(65), /^params\./],
  ['200 characters (longer than the router takes)', 'x'.repeat(200), /^url$/],
  ['a NUL character', 'pool_%00', /^params\./],
  ['broken percent-encoding', '%E0%A4%A', /^url$/],
];

/** Types a JSON schema node allows (`anyOf` branches included). */
function typesOf(schema: Schema): Set<string> {
  if (schema.anyOf) return new Set(schema.anyOf.flatMap((s: Schema) => [...typesOf(s)]));
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  if (type === 'integer') return new Set(['integer', 'number']);
  return new Set(type ? [type] : []);
}

/** A value of a JSON type the schema does not allow. */
function wrongTypeFor(schema: Schema): Json {
  const allowed = typesOf(schema);
  const candidates: [string, Json][] = [
    ['number', 12345],
    ['string', 'not the right type'],
    ['boolean', true],
    ['array', ['x']],
    ['object', { x: 1 }],
  ];
  const pick = candidates.find(([type]) => !allowed.has(type) && !(type === 'number' && allowed.has('integer')));
  assert.ok(pick, `no wrong type for ${JSON.stringify(schema)}`);
  return pick[1];
}

/** The non-null branch of a nullable schema; the alternative of a union the body matches. */
function branch(schema: Schema, value: Json): Schema {
  if (!schema.anyOf) return schema;
  const nonNull = schema.anyOf.filter((s: Schema) => s.type !== 'null');
  if (nonNull.length === 1) return nonNull[0];
  const keys = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  return nonNull.find((s: Schema) => (s.required ?? []).every((k: string) => keys.includes(k))) ?? nonNull[0];
}

interface Defect {
  what: string;
  body: Json;
  /** The field path the answer must name (every error lies at or under it). */
  path: string;
}

const setAt = (body: Json, path: (string | number)[], value: Json | undefined): Json => {
  const copy = structuredClone(body) as any;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
};

/**
 * One defect at a time, at every field of the valid body: a wrong type; a 100 KB string and a
 * NUL character in strings; each required field left out; an unknown field in every object
 * that takes no others.
 */
function defectsOf(schema: Schema, valid: Json): Defect[] {
  const defects: Defect[] = [];
  const walk = (node: Schema, value: Json, path: (string | number)[]) => {
    const here = ['body', ...path].join('.');
    const s = branch(node, value);
    if (path.length > 0) defects.push({ what: `wrong type at ${here}`, body: setAt(valid, path, wrongTypeFor(node)), path: here });
    if (typeof value === 'string') {
      defects.push({ what: `100 KB string at ${here}`, body: setAt(valid, path, 'x'.repeat(100 * 1024)), path: here });
      defects.push({ what: `NUL character at ${here}`, body: setAt(valid, path, `${value}\u0000`), path: here });
      defects.push({ what: `lone surrogate at ${here}`, body: setAt(valid, path, `${value}\ud800`), path: here });
    }
    if (Array.isArray(value) && s.items) value.forEach((item, i) => walk(s.items, item, [...path, i]));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, item] of Object.entries(value)) {
        const child = s.properties?.[key] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
        if (child) walk(child, item, [...path, key]);
      }
      for (const key of s.required ?? []) {
        if (key in value) defects.push({ what: `missing ${here}.${key}`, body: setAt(valid, [...path, key], undefined), path: `${here}.${key}` });
      }
      if (s.additionalProperties === false) {
        defects.push({ what: `unknown field in ${here}`, body: setAt(valid, [...path, 'unexpected'], true), path: `${here}.unexpected` });
      }
    }
  };
  walk(schema, valid, []);
  return defects;
}

/** Every table, with its row count and a digest of its rows. */
async function snapshot(t: TestApp): Promise<Record<string, { rows: number; digest: string }>> {
  const tables = await rowsOf<{ name: string }>(
    t.deps.db,
    sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: Record<string, { rows: number; digest: string }> = {};
  for (const { name } of tables) {
    const [row] = await rowsOf<{ rows: number; digest: string }>(
      t.deps.db,
      sql`SELECT count(*)::int AS rows, coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS digest FROM ${sql.identifier(name)} x`,
    );
    out[name] = row!;
  }
  return out;
}

function assertProblem(res: Answer, where: string): void {
  assert.ok(res.status >= 400 && res.status < 500, `${where}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${where}: content-type`);
  assert.equal(typeof res.body.code, 'string', `${where}: code`);
  assert.equal(typeof res.body.requestId, 'string', `${where}: requestId`);
}

/** A 422 whose every field error lies at or under `path`. */
function assertFieldError(res: Answer, path: string | RegExp, where: string): void {
  assertProblem(res, where);
  assert.equal(res.status, 422, `${where}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, 'VALIDATION_FAILED', where);
  assert.ok(Array.isArray(res.body.errors) && res.body.errors.length > 0, `${where}: errors`);
  for (const e of res.body.errors) {
    assert.equal(typeof e.message, 'string', where);
    const at = typeof path === 'string' ? e.path === path || e.path.startsWith(`${path}.`) : path.test(e.path);
    assert.ok(at, `${where}: error at ${e.path}, expected ${path}: ${JSON.stringify(res.body.errors)}`);
  }
}

for (const backend of backends()) {
  describe(`bad input (${backend})`, () => {
    let t: TestApp;
    let w: World;
    let doc: { paths: Record<string, Record<string, any>> };
    let start: Awaited<ReturnType<typeof snapshot>>;

    const send = (method: Method, url: string, options: Parameters<typeof call>[3] & { public?: boolean | undefined } = {}) => {
      const { public: anonymous, ...rest } = options;
      return call(t.app, method, url, { token: anonymous ? undefined : t.superuser, ...rest });
    };
    const operation = (method: Method, route: string) => doc.paths[route]?.[method.toLowerCase()];
    const bodySchema = (row: BodyRow): Schema => operation(row.method, row.route).requestBody.content['application/json'].schema;

    before(async () => {
      t = await createTestApp(backend);
      const tree = await vendor(t, { name: 'Vendor', meters: [{ key: 'seats' }], features: ['door'] });
      const child = await childPool(t, tree.operator.token, tree.root);
      const license = await ok(t.app, 'POST', `/v1/pools/${child}/licenses`, { token: tree.operator.token, body: { limits: { seats: 10 }, features: ['door'] } });
      const member = await ok(t.app, 'POST', `/v1/pools/${child}/members`, { token: tree.operator.token, body: { device: { serial: 'SN-0000', type: 'WiDI' } } });
      const role = await ok(t.app, 'POST', `/v1/pools/${child}/roles`, { token: tree.operator.token, body: { email: tree.operator.email, role: 'deputy' } });
      await ok(t.app, 'POST', `/v1/members/${member.id}/verify`, { token: tree.operator.token });
      const lease = await ok(t.app, 'POST', '/v1/claims', { token: tree.operator.token, body: { memberId: member.id, meter: 'seats', ttlSeconds: 86_400 } });
      // The pool bound by its license and full, with its queue on: a lease asked with queue waits.
      await ok(t.app, 'PATCH', `/v1/pools/${child}`, { token: tree.operator.token, body: { restricted: true, queue: { enabled: true, claimTimeoutSeconds: 60 } } });
      await ok(t.app, 'POST', '/v1/claims', { token: tree.operator.token, body: { memberId: member.id, meter: 'seats', kind: 'assignment', quantity: 9 } });
      const queued = await ok(t.app, 'POST', '/v1/claims', { token: tree.operator.token, body: { memberId: member.id, meter: 'seats', queue: true } });
      const device = await ok(t.app, 'POST', `/v1/pools/${tree.root}/devices`, { token: tree.operator.token, body: { serial: 'SN-REPORT', type: 'WiDI' } });
      const applicant = await person(t, 'applicant@licensepool.test');
      const application = await ok(t.app, 'POST', '/v1/applications', {
        token: applicant.token,
        body: { parentId: tree.root, company: 'Applicant Ltd', contactName: 'Applicant', address: ADDRESS, email: applicant.email, phone: '+41 1 234', managerEmail: applicant.email },
      });
      const requested = await ok(t.app, 'POST', '/v1/licenses', { token: tree.operator.token, body: { rootId: tree.root, limits: { seats: 1 } } });
      const tokens = await ok(t.app, 'GET', '/v1/tokens', { token: t.superuser });
      const webhook = await ok(t.app, 'POST', `/v1/pools/${tree.root}/webhooks`, { token: tree.operator.token, body: { url: 'https://93.184.215.14/hooks', events: ['*'] } });
      w = {
        root: tree.root,
        child,
        license: license.id,
        member: member.id,
        roleId: role.id,
        tokenId: tokens.data[0].id,
        claimId: lease.id,
        ticketId: queued.ticket.id,
        device: device.id,
        application: application.id,
        applicant: { id: applicant.id, email: applicant.email },
        licenseKey: requested.key,
        webhook: webhook.id,
      };
      doc = (await call(t.app, 'GET', '/openapi.json')).body;
      // Every bad request below must leave every table as it is: rows, and what is in them.
      start = await snapshot(t);
    });
    after(() => t.close());

    test('the table has a valid body for every route in the OpenAPI document that takes one', () => {
      const documented: string[] = [];
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) if (op.requestBody) documented.push(`${method.toUpperCase()} ${route}`);
      }
      assert.deepEqual([...new Set([...BODY_ROUTES, ...CSV_ROUTES].map((r) => `${r.method} ${r.route}`))].sort(), documented.sort());
    });

    test('malformed JSON, an empty body and JSON that is no object: 400 MALFORMED_JSON or 422 at body', async (ctx) => {
      for (const row of BODY_ROUTES) {
        const url = row.url(w);
        await ctx.test(`${row.method} ${url}`, async () => {
          for (const raw of ['{"name":', '{"name": "x",}', "{'name': 'x'}", '{"a":1}garbage', '', '{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}']) {
            const res = await send(row.method, url, { rawBody: raw, public: row.public });
            assertProblem(res, `${raw}`);
            assert.equal(res.status, 400, `${JSON.stringify(raw)} → ${JSON.stringify(res.body)}`);
            assert.equal(res.body.code, 'MALFORMED_JSON', raw);
          }
          for (const raw of ['[]', 'null', '42', '"a string"', 'true']) {
            assertFieldError(await send(row.method, url, { rawBody: raw, public: row.public }), 'body', raw);
          }
        });
      }
    });

    test('wrong types, missing and unknown fields, 100 KB strings and NUL characters: 422 naming the field', async (ctx) => {
      for (const row of BODY_ROUTES) {
        const url = row.url(w);
        await ctx.test(`${row.method} ${url} ${Object.keys(row.valid(w)).join(',')}`, async () => {
          const defects = defectsOf(bodySchema(row), row.valid(w));
          assert.ok(defects.length >= 3, 'defects generated');
          for (const defect of defects) {
            const res = await send(row.method, url, { body: defect.body, public: row.public });
            assertFieldError(res, defect.path, `${row.method} ${url}: ${defect.what}`);
          }
          // Everything wrong at once still answers one 422 listing the fields.
          const all = Object.fromEntries(Object.entries(bodySchema(row).properties ?? {}).map(([k, s]) => [k, wrongTypeFor(s as Schema)]));
          if (Object.keys(all).length > 0) {
            const res = await send(row.method, url, { body: all, public: row.public });
            assertFieldError(res, 'body', `${row.method} ${url}: every field wrong`);
            assert.ok(res.body.errors.length >= Object.keys(all).length, JSON.stringify(res.body.errors));
          }
        });
      }
    });

    test('a body over 1 MiB: 413 PAYLOAD_TOO_LARGE; a body that is not JSON: 415 or 422', async (ctx) => {
      for (const row of BODY_ROUTES) {
        const url = row.url(w);
        await ctx.test(`${row.method} ${url}`, async () => {
          const big = { ...row.valid(w), padding: 'x'.repeat(1024 * 1024 + 1) };
          const res = await send(row.method, url, { body: big, public: row.public });
          assertProblem(res, 'over 1 MiB');
          assert.equal(res.status, 413);
          assert.equal(res.body.code, 'PAYLOAD_TOO_LARGE');

          const form = await send(row.method, url, { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, public: row.public });
          assertProblem(form, 'form');
          assert.equal(form.status, 415);
          assert.equal(form.body.code, 'UNSUPPORTED_MEDIA_TYPE');
          const text = await send(row.method, url, { rawBody: JSON.stringify(row.valid(w)), headers: { 'content-type': 'text/plain' }, public: row.public });
          assertProblem(text, 'text/plain');
          assert.equal(text.status, 415);
          assert.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE');
        });
      }
    });

    test('routes that take no body refuse malformed JSON and a body with content', async (ctx) => {
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          if (op.requestBody || method === 'get') continue;
          const actions: string[] = (op.parameters ?? []).find((p: any) => p.name === 'action')?.schema.enum ?? [];
          const url = route.replace(/\{(\w+)\}/g, (_m, name: string) => realParam(route, name, w, actions));
          await ctx.test(`${method.toUpperCase()} ${url}`, async () => {
            const res = await send(method.toUpperCase() as Method, url, { rawBody: '{"unfinished":' });
            assertProblem(res, url);
            assert.equal(res.body.code, 'MALFORMED_JSON');
            // e.g. POST …/suspend {"evil": 1} must not suspend while dropping the field unheard.
            for (const body of [{ evil: 1 }, [1], 'text']) {
              assertFieldError(await send(method.toUpperCase() as Method, url, { body }), 'body', `${url} with ${JSON.stringify(body)}`);
            }
          });
        }
      }
    });

    /** Valid values of required query parameters, sent along while another one is broken. */
    const REQUIRED_QUERY: Record<string, Record<string, string>> = {
      '/v1/pools/{id}/access-rules/check': { email: 'someone@licensepool.test' },
    };
    const requiredQuery = (route: string, except?: string) =>
      Object.entries(REQUIRED_QUERY[route] ?? {})
        .filter(([name]) => name !== except)
        .map(([name, value]) => `${name}=${encodeURIComponent(value)}`);

    test('query strings: wrong enums, non-numeric and out-of-range limits, unknown, repeated, huge and NUL values: 422 naming the parameter', async (ctx) => {
      let routes = 0;
      for (const [route, ops] of Object.entries(doc.paths)) {
        const op = ops.get;
        const query: Schema[] = (op?.parameters ?? []).filter((p: any) => p.in === 'query');
        if (query.length === 0) continue;
        routes++;
        const base = route.replace(/\{(\w+)\}/g, (_m, name: string) => realParam(route, name, w, []));
        await ctx.test(`GET ${base}`, async () => {
          const bad = (qs: string, path: string, what: string) =>
            send('GET', `${base}?${[...requiredQuery(route, qs.split('=')[0]), qs].join('&')}`).then((res) => assertFieldError(res, path, `GET ${base}?${what}`));
          await bad('unexpected=1', 'querystring.unexpected', 'unknown parameter');
          for (const p of query) {
            const at = `querystring.${p.name}`;
            const s = p.schema as Schema;
            if (s.enum) await bad(`${p.name}=not_a_${p.name}`, at, `wrong enum in ${p.name}`);
            if (s.type === 'integer') {
              for (const v of ['abc', '1.5', '0', '-1', String((s.maximum ?? 1e9) + 1), '', '1e999']) await bad(`${p.name}=${v}`, at, `${p.name}=${v}`);
            }
            if (s.format === 'date-time') {
              for (const v of ['yesterday', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z']) await bad(`${p.name}=${v}`, at, `${p.name}=${v}`);
            }
            if (s.type === 'string') {
              await bad(`${p.name}=${'x'.repeat(100 * 1024)}`, at, `100 KB ${p.name}`);
              await bad(`${p.name}=a%00b`, at, `NUL in ${p.name}`);
            }
            const first = s.enum?.[0] ?? (s.type === 'integer' ? '5' : s.format === 'date-time' ? '2026-01-01T00:00:00Z' : 'x');
            await bad(`${p.name}=${first}&${p.name}=${first}`, at, `${p.name} twice`);
          }
          // A filter naming nothing real is no error in the input: an empty page, or 404 when
          // the filter is the pool being read; never a 5xx.
          for (const p of query.filter((q) => /Id$/.test(q.name))) {
            for (const v of ['nope', "'; DROP TABLE pools; --", newId('pool')]) {
              const res = await send('GET', `${base}?${p.name}=${encodeURIComponent(v)}`);
              if (res.status === 200) assert.deepEqual(res.body.data, [], `${p.name}=${v}`);
              else {
                assertProblem(res, `${p.name}=${v}`);
                assert.equal(res.status, 404, `${p.name}=${v}`);
              }
            }
          }
        });
      }
      assert.ok(routes >= 5, 'the routes with query strings were found');
    });

    test('query values the schema walk cannot derive (status lists, cursors): 422 naming the parameter', async (ctx) => {
      const forged = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
      for (const path of ['/v1/licenses', '/v1/licenses.csv']) {
        for (const qs of ['status=in_use,not_a_status', 'status=in_use,in_use', 'status=in_use&status=in_use', 'status=', 'status=,', `status=${'in_use,'.repeat(7)}in_use`]) {
          await ctx.test(`GET ${path}?${qs}`, async () => assertFieldError(await send('GET', `${path}?${qs}`), 'querystring.status', qs));
        }
      }
      for (const qs of [
        'cursor=nonsense',
        `cursor=${forged(['validUntil', 'infinity', newId('license')])}`,
        `sort=createdAt&cursor=${forged(['createdAt', '2026-02-30T00:00:00.000000Z', newId('license')])}`,
        `sort=createdAt&cursor=${forged(['createdAt', '2026-01-01T00:00:00.000000Z', 'x'.repeat(40)])}`,
      ]) {
        await ctx.test(`GET /v1/licenses?${qs}`, async () => assertFieldError(await send('GET', `/v1/licenses?${qs}`), 'querystring.cursor', qs));
      }
    });

    test('path ids that are malformed, of another kind or unknown: 404; too long or undecodable: 422', async (ctx) => {
      for (const [route, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const params: Schema[] = (op.parameters ?? []).filter((p: any) => p.in === 'path');
          if (params.length === 0) continue;
          const actions: string[] = params.find((p) => p.name === 'action')?.schema.enum ?? [];
          const row = BODY_ROUTES.find((r) => r.route === route && r.method.toLowerCase() === method);
          const body = row?.valid(w) ?? CSV_ROUTES.find((r) => r.route === route && r.method.toLowerCase() === method)?.valid(w);
          const m = method.toUpperCase() as Method;
          for (const param of params) {
            const query = requiredQuery(route);
            const urlWith = (value: string) =>
              route.replace(/\{(\w+)\}/g, (_x, name: string) => (name === param.name ? value : realParam(route, name, w, actions))) +
              (query.length > 0 ? `?${query.join('&')}` : '');
            await ctx.test(`${m} ${route} with a bad {${param.name}}`, async () => {
              if (param.name === 'action') {
                assertFieldError(await send(m, urlWith('explode'), body ? { body } : {}), 'params.action', 'unknown action');
                return;
              }
              for (const [what, id] of NOT_FOUND_IDS(w, realParam(route, param.name, w, actions))) {
                const res = await send(m, urlWith(id), body ? { body } : {});
                assertProblem(res, `${m} ${urlWith(id)} (${what})`);
                assert.equal(res.status, 404, `${m} ${urlWith(id)} (${what}): ${JSON.stringify(res.body)}`);
                assert.equal(res.body.code, 'NOT_FOUND', what);
              }
              for (const [what, id, path] of INVALID_IDS) {
                assertFieldError(await send(m, urlWith(id), body ? { body } : {}), path, `${m} ${route} (${what})`);
              }
            });
          }
        }
      }
    });

    test('a malformed Idempotency-Key on every POST route that takes one: 422 naming headers.idempotency-key', async (ctx) => {
      const keyed = Object.keys(doc.paths).filter((route) =>
        (operation('POST', route)?.parameters ?? []).some((p: any) => p.$ref === '#/components/parameters/IdempotencyKey'),
      );
      assert.ok(keyed.length >= 10, 'the routes taking the header were found');
      for (const route of keyed) {
        const actions: string[] = (operation('POST', route).parameters ?? []).find((p: any) => p.name === 'action')?.schema.enum ?? [];
        const url = route.replace(/\{(\w+)\}/g, (_m, name: string) => realParam(route, name, w, actions));
        const body = BODY_ROUTES.find((r) => r.method === 'POST' && r.route === route)?.valid(w) ?? CSV_ROUTES.find((r) => r.route === route)?.valid(w);
        await ctx.test(`POST ${url}`, async () => {
          for (const key of ['', 'x'.repeat(256), 'two words', 'tab\there', 'clé']) {
            const res = await send('POST', url, { headers: { 'idempotency-key': key }, ...(body ? { body } : {}) });
            assertFieldError(res, 'headers.idempotency-key', `POST ${url} with the key ${JSON.stringify(key)}`);
          }
        });
      }
    });

    test('files: broken CSV, no header, a NUL character, JSON or other types, too large, a bad query: 4xx naming what is wrong', async (ctx) => {
      for (const row of CSV_ROUTES) {
        const url = row.url(w);
        await ctx.test(`${row.method} ${url}`, async () => {
          for (const [what, text] of [
            ['an empty file', ''],
            ['no header', 'someone@licensepool.test\n'],
            ['a quote never closed', 'serial,type\n"SN-1,WiDI\n'],
            ['a NUL character', 'serial,type\nSN-\u0000,WiDI\n'],
            ['a header of unknown columns', 'colour,size\nred,9\n'],
          ] as const) {
            assertFieldError(await send(row.method, url, { body: csvBody(text) }), 'body', what);
          }
          const big = await send(row.method, url, { body: csvBody(`serial,type\n${'x'.repeat(row.limit)}\n`) });
          assertProblem(big, 'over the limit');
          assert.equal(big.status, 413);
          assert.equal(big.body.code, 'PAYLOAD_TOO_LARGE');
          for (const [type, raw] of [['application/json', '{"email": "someone@licensepool.test"}'], ['application/json', '"serial,type"'], ['text/plain', 'serial,type\nSN-1,WiDI\n'], ['application/x-www-form-urlencoded', 'a=1']] as const) {
            const res = await send(row.method, url, { rawBody: raw, headers: { 'content-type': type } });
            assertProblem(res, type);
            assert.equal(res.status, 415, `${type}: ${JSON.stringify(res.body)}`);
            assert.equal(res.body.code, 'UNSUPPORTED_MEDIA_TYPE');
          }
          for (const qs of ['atomic=yes', 'atomic=1', 'atomic=true&atomic=false', 'unexpected=1']) {
            const res = await send(row.method, `${url}?${qs}`, { body: row.valid(w) });
            assertFieldError(res, /^querystring\./, qs);
          }
        });
      }
    });

    test('none of it wrote anything: every table holds the same rows', async () => {
      // Includes tokens and rate_limits: no request above got as far as a login or a token.
      assert.deepEqual(await snapshot(t), start);
    });

    test('the valid bodies of the table are accepted as they are (each defect above was the only one)', async () => {
      for (const row of BODY_ROUTES) {
        const res = await send(row.method, row.url(w), { body: row.valid(w), public: row.public });
        assert.ok(res.status >= 200 && res.status < 300, `${row.method} ${row.url(w)} → ${res.status} ${JSON.stringify(res.body)}`);
      }
      for (const row of CSV_ROUTES) {
        const res = await send(row.method, row.url(w), { body: row.valid(w) });
        assert.equal(res.status, 200, `${row.method} ${row.url(w)} → ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.failed, 0, JSON.stringify(res.body));
      }
    });
  });
}
