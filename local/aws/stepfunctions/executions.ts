/**
 * Running executions: each run walks its machine's states in aws-local-stepfunctions, whose Task and Wait states
 * are handed to the local handlers (`tasks.ts`) on the simulated clock (see `asl-rewrite.ts` and
 * `docs/local-state-machines.md`). The engine's transitions and the run's outcome go to the AWS-shaped history.
 */
import type { RunOptions, StateMachine } from 'aws-local-stepfunctions';
import type { SimulatedClock } from '../../clock';
import { type Json, SIMULATED_START_TIME_KEY, TASK_TOKEN_PLACEHOLDER } from '../asl-rewrite';
import { executionFailure, RunInterrupted } from './errors';
import type { Machine, PendingTask, Run, TaskInvoker } from './model';
import { type ExecutionRecord, type ExecutionStore, NO_DATA } from './store';
import { TaskStates } from './tasks';

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type EngineRun = ReturnType<StateMachine['run']>;
type EngineEvent = EngineRun['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** What an {@link ExecutionRunner} runs with. */
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
  private readonly clock: SimulatedClock;
  private readonly store: ExecutionStore;
  private readonly states: TaskStates;

  constructor(opts: ExecutionRunnerOptions) {
    this.clock = opts.clock;
    this.store = opts.store;
    this.states = new TaskStates({ ...opts, tokens: this.tokens });
  }

  /** See {@link TaskStates.idle}. */
  idle(timeoutMs: number): Promise<boolean> {
    return this.states.idle(timeoutMs);
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
        this.states.enterState(run, spec, stateInput as Json) as ReturnType<LocalHandlers[string]>;
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

  private record(run: Run, type: string, detailsKey?: string, details?: Record<string, unknown>): void {
    if (!run.active) return;
    this.store.recordEvent(run.exec, type, detailsKey, details);
  }
}
