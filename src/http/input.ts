import type { FastifyInstance } from 'fastify';
import { AppError, type FieldError } from '../lib/errors.js';
import { unstorableText } from '../lib/text.js';

/**
 * The deepest nesting of arrays and objects a JSON body may have. No request of the API nests
 * deeper than 4 levels; 64 leaves room for any that comes, and is far below the depth at which
 * a recursive walk over the parsed value (ours, a schema library's, a serializer's) would run
 * out of stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests arrays and objects deeper than `limit`: one linear pass over the raw
 * text, before anything parses it, so a hostile body costs its length and no recursion. Brackets
 * inside strings do not count; malformed text is left to the parser to refuse.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as text, or null when its bytes are not UTF-8. Refused rather than decoded
 * with U+FFFD in place of the bad bytes, which would store something the caller never sent.
 */
export function utf8Text(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Refuses a body whose content type names a character set other than UTF-8 (415): it is read
 * as UTF-8 whatever it says, and UTF-16 or Latin-1 text read so would be silently altered.
 */
export function assertUtf8Charset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `charset=${charset}: request bodies are read as UTF-8 only`);
  }
}

/**
 * Where in `value` a string or an object key holds NUL or a lone surrogate, as field paths under
 * `at` (`body.name`). Iterative, with its own stack: how deep the value nests costs memory, never
 * the call stack.
 */
export function badStringPaths(value: unknown, at: string): FieldError[] {
  const found: FieldError[] = [];
  const stack: [unknown, string][] = [[value, at]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      const message = unstorableText(node);
      if (message) found.push({ path, message });
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}.${i}`]);
    } else if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i]!;
        const keyMessage = unstorableText(key);
        // The key cannot be written into the path readably; the object holding it is named.
        if (keyMessage) found.push({ path, message: `a field name ${keyMessage}` });
        else stack.push([item, `${path}.${key}`]);
      }
    }
  }
  return found;
}

const isEmptyObject = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0;

/**
 * Checks every request before its schema is applied, so that no input can crash a route.
 *
 * - JSON bodies nesting deeper than MAX_JSON_DEPTH are refused (400 JSON_TOO_DEEP) before they
 *   are parsed.
 * - Every string of the path, query, body and headers, and every object key, is refused with
 *   422 VALIDATION_FAILED naming the field when it holds U+0000 or a lone UTF-16 surrogate:
 *   PostgreSQL text and jsonb hold neither (a 500), and PGlite would silently alter the latter.
 *   Refused rather than replaced, so that what is stored is what the caller sent.
 * - A route without a query schema takes no query parameters, and one without a body schema no
 *   body with content, like the routes whose `.strict()` schemas refuse unknown fields.
 */
export function registerInputGuards(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    try {
      assertUtf8Charset(request.headers['content-type']);
    } catch (err) {
      done(err as AppError, undefined);
      return;
    }
    const body = utf8Text(raw as Buffer); // parseAs: 'buffer'
    if (body === null) {
      done(new AppError('MALFORMED_JSON', 'the body is not UTF-8 text'), undefined);
      return;
    }
    if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
      done(new AppError('JSON_TOO_DEEP', `the JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    parseJson(request, body, done);
  });

  // Before authentication (registered first): a bad header never reaches a query.
  app.addHook('onRequest', async (request) => {
    const errors = badStringPaths(request.headers, 'headers');
    if (errors.length > 0) throw validationFailed(errors);
  });

  app.addHook('preValidation', async (request) => {
    // No route: the not-found answer says so, whatever came with the request.
    if (request.is404) return;
    const errors = [
      ...badStringPaths(request.params, 'params'),
      ...badStringPaths(request.query, 'querystring'),
      ...badStringPaths(request.body, 'body'),
    ];
    const schema = request.routeOptions.schema;
    if (!schema?.querystring) {
      for (const name of Object.keys(request.query as object)) errors.push({ path: `querystring.${name}`, message: 'unknown parameter (this route takes none)' });
    }
    // A route without a body schema acts on its URL alone: a body with content is a mistake
    // the caller should hear about, not something silently dropped.
    const body: unknown = request.body;
    if (!schema?.body && body !== undefined && !isEmptyObject(body)) {
      errors.push({ path: 'body', message: 'this route takes no body' });
    }
    if (errors.length > 0) throw validationFailed(errors);
  });
}

function validationFailed(errors: FieldError[]): AppError {
  return new AppError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}
