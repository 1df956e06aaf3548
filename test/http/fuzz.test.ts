/**
 * A fuzz of every operation in the OpenAPI document: for each one, hostile requests drawn from
 * its own parameters and request schema — wrong types, missing and unknown fields, huge strings,
 * deep nesting, lone surrogates, NUL, odd path ids, wrong content types, empty bodies, odd query
 * parameters and headers — besides requests generated to be plausible, so that handlers run past
 * validation. Sent as a superuser and as a second tenant's operator, with path ids from a small
 * fixture of two tenants (so handlers load real rows) as well as garbage.
 *
 * Every answer must be below 500, every error problem+json with a code of the error table, every
 * refused write must leave every table as it was, and the server must be healthy afterwards. New
 * routes join by being in the document.
 *
 * The cases come from fast-check with a seed, printed at the start: `FUZZ_SEED=<seed>` runs the
 * same cases again (a random seed otherwise, so every run tries new ones).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { ERRORS } from '../../src/lib/errors.js';
import { newId } from '../../src/lib/ids.js';
import { backends, call, childPool, createTestApp, ok, person, tableDigest, vendor, type TestApp } from '../helpers.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, any>;

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
console.log(`fuzz seed: ${SEED} (FUZZ_SEED=${SEED} repeats this run)`);

/** Requests per operation, shared between the two callers. Every kind of defect that applies comes up at least once. */
const CASES_PER_OPERATION = 16;

/** Real ids of one tenant's fixture, by the kind of thing they name. */
type Ids = Record<string, string[]>;

interface World {
  /** Ids of both tenants by kind (`pool`, `license`…). */
  ids: Ids;
  /** Strings that mean something here: catalog keys, e-mails of accounts, serials, device types. */
  words: string[];
}

/** A root with catalog, a child pool with a license, members, claims, a device, roles, a webhook… */
async function tenant(t: TestApp, name: string): Promise<{ ids: Ids; words: string[]; operatorToken: string }> {
  const tree = await vendor(t, { name, meters: [{ key: 'seats' }], features: ['door'] });
  const token = tree.operator.token;
  const child = await childPool(t, token, tree.root, { name: `${name} Shop` });
  const license = await ok(t.app, 'POST', `/v1/pools/${child}/licenses`, { token, body: { limits: { seats: 10 }, features: ['door'] } });
  const device = await ok(t.app, 'POST', `/v1/pools/${child}/members`, { token, body: { device: { serial: `SN-${name}`, type: 'WiDI' } } });
  await ok(t.app, 'POST', `/v1/members/${device.id}/verify`, { token });
  const resident = await person(t, `resident@${name.toLowerCase()}.test`);
  const residentMember = await ok(t.app, 'POST', `/v1/pools/${child}/members`, { token, body: { email: resident.email } });
  // A deputy whose binding the fuzz may remove: never the operator's own.
  const deputy = await person(t, `deputy@${name.toLowerCase()}.test`);
  const role = await ok(t.app, 'POST', `/v1/pools/${child}/roles`, { token, body: { email: deputy.email, role: 'deputy' } });
  const lease = await ok(t.app, 'POST', '/v1/claims', { token, body: { memberId: device.id, meter: 'seats', ttlSeconds: 86_400 } });
  await ok(t.app, 'PATCH', `/v1/pools/${child}`, { token, body: { restricted: true, queue: { enabled: true, claimTimeoutSeconds: 60 } } });
  await ok(t.app, 'POST', '/v1/claims', { token, body: { memberId: device.id, meter: 'seats', kind: 'assignment', quantity: 9 } });
  const queued = await ok(t.app, 'POST', '/v1/claims', { token, body: { memberId: device.id, meter: 'seats', queue: true } });
  // The pool is full: a refused claim opens the hour in which its managers hear of it once (N4),
  // so the fuzz's own refusals there write nothing.
  const refused = await call(t.app, 'POST', '/v1/claims', { token, body: { memberId: device.id, meter: 'seats' } });
  assert.ok(refused.body.reasons?.some((r: { code: string }) => r.code === 'LIMIT_REACHED'), JSON.stringify(refused.body));
  await limitNoticeRecorded(t, child);
  const registered = await ok(t.app, 'POST', `/v1/pools/${tree.root}/devices`, { token, body: { serial: `SN-${name}-SPARE`, type: 'WiDI' } });
  const rule = await ok(t.app, 'POST', `/v1/pools/${child}/access-rules`, { token, body: { effect: 'exclude', match: 'domain', value: 'rival.test' } });
  const pkg = await ok(t.app, 'POST', `/v1/pools/${tree.root}/packages`, {
    token,
    body: { name: 'firmware', version: '1.0.0', deviceType: 'WiDI', sha256: 'a'.repeat(64), size: 1024, url: 'https://93.184.215.14/fw.bin', feature: 'door' },
  });
  const key = await ok(t.app, 'POST', `/v1/pools/${tree.root}/signing-keys/rotate`, { token });
  const webhook = await ok(t.app, 'POST', `/v1/pools/${tree.root}/webhooks`, { token, body: { url: 'https://93.184.215.14/hooks', events: ['*'] } });
  const applicant = await person(t, `applicant@${name.toLowerCase()}.test`);
  const application = await ok(t.app, 'POST', '/v1/applications', {
    token: applicant.token,
    body: { parentId: tree.root, company: `${name} Customer`, contactName: 'Anna', address: { line1: 'Main St 1', postalCode: '1000', city: 'Bern', country: 'CH' }, email: applicant.email, phone: '+41 1 234', managerEmail: applicant.email },
  });
  const requested = await ok(t.app, 'POST', '/v1/licenses', { token, body: { rootId: tree.root, limits: { seats: 1 } } });
  // A token the fuzz may revoke: the resident's, never one the fuzz calls with.
  const spare = await ok(t.app, 'POST', '/v1/tokens', { token: resident.token, body: { name: 'spare' } });
  const outbox = await ok(t.app, 'GET', '/v1/outbox?limit=5', { token: t.superuser });
  const jobs = await ok(t.app, 'GET', '/v1/jobs?limit=5', { token: t.superuser });
  return {
    operatorToken: token,
    ids: {
      pool: [tree.root, child],
      license: [license.id, requested.id],
      member: [device.id, residentMember.id],
      role: [role.id],
      account: [deputy.id, applicant.id, resident.id],
      claim: [lease.id],
      ticket: [queued.ticket.id],
      device: [registered.id],
      rule: [rule.id],
      package: [pkg.id],
      signingKey: [key.kid ?? key.id],
      webhook: [webhook.id],
      application: [application.id],
      token: [spare.id],
      message: outbox.data.map((m: { id: string }) => m.id),
      job: jobs.data.map((j: { id: string }) => j.id),
    },
    words: ['seats', 'door', 'WiDI', `SN-${name}`, `SN-${name}-SPARE`, resident.email, deputy.email, applicant.email, tree.operator.email, requested.key, 'member.verified', 'license.created'],
  };
}

