/** The API's error answers, read without any HTTP client (pure, so it is unit-tested on its own). */

/** An error answer of the API (`{"error": {"code", "message", "field"?}}`), or API Gateway's own `{"message"}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type Body = { code?: unknown; message?: unknown; field?: unknown };

/** The {@link ApiError} of an answer with `status` and parsed body `data`. */
export function apiErrorOf(status: number, data: unknown): ApiError {
  const outer = (data && typeof data === 'object' ? data : {}) as Body & { error?: Body };
  const body: Body = outer.error && typeof outer.error === 'object' ? outer.error : outer;
  const code = typeof body.code === 'string' ? body.code : status === 404 ? 'NOT_FOUND' : `HTTP_${status}`;
  const message = typeof body.message === 'string' ? body.message : `The API answered ${status}.`;
  const field = typeof body.field === 'string' ? body.field : undefined;
  return new ApiError(status, code, message, field);
}

/**
 * Whether an answer is the JWT authorizer refusing the token (`401 {"message": "Unauthorized"}`): the token expired
 * or was revoked, and signing in again mends it. The API's own 401 (`{"error": {"code": "UNAUTHORIZED", …}}`, e.g.
 * a token without the `email` claim) is not: another sign-in would get the same token.
 */
export function isAuthorizerRefusal(status: number, data: unknown): boolean {
  if (status !== 401) return false;
  return !(data && typeof data === 'object' && 'error' in data);
}
