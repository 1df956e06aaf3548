/** One invalid field as the API names it: `body.address.city`, `query.limit`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * Every refusal of the API (RFC 9457 problem+json with a stable `code`), and a request that never
 * got an answer, as one error type: pages show `detail`, forms put `errors` at their fields.
 */
const PROBLEM_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'errors', 'requestId']);

export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldError[];
  readonly requestId: string | null;
  /** The document's other members (a refusal's `violations`, `reasons`…), for a page that names what they name. */
  readonly extras: Record<string, unknown>;

  constructor(init: { status: number; code: string; title: string; detail: string; errors?: FieldError[]; requestId?: string | null; extras?: Record<string, unknown> }) {
    super(init.detail);
    this.name = 'ApiProblem';
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors ?? [];
    this.requestId = init.requestId ?? null;
    this.extras = init.extras ?? {};
  }

  /** From the body of a refusal; an answer that is not a problem document still becomes one. */
  static fromBody(response: Response, body: unknown): ApiProblem {
    const doc = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const text = (value: unknown, fallback: string) => (typeof value === 'string' && value.length > 0 ? value : fallback);
    const errors = Array.isArray(doc.errors)
      ? doc.errors.filter((e): e is FieldError => typeof e === 'object' && e !== null && typeof e.path === 'string' && typeof e.message === 'string')
      : [];
    const title = text(doc.title, response.statusText || `HTTP ${response.status}`);
    return new ApiProblem({
      status: response.status,
      code: text(doc.code, `HTTP_${response.status}`),
      title,
      detail: text(doc.detail, title),
      errors,
      requestId: typeof doc.requestId === 'string' ? doc.requestId : response.headers.get('x-request-id'),
      extras: Object.fromEntries(Object.entries(doc).filter(([key]) => !PROBLEM_MEMBERS.has(key))),
    });
  }

  /** The server could not be reached (offline, server down). */
  static unreachable(cause: unknown): ApiProblem {
    const problem = new ApiProblem({ status: 0, code: 'NETWORK_ERROR', title: 'No connection', detail: 'The server could not be reached. Check the connection and try again.' });
    problem.cause = cause;
    return problem;
  }

  /**
   * The field errors of the request body by field path without the `body.` prefix
   * (`address.city`), for a form to show next to its inputs; the first message per field.
   */
  fieldErrors(): Record<string, string> {
    const byField: Record<string, string> = {};
    for (const e of this.errors) {
      const field = e.path.replace(/^body\./, '');
      byField[field] ??= e.message;
    }
    return byField;
  }
}

export const isProblem = (error: unknown): error is ApiProblem => error instanceof ApiProblem;