/** Waits for the fire-and-forget record of a pool's refusal for limits (N4). */
async function limitNoticeRecorded(t: TestApp, poolId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM rate_limits WHERE key = ${`notify:limit_reached:${poolId} seats`}`);
    if (rows[0]!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no limit notice for ${poolId}`);
}

/** Tables a refusal writes on purpose: failed logins and activations count against their limits. */
const COUNTED_REFUSALS: Record<string, string[]> = {
  'POST /v1/auth/login': ['rate_limits'],
  'POST /v1/licenses/activate': ['rate_limits'],
};

/** The kind of id a path segment's parameter takes (`/v1/pools/{id}` → pool); anything else gets any real id. */
const SEGMENT_KINDS: Record<string, string> = {
  pools: 'pool',
  licenses: 'license',
  members: 'member',
  roles: 'role',
  deputies: 'account',
  claims: 'claim',
  tickets: 'ticket',
  devices: 'device',
  'access-rules': 'rule',
  packages: 'package',
  'signing-keys': 'signingKey',
  webhooks: 'webhook',
  applications: 'application',
  tokens: 'token',
  outbox: 'message',
  jobs: 'job',
};

/** Ids no fixture holds: garbage, injections, encodings the router or the database might choke on. */
const GARBAGE_IDS = [
  'nope',
  "'; DROP TABLE pools; --",
  "pool_' OR '1'='1",
  '%00',
  'pool_%00',
  '%ED%A0%80',
  '%F0%9F%92%A9',
  '%E0%A4%A',
  '%C0%AF',
  '%2F..%2F..%2Fetc%2Fpasswd',
  '..',
  'pool_',
  'pool_ilouilouilouilouilouilouil',
  '-1',
  '0',
  '1e999',
  'null',
  '%20',
  'x'.repeat(65),
  'x'.repeat(300),
  '%FF%FE',
  '__proto__',
];

const pickFrom = <T>(items: readonly T[]) => fc.nat().map((i) => items[i % items.length]!);

/** An odd value for a path parameter: garbage, a well-formed id nobody holds, or a real id of another kind. */
function oddIdArb(world: World, rightKind: string | undefined): fc.Arbitrary<string> {
  const otherKinds = Object.entries(world.ids).filter(([kind]) => kind !== rightKind).flatMap(([, ids]) => ids);
  return fc.oneof(
    pickFrom(GARBAGE_IDS),
    fc.string({ unit: 'grapheme', maxLength: 70 }).map(encodeURIComponent),
    pickFrom(['pool', 'license', 'member', 'token', 'role', 'ticket', 'device', 'claim', 'webhook'] as const).map((kind) => newId(kind)),
    pickFrom(otherKinds),
  );
}

