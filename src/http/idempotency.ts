/**
 * U3: `Idempotency-Key` on creating requests. A retried POST with the same key gets the answer
 * the first one got, without running again; see docs/architecture.md ("Idempotency-Key").
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import type { SwaggerTransformObject } from '@fastify/swagger';
import type { OpenAPIV3_1 } from 'openapi-types';
import { createHash } from 'node:crypto';
import { sessionLocksOf } from '../db/client.js';
import type { Deps } from '../lib/context.js';
import { sha256 } from '../lib/crypto.js';
import { AppError } from '../lib/errors.js';
import {
  deleteKeysCreatedBefore,
  findKey,
  insertKeyInProgress,
  recordAnswer,
  releaseKey,
  takeOverKey,
  type KeyHold,
} from './idempotency.repo.js';
import { PROBLEM_CONTENT_TYPE, sendProblem } from './problem.js';

const HEADER = 'idempotency-key';
/** How long an answer is kept for retries. */
export const KEY_TTL_MS = 24 * 3_600_000;
/** 1–255 visible ASCII characters (what fits a header without quoting). */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;
/**
 * Routes whose answer carries a credential (an API token; a new operator's generated password):
 * keeping it would store it in plain text, where tokens and passwords are otherwise kept only as
 * hashes. The key is ignored there.
 */
const ANSWERS_WITH_SECRET = new Set(['/v1/tokens', '/v1/roots']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The key this request holds in progress; its answer is recorded when it is sent. */
    idempotencyHold: HeldKey | null;
  }
}

/** A key held by a request of this process: its row, and the session lock that says it is alive. */
interface HeldKey {
  row: KeyHold;
  lockId: bigint;
}

/** The session advisory lock of an account's key: 64 bits of a SHA-256, so distinct keys practically never share one. */
function lockIdOf(accountId: string, key: string): bigint {
  return createHash('sha256').update(`idempotency-key\0${accountId}\0${key}`).digest().readBigInt64BE(0);
}

/** JSON with every object's keys sorted, so the same request hashes the same however its body is ordered. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

function requestHashOf(request: FastifyRequest): string {
  const path = request.url.split('?')[0];
  return sha256(JSON.stringify([request.method, path, canonical(request.query), canonical(request.body ?? null)]));
}

function replay(reply: FastifyReply, statusCode: number, body: unknown): void {
  reply.code(statusCode).header('idempotent-replayed', 'true');
  if (body === null) {
    reply.send();
    return;
  }
  reply.type(statusCode >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json; charset=utf-8').send(JSON.stringify(body));
}

/**
 * Holds the key for this request, or answers in its place (true): the stored answer (replay),
 * 422 for a key used with another request, 409 while the first request is still running.
 *
 * Whether the first request is still running is the key's session lock (`SessionLocks`), held
 * by the request's process from before its row is written until its answer is recorded: a
 * row in progress whose lock can be taken belongs to a process that died, and is taken over at
 * once.
 */
async function holdOrAnswer(deps: Deps, request: FastifyRequest, reply: FastifyReply, accountId: string, key: string): Promise<boolean> {
  const row: KeyHold = { accountId, key, createdAt: deps.clock.now() };
  const requestHash = requestHashOf(request);
  const locks = sessionLocksOf(deps.db);
  const lockId = lockIdOf(accountId, key);
  const alive = !(await locks.tryLock(lockId));
  let held = false;
  try {
    held = await holdRowOrAnswer(deps, request, reply, row, requestHash, alive);
  } finally {
    if (!alive && !held) await locks.unlock(lockId);
  }
  if (held) request.idempotencyHold = { row, lockId };
  return !held;
}

/**
 * `alive`: another request, here or in another process, holds the key's lock right now. Answers
 * true when this request now holds the key (and its row), false when it has been answered.
 */
async function holdRowOrAnswer(deps: Deps, request: FastifyRequest, reply: FastifyReply, row: KeyHold, requestHash: string, alive: boolean): Promise<boolean> {
  const { accountId, key } = row;
  const inUse = () => {
    sendProblem(request, reply.header('retry-after', '1'), 'IDEMPOTENCY_KEY_IN_USE', `a request with the Idempotency-Key ${key} is still being answered; retry in a moment`);
    return false;
  };
  if (!alive && (await insertKeyInProgress(deps.db, row, requestHash))) return true;
  const found = await findKey(deps.db, accountId, key);
  if (!found) {
    // Its request failed and let the key go meanwhile: start anew (unless it is running again).
    return alive ? inUse() : (await insertKeyInProgress(deps.db, row, requestHash)) || inUse();
  }
  if (row.createdAt.getTime() - found.createdAt.getTime() < KEY_TTL_MS) {
    if (found.requestHash !== requestHash) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', `the Idempotency-Key ${key} was used for another request within the last 24 hours; use a new key`);
    }
    if (found.statusCode !== null) {
      replay(reply, found.statusCode, found.body);
      return false;
    }
  }
  if (alive) return inUse();
  // Expired, or in progress with nobody holding its lock (its process died): take it over. The
  // compare-and-set makes one of racing takers win (and a request that lost its lock when its
  // lock connection dropped can no longer overwrite the new answer).
  return (await takeOverKey(deps.db, found, row, requestHash)) || inUse();
}

