/**
 * The local handlers of Task and rewritten Wait states: every Lambda call, task token, timeout, heartbeat, retry
 * pause and wait runs here on the simulated clock, and is recorded in the execution's history as AWS records it.
 */
import type { SimulatedClock, SimulatedTimer } from '../../clock';
import {
  findRetrier,
  type Json,
  type LocalStateSpec,
  replaceInStrings,
  resolveReferencePath,
  retryDelayMs,
  TASK_TOKEN_PLACEHOLDER,
  type TaskStateSpec,
  type WaitStateSpec,
} from '../asl-rewrite';
import { RunInterrupted, RuntimeFailure, TaskFailure, taskFailureFrom, timeoutError } from './errors';
import type { PendingTask, Run, TaskInvoker } from './model';
import { type ExecutionStore, NO_DATA } from './store';
import { makeTaskToken } from './task-tokens';
import { deferred, isRecord, nextMacrotask, realDelay, toJson } from './util';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** What the state handlers run with. */
export interface TaskStatesOptions {
  clock: SimulatedClock;
  invoke: TaskInvoker;
  store: ExecutionStore;
  region: string;
  /** Source of retry jitter (`JitterStrategy: FULL`). */
  random: () => number;
  /** Open task tokens, shared with the API (`SendTask*`) and with the ending of runs. */
  tokens: Map<string, PendingTask>;
}

/** The state handlers, and the work in flight they keep for `idle()` and the simulated clock. */
export class TaskStates {
  /** Work in flight (Lambda calls and handler stretches between parking points). */
  private readonly work = new Set<Promise<unknown>>();
  private readonly clock: SimulatedClock;
  private readonly invoke: TaskInvoker;
  private readonly store: ExecutionStore;
  private readonly region: string;
  private readonly random: () => number;
  private readonly tokens: Map<string, PendingTask>;

  constructor(opts: TaskStatesOptions) {
    this.clock = opts.clock;
    this.invoke = opts.invoke;
    this.store = opts.store;
    this.region = opts.region;
    this.random = opts.random;
    this.tokens = opts.tokens;
  }

