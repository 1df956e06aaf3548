/**
 * The OpenAPI document's finishing pass (docs/architecture.md, "OpenAPI document"): the shared
 * component schemas, the problem responses as `application/problem+json`, servers and tags.
 * Documentation only: what the routes validate and send stays what their Zod schemas say.
 */
import type { SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { ERRORS } from '../lib/errors.js';

/** Every tag an operation carries, with what it groups; the test fails on an operation whose tag is missing here. */
export const API_TAGS: OpenAPIV3_1.TagObject[] = [
  { name: 'auth', description: 'Log in and out (session cookie or bearer token) and your API tokens.' },
  { name: 'accounts', description: 'Sign up and the account you are logged in as.' },
  { name: 'pools', description: 'The pool tree: roots (vendors), distributors, dealers, buildings, apartments; their status, settings, roles, license state and reminder rules.' },
  { name: 'catalog', description: "A root's catalog: the meters licenses limit, the features they switch on, and the software packages devices fetch." },
  { name: 'licenses', description: 'Licenses on pools: made by request with a key or added directly, activated, upgraded, suspended; their lists, history, certificate and notifications.' },
  { name: 'members', description: 'People (by e-mail) and devices (by serial) that use a pool, their verification and entitlements, and CSV import.' },
  { name: 'devices', description: "A root's device registry, and lost or stolen reports." },
  { name: 'claims', description: 'Exact claims on a meter (leases, assignments, borrows), their check-in and heartbeat, and the counters reconcile.' },
  { name: 'queue', description: 'Queue tickets of claims waiting for free units, and their event stream.' },
  { name: 'access rules', description: 'Admit or exclude e-mail addresses and domains on a pool and its subtree.' },
  { name: 'applications', description: 'Applications for a new pool under a parent, approved or rejected by its administrators.' },
  { name: 'signing', description: 'Signing keys of each root and the public JWKS that verifies signed licenses.' },
  { name: 'sync', description: "A verified member's app fetching its signed licenses and packages." },
  { name: 'mail', description: "The mail outbox, each root's mail templates and who its notices go to." },
  { name: 'webhooks', description: 'Signed webhook deliveries of events in a root’s tree, and their delivery log.' },
  { name: 'audit', description: 'The audit trail of every change.' },
  { name: 'jobs', description: 'Background jobs and their dead letters (superusers).' },
  { name: 'system', description: 'Liveness and readiness of the process.' },
];

const PROBLEM_MEDIA_TYPE = 'application/problem+json';
const PROBLEM_REF = '#/components/schemas/Problem';

/** The shared response of each problem status, named as `components.responses` holds it. */
const PROBLEM_RESPONSES: Record<string, { name: string; meaning: string }> = {
  400: { name: 'BadRequest', meaning: 'The request cannot be read' },
  401: { name: 'Unauthenticated', meaning: 'No valid session or token (the answer carries a `WWW-Authenticate: Bearer` challenge)' },
  403: { name: 'Forbidden', meaning: 'Authenticated, but not allowed here' },
  404: { name: 'NotFound', meaning: 'Not found, or not within your reach' },
  409: { name: 'Conflict', meaning: 'Not possible in the current state' },
  410: { name: 'Gone', meaning: 'It has ended' },
  413: { name: 'PayloadTooLarge', meaning: 'The request body is larger than the route takes' },
  415: { name: 'UnsupportedMediaType', meaning: 'The request body is not of a content type the route takes' },
  422: { name: 'UnprocessableContent', meaning: 'The request is well-formed but refused' },
  429: { name: 'TooManyRequests', meaning: 'Too many attempts (the answer carries `Retry-After`)' },
  503: { name: 'ServiceUnavailable', meaning: 'Not able to answer now; retry' },
};

/** What a success answer is, where the route's schema does not say. */
const SUCCESS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'Done; no content',
};