function realIdArb(world: World, kind: string | undefined): fc.Arbitrary<string> {
  const ids = kind && world.ids[kind]?.length ? world.ids[kind]! : Object.values(world.ids).flat();
  return pickFrom(ids);
}

/** Hostile values of a JSON type the field does not take, and of every other kind of trouble. */
const WRONG_VALUES: Json[] = [12345, -1, 1e308, 0.5, 'not the right type', '', true, false, null, [], ['x'], {}, { x: 1 }, [[[]]], '12', 'true', 'null'];

const resolve = (doc: Schema, schema: Schema): Schema => {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++) s = s.$ref.split('/').slice(1).reduce((node: any, part: string) => node?.[part], doc);
  return s ?? {};
};

/** Plausible values for a schema: often real ids and catalog words, so requests pass validation and reach the handlers. */
function valueArb(doc: Schema, world: World, schemaIn: Schema, depth = 0): fc.Arbitrary<Json> {
  const schema = resolve(doc, schemaIn);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return pickFrom(schema.enum as Json[]);
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches)) return fc.oneof(...branches.map((b: Schema) => valueArb(doc, world, b, depth)));
  const type = Array.isArray(schema.type) ? schema.type[0] : (schema.type ?? (schema.properties ? 'object' : undefined));
  switch (type) {
    case 'string':
      return stringArb(world, schema);
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1000, -(2 ** 31)), max: Math.min(schema.maximum ?? 100_000, 2 ** 31 - 1) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 100_000, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      return fc.array(valueArb(doc, world, schema.items ?? {}, depth + 1), { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 3, 3)) });
    }
    case 'object': {
      if (depth > 6) return fc.constant({});
      const properties: Record<string, Schema> = schema.properties ?? {};
      const required: string[] = schema.required ?? [];
      const fixed = fc.record(
        Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, valueArb(doc, world, s, depth + 1)])),
        { requiredKeys: required.filter((k) => k in properties) },
      ) as fc.Arbitrary<Record<string, Json>>;
      if (typeof schema.additionalProperties !== 'object') return fixed;
      const keys = schema.propertyNames ? stringArb(world, resolve(doc, schema.propertyNames)) : pickFrom(world.words);
      const extra = fc.dictionary(keys, valueArb(doc, world, schema.additionalProperties, depth + 1), { maxKeys: 3 });
      return fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a }));
    }
    default:
      return fc.oneof(pickFrom(WRONG_VALUES), pickFrom(world.words));
  }
}