  /**
   * Waits until no execution has work in flight: every running one is parked on a simulated wait or a task
   * token. Resolves false if that takes longer than `timeoutMs` of wall time.
   */
  async idle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < 5; i++) await nextMacrotask();
      if (this.work.size === 0) return true;
      if (Date.now() > deadline) return false;
      await Promise.race([Promise.allSettled([...this.work]), realDelay(50)]);
    }
  }

  /**
   * Local handler of a Task or rewritten Wait. When the engine re-enters a state because its own real-time task
   * timer fired, the call joins the work already in flight instead of invoking the function again.
   */
  enterState(run: Run, spec: LocalStateSpec, input: Json): Promise<Json> {
    const key = `${spec.name}\u0000${JSON.stringify(input)}`;
    const existing = run.inFlight.get(key);
    if (existing) return existing;
    const work = (spec.kind === 'wait' ? this.runWait(run, spec, input) : this.runTask(run, spec, input)).finally(() =>
      run.inFlight.delete(key),
    );
    run.inFlight.set(key, work);
    work.catch(() => undefined);
    return work;
  }

  private async runWait(run: Run, spec: WaitStateSpec, input: Json): Promise<Json> {
    const busy = this.busy();
    try {
      await this.settleHistory(run);
      const enteredAt = run.enteredAt.get(spec.name) ?? this.clock.nowMs();
      const wait = isRecord(input) ? input : {};
      let due: number;
      if (wait.seconds !== undefined) {
        const s = wait.seconds;
        if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
          throw new RuntimeFailure(`Wait "${spec.name}": the seconds value must be a non-negative integer`);
        }
        due = enteredAt + s * 1000;
      } else {
        const ts = wait.timestamp;
        if (typeof ts !== 'string' || !RFC3339.test(ts) || Number.isNaN(Date.parse(ts))) {
          throw new RuntimeFailure(`Wait "${spec.name}": the timestamp must be an RFC 3339 timestamp`);
        }
        due = Date.parse(ts);
      }
      await this.parkUntil(run, busy, due);
      return (wait.input ?? null) as Json;
    } finally {
      busy.close();
    }
  }

  private async runTask(run: Run, spec: TaskStateSpec, input: Json): Promise<Json> {
    const busy = this.busy();
    try {
      await this.settleHistory(run);
      const stateInput = run.enteredInputs.get(spec.name);
      const timeoutSeconds =
        spec.timeoutSeconds ?? this.secondsAt(run, spec.timeoutSecondsPath, stateInput, 'TimeoutSecondsPath');
      const heartbeatSeconds =
        spec.heartbeatSeconds ?? this.secondsAt(run, spec.heartbeatSecondsPath, stateInput, 'HeartbeatSecondsPath');
      const retries = spec.retry.map(() => 0);
      for (;;) {
        try {
          return await this.attempt(run, spec, input, busy, timeoutSeconds, heartbeatSeconds);
        } catch (error) {
          if (!run.active || !(error instanceof Error)) throw error;
          const index = findRetrier(spec.retry, error.name);
          const policy = spec.retry[index];
          const done = retries[index] ?? 0;
          if (!policy || done >= policy.maxAttempts) throw error;
          retries[index] = done + 1;
          await this.parkUntil(run, busy, this.clock.nowMs() + retryDelayMs(policy, done, this.random));
        }
      }
    } finally {
      busy.close();
    }
  }

  /** One attempt of a Task: history events, the Lambda call, the task token, and the simulated deadlines. */
  private async attempt(
    run: Run,
    spec: TaskStateSpec,
    input: Json,
    busy: Busy,
    timeoutSeconds: number | undefined,
    heartbeatSeconds: number | undefined,
  ): Promise<Json> {
    const callback = spec.integration === 'lambda-invoke-wait-token';
    const direct = spec.integration === 'lambda-function';
    const token = callback ? makeTaskToken() : undefined;
    const parameters = token ? replaceInStrings(input, TASK_TOKEN_PLACEHOLDER, token) : input;
    // As on AWS, the history shows the effective parameters: `$$.Task.Token` resolved to this attempt's token.
    const shown = JSON.stringify(parameters);
    const resource = { resourceType: 'lambda', resource: spec.resource.replace(/^arn:[^:]+:states:::lambda:/, '') };
    if (direct) {
      this.record(run, 'LambdaFunctionScheduled', 'lambdaFunctionScheduledEventDetails', {
        resource: spec.resource,
        input: shown,
        inputDetails: NO_DATA,
        ...(timeoutSeconds !== undefined ? { timeoutInSeconds: timeoutSeconds } : {}),
      });
      this.record(run, 'LambdaFunctionStarted');
    } else {
      this.record(run, 'TaskScheduled', 'taskScheduledEventDetails', {
        ...resource,
        region: this.region,
        parameters: shown,
        ...(timeoutSeconds !== undefined ? { timeoutInSeconds: timeoutSeconds } : {}),
        ...(heartbeatSeconds !== undefined ? { heartbeatInSeconds: heartbeatSeconds } : {}),
      });
      this.record(run, 'TaskStarted', 'taskStartedEventDetails', resource);
    }

    // First of: the Lambda's result (or the token's outcome), a simulated deadline, the run ending.
    const outcome = deferred<Json>();
    let settled = false;
    const settle = (apply: () => void) => {
      if (settled) return;
      settled = true;
      busy.on();
      apply();
    };
    const timer =
      timeoutSeconds === undefined
        ? undefined
        : this.clock.at(new Date(this.clock.nowMs() + timeoutSeconds * 1000), () =>
            settle(() => outcome.reject(timeoutError('States.Timeout'))),
          );
    let heartbeatTimer: SimulatedTimer | undefined;
    const armHeartbeat = () => {
      heartbeatTimer?.cancel();
      if (heartbeatSeconds === undefined || settled) return;
      heartbeatTimer = this.clock.at(new Date(this.clock.nowMs() + heartbeatSeconds * 1000), () =>
        settle(() => outcome.reject(timeoutError('States.HeartbeatTimeout'))),
      );
    };
    armHeartbeat();
    const signal = run.controller.signal;
    const onAbort = () => settle(() => outcome.reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    if (token) {
      this.tokens.set(token, {
        run,
        succeed: (output) => settle(() => outcome.resolve(output)),
        fail: (error, cause) => settle(() => outcome.reject(new TaskFailure(error, cause))),
        heartbeat: armHeartbeat,
      });
    }

    const params = isRecord(parameters) ? parameters : {};
    const functionName = direct ? spec.resource : typeof params.FunctionName === 'string' ? params.FunctionName : '';
    const payload = direct ? parameters : 'Payload' in params ? params.Payload : {};
    const call = this.track(
      Promise.resolve().then(() =>
        this.invoke({
          stateName: spec.name,
          resource: spec.resource,
          functionName,
          payload,
          executionArn: run.exec.executionArn,
        }),
      ),
    );
    call.then(
      (result) => {
        let value: Json;
        try {
          value = toJson(result);
        } catch (error) {
          return settle(() => outcome.reject(new TaskFailure('Runtime.MarshalError', (error as Error).message)));
        }
        const response: Json = direct ? value : { StatusCode: 200, Payload: value, ExecutedVersion: '$LATEST' };
        if (!callback) return settle(() => outcome.resolve(response));
        if (settled) return;
        this.record(run, 'TaskSubmitted', 'taskSubmittedEventDetails', {
          ...resource,
          output: JSON.stringify(response),
          outputDetails: NO_DATA,
        });
        // Parked on the task token until SendTask*, a deadline, or the run ending.
        busy.off();
      },
      (error: unknown) => settle(() => outcome.reject(taskFailureFrom(error))),
    );

    try {
      const result = await outcome.promise;
      const output = JSON.stringify(result);
      if (direct) {
        this.record(run, 'LambdaFunctionSucceeded', 'lambdaFunctionSucceededEventDetails', {
          output,
          outputDetails: NO_DATA,
        });
      } else {
        this.record(run, 'TaskSucceeded', 'taskSucceededEventDetails', { ...resource, output, outputDetails: NO_DATA });
      }
      return result;
    } catch (error) {
      if (run.active && error instanceof Error) {
        const timedOut = error.name === 'States.Timeout' || error.name === 'States.HeartbeatTimeout';
        const details = {
          ...(error.name ? { error: error.name } : {}),
          ...(error.message ? { cause: error.message } : {}),
        };
        if (direct) {
          const type = timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed';
          this.record(
            run,
            type,
            timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails',
            details,
          );
        } else {
          const type = timedOut ? 'TaskTimedOut' : 'TaskFailed';
          this.record(run, type, timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails', {
            ...resource,
            ...details,
          });
        }
      }
      throw error;
    } finally {
      timer?.cancel();
      heartbeatTimer?.cancel();
      signal.removeEventListener('abort', onAbort);
      if (token) this.tokens.delete(token);
    }
  }

  private secondsAt(run: Run, path: string | undefined, stateInput: unknown, field: string): number | undefined {
    if (path === undefined) return undefined;
    const value = resolveReferencePath(path, stateInput, run.context);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RuntimeFailure(`${field} ${path} must resolve to a positive integer`);
    }
    return value;
  }

  /**
   * The handler runs synchronously right after the engine dispatches the state's entry; one macrotask turn lets
   * the history consumer record that entry (and its input) first.
   */
  private async settleHistory(run: Run): Promise<void> {
    await nextMacrotask();
    if (!run.active) throw new RunInterrupted('The execution is no longer running');
  }

  /** Parks until the simulated clock reaches `dueMs`; the firing deadline marks the handler busy again. */
  private parkUntil(run: Run, busy: Busy, dueMs: number): Promise<void> {
    const signal = run.controller.signal;
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      busy.off();
      const onAbort = () => {
        timer.cancel();
        reject(signal.reason);
      };
      const timer = this.clock.at(new Date(dueMs), () => {
        signal.removeEventListener('abort', onAbort);
        busy.on();
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private busy(): Busy {
    const busy = new Busy(() => {
      const done = deferred<void>();
      this.track(done.promise);
      return () => done.resolve();
    });
    busy.on();
    return busy;
  }

  /** Registers work with `idle()` and with the clock, so `advance()` waits for what a deadline started. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.work.add(work);
    const done = () => this.work.delete(work);
    work.then(done, done);
    return this.clock.track(work);
  }

  private record(run: Run, type: string, detailsKey?: string, details?: Record<string, unknown>): void {
    if (!run.active) return;
    this.store.recordEvent(run.exec, type, detailsKey, details);
  }
}

/** Marks a handler as working (vs. parked on a simulated deadline or a task token) for `idle()`/`advance()`. */
class Busy {
  private end: (() => void) | undefined;
  private closed = false;
  constructor(private readonly begin: () => () => void) {}
  on(): void {
    if (!this.closed && !this.end) this.end = this.begin();
  }
  off(): void {
    this.end?.();
    this.end = undefined;
  }
  close(): void {
    this.closed = true;
    this.off();
  }
}