/** The codes of the error table a status can carry, for its shared response's description. */
function codesOf(status: number): string[] {
  return Object.entries(ERRORS)
    .filter(([, e]) => e.status === status)
    .map(([code]) => code);
}

/** The shared problem responses of these statuses. */
function problemResponses(statuses: Set<string>): Record<string, OpenAPIV3_1.ResponseObject> {
  return Object.fromEntries(
    Object.entries(PROBLEM_RESPONSES)
      .filter(([status]) => statuses.has(status))
      .map(([status, { name, meaning }]) => [
        name,
        {
          description: `${meaning}. Problem details (RFC 9457); \`code\` is one of ${codesOf(Number(status)).map((c) => `\`${c}\``).join(', ')}.`,
          content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: PROBLEM_REF } } },
        },
      ]),
  );
}

type Operation = OpenAPIV3_1.OperationObject;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function* operationsOf(doc: Partial<OpenAPIV3_1.Document>): Generator<Operation> {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (op) yield op;
    }
  }
}

/**
 * A route's error statuses are declared with the Problem schema (src/http/schemas.ts), which the
 * route transform writes as `application/json` (or the route's `produces`): here each becomes the
 * shared response of its status, `application/problem+json`, which is what the server sends.
 * Answers the statuses whose shared response the document now refers to.
 */
function documentProblems(doc: Partial<OpenAPIV3_1.Document>): Set<string> {
  const shared = new Set<string>();
  for (const op of operationsOf(doc)) {
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      if ('$ref' in response) continue;
      const schemas = Object.values(response.content ?? {}).map((media) => media.schema);
      const isProblem = schemas.length > 0 && schemas.every((schema) => schema && '$ref' in schema && schema.$ref === PROBLEM_REF);
      if (!isProblem) {
        if (response.description === 'Default Response') response.description = SUCCESS_DESCRIPTIONS[status] ?? response.description;
        continue;
      }
      const named = PROBLEM_RESPONSES[status];
      if (named) shared.add(status);
      op.responses![status] = named
        ? { $ref: `#/components/responses/${named.name}` }
        : { description: 'Problem details (RFC 9457)', content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: PROBLEM_REF } } } };
    }
  }
  return shared;
}

/**
 * Each schema registered with an id is written twice by the Zod transform, as read (`XInput`)
 * and as sent (`X`); only the ones the document refers to stay, sorted by name.
 */
function dropUnusedSchemas(doc: Partial<OpenAPIV3_1.Document>): void {
  const schemas = doc.components?.schemas;
  if (!schemas) return;
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
        const name = value.slice('#/components/schemas/'.length);
        if (!used.has(name) && schemas[name]) {
          used.add(name);
          visit(schemas[name]);
        }
      } else visit(value);
    }
  };
  visit({ ...doc, components: { ...doc.components, schemas: {} } });
  // By name: the order schemas were registered in depends on which module a process loaded first.
  doc.components!.schemas = Object.fromEntries(
    Object.keys(schemas)
      .filter((name) => used.has(name))
      .sort()
      .map((name) => [name, schemas[name]!]),
  );
}

/**
 * The document transform: the Zod registry's component schemas, then `more` (the
 * Idempotency-Key header), then the problem responses, servers and tags.
 */
export function finishDocument(more: SwaggerTransformObject): SwaggerTransformObject {
  return (document) => {
    if (!('openapiObject' in document)) return document.swaggerObject;
    const withSchemas = jsonSchemaTransformObject(document) as Partial<OpenAPIV3_1.Document>;
    const doc = more({ openapiObject: withSchemas }) as Partial<OpenAPIV3_1.Document>;
    const problemStatuses = documentProblems(doc);
    doc.components = { ...doc.components, responses: { ...doc.components?.responses, ...problemResponses(problemStatuses) } };
    dropUnusedSchemas(doc);
    // Relative: the API answers at the origin that serves this document.
    doc.servers = [{ url: '/', description: 'This server' }];
    doc.tags = API_TAGS;
    return doc;
  };
}
