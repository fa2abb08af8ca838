/** Error codes of the HTTP API (product contract) and their status. */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  POLICY_VIOLATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An expected refusal: maps to a 4xx with `{error: {code, message, field?}}` at the API edge. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const validationError = (field: string | undefined, message: string) =>
  new RequestError('VALIDATION_ERROR', message, field);
export const policyViolation = (field: string, message: string) => new RequestError('POLICY_VIOLATION', message, field);
export const notFound = (message = 'not found') => new RequestError('NOT_FOUND', message);
export const forbidden = (message = 'forbidden') => new RequestError('FORBIDDEN', message);
export const conflict = (message: string, field?: string) => new RequestError('CONFLICT', message, field);
