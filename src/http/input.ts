import type { FastifyInstance } from 'fastify';
import { AppError, type FieldError } from '../lib/errors.js';

/** Where in `value` a string holds U+0000, as field paths under `at` (`body.name`). */
function nulPaths(value: unknown, at: string, found: FieldError[]): FieldError[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push({ path: at, message: 'must not contain the NUL character (U+0000)' });
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => nulPaths(item, `${at}.${i}`, found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) nulPaths(item, `${at}.${key}`, found);
  }
  return found;
}

/**
 * Checks every request before its schema is applied.
 *
 * PostgreSQL text and jsonb cannot hold U+0000: a name, serial, filter or id carrying one would
 * fail in the database as a 500. Every request's path, query and body is refused here instead,
 * before validation, with the field paths of the offending strings.
 */
export function registerInputGuards(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const errors = [
      ...nulPaths(request.params, 'params', []),
      ...nulPaths(request.query, 'querystring', []),
      ...nulPaths(request.body, 'body', []),
    ];
    // A route without a body schema acts on its URL alone: a body with content is a mistake
    // the caller should hear about, not something silently dropped.
    const body: unknown = request.body;
    const bodyless = !request.routeOptions.schema?.body;
    if (bodyless && body !== undefined && !(body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0)) {
      errors.push({ path: 'body', message: 'this route takes no body' });
    }
    if (errors.length > 0) {
      throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
    }
  });
}
