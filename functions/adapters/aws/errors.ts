import { AwsTransientError } from '../../use-cases/port-errors';

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServiceError',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
]);

/** Re-throws `error` as `AwsTransientError` when AWS says it is retryable; otherwise unchanged. */
export function classifyAwsError(error: unknown, operation: string): Error {
  if (!(error instanceof Error)) return new Error(`${operation} failed`);
  const meta = (error as { $metadata?: { httpStatusCode?: number }; $retryable?: unknown }).$metadata;
  const status = meta?.httpStatusCode ?? 0;
  const code = (error as { code?: string }).code ?? '';
  if (
    TRANSIENT_NAMES.has(error.name) ||
    TRANSIENT_NAMES.has(code) ||
    status >= 500 ||
    status === 429 ||
    (error as { $retryable?: unknown }).$retryable
  ) {
    return new AwsTransientError(`${operation} failed transiently (${error.name})`, { cause: error });
  }
  return error;
}

/** Runs an AWS call, classifying its failure. */
export async function aws<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyAwsError(error, operation);
  }
}