function stringArb(world: World, schema: Schema): fc.Arbitrary<string> {
  const minLength: number = schema.minLength ?? 0;
  const maxLength: number = Math.min(schema.maxLength ?? 60, 60);
  if (schema.format === 'date-time') {
    return fc.date({ min: new Date('2025-06-01T00:00:00Z'), max: new Date('2028-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  if (schema.format === 'uri') {
    // Address literals only: a host name would be looked up in the DNS.
    return pickFrom(['https://93.184.215.14/hooks', 'https://10.0.0.1/x', 'http://127.0.0.1:1/', 'https://[::1]/', 'ftp://93.184.215.14/f', 'https://93.184.215.14/a?b=c#d']);
  }
  const pattern = schema.pattern ? new RegExp(schema.pattern) : undefined;
  const fits = (s: string) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity) && (!pattern || pattern.test(s));
  const known = [...world.words, ...Object.values(world.ids).flat()].filter(fits);
  const generated = pattern && !schema.format ? fc.stringMatching(pattern).filter(fits) : fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
  return known.length > 0 ? fc.oneof({ arbitrary: pickFrom(known), weight: 3 }, { arbitrary: generated, weight: 1 }) : generated;
}

const jsonType = (value: Json) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'number' ? 'number' : typeof value);

const ALL_TYPES = ['null', 'boolean', 'number', 'string', 'array', 'object'];

/** The JSON types the schema takes at a path of the body (every type where it says nothing). */
function typesAt(doc: Schema, schemaIn: Schema, path: (string | number)[]): Set<string> {
  const schema = resolve(doc, schemaIn);
  const branches = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (Array.isArray(branches)) return new Set(branches.flatMap((b: Schema) => [...typesAt(doc, b, path)]));
  if (path.length === 0) {
    if (schema.const !== undefined || Array.isArray(schema.enum)) return new Set((schema.enum ?? [schema.const]).map((v: Json) => jsonType(v)));
    const types: string[] = schema.type === undefined ? (schema.properties ? ['object'] : ALL_TYPES) : [schema.type].flat();
    return new Set(types.map((type) => (type === 'integer' ? 'number' : type)));
  }
  const [head, ...rest] = path;
  if (typeof head === 'number') return schema.items ? typesAt(doc, schema.items, rest) : new Set(ALL_TYPES);
  const child = schema.properties?.[head!] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
  return child ? typesAt(doc, child, rest) : new Set();
}

/** Where in a JSON value a defect can go: every field, array item and object. */
function pathsOf(value: Json): { path: (string | number)[]; value: Json }[] {
  const found: { path: (string | number)[]; value: Json }[] = [];
  const stack: { path: (string | number)[]; value: Json }[] = [{ path: [], value }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    found.push(node);
    if (Array.isArray(node.value)) node.value.forEach((item, i) => stack.push({ path: [...node.path, i], value: item }));
    else if (node.value !== null && typeof node.value === 'object') for (const [key, item] of Object.entries(node.value)) stack.push({ path: [...node.path, key], value: item });
  }
  return found;
}

function setAt(body: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  const copy = structuredClone(body) as any;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  if (value === undefined) delete node[path[path.length - 1]!];
  else node[path[path.length - 1]!] = value;
  return copy;
}

/** A marker replaced in the JSON text by nesting no JSON.stringify would make. */
const DEEP = '\u0001deep\u0001';
const nestedArrays = (depth: number) => '['.repeat(depth) + '1' + ']'.repeat(depth);
const deepObjectText = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

interface Request {
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

interface Case extends Request {
  what: string;
  /** The request has a defect every route must refuse (4xx); otherwise any answer below 500 is right. */
  mustRefuse: boolean;
}

interface Operation {
  method: Method;
  route: string;
  pathParams: Schema[];
  queryParams: Schema[];
  json?: Schema;
  csv: boolean;
  /** An event stream: a request that passes stays open, so its live tickets are never sent. */
  stream: boolean;
}

const JSON_TYPE = 'application/json';

/** NUL, or longer than any query parameter may be: no parameter takes these. */
const REFUSED_QUERY_VALUES = new Set(['%00', 'x'.repeat(100_000)]);

/**
 * An odd query part, and whether every route must refuse it: an unknown parameter, a known one
 * twice or with a value none takes, or a known one with an odd value that some may take (a
 * cursor is any string).
 */
function oddQueryArb(op: Operation): fc.Arbitrary<{ part: string; refused: boolean }> {
  const unknown = fc.tuple(
    pickFrom(['zzz', '__proto__', 'constructor', 'a[b]', 'limit[]', '%00', '%ED%A0%80', 'x'.repeat(2000), '', '%E0%A4%A', 'isSuperuser']),
    pickFrom(['1', '', '%00', 'x'.repeat(100_000), '%ED%A0%80', '[]', '{}']),
  ).map(([name, value]) => ({ part: `${name}=${value}`, refused: true }));
  if (op.queryParams.length === 0) return unknown;
  const known = fc.tuple(
    pickFrom(op.queryParams.map((p) => p.name as string)),
    pickFrom(['abc', '-1', '0', '1.5', '1e999', '0x10', '%00', 'x'.repeat(100_000), '%ED%A0%80', 'null', 'true', "' OR 1=1 --", '2026-02-30T00:00:00Z']),
    fc.boolean(),
  ).map(([name, value, twice]) => ({ part: twice ? `${name}=${value}&${name}=${value}` : `${name}=${value}`, refused: twice || REFUSED_QUERY_VALUES.has(value) }));
  return fc.oneof(unknown, known);
}

const HEADER_ARB: fc.Arbitrary<[Record<string, string>, boolean]> = fc.oneof(
  pickFrom(['', 'x'.repeat(256), 'two words', 'clé', 'tab\there']).map((key): [Record<string, string>, boolean] => [{ 'idempotency-key': key }, false]),
  pickFrom(['a\u0000b', 'a\ud800', '\udfff']).map((value): [Record<string, string>, boolean] => [{ 'x-forwarded-for': value }, true]),
  pickFrom(['<script>', 'x'.repeat(5000), '../../', '']).map((value): [Record<string, string>, boolean] => [{ 'x-request-id': value }, false]),
  pickFrom(['lp_session=%00', 'lp_session=; lp_session=x', `lp_session=${'x'.repeat(300)}`, 'lp_session=%ED%A0%80']).map((cookie): [Record<string, string>, boolean] => [{ cookie }, false]),
  pickFrom(['text/html', '*/*;q=0', 'application/problem+json']).map((accept): [Record<string, string>, boolean] => [{ accept }, false]),
);

const WRONG_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/csv', 'application/json; charset=utf-16', 'application/octet-stream', 'application/vnd.api+json'];

const KINDS = ['pathId', 'generated', 'wrongType', 'missingField', 'extraField', 'hugeString', 'deepNesting', 'loneSurrogate', 'nul', 'wrongContentType', 'emptyBody', 'oddQuery', 'oddHeader'] as const;
type Kind = (typeof KINDS)[number];

/** The cases of one operation: every kind that applies in turn, until there are `count`. */
function casesOf(op: Operation, doc: Schema, world: World, seed: number, count: number): Case[] {
  const rightKind = (name: string, route: string) => {
    const segments = route.split('/');
    const at = segments.indexOf(`{${name}}`);
    return SEGMENT_KINDS[segments[at - 1] ?? ''];
  };
  const paramArb = (p: Schema, odd: boolean): fc.Arbitrary<string> => {
    const enumValues: string[] | undefined = p.schema?.enum;
    if (enumValues) return odd ? fc.oneof(pickFrom(GARBAGE_IDS), fc.constant('explode')) : pickFrom(enumValues);
    const kind = rightKind(p.name, op.route);
    if (odd) return oddIdArb(world, kind);
    // A stream that passes would stay open: the tickets it would follow are left out.
    if (op.stream && kind === 'ticket') return oddIdArb(world, kind);
    return realIdArb(world, kind);
  };
  const urlArb = (oddParam: number | null, query: fc.Arbitrary<string[]>) =>
    fc.tuple(fc.tuple(...op.pathParams.map((p, i) => paramArb(p, i === oddParam))), query).map(([values, parts]) => {
      const byName = Object.fromEntries(op.pathParams.map((p, i) => [p.name, values[i]!]));
      return op.route.replace(/\{(\w+)\}/g, (_m, name: string) => byName[name]!) + (parts.length > 0 ? `?${parts.join('&')}` : '');
    });
  const noQuery = fc.constant<string[]>([]);
  const bodyArb = op.json ? valueArb(doc, world, op.json) : fc.constant<Json>({});
  const jsonCase = (body: fc.Arbitrary<string | undefined>, contentType = JSON_TYPE) =>
    body.map((payload): Pick<Request, 'headers' | 'payload'> => (payload === undefined ? { headers: {} } : { headers: { 'content-type': contentType }, payload }));
  /** A defect at a random place of a plausible body. */
  const mutated = (mutate: (body: Json, at: { path: (string | number)[]; value: Json }) => Json | null) =>
    fc.tuple(bodyArb, fc.nat()).map(([body, i]) => {
      const places = pathsOf(body);
      for (let k = 0; k < places.length; k++) {
        const result = mutate(body, places[(i + k) % places.length]!);
        if (result !== null) return JSON.stringify(result);
      }
      return JSON.stringify(mutate(body, { path: [], value: body }) ?? body);
    });
  const isGet = op.method === 'GET';
  const takesBody = !isGet;

  const csvPayloads: Record<string, fc.Arbitrary<[string | Buffer, string]>> = {
    wrongType: pickFrom(['a,b,c\n1,2,3\n', '"unclosed,\n', 'serial,type\n' + 'x,'.repeat(10_000) + '\n', 'email\n' + 'not-an-email\n'.repeat(50)]).map((s) => [s, 'text/csv']),
    hugeString: fc.constant<[string, string]>([`serial,type\n${'x'.repeat(5 * 1024 * 1024 + 1)}\n`, 'text/csv']),
    loneSurrogate: fc.constant<[Buffer, string]>([Buffer.from([0x73, 0x65, 0x72, 0x69, 0x61, 0x6c, 0x0a, 0xed, 0xa0, 0x80, 0x0a]), 'text/csv']),
    nul: fc.constant<[string, string]>(['serial,type\nSN-\u0000,WiDI\n', 'text/csv']),
    emptyBody: fc.constant<[string, string]>(['', 'text/csv']),
    deepNesting: fc.constant<[string, string]>([nestedArrays(10_000), JSON_TYPE]),
    wrongContentType: pickFrom([JSON_TYPE, 'text/plain', 'application/x-www-form-urlencoded']).map((type): [string, string] => ['serial,type\nSN-1,WiDI\n', type]),
  };

  const arbs: Partial<Record<Kind, fc.Arbitrary<Omit<Case, 'method' | 'what'>>>> = {};
  const withUrl = (url: fc.Arbitrary<string>, parts: fc.Arbitrary<Pick<Request, 'headers' | 'payload'>>, mustRefuse: boolean) =>
    fc.tuple(url, parts).map(([u, p]) => ({ url: u, ...p, mustRefuse }));
  const plausibleBody: fc.Arbitrary<Pick<Request, 'headers' | 'payload'>> = op.csv
    ? fc.constant({ headers: { 'content-type': 'text/csv' }, payload: 'serial,type\nSN-FUZZ,WiDI\n' })
    : op.json
      ? jsonCase(bodyArb.map((b) => JSON.stringify(b)))
      : fc.constant({ headers: {} });

  if (op.pathParams.length > 0) {
    arbs.pathId = fc.nat().chain((i) => withUrl(urlArb(i % op.pathParams.length, noQuery), plausibleBody, true));
  }
  arbs.generated = withUrl(urlArb(null, noQuery), plausibleBody, false);
  arbs.oddQuery = fc.array(oddQueryArb(op), { minLength: 1, maxLength: 3 }).chain((parts) =>
    withUrl(urlArb(null, fc.constant(parts.map((p) => p.part))), plausibleBody, parts.some((p) => p.refused)),
  );
  arbs.oddHeader = fc.tuple(urlArb(null, noQuery), plausibleBody, HEADER_ARB).map(([url, p, [headers, refused]]) => ({ url, headers: { ...p.headers, ...headers }, payload: p.payload, mustRefuse: refused }));

  if (op.csv) {
    for (const [kind, payloads] of Object.entries(csvPayloads)) {
      arbs[kind as Kind] = fc.tuple(urlArb(null, noQuery), payloads).map(([url, [payload, type]]) => ({ url, headers: { 'content-type': type }, payload, mustRefuse: kind !== 'wrongType' }));
    }
  } else if (op.json) {
    const url = urlArb(null, noQuery);
    // A field of a plausible body given a value of a JSON type its schema does not take.
    arbs.wrongType = withUrl(
      url,
      jsonCase(
        fc.tuple(bodyArb, fc.nat(), pickFrom(WRONG_VALUES)).map(([body, i, wrong]) => {
          const fields = pathsOf(body).filter((p) => p.path.length > 0 && !typesAt(doc, op.json!, p.path).has(jsonType(wrong)));
          return JSON.stringify(fields.length === 0 ? 12345 : setAt(body, fields[i % fields.length]!.path, wrong));
        }),
      ),
      true,
    );
    const required: string[] = resolve(doc, op.json).required ?? [];
    if (required.length > 0) {
      arbs.missingField = withUrl(url, jsonCase(fc.tuple(bodyArb, fc.nat()).map(([body, i]) => JSON.stringify(setAt(body, [required[i % required.length]!], undefined)))), true);
    }
    arbs.extraField = withUrl(
      url,
      jsonCase(
        fc.tuple(bodyArb, pickFrom(['unexpected', 'isSuperuser', 'id', 'rootId', 'status', 'createdAt']), pickFrom(WRONG_VALUES)).map(([body, key, value]) =>
          JSON.stringify(body !== null && typeof body === 'object' && !Array.isArray(body) && !(key in body) ? { ...body, [key]: value } : { unexpected: value }),
        ),
      ),
      true,
    );
    arbs.hugeString = withUrl(
      url,
      jsonCase(
        fc.tuple(pickFrom([100 * 1024, 1024 * 1024 + 1]), pickFrom(['x', 'é', '\u{1F600}', '"'])).chain(([size, unit]) =>
          mutated((body, at) => (typeof at.value === 'string' || at.path.length === 0 ? setAt(body, at.path.length === 0 ? ['padding'] : at.path, unit.repeat(Math.ceil(size / unit.length))) : null)),
        ),
      ),
      false,
    );
    arbs.loneSurrogate = withUrl(
      url,
      jsonCase(
        fc.tuple(pickFrom(['\ud800', '\udfff', 'x\udbff', '\udc00\ud800']), fc.boolean()).chain(([bad, inKey]) =>
          mutated((body, at) => {
            if (inKey && at.value !== null && typeof at.value === 'object' && !Array.isArray(at.value)) return setAt(body, [...at.path, `key${bad}`], 1);
            return typeof at.value === 'string' ? setAt(body, at.path, `${at.value}${bad}`) : null;
          }).map((text) => (text.includes('\\ud') ? text : JSON.stringify({ name: `x${bad}` }))),
        ),
      ),
      true,
    );
    arbs.nul = withUrl(
      url,
      jsonCase(
        fc.boolean().chain((inKey) =>
          mutated((body, at) => {
            if (inKey && at.value !== null && typeof at.value === 'object' && !Array.isArray(at.value)) return setAt(body, [...at.path, 'key\u0000'], 1);
            return typeof at.value === 'string' ? setAt(body, at.path, `\u0000${at.value}`) : null;
          }).map((text) => (text.includes('\\u0000') ? text : JSON.stringify({ name: '\u0000' }))),
        ),
      ),
      true,
    );
    arbs.deepNesting = withUrl(
      url,
      jsonCase(
        fc.tuple(pickFrom([65, 1_000, 10_000, 100_000]), pickFrom(['[', '{'])).chain(([depth, open]) =>
          mutated((body, at) => (at.path.length > 0 ? setAt(body, at.path, DEEP) : null)).map((text) => {
            const nested = open === '[' ? nestedArrays(depth) : deepObjectText(depth);
            return text.includes(JSON.stringify(DEEP)) ? text.replace(JSON.stringify(DEEP), nested) : nested;
          }),
        ),
      ),
      true,
    );
    arbs.wrongContentType = fc.tuple(url, bodyArb, pickFrom(WRONG_CONTENT_TYPES)).map(([u, body, type]) => ({ url: u, headers: { 'content-type': type }, payload: JSON.stringify(body), mustRefuse: true }));
    arbs.emptyBody = fc.tuple(url, pickFrom<[string | undefined, string | undefined]>([[undefined, undefined], ['', JSON_TYPE], ['null', JSON_TYPE], ['[]', JSON_TYPE], ['"x"', JSON_TYPE], [' ', JSON_TYPE], ['{', JSON_TYPE], ['{"a":1}x', JSON_TYPE]])).map(([u, [payload, type]]) => ({
      url: u,
      headers: (type ? { 'content-type': type } : {}) as Record<string, string>,
      ...(payload === undefined ? {} : { payload }),
      // No body at all where every field is optional is an empty object, which such a route may take.
      mustRefuse: !(payload === undefined && required.length === 0),
    }));
  } else {
    // Routes that take no body: any body with content, and trouble inside it.
    const url = urlArb(null, noQuery);
    const withBody = (payloads: fc.Arbitrary<string>, type = JSON_TYPE, refused = takesBody) => fc.tuple(url, payloads).map(([u, payload]) => ({ url: u, headers: { 'content-type': type }, payload, mustRefuse: refused }));
    arbs.extraField = withBody(pickFrom(['{"evil":1}', '{"__proto__":{"isSuperuser":true}}', '{"status":"closed"}', '[1]', '"text"', '42']));
    arbs.wrongType = withBody(pickFrom(WRONG_VALUES.filter((v) => !(v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)).map((v) => JSON.stringify(v))));
    arbs.deepNesting = withBody(pickFrom([nestedArrays(7_500), deepObjectText(7_500), nestedArrays(65)]));
    arbs.loneSurrogate = withBody(pickFrom(['{"a":"\\ud800"}', '["\\udfff"]', '{"\\ud800":1}']));
    arbs.nul = isGet ? withUrl(urlArb(null, pickFrom(['a=%00', 'q=x%00y', '%00=1']).map((q) => [q])), fc.constant({ headers: {} }), true) : withBody(pickFrom(['{"a":"\\u0000"}', '"\\u0000"']));
    arbs.hugeString = isGet ? withUrl(urlArb(null, fc.constant([`q=${'x'.repeat(100_000)}`])), fc.constant({ headers: {} }), true) : withBody(fc.constant(JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1) })));
    arbs.wrongContentType = fc.tuple(url, pickFrom(WRONG_CONTENT_TYPES)).map(([u, type]) => ({ url: u, headers: { 'content-type': type }, payload: 'a=1', mustRefuse: takesBody }));
    arbs.emptyBody = withBody(pickFrom(['', ' ', '{', 'nul']));
  }

  const kinds = KINDS.filter((k) => arbs[k]);
  const cases: Case[] = [];
  const start = seed % kinds.length;
  for (let n = 0; n < count; n++) {
    const kind = kinds[(start + n) % kinds.length]!;
    const [drawn] = fc.sample(arbs[kind]!, { seed: seed + n, numRuns: 1 });
    cases.push({ ...drawn!, method: op.method, what: kind });
  }
  return cases;
}

