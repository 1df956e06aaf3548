/**
 * The one table of error codes. Every refusal licensepool gives has a stable `code` from here;
 * the HTTP layer turns an AppError into RFC 9457 problem+json with this status and title.
 */
export const ERRORS = {
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  JSON_TOO_DEEP: { status: 400, title: 'The JSON body nests arrays and objects too deeply' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'E-mail or password is wrong' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  CSRF_TOKEN_INVALID: { status: 403, title: 'Missing or wrong CSRF token' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  EMAIL_TAKEN: { status: 409, title: 'An account with this e-mail exists' },
  CATALOG_KEY_TAKEN: { status: 409, title: 'The key is already in the catalog' },
  INVALID_TRANSITION: { status: 409, title: 'Not possible in the current status' },
  LICENSE_ENDED: { status: 409, title: 'The license has ended' },
  KEY_ALREADY_ACTIVATED: { status: 409, title: 'The license key has already been activated' },
  KEY_NOT_FOUND: { status: 404, title: 'No license has this key' },
  KEY_INVALID: { status: 422, title: 'Not a valid license key (mistyped?)' },
  MEMBER_EXISTS: { status: 409, title: 'Already a member of this pool' },
  MEMBER_IN_OTHER_POOL: { status: 409, title: 'Already a member of another pool of this root (exclusive membership)' },
  DEVICE_BLOCKED: { status: 409, title: 'The device is reported lost or stolen' },
  DEVICE_EXISTS: { status: 409, title: "The serial is already in the root's device registry" },
  PACKAGE_EXISTS: { status: 409, title: 'The catalog has this package version for this device type' },
  ACCESS_RULE_EXISTS: { status: 409, title: 'The pool already has this rule' },
  CLAIM_REFUSED: { status: 409, title: 'The claim is refused; `reasons` says why' },
  SYNC_REFUSED: { status: 409, title: 'Sync is refused; `reasons` says why' },
  MEMBER_AMBIGUOUS: { status: 422, title: 'The account is a member of several pools; name the member' },
  CLAIM_ENDED: { status: 410, title: 'The claim has ended' },
  TICKET_ENDED: { status: 410, title: 'The queue ticket has ended' },
  TICKET_NOT_HELD: { status: 409, title: 'The ticket holds no units yet; wait for its hold' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'The Idempotency-Key was used for a different request' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'A request with this Idempotency-Key is still being answered; retry later' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  VALIDATION_FAILED: { status: 422, title: 'The request is invalid' },
  DATA_REJECTED: { status: 422, title: 'The database refused a value of this request' },
  CONSTRAINT_VIOLATED: { status: 409, title: 'The request conflicts with a rule of the database' },
  DUPLICATE_ROW: { status: 422, title: 'An earlier line of the file names the same member' },
  IMPORT_REJECTED: { status: 422, title: 'Some rows are bad, and an all-or-nothing import writes nothing; `rows` says which' },
  ACCOUNT_NOT_FOUND: { status: 422, title: 'No account has this e-mail' },
  NOT_A_ROOT: { status: 422, title: 'The pool is not a root' },
  WEBHOOK_TARGET_FORBIDDEN: { status: 422, title: 'The webhook URL reaches a private, loopback or otherwise non-public address' },
  WEBHOOK_TARGET_UNRESOLVABLE: { status: 422, title: "The webhook URL's host name does not resolve" },
  UNKNOWN_METER: { status: 422, title: 'The meter is not in the catalog' },
  UNKNOWN_FEATURE: { status: 422, title: 'The feature is not in the catalog' },
  DRAW_CYCLE: { status: 422, title: 'Meter draws would form a cycle' },
  DRAWN_METER_TOO_LOW: { status: 422, title: 'A drawn meter gets fewer units than the meter drawing on it' },
  LIMIT_EXCEEDS_PARENT: { status: 422, title: "The license gives more than the parent pool has" },
  FEATURE_NOT_IN_PARENT: { status: 422, title: "The license gives a feature the parent pool lacks" },
  VALIDITY_OUTSIDE_PARENT: { status: 422, title: "The license runs outside the parent pool's validity" },
  INVALID_VALIDITY: { status: 422, title: 'validUntil must come after validFrom' },
  TOO_MANY_ATTEMPTS: { status: 429, title: 'Too many attempts; wait and try again' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  NOT_READY: { status: 503, title: 'Not ready' },
  SIGNING_KEY_UNAVAILABLE: { status: 503, title: "The server cannot read the root's signing key (its secret key is not the one the key was sealed under)" },
  SERVER_CLOSING: { status: 503, title: 'The server is shutting down; retry (another instance will answer)' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** One invalid field: where it is (`body.limits.seats`) and what is wrong. */
export type FieldError = { path: string; message: string };

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extras: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, extras: Record<string, unknown> = {}) {
    super(detail ?? ERRORS[code].title);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.extras = extras;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
