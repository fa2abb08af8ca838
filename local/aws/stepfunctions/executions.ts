/**
 * Running executions: each run walks its machine's states in aws-local-stepfunctions while every Lambda call, task
 * token, timeout, retry pause and `Wait` runs in the local task handlers here, on the simulated clock (see
 * `asl-rewrite.ts` and `docs/local-state-machines.md`). What happens is recorded in the AWS-shaped history.
 */
import type { RunOptions, StateMachine } from 'aws-local-stepfunctions';
import type { SimulatedClock, SimulatedTimer } from '../../clock';
import {
  findRetrier,
  type Json,
  type LocalDefinition,
  type LocalStateSpec,
  replaceInStrings,
  resolveReferencePath,
  retryDelayMs,
  SIMULATED_START_TIME_KEY,
  TASK_TOKEN_PLACEHOLDER,
  type TaskStateSpec,
  type WaitStateSpec,
} from '../asl-rewrite';
import { executionFailure, RunInterrupted, RuntimeFailure, TaskFailure, taskFailureFrom, timeoutError } from './errors';
import { type ExecutionRecord, type ExecutionStore, NO_DATA } from './store';
import { makeTaskToken } from './task-tokens';
import { deferred, isRecord, nextMacrotask, realDelay, toJson } from './util';

/** Calls the Lambda function behind a Task on behalf of an execution; rejects with the handler's error. */
export type TaskInvoker = (call: {
  stateName: string;
  resource: string;
  functionName: string;
  payload: unknown;
  executionArn: string;
}) => Promise<unknown>;

export interface Machine {
  arn: string;
  name: string;
  type: 'STANDARD';
  roleArn: string;
  definitionText: string;
  local: LocalDefinition;
  engine: StateMachine;
  creationDate: number;
}

/** One in-process run of an execution (a re-drive is a new run of the same execution). */
export interface Run {
  exec: ExecutionRecord;
  machine: Machine;
  /** False once the execution closed or the runtime shut down: nothing more is recorded for this run. */
  active: boolean;
  controller: AbortController;
  /** Handler work by state and effective input, so an engine re-entry joins the work already in flight. */
  inFlight: Map<string, Promise<Json>>;
  /** Raw input of each state at entry (for `TimeoutSecondsPath`/`HeartbeatSecondsPath`). */
  enteredInputs: Map<string, unknown>;
  /** Simulated time each state's entry was recorded, so a `Wait` lasts exactly as long in the history. */
  enteredAt: Map<string, number>;
  context: Record<string, unknown>;
  timeoutTimer?: SimulatedTimer;
  abortEngine?: () => void;
  settled: Promise<void>;
}

