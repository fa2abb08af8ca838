import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { metricsMiddleware } from '../adapters/aws/metrics';
import type * as z from '../domain/schema';
import { logger } from './logger';

/** The workflow handed a task an input it cannot act on. Not retried. */
export class TaskInputError extends Error {
  override readonly name = 'TaskInputError';
}

export function parseTaskInput<T extends z.ZodMiniType>(schema: T, event: unknown): z.output<T> {
  const result = schema.safeParse(event);
  if (!result.success) {
    const fields = result.error.issues.map((i) => i.path.join('.') || '(input)').join(', ');
    throw new TaskInputError(`invalid task input: ${fields}`);
  }
  return result.data;
}

/** The ids of a step's input that say what it works on; each log line of the invocation carries them. */
function correlationKeys(input: unknown): Record<string, string | number> {
  if (typeof input !== 'object' || input === null) return {};
  const { requestId, tokenId, generation, attempt } = input as Record<string, unknown>;
  const keys: Record<string, string | number> = {};
  if (typeof requestId === 'string') keys.requestId = requestId;
  if (typeof tokenId === 'string') keys.tokenId = tokenId;
  if (typeof generation === 'number') keys.generation = generation;
  if (typeof attempt === 'number') keys.attempt = attempt;
  // A request's audit trail is keyed by its request id; a rotation's steps know only their token.
  const correlationId = keys.requestId ?? keys.tokenId;
  return correlationId === undefined ? keys : { correlationId, ...keys };
}

/** Logs a failed step (its error's name and message, nothing else) and lets middy rethrow it unchanged. */
const logFailedStep = (): middy.MiddlewareObj => ({
  onError: async ({ error }) => {
    logger.error('step failed', { errorName: error?.name, errorMessage: error?.message });
  },
});

/**
 * The Lambda handler of a workflow task or a scheduled run, the counterpart of `apiHandler`: the invocation's
 * Lambda context on every log line, the input parsed with `schema` (a failure is a {@link TaskInputError}, which no
 * `Retry` matches), its ids appended to the log keys, and one place that logs a failed step. The error itself goes
 * back to the state machine as it was thrown, since its `name` is what `Retry` and `Catch` match.
 */
export function taskHandler<S extends z.ZodMiniType, R>(
  schema: S,
  fn: (input: z.output<S>, context: Context) => Promise<R>,
): middy.MiddyfiedHandler<unknown, R>;
export function taskHandler<R>(
  fn: (input: undefined, context: Context) => Promise<R>,
): middy.MiddyfiedHandler<unknown, R>;
export function taskHandler<S extends z.ZodMiniType, R>(
  schemaOrFn: S | ((input: undefined, context: Context) => Promise<R>),
  maybeFn?: (input: z.output<S>, context: Context) => Promise<R>,
) {
  const run = async (event: unknown, context: Context): Promise<R> => {
    if (typeof schemaOrFn === 'function') return schemaOrFn(undefined, context);
    const input = parseTaskInput(schemaOrFn, event);
    logger.appendKeys(correlationKeys(input));
    return (maybeFn as (input: z.output<S>, context: Context) => Promise<R>)(input, context);
  };
  return (
    middy<unknown, R>()
      .use(metricsMiddleware())
      // A warm container serves many executions: keys appended for one must not label the next one's lines.
      .use(injectLambdaContext(logger, { clearState: true }))
      .use(logFailedStep())
      .handler(run)
  );
}