/**
 * Keeps a 2xx or 4xx answer for the retries; after a 5xx the key is let go, so a retry runs
 * again. Then the key's lock goes: the row says the rest.
 */
async function settle(deps: Deps, reply: FastifyReply, held: HeldKey, payload: unknown): Promise<void> {
  try {
    const status = reply.statusCode;
    const empty = payload === null || payload === undefined || payload === '';
    const json = typeof payload === 'string' && /json/.test(String(reply.getHeader('content-type') ?? ''));
    if (status >= 500 || !(empty || json)) await releaseKey(deps.db, held.row);
    else await recordAnswer(deps.db, held.row, status, empty ? null : (payload as string));
  } finally {
    await sessionLocksOf(deps.db).unlock(held.lockId);
  }
}

/**
 * Registers the hooks on every authenticated POST route declared after this call (so call it
 * before the modules). A POST without the header pays one header lookup; other methods nothing.
 * Returns the OpenAPI document transform that documents the header on those routes.
 */
export function registerIdempotency(app: FastifyInstance, deps: Deps): { documentHeader: SwaggerTransformObject } {
  app.decorateRequest('idempotencyHold', null);
  const covered = new Set<string>();

  function preHandler(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const key = request.headers[HEADER];
    // Anonymous requests (no account to scope the key to) are not covered; the route answers 401 itself where it needs one.
    if (key === undefined || !request.auth) return done();
    if (typeof key !== 'string' || !KEY_SHAPE.test(key)) {
      const errors = [{ path: `headers.${HEADER}`, message: 'must be 1 to 255 visible ASCII characters' }];
      return done(new AppError('VALIDATION_FAILED', `headers.${HEADER}: ${errors[0]!.message}`, { errors }));
    }
    // Answered here: the chain stops (done is not called) and the handler never runs.
    holdOrAnswer(deps, request, reply, request.auth.actor.principal.accountId, key).then((answered) => {
      if (!answered) done();
    }, done);
  }

  function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void {
    const hold = request.idempotencyHold;
    if (!hold) return done(null, payload);
    request.idempotencyHold = null;
    settle(deps, reply, hold, payload).then(
      () => done(null, payload),
      (err: unknown) => {
        // The answer itself stands; the key stays in progress, and a retry takes it over (its lock is free).
        request.log.error({ err }, 'could not record the answer of an Idempotency-Key');
        done(null, payload);
      },
    );
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = [route.method].flat();
    const isPublic = Array.isArray(route.schema?.security) && route.schema.security.length === 0;
    if (!methods.includes('POST') || isPublic || ANSWERS_WITH_SECRET.has(route.url)) return;
    covered.add(route.url.replace(/:(\w+)/g, '{$1}'));
    route.preHandler = [...[route.preHandler ?? []].flat(), preHandler];
    route.onSend = [...[route.onSend ?? []].flat(), onSend];
  });

  return {
    documentHeader: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const doc = document.openapiObject as Partial<OpenAPIV3_1.Document>;
      doc.components = {
        ...doc.components,
        parameters: {
          ...doc.components?.parameters,
          IdempotencyKey: {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'Makes a retry safe: a repeated request with the same key (per account, for 24 hours) gets the first answer again, with `Idempotent-Replayed: true`, without running twice. The same key with another request: 422 IDEMPOTENCY_KEY_REUSED; while the first is still running: 409 IDEMPOTENCY_KEY_IN_USE with Retry-After.',
            schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
          },
        },
      };
      for (const path of covered) {
        const post = doc.paths?.[path]?.post;
        if (post) post.parameters = [...(post.parameters ?? []), { $ref: '#/components/parameters/IdempotencyKey' }];
      }
      return doc;
    },
  };
}

/** Forgets answers older than a day (expired rows are already ignored; this keeps the table small). */
export async function deleteExpiredIdempotencyKeys(deps: Deps): Promise<void> {
  await deleteKeysCreatedBefore(deps.db, new Date(deps.clock.now().getTime() - KEY_TTL_MS));
}