function operationsOf(doc: Schema): Operation[] {
  const operations: Operation[] = [];
  for (const [route, ops] of Object.entries<Record<string, Schema>>(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const parameters: Schema[] = (op.parameters ?? []).map((p: Schema) => resolve(doc, p));
      const content = op.requestBody?.content ?? {};
      operations.push({
        method: method.toUpperCase() as Method,
        route,
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query'),
        json: content[JSON_TYPE]?.schema,
        csv: Boolean(content['text/csv']),
        stream: Boolean(op.responses?.['200']?.content?.['text/event-stream']),
      });
    }
  }
  return operations;
}

/** A short, reproducible description of a request for a failure message. */
function describeCase(c: Case, actor: string): string {
  const payload = c.payload === undefined ? '' : Buffer.isBuffer(c.payload) ? ` <${c.payload.length} bytes>` : ` ${JSON.stringify(c.payload.length > 300 ? `${c.payload.slice(0, 300)}… (${c.payload.length} chars)` : c.payload)}`;
  const url = c.url.length > 300 ? `${c.url.slice(0, 300)}… (${c.url.length} chars)` : c.url;
  return `[seed ${SEED}] ${c.what} as ${actor}: ${c.method} ${url} ${JSON.stringify(c.headers).slice(0, 300)}${payload}`;
}

