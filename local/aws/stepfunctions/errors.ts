/**
 * The errors a run of the local Step Functions raises, in the shapes the engine's `Retry`/`Catch` matching
 * expects, and the error and cause an execution reports when it fails.
 */
import '../../polyfills';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { deferred, isRecord } from './util';

/** A task's error as `Retry`/`Catch` see it; never retried by the engine (the handler ran the `Retry` policy). */
export class TaskFailure extends Error {
  readonly isRetryable = false;
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** `States.Runtime`: neither retried nor caught, as on AWS. */
export class RuntimeFailure extends Error {
  override readonly name = 'States.Runtime';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** The run ended underneath a handler (stop, execution timeout, shutdown): the engine must not go on. */
export class RunInterrupted extends Error {
  override readonly name = 'RunInterrupted';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/**
 * The engine excludes `States.Timeout` from the `States.TaskFailed` wildcard with an `instanceof` check on its
 * own (unexported) timeout class. Timeouts raised on the simulated clock are built from that class so a
 * `Catch` on `States.TaskFailed` treats them as AWS does; one 1 ms probe run obtains it.
 */
let engineTimeoutClass: (new () => Error) | undefined;
let engineTimeoutProbe: Promise<void> | undefined;

export function probeEngineTimeoutClass(): Promise<void> {
  engineTimeoutProbe ??= (async () => {
    const probe = new StateMachine(
      {
        StartAt: 'Probe',
        States: {
          Probe: {
            Type: 'Task',
            Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
            TimeoutSeconds: 0.001,
            End: true,
          },
        },
      } as StateMachineDefinition,
      { validationOptions: { noValidate: true } },
    );
    const never = deferred<null>();
    const run = probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: () => never.promise } } });
    try {
      await run.result;
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof Error && cause.name === 'States.Timeout') {
        engineTimeoutClass = cause.constructor as new () => Error;
      }
    } finally {
      never.resolve(null);
    }
  })();
  return engineTimeoutProbe;
}

export function timeoutError(name: 'States.Timeout' | 'States.HeartbeatTimeout'): Error {
  const error = engineTimeoutClass && name === 'States.Timeout' ? new engineTimeoutClass() : new Error();
  error.name = name;
  error.message = '';
  Object.defineProperty(error, 'isRetryable', { value: false });
  return error;
}

export function taskFailureFrom(error: unknown): TaskFailure {
  if (error instanceof Error) return new TaskFailure(error.name || 'Error', error.message);
  if (isRecord(error) && typeof error.errorType === 'string') {
    return new TaskFailure(error.errorType, typeof error.errorMessage === 'string' ? error.errorMessage : '');
  }
  return new TaskFailure('Error', String(error));
}

/** Error and cause of a failed engine run (the engine wraps the state's error as `cause`). */
export function executionFailure(reason: unknown): { error?: string; cause?: string } {
  const inner = reason instanceof Error && reason.cause instanceof Error ? reason.cause : reason;
  if (!(inner instanceof Error)) return { error: 'States.Runtime', cause: String(inner) };
  // A Fail state without Error/Cause surfaces as the engine's defaults; AWS leaves both out.
  const error = inner.name === 'FailStateError' ? undefined : inner.name;
  const cause =
    inner.message === 'Execution failed because of a Fail state' || inner.message === '' ? undefined : inner.message;
  return { ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) };
}
