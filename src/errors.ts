/**
 * The one registry of error codes clients see. Codes, statuses and their meaning are part of the
 * wire contract (docs/errors.md mirrors this table and a test keeps the two in step).
 */
export const ERRORS = {
  invalid_request: { status: 400, message: 'The request is malformed or does not match the schema.' },
  invalid_credentials: { status: 401, message: 'Invalid username or password.' },
  missing_token: { status: 401, message: 'An access token is required.' },
  invalid_token: { status: 401, message: 'The access token is invalid.' },
  token_expired: { status: 401, message: 'The access token has expired.' },
  token_revoked: { status: 401, message: 'The session of this access token has ended.' },
  invalid_grant: { status: 401, message: 'The refresh token is invalid, expired or revoked.' },
  forbidden: { status: 403, message: 'Not allowed.' },
  not_found: { status: 404, message: 'Not found.' },
  username_taken: { status: 409, message: 'That username is already taken.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  unsupported_media_type: { status: 415, message: 'Unsupported content type.' },
  rate_limited: { status: 429, message: 'Too many attempts; try again later.' },
  internal_error: { status: 500, message: 'Internal error.' },
  unavailable: { status: 503, message: 'A store this request needs is unavailable; try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error meant for the client: a stable code, its status, and a message safe to show. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers (e.g. Retry-After); never secrets. */
  readonly headers: Readonly<Record<string, string>>;
  /** Why, for the log only: never sent to the client (e.g. which token check failed). */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message?: string, options?: { headers?: Record<string, string>; detail?: string }) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.headers = options?.headers ?? {};
    this.detail = options?.detail;
  }
}

/**
 * A store (database or Redis) could not answer. Carries the store's name for /readyz and logs,
 * never the driver's message to the client: the HTTP layer turns it into 503 `unavailable`.
 */
export class StoreUnavailableError extends Error {
  readonly store: string;

  constructor(store: string, cause: unknown) {
    super(`${store} store unavailable`, { cause });
    this.name = 'StoreUnavailableError';
    this.store = store;
  }
}

/** A configuration value is wrong; the message is one line naming the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