export interface PendingTask {
  run: Run;
  succeed(output: Json): void;
  fail(error: string, cause: string): void;
  heartbeat(): void;
}

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type EngineRun = ReturnType<StateMachine['run']>;
type EngineEvent = EngineRun['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** What a {@link ExecutionRunner} runs with. */
export interface ExecutionRunnerOptions {
  clock: SimulatedClock;
  invoke: TaskInvoker;
  store: ExecutionStore;
  region: string;
  /** Source of retry jitter (`JitterStrategy: FULL`). */
  random: () => number;
}

/** Runs executions on the simulated clock and keeps their open task tokens. */
export class ExecutionRunner {
  /** Runs in progress, by execution ARN. */
  readonly runs = new Map<string, Run>();
  /** Open task tokens of `.waitForTaskToken` tasks. */
  readonly tokens = new Map<string, PendingTask>();
  /** Work in flight (Lambda calls and handler stretches between parking points). */
  private readonly work = new Set<Promise<unknown>>();
  private readonly clock: SimulatedClock;
  private readonly invoke: TaskInvoker;
  private readonly store: ExecutionStore;
  private readonly region: string;
  private readonly random: () => number;

  constructor(opts: ExecutionRunnerOptions) {
    this.clock = opts.clock;
    this.invoke = opts.invoke;
    this.store = opts.store;
    this.region = opts.region;
    this.random = opts.random;
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

  /** Ends every run without closing its execution (it stays RUNNING) and closes all task tokens. */
  async stopAll(reason: string): Promise<void> {
    const runs = [...this.runs.values()];
    for (const run of runs) this.endRun(run, reason);
    this.tokens.clear();
    await Promise.allSettled(runs.map((r) => r.settled));
  }

  /** Starts a run of `exec` (a new execution, or one re-driven after a restart). */
  launch(exec: ExecutionRecord, machine: Machine): void {
    const input = JSON.parse(exec.input) as Json;
    const context = {
      Execution: {
        Id: exec.executionArn,
        Name: exec.name,
        RoleArn: machine.roleArn,
        RedriveCount: exec.redriveCount,
        [SIMULATED_START_TIME_KEY]: new Date(exec.startDate).toISOString(),
      },
      StateMachine: { Id: machine.arn, Name: machine.name },
      Task: { Token: TASK_TOKEN_PLACEHOLDER },
    };
    const run: Run = {
      exec,
      machine,
      active: true,
      controller: new AbortController(),
      inFlight: new Map(),
      enteredInputs: new Map(),
      enteredAt: new Map(),
      context: { ...context, Execution: { ...context.Execution, Input: input } },
      settled: Promise.resolve(),
    };
    this.runs.set(exec.executionArn, run);
    const handlers: LocalHandlers = {};
    for (const [stateName, spec] of machine.local.handlers) {
      handlers[stateName] = (stateInput) =>
        this.enterState(run, spec, stateInput as Json) as ReturnType<LocalHandlers[string]>;
    }
    const engineRun = machine.engine.run(input as Parameters<StateMachine['run']>[0], {
      overrides: {
        taskResourceLocalHandlers: handlers,
        retryIntervalOverrides: { ...machine.local.retryIntervalOverrides },
      },
      noThrowOnAbort: true,
      context,
    });
    run.abortEngine = engineRun.abort;
    const timeoutSeconds = machine.local.timeoutSeconds;
    if (timeoutSeconds !== undefined) {
      run.timeoutTimer = this.clock.at(new Date(this.clock.nowMs() + timeoutSeconds * 1000), () => this.timeOut(run));
    }
    const consumed = (async () => {
      for await (const event of engineRun.eventLogs) this.onEngineEvent(run, event);
    })();
    run.settled = Promise.allSettled([engineRun.result, consumed]).then(([outcome]) => this.finish(run, outcome));
  }

  /** Mirrors the engine's state transitions into the AWS-shaped history. */
  private onEngineEvent(run: Run, event: EngineEvent): void {
    if (!run.active) return;
    switch (event.type) {
      case 'StateEntered': {
        run.enteredInputs.set(event.state.name, event.state.input);
        this.record(run, `${this.stateType(run, event.state.name)}StateEntered`, 'stateEnteredEventDetails', {
          name: event.state.name,
          input: JSON.stringify(event.state.input ?? null),
          inputDetails: NO_DATA,
        });
        run.enteredAt.set(event.state.name, run.exec.history.at(-1)?.timestamp ?? this.clock.nowMs());
        break;
      }
      case 'StateExited':
        this.record(run, `${this.stateType(run, event.state.name)}StateExited`, 'stateExitedEventDetails', {
          name: event.state.name,
          output: JSON.stringify(event.state.output ?? null),
          outputDetails: NO_DATA,
        });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.record(run, event.type, `${event.type.charAt(0).toLowerCase()}${event.type.slice(1)}EventDetails`, {
          name: event.parentState.name,
          index: event.index,
        });
        break;
      default:
        // Execution-level outcomes come from the run's result; retries and catches have no AWS event.
        break;
    }
  }

  private stateType(run: Run, stateName: string): string {
    return run.machine.local.stateTypes.get(stateName) ?? 'Task';
  }

  private finish(run: Run, outcome: PromiseSettledResult<unknown>): void {
    if (!run.active) return;
    const exec = run.exec;
    if (outcome.status === 'fulfilled') {
      const output = JSON.stringify(outcome.value ?? null);
      exec.status = 'SUCCEEDED';
      exec.output = output;
      this.record(run, 'ExecutionSucceeded', 'executionSucceededEventDetails', { output, outputDetails: NO_DATA });
    } else {
      const { error, cause } = executionFailure(outcome.reason);
      exec.status = 'FAILED';
      if (error !== undefined) exec.error = error;
      if (cause !== undefined) exec.cause = cause;
      this.record(run, 'ExecutionFailed', 'executionFailedEventDetails', {
        ...(error !== undefined ? { error } : {}),
        ...(cause !== undefined ? { cause } : {}),
      });
    }
    exec.stopDate = this.clock.nowMs();
    this.endRun(run, 'The execution ended');
    this.store.schedulePersist(exec);
  }

  private timeOut(run: Run): void {
    if (!run.active) return;
    const exec = run.exec;
    exec.status = 'TIMED_OUT';
    exec.error = 'States.Timeout';
    exec.stopDate = this.clock.nowMs();
    this.store.recordEvent(exec, 'ExecutionTimedOut', 'executionTimedOutEventDetails', { error: 'States.Timeout' });
    this.endRun(run, 'The execution timed out');
    this.store.schedulePersist(exec);
  }

  /** Closes a run: no more history, every open token closed, pending handlers released, engine aborted. */
  endRun(run: Run, reason: string): void {
    run.active = false;
    run.timeoutTimer?.cancel();
    for (const [token, task] of this.tokens) if (task.run === run) this.tokens.delete(token);
    run.controller.abort(new RunInterrupted(reason));
    run.abortEngine?.();
    if (this.runs.get(run.exec.executionArn) === run) this.runs.delete(run.exec.executionArn);
  }

  /**
   * Local handler of a Task or rewritten Wait. When the engine re-enters a state because its own real-time task
   * timer fired, the call joins the work already in flight instead of invoking the function again.
   */
  private enterState(run: Run, spec: LocalStateSpec, input: Json): Promise<Json> {
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
    this.recordEvent(run.exec, type, detailsKey, details);
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
