/**
 * The one way the console talks to the API: openapi-fetch over the types generated from the
 * server's OpenAPI document (schema.d.ts, never edited by hand), so a renamed field or path fails
 * the type check. Same origin, with the session cookie the login sets (HTTP-only); every unsafe
 * request echoes the readable `lp_csrf` cookie in `X-CSRF-Token`, which the server demands of
 * cookie-authenticated changes (src/http/auth.ts).
 */
import createClient, { type Middleware } from 'openapi-fetch';
import { ApiProblem } from './problem';
import type { paths } from './schema';

export const CSRF_COOKIE = 'lp_csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A cookie of this page by name (URI-decoded), or null. */
export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return null;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (SAFE_METHODS.has(request.method)) return undefined;
    const token = readCookie(CSRF_COOKIE);
    if (token) request.headers.set('x-csrf-token', token);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(csrf);

/**
 * The data of an answer, or its problem thrown as an ApiProblem (for TanStack Query, which
 * treats a thrown error as the query's or mutation's error).
 */
export async function unwrap<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await pending;
  } catch (err) {
    throw ApiProblem.unreachable(err);
  }
  if (!answer.response.ok) throw ApiProblem.fromBody(answer.response, answer.error);
  return answer.data as T;
}
