// Errors as the gateway names them: one class per errorCode, each with the
// HTTP status, the server's message and, for 429 and 503, how long to wait.

/** GatewayError is any refusal the gateway answered, or a failed call. */
export class GatewayError extends Error {
  /** The HTTP status (0 when the gateway could not be reached). */
  readonly status: number;
  /** The envelope's errorCode ("NetworkError" when unreachable). */
  readonly code: string;
  /** Seconds to wait before trying again (Retry-After), if the answer said. */
  readonly retryAfter?: number;
  /** The answer's data (MfaRequiredError's challenge; null otherwise). */
  readonly data: unknown;

  constructor(status: number, code: string, message: string, retryAfter?: number, data: unknown = null) {
    super(message || `request failed (${status})`);
    this.name = code || "GatewayError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.data = data;
  }
}

/** The credentials, token or code were refused. */
export class AuthenticationError extends GatewayError {}
/** The account signs in with a second factor: finish with `auth.completeMfa`. */
export class MfaRequiredError extends GatewayError {
  /** The token that continues the login (none from the admin scheme). */
  get mfaToken(): string | undefined { return (this.data as { mfa_token?: string } | null)?.mfa_token; }
  /** True when the account's level must enrol a factor first. */
  get mustEnrol(): boolean { return Boolean((this.data as { enrol?: boolean } | null)?.enrol); }
}
/** The policy refuses the act. */
export class PermissionDeniedError extends GatewayError {}
/** No such document, file or route (or not one the caller may know of). */
export class NotFoundError extends GatewayError {}
/** A value broke its field's rule, or the request was malformed. */
export class ValidationError extends GatewayError {}
/** A unique value is taken. */
export class DuplicateError extends GatewayError {}
/** The state changed meanwhile (a conflict, funds, stock). */
export class ConflictError extends GatewayError {}
/** An Idempotency-Key was reused for a different request. */
export class IdempotencyKeyReusedError extends GatewayError {}
/** Too many requests: wait `retryAfter` seconds. */
export class RateLimitedError extends GatewayError {}
/** The body or a file is too large. */
export class PayloadTooLargeError extends GatewayError {}
/** A backing store is unavailable, or the gateway could not be reached. */
export class UnavailableError extends GatewayError {}

const classes: Record<string, new (...a: ConstructorParameters<typeof GatewayError>) => GatewayError> = {
  AuthenticationError,
  MfaRequiredError,
  PermissionDeniedError,
  ResourceNotFoundError: NotFoundError,
  UnknownResourceError: NotFoundError,
  InvalidRequestError: ValidationError,
  InvalidOperationError: ValidationError,
  InvalidResourceCreationError: ValidationError,
  InvalidResourceParameterError: ValidationError,
  InvalidResourceValueError: ValidationError,
  UnsupportedMediaTypeError: ValidationError,
  MethodNotAllowedError: ValidationError,
  DuplicateResourceCreationError: DuplicateError,
  ConflictError,
  InsufficientFundsError: ConflictError,
  OutOfStockError: ConflictError,
  IdempotencyKeyReusedError,
  RateLimitedError,
  PayloadTooLargeError,
  ServiceUnavailableError: UnavailableError,
  NetworkError: UnavailableError,
};

/** errorFor builds the class of an errorCode. */
export function errorFor(status: number, code: string, message: string, retryAfter?: number, data: unknown = null): GatewayError {
  const C = classes[code] ?? GatewayError;
  return new C(status, code, message, retryAfter, data);
}