const hash = (text: string) => [...text].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);

async function send(app: FastifyInstance, c: Case, token: string) {
  const headers = { authorization: `Bearer ${token}`, ...c.headers };
  const res = await app.inject({ method: c.method, url: c.url, headers, ...(c.payload !== undefined ? { payload: c.payload } : {}) });
  return res;
}

for (const backend of backends()) {
  describe(`fuzz of every operation (${backend})`, () => {
    let t: TestApp;
    let world: World;
    let doc: Schema;
    let actors: [string, string][];

    before(async () => {
      t = await createTestApp(backend);
      const a = await tenant(t, 'Alpha');
      const b = await tenant(t, 'Beta');
      const ids: Ids = {};
      for (const [kind, list] of [...Object.entries(a.ids), ...Object.entries(b.ids)]) ids[kind] = [...(ids[kind] ?? []), ...list];
      world = { ids, words: [...new Set([...a.words, ...b.words])] };
      // The superuser passes every check; Beta's operator reaches Beta's rows and must be refused Alpha's.
      actors = [
        ['the superuser', t.superuser],
        ["Beta's operator", b.operatorToken],
      ];
      doc = (await call(t.app, 'GET', '/openapi.json')).body;
    });
    after(() => t.close());

    test(`${CASES_PER_OPERATION} hostile or generated requests per operation: no 5xx, problem+json errors, refused writes write nothing`, async () => {
      const operations = operationsOf(doc);
      assert.ok(operations.length > 100, 'the operations were found');
      const statuses = new Map<string, number>();
      const failures: string[] = [];
      let sent = 0;
      let hostile = 0;
      let authenticatedAnswers = 0;
      let baseline: Record<string, string> | null = null;
      const started = Date.now();
      const cpu = process.cpuUsage();
      let checking = 0;
      const digest = async () => {
        const from = Date.now();
        const result = await tableDigest(t.deps.db);
        checking += Date.now() - from;
        return result;
      };
      for (const op of operations) {
        const cases = casesOf(op, doc, world, (SEED ^ hash(`${op.method} ${op.route}`)) >>> 0, CASES_PER_OPERATION);
        assert.ok(cases.filter((c) => c.what !== 'generated').length >= 10, `${op.method} ${op.route}: hostile cases`);
        for (const [n, c] of cases.entries()) {
          const [actor, token] = actors[n % actors.length]!;
          const where = describeCase(c, actor);
          const writes = c.method !== 'GET';
          if (writes && baseline === null) baseline = await digest();
          const res = await send(t.app, c, token);
          sent++;
          if (c.what !== 'generated') hostile++;
          statuses.set(String(res.statusCode), (statuses.get(String(res.statusCode)) ?? 0) + 1);
          if (res.statusCode !== 401) authenticatedAnswers++;
          if (res.statusCode >= 500) {
            failures.push(`${where} → ${res.statusCode} ${res.body.slice(0, 300)}`);
            baseline = null;
            continue;
          }
          if (res.statusCode >= 400) {
            const type = String(res.headers['content-type'] ?? '');
            const code = type.startsWith('application/problem+json') ? (JSON.parse(res.body) as { code?: string }).code : undefined;
            if (!code || !(code in ERRORS)) failures.push(`${where} → ${res.statusCode} without a problem document: ${type} ${res.body.slice(0, 200)}`);
          } else if (c.mustRefuse) {
            failures.push(`${where} → ${res.statusCode}: accepted ${res.body.slice(0, 200)}`);
          }
          const problem = res.statusCode >= 400 && String(res.headers['content-type']).startsWith('application/problem+json') ? JSON.parse(res.body) : {};
          if (problem.code === 'CLAIM_REFUSED' && problem.reasons.some((r: { code: string }) => r.code === 'LIMIT_REACHED')) {
            // A pool the fuzz made full tells its managers once (N4), after answering: by design.
            await new Promise((resolve) => setTimeout(resolve, 200));
            baseline = null;
          } else if (res.statusCode >= 400 && writes) {
            const now = await digest();
            const counted = COUNTED_REFUSALS[`${op.method} ${op.route}`] ?? [];
            const changed = Object.keys(now).filter((table) => now[table] !== baseline![table] && !counted.includes(table));
            if (changed.length > 0) failures.push(`${where} → ${res.statusCode} yet changed ${changed.join(', ')}`);
            baseline = now;
          } else {
            // A success may write; a GET is not trusted to leave the tables alone.
            baseline = null;
          }
        }
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const used = process.cpuUsage(cpu);
      const cpuSeconds = ((used.user + used.system) / 1e6).toFixed(1);
      console.log(`fuzz (${backend}): ${sent} requests (${hostile} hostile) over ${operations.length} operations in ${seconds} s (${cpuSeconds} s of CPU in this process; ${(checking / 1000).toFixed(1)} s comparing tables); answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
      assert.deepEqual(failures, [], `${failures.length} failures:\n${failures.slice(0, 40).join('\n')}`);
      assert.ok(sent >= 1500, `${sent} requests`);
      assert.ok(hostile >= operations.length * 10, `${hostile} hostile requests`);
      // Most answers come from past authentication: the handlers ran.
      assert.ok(authenticatedAnswers > sent * 0.8, `${authenticatedAnswers} of ${sent} answers were not 401`);
    });

    test('the server is healthy afterwards, and both callers are still logged in', async () => {
      assert.equal((await call(t.app, 'GET', '/healthz')).status, 200);
      assert.equal((await call(t.app, 'GET', '/readyz')).status, 200);
      for (const [actor, token] of actors) assert.equal((await call(t.app, 'GET', '/v1/accounts/me', { token })).status, 200, actor);
    });
  });
}
