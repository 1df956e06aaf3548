import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERRORS, type ErrorCode, type FieldError } from '../lib/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Writes an RFC 9457 problem document from the one error table. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail?: string,
  extras: Record<string, unknown> = {},
): FastifyReply {
  const { status, title } = ERRORS[code];
  // A refusal that names when to come back (429 TOO_MANY_ATTEMPTS) says it in the header too.
  if (typeof extras.retryAfter === 'number') reply.header('retry-after', String(extras.retryAfter));
  if (status === 401) reply.header('www-authenticate', bearerChallenge(request, code));
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      // Extras first: the standard members of the document can never be overridden by them.
      ...extras,
      type: `urn:licensepool:problem:${code}`,
      title,
      status,
      detail: detail ?? title,
      code,
      instance: request.url.split('?')[0],
      requestId: request.id,
    });
}

/**
 * The challenge every 401 carries (RFC 9110 §11.6.1; RFC 6750 §3): bearer tokens, and, when the
 * request sent one that is unknown, expired or revoked, `error="invalid_token"` so a client
 * knows to get a new one rather than to add one.
 */
function bearerChallenge(request: FastifyRequest, code: ErrorCode): string {
  const invalidToken = code === 'UNAUTHENTICATED' && request.authRejected;
  return invalidToken ? 'Bearer realm="licensepool", error="invalid_token", error_description="The token is invalid, expired or revoked"' : 'Bearer realm="licensepool"';
}

/** Fastify's own client errors, mapped onto the table. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_JSON',
};

function fieldErrors(error: FastifyError & { validationContext?: string }): FieldError[] {
  if (!hasZodFastifySchemaValidationErrors(error)) return [];
  const where = error.validationContext ?? 'body';
  return error.validation.flatMap((v) => {
    const rest = v.instancePath.split('/').filter(Boolean);
    // An unknown field is named by its own path (`body.colour`), not by the object holding it.
    const keys = (v.params as { keys?: unknown }).keys;
    if (v.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0) {
      return keys.map((key) => ({ path: [where, ...rest, String(key)].join('.'), message: 'unknown field' }));
    }
    return [{ path: [where, ...rest].join('.'), message: v.message ?? 'invalid' }];
  });
}

/**
 * Errors the router raises before any route runs (an undecodable URL, a path segment longer
 * than the router takes): the same 4xx problem document as every other invalid request,
 * instead of Fastify's own JSON. Passed to Fastify as `frameworkErrors`.
 */
export function sendFrameworkProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(request, reply, 'VALIDATION_FAILED', error.message, { errors: [{ path: 'url', message: error.message }] });
}

/** How long a client refused by a closing server waits before it tries again. */
const CLOSING_RETRY_AFTER_SECONDS = 1;

/**
 * A client's error is the client's to fix: one info line with its code, no stack trace (a stack
 * per bad request would let anyone fill the log, and says nothing about the server).
 */
function clientProblem(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, detail?: string, extras?: Record<string, unknown>): FastifyReply {
  request.log.info({ code, status: ERRORS[code].status, detail: detail?.slice(0, 500) }, 'request refused');
  return sendProblem(request, reply, code, detail, extras);
}

export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError & { validationContext?: string }, request, reply) => {
    if (error instanceof AppError) {
      if (error.status < 500) return clientProblem(request, reply, error.code, error.message, error.extras);
      request.log.warn({ code: error.code, detail: error.message }, 'request failed');
      return sendProblem(request, reply, error.code, error.message, error.extras);
    }
    if (error.validation) {
      const errors = fieldErrors(error);
      const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ') || error.message;
      return clientProblem(request, reply, 'VALIDATION_FAILED', detail, { errors });
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return clientProblem(request, reply, mapped, error.message);
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Any other client error Fastify raises (malformed URL, header…) stays a 4xx.
      return clientProblem(request, reply, 'VALIDATION_FAILED', error.message);
    }
    // Unknown: logged with the request id, never echoed.
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(request, reply, 'INTERNAL');
  });
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, 'ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]} does not exist`));

  // Requests that still arrive while the server closes (on a connection already open) are
  // refused as problem+json like every other answer; Fastify's own 503 (return503OnClosing,
  // turned off in app.ts) is plain JSON without a code. First hook of all: nothing else runs.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close').header('retry-after', String(CLOSING_RETRY_AFTER_SECONDS));
    return sendProblem(request, reply, 'SERVER_CLOSING', 'the server is shutting down; send the request again');
  });
}
