/**
 * Step Functions of the local runtime: runs the synthesized state machines (plain ASL, JSONPath) in-process with
 * aws-local-stepfunctions on the simulated clock, and answers the Step Functions API (JSON 1.0,
 * `X-Amz-Target: AWSStepFunctions.<Operation>`) on the local AWS endpoint.
 *
 * The engine only walks the states: every Lambda call, task token, timeout, retry pause and `Wait` runs in the
 * local task handlers below, on the simulated clock (see `asl-rewrite.ts` and `docs/local-state-machines.md`).
 */
import '../polyfills';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { SimulatedClock, SimulatedTimer } from '../clock';
import {
  findRetrier,
  type Json,
  type LocalDefinition,
  type LocalStateSpec,
  localDefinition,
  replaceInStrings,
  resolveReferencePath,
  retryDelayMs,
  SIMULATED_START_TIME_KEY,
  TASK_TOKEN_PLACEHOLDER,
  type TaskStateSpec,
  type WaitStateSpec,
} from './asl-rewrite';
import { JsonLog } from './json-store';
import {
  AwsError,
  type AwsRequest,
  type AwsResponse,
  type AwsService,
  jsonError,
  jsonOk,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
} from './protocol';

/** Calls the Lambda function behind a Task on behalf of an execution; rejects with the handler's error. */
export type TaskInvoker = (call: {
  stateName: string;
  resource: string;
  functionName: string;
  payload: unknown;
  executionArn: string;
}) => Promise<unknown>;

export interface LocalStepFunctionsOptions {
  clock: SimulatedClock;
  invoke: TaskInvoker;
  /** JSON file holding executions and their histories; absent → in memory only. */
  file?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  account?: string;
  /** Source of retry jitter (`JitterStrategy: FULL`). @default Math.random */
  random?: () => number;
}

/** A state machine from the synthesized template. */
export interface StateMachineRegistration {
  arn: string;
  name: string;
  /** Plain ASL (JSONPath), with every CloudFormation token resolved. */
  definition: object;
  type: 'STANDARD';
  /** @default arn:aws:iam::<account>:role/<name>-role */
  roleArn?: string;
}

/** Status of an execution, as `DescribeExecution` reports it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One history event; `timestamp` in simulated epoch milliseconds. */
interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  detailsKey?: string;
  details?: Record<string, unknown>;
}

/** The executions file: the document, then one {@link ExecutionChange} per line (see `JsonLog`). */
interface ExecutionsDocument {
  version: 1;
  executions: ExecutionRecord[];
}

/** One execution's change: its fields, and the history events recorded since the last change was written. */
interface ExecutionChange {
  execution: Omit<ExecutionRecord, 'history'>;
  /** How many events of the history came before `events`. */
  from: number;
  events: HistoryEvent[];
}

/** What is persisted per execution. */
interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  redriveCount: number;
  redriveDate?: number;
  history: HistoryEvent[];
}

interface Machine {
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
interface Run {
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

interface PendingTask {
  run: Run;
  succeed(output: Json): void;
  fail(error: string, cause: string): void;
  heartbeat(): void;
}

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type EngineRun = ReturnType<StateMachine['run']>;
type EngineEvent = EngineRun['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

const TARGET_PREFIX = 'AWSStepFunctions.';
const OPERATIONS = new Set([
  'StartExecution',
  'DescribeExecution',
  'ListExecutions',
  'StopExecution',
  'GetExecutionHistory',
  'SendTaskSuccess',
  'SendTaskFailure',
  'SendTaskHeartbeat',
  'DescribeStateMachine',
  'ListStateMachines',
]);
const MAX_PAYLOAD_BYTES = 262_144;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
const EXECUTION_STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const NO_DATA = { truncated: false };

/** A task's error as `Retry`/`Catch` see it; never retried by the engine (the handler ran the `Retry` policy). */
class TaskFailure extends Error {
  readonly isRetryable = false;
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** `States.Runtime`: neither retried nor caught, as on AWS. */
class RuntimeFailure extends Error {
  override readonly name = 'States.Runtime';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** The run ended underneath a handler (stop, execution timeout, shutdown): the engine must not go on. */
class RunInterrupted extends Error {
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

function probeEngineTimeoutClass(): Promise<void> {
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

function timeoutError(name: 'States.Timeout' | 'States.HeartbeatTimeout'): Error {
  const error = engineTimeoutClass && name === 'States.Timeout' ? new engineTimeoutClass() : new Error();
  error.name = name;
  error.message = '';
  Object.defineProperty(error, 'isRetryable', { value: false });
  return error;
}

/** Step Functions behind the local AWS endpoint. */
export class LocalStepFunctions implements AwsService {
  readonly name = 'states';
  /** The operations this service answers (for the runtime's start-up check). */
  readonly operations: readonly string[] = [...OPERATIONS];
  private readonly clock: SimulatedClock;
  private readonly invoke: TaskInvoker;
  private readonly region: string;
  private readonly account: string;
  private readonly random: () => number;
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly runs = new Map<string, Run>();
  private readonly tokens = new Map<string, PendingTask>();
  /** Work in flight (Lambda calls and handler stretches between parking points). */
  private readonly work = new Set<Promise<unknown>>();
  private persistHandle: NodeJS.Immediate | undefined;
  private readonly log: JsonLog<ExecutionsDocument, ExecutionChange> | undefined;
  /** Executions changed since the file was last written, and how many of their events it holds. */
  private readonly dirty = new Set<ExecutionRecord>();
  private readonly persistedEvents = new Map<string, number>();
  private closed = false;

  constructor(opts: LocalStepFunctionsOptions) {
    this.clock = opts.clock;
    this.invoke = opts.invoke;
    this.region = opts.region ?? LOCAL_REGION;
    this.account = opts.account ?? LOCAL_ACCOUNT;
    this.random = opts.random ?? Math.random;
    this.log = opts.file ? new JsonLog(opts.file, () => ({ version: 1, executions: [] })) : undefined;
    this.load();
    void probeEngineTimeoutClass();
  }

  /**
   * Adds (or replaces) a state machine. Throws, naming the state, when the definition uses what the local
   * runtime cannot run (JSONata, non-Lambda task resources, distributed Map) or is invalid ASL.
   */
  registerStateMachine(sm: StateMachineRegistration): void {
    if (!STATE_MACHINE_ARN.test(sm.arn)) throw new Error(`State machine ${sm.name}: invalid ARN ${sm.arn}`);
    let local: LocalDefinition;
    let engine: StateMachine;
    try {
      local = localDefinition(sm.definition);
      engine = new StateMachine(local.definition as unknown as StateMachineDefinition);
    } catch (error) {
      throw new Error(`State machine ${sm.name}: ${(error as Error).message}`, { cause: error });
    }
    this.machines.set(sm.arn, {
      arn: sm.arn,
      name: sm.name,
      type: sm.type,
      roleArn: sm.roleArn ?? `arn:aws:iam::${this.account}:role/${sm.name}-role`,
      definitionText: JSON.stringify(sm.definition),
      local,
      engine,
      creationDate: this.clock.nowMs(),
    });
  }

  /**
   * Re-drives executions that were RUNNING when the runtime stopped: same ARN, from their original input. Call it
   * once every state machine of the template is registered.
   */
  async resume(): Promise<void> {
    await probeEngineTimeoutClass();
    for (const exec of this.executions.values()) {
      if (exec.status !== 'RUNNING' || this.runs.has(exec.executionArn)) continue;
      const machine = this.machines.get(exec.stateMachineArn);
      if (!machine) {
        exec.status = 'FAILED';
        exec.error = 'States.Runtime';
        exec.cause = 'The state machine is no longer in the template; the execution cannot be re-driven';
        exec.stopDate = this.clock.nowMs();
        this.recordEvent(exec, 'ExecutionFailed', 'executionFailedEventDetails', {
          error: exec.error,
          cause: exec.cause,
        });
        continue;
      }
      exec.redriveCount += 1;
      exec.redriveDate = this.clock.nowMs();
      this.recordEvent(exec, 'ExecutionRedriven', 'executionRedrivenEventDetails', { redriveCount: exec.redriveCount });
      this.launch(exec, machine);
    }
    this.schedulePersist();
  }

  /**
   * Waits until no execution has work in flight: every running one is parked on a simulated wait or a task
   * token. Resolves false if that takes longer than `timeoutMs` of wall time.
   */
  async idle(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < 5; i++) await nextMacrotask();
      if (this.work.size === 0) return true;
      if (Date.now() > deadline) return false;
      await Promise.race([Promise.allSettled([...this.work]), realDelay(50)]);
    }
  }

  /**
   * Stops every run without closing its execution (they stay RUNNING, for `resume()` after a restart), closes
   * all task tokens and writes the executions file.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const runs = [...this.runs.values()];
    for (const run of runs) this.endRun(run, 'The local runtime is shutting down');
    this.tokens.clear();
    await Promise.allSettled(runs.map((r) => r.settled));
    if (this.persistHandle) clearImmediate(this.persistHandle);
    this.persistHandle = undefined;
    this.writeNow();
  }

  matches(req: AwsRequest): boolean {
    return req.target?.startsWith(TARGET_PREFIX) ?? false;
  }

  operation(req: AwsRequest): string {
    return (req.target ?? '').slice(TARGET_PREFIX.length);
  }

  async handle(req: AwsRequest): Promise<AwsResponse> {
    const op = this.operation(req);
    try {
      if (!OPERATIONS.has(op)) {
        throw new AwsError(
          'UnknownOperationException',
          `The local Step Functions does not support the operation ${op || '(none)'}`,
        );
      }
      if (this.closed) throw new AwsError('ServiceUnavailable', 'The local runtime is shutting down', 503);
      let body: unknown = {};
      if (req.body.length > 0) {
        try {
          body = JSON.parse(req.body.toString('utf8'));
        } catch {
          throw new AwsError('SerializationException', 'The request body is not valid JSON');
        }
      }
      if (!isRecord(body)) throw new AwsError('SerializationException', 'The request body must be a JSON object');
      return json(await this.dispatch(op, body));
    } catch (error) {
      if (error instanceof AwsError) return { ...jsonError(error), headers: jsonHeaders(error.code) };
      const failure = new AwsError('InternalFailure', `${op} failed inside the local Step Functions`, 500);
      return { ...jsonError(failure), headers: jsonHeaders(failure.code) };
    }
  }

  private async dispatch(op: string, body: Record<string, unknown>): Promise<unknown> {
    switch (op) {
      case 'StartExecution':
        return this.startExecution(body);
      case 'DescribeExecution':
        return this.describeExecution(body);
      case 'ListExecutions':
        return this.listExecutions(body);
      case 'StopExecution':
        return this.stopExecution(body);
      case 'GetExecutionHistory':
        return this.getExecutionHistory(body);
      case 'SendTaskSuccess':
        return this.sendTaskSuccess(body);
      case 'SendTaskFailure':
        return this.sendTaskFailure(body);
      case 'SendTaskHeartbeat':
        return this.sendTaskHeartbeat(body);
      case 'DescribeStateMachine':
        return this.describeStateMachine(body);
      case 'ListStateMachines':
        return this.listStateMachines(body);
      default:
        throw new AwsError(
          'UnknownOperationException',
          `The local Step Functions does not support the operation ${op}`,
        );
    }
  }

  // ---- API operations -------------------------------------------------------------------------------------

  private async startExecution(body: Record<string, unknown>): Promise<unknown> {
    await probeEngineTimeoutClass();
    const machine = this.machineFor(requiredString(body, 'stateMachineArn'));
    const name = body.name === undefined ? randomUUID() : body.name;
    if (typeof name !== 'string' || !isValidExecutionName(name)) {
      throw new AwsError('InvalidName', `Invalid Name: '${String(name)}'`);
    }
    const input = body.input === undefined ? '{}' : body.input;
    if (typeof input !== 'string') throw new AwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input');
    if (Buffer.byteLength(input) > MAX_PAYLOAD_BYTES) {
      throw new AwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: input exceeds 262144 bytes');
    }
    try {
      JSON.parse(input);
    } catch (error) {
      throw new AwsError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    const executionArn = `${machine.arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS: same name and input while running is the same request; anything else reuses a taken name.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: seconds(existing.startDate) };
      }
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const exec: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input,
      status: 'RUNNING',
      startDate: this.clock.nowMs(),
      redriveCount: 0,
      history: [],
    };
    this.executions.set(executionArn, exec);
    this.recordEvent(exec, 'ExecutionStarted', 'executionStartedEventDetails', {
      input,
      inputDetails: NO_DATA,
      roleArn: machine.roleArn,
    });
    this.launch(exec, machine);
    this.schedulePersist(exec);
    return { executionArn, startDate: seconds(exec.startDate) };
  }

  private describeExecution(body: Record<string, unknown>): unknown {
    const exec = this.executionFor(requiredString(body, 'executionArn'));
    return {
      executionArn: exec.executionArn,
      stateMachineArn: exec.stateMachineArn,
      name: exec.name,
      status: exec.status,
      startDate: seconds(exec.startDate),
      ...(exec.stopDate !== undefined ? { stopDate: seconds(exec.stopDate) } : {}),
      input: exec.input,
      inputDetails: { included: true },
      ...(exec.output !== undefined ? { output: exec.output, outputDetails: { included: true } } : {}),
      ...(exec.error !== undefined ? { error: exec.error } : {}),
      ...(exec.cause !== undefined ? { cause: exec.cause } : {}),
      redriveCount: exec.redriveCount,
      ...(exec.redriveDate !== undefined ? { redriveDate: seconds(exec.redriveDate) } : {}),
    };
  }

  private listExecutions(body: Record<string, unknown>): unknown {
    const machine = this.machineFor(requiredString(body, 'stateMachineArn'));
    const status = body.statusFilter;
    if (status !== undefined && (typeof status !== 'string' || !EXECUTION_STATUSES.has(status))) {
      throw new AwsError('ValidationException', `Value '${String(status)}' at 'statusFilter' is not a valid status`);
    }
    const items = [...this.executions.values()]
      .filter((e) => e.stateMachineArn === machine.arn && (status === undefined || e.status === status))
      .map((e, order) => ({ e, order }))
      .sort((a, b) => b.e.startDate - a.e.startDate || b.order - a.order)
      .map(({ e }) => ({
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: seconds(e.startDate),
        ...(e.stopDate !== undefined ? { stopDate: seconds(e.stopDate) } : {}),
        ...(e.redriveCount > 0 ? { redriveCount: e.redriveCount } : {}),
        ...(e.redriveDate !== undefined ? { redriveDate: seconds(e.redriveDate) } : {}),
      }));
    const page = paginate(items, body, `executions:${machine.arn}:${status ?? ''}`, 100);
    return { executions: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  private stopExecution(body: Record<string, unknown>): unknown {
    const exec = this.executionFor(requiredString(body, 'executionArn'));
    const error = optionalString(body, 'error', 256);
    const cause = optionalString(body, 'cause', 32_768);
    const run = this.runs.get(exec.executionArn);
    if (exec.status === 'RUNNING') {
      exec.status = 'ABORTED';
      exec.stopDate = this.clock.nowMs();
      if (error !== undefined) exec.error = error;
      if (cause !== undefined) exec.cause = cause;
      this.recordEvent(exec, 'ExecutionAborted', 'executionAbortedEventDetails', {
        ...(error !== undefined ? { error } : {}),
        ...(cause !== undefined ? { cause } : {}),
      });
      if (run) this.endRun(run, 'The execution was stopped');
      this.schedulePersist(exec);
    }
    return { stopDate: seconds(exec.stopDate ?? this.clock.nowMs()) };
  }

  private getExecutionHistory(body: Record<string, unknown>): unknown {
    const exec = this.executionFor(requiredString(body, 'executionArn'));
    const includeData = body.includeExecutionData !== false;
    const reverse = body.reverseOrder === true;
    const events = exec.history.map((e) => renderEvent(e, includeData));
    if (reverse) events.reverse();
    const page = paginate(events, body, `history:${exec.executionArn}:${reverse}`, 100);
    return { events: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  private sendTaskSuccess(body: Record<string, unknown>): unknown {
    const { token, task } = this.openTask(body);
    const output = body.output;
    if (typeof output !== 'string')
      throw new AwsError('ValidationException', "Value null at 'output' failed to satisfy constraint");
    if (Buffer.byteLength(output) > MAX_PAYLOAD_BYTES) throw new AwsError('InvalidOutput', 'Invalid Output: too large');
    let parsed: Json;
    try {
      parsed = JSON.parse(output) as Json;
    } catch (error) {
      throw new AwsError('InvalidOutput', `Invalid Output: '${(error as Error).message}'`);
    }
    this.tokens.delete(token);
    task.succeed(parsed);
    return {};
  }

  private sendTaskFailure(body: Record<string, unknown>): unknown {
    const { token, task } = this.openTask(body);
    const error = optionalString(body, 'error', 256) ?? '';
    const cause = optionalString(body, 'cause', 32_768) ?? '';
    this.tokens.delete(token);
    task.fail(error, cause);
    return {};
  }

  private sendTaskHeartbeat(body: Record<string, unknown>): unknown {
    this.openTask(body).task.heartbeat();
    return {};
  }

  private describeStateMachine(body: Record<string, unknown>): unknown {
    const machine = this.machineFor(requiredString(body, 'stateMachineArn'));
    return {
      stateMachineArn: machine.arn,
      name: machine.name,
      status: 'ACTIVE',
      definition: machine.definitionText,
      roleArn: machine.roleArn,
      type: machine.type,
      creationDate: seconds(machine.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  private listStateMachines(body: Record<string, unknown>): unknown {
    const items = [...this.machines.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: seconds(m.creationDate) }));
    const page = paginate(items, body, 'state-machines', 100);
    return { stateMachines: page.items, ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
  }

  private machineFor(arn: string): Machine {
    if (!STATE_MACHINE_ARN.test(arn)) throw new AwsError('InvalidArn', `Invalid Arn: '${arn}'`);
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private executionFor(arn: string): ExecutionRecord {
    if (!EXECUTION_ARN.test(arn)) throw new AwsError('InvalidArn', `Invalid Arn: '${arn}'`);
    const exec = this.executions.get(arn);
    if (!exec) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return exec;
  }

  /** The open task behind a token. Error messages never echo the token. */
  private openTask(body: Record<string, unknown>): { token: string; task: PendingTask } {
    const token = body.taskToken;
    if (typeof token !== 'string' || token.length === 0) {
      throw new AwsError('ValidationException', "Value null at 'taskToken' failed to satisfy constraint");
    }
    const task = this.tokens.get(token);
    if (task) return { token, task };
    if (isWellFormedTaskToken(token)) {
      throw new AwsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    throw new AwsError('InvalidToken', "Invalid Token: 'Invalid token'");
  }

  // ---- running executions ---------------------------------------------------------------------------------

  private launch(exec: ExecutionRecord, machine: Machine): void {
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
    this.schedulePersist(exec);
  }

  private timeOut(run: Run): void {
    if (!run.active) return;
    const exec = run.exec;
    exec.status = 'TIMED_OUT';
    exec.error = 'States.Timeout';
    exec.stopDate = this.clock.nowMs();
    this.recordEvent(exec, 'ExecutionTimedOut', 'executionTimedOutEventDetails', { error: 'States.Timeout' });
    this.endRun(run, 'The execution timed out');
    this.schedulePersist(exec);
  }

  /** Closes a run: no more history, every open token closed, pending handlers released, engine aborted. */
  private endRun(run: Run, reason: string): void {
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

  // ---- history and persistence ----------------------------------------------------------------------------

  private record(run: Run, type: string, detailsKey?: string, details?: Record<string, unknown>): void {
    if (!run.active) return;
    this.recordEvent(run.exec, type, detailsKey, details);
  }

  private recordEvent(
    exec: ExecutionRecord,
    type: string,
    detailsKey?: string,
    details?: Record<string, unknown>,
  ): void {
    const last = exec.history.at(-1);
    exec.history.push({
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      timestamp: Math.max(this.clock.nowMs(), last?.timestamp ?? 0),
      type,
      ...(detailsKey && details ? { detailsKey, details } : {}),
    });
    this.schedulePersist(exec);
  }

  private load(): void {
    if (!this.log) return;
    let saved: { document: unknown; entries: ExecutionChange[] };
    try {
      saved = this.log.read() as { document: unknown; entries: ExecutionChange[] };
    } catch (error) {
      throw new Error(`Cannot read the Step Functions executions file ${this.log.file}: ${(error as Error).message}`);
    }
    const list =
      isRecord(saved.document) && Array.isArray(saved.document.executions) ? saved.document.executions : undefined;
    if (!list) throw new Error(`The Step Functions executions file ${this.log.file} has no "executions" list`);
    for (const exec of list as ExecutionRecord[]) this.executions.set(exec.executionArn, exec);
    for (const change of saved.entries) {
      const before = this.executions.get(change.execution.executionArn)?.history ?? [];
      const history = [...before.slice(0, change.from), ...change.events];
      this.executions.set(change.execution.executionArn, { ...change.execution, history });
    }
  }

  private schedulePersist(exec?: ExecutionRecord): void {
    if (!this.log || this.closed) return;
    if (exec) this.dirty.add(exec);
    if (this.persistHandle) return;
    // Coalesce the many events of one turn into one append per changed execution.
    this.persistHandle = setImmediate(() => {
      this.persistHandle = undefined;
      this.persistChanges();
    });
  }

  /** Appends each changed execution's new fields and events; rewrites the file whole once the changes outweigh it. */
  private persistChanges(): void {
    if (!this.log) return;
    if (!this.log.ready || this.log.wantsRewrite) {
      this.writeNow();
      return;
    }
    for (const exec of this.dirty) {
      const from = Math.min(this.persistedEvents.get(exec.executionArn) ?? 0, exec.history.length);
      const { history, ...execution } = exec;
      this.log.append({ execution, from, events: history.slice(from) });
      this.persistedEvents.set(exec.executionArn, history.length);
    }
    this.dirty.clear();
  }

  /** Writes every execution whole. */
  private writeNow(): void {
    if (!this.log) return;
    this.log.write({ version: 1, executions: [...this.executions.values()] });
    this.dirty.clear();
    for (const exec of this.executions.values()) this.persistedEvents.set(exec.executionArn, exec.history.length);
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

// ---- task tokens ------------------------------------------------------------------------------------------

const TOKEN_MAGIC = Buffer.from('TWtt', 'latin1');
const TOKEN_RANDOM_BYTES = 320;
const TOKEN_CHECKSUM_BYTES = 8;
const TOKEN_BYTES = TOKEN_MAGIC.length + TOKEN_RANDOM_BYTES + TOKEN_CHECKSUM_BYTES;

/** A fresh opaque task token: base64, about as long as AWS's, with a checksum that tells ours from garbage. */
function makeTaskToken(): string {
  const body = Buffer.concat([TOKEN_MAGIC, randomBytes(TOKEN_RANDOM_BYTES)]);
  const checksum = createHash('sha256').update(body).digest().subarray(0, TOKEN_CHECKSUM_BYTES);
  return Buffer.concat([body, checksum]).toString('base64');
}

/** Whether `token` has the shape of a token this runtime issues (open, closed or from an earlier run). */
export function isWellFormedTaskToken(token: string): boolean {
  if (token.length > 2048 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return false;
  const bytes = Buffer.from(token, 'base64');
  if (bytes.length !== TOKEN_BYTES || !bytes.subarray(0, TOKEN_MAGIC.length).equals(TOKEN_MAGIC)) return false;
  const body = bytes.subarray(0, TOKEN_BYTES - TOKEN_CHECKSUM_BYTES);
  const checksum = createHash('sha256').update(body).digest().subarray(0, TOKEN_CHECKSUM_BYTES);
  return checksum.equals(bytes.subarray(TOKEN_BYTES - TOKEN_CHECKSUM_BYTES));
}

// ---- helpers ----------------------------------------------------------------------------------------------

/**
 * AWS's execution name rules: 1–80 characters, none of whitespace, brackets `< > { } [ ]`, wildcards `? *`, the
 * special characters `" # % \ ^ | ~ $ & , ; : /` and the backtick, control characters (U+0000–001F, U+007F–009F,
 * U+FFFE–FFFF) or lone surrogates.
 */
export function isValidExecutionName(name: string): boolean {
  const chars = [...name];
  if (chars.length < 1 || chars.length > 80) return false;
  return chars.every((ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0xfffe || cp === 0xffff) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false;
    return !/[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u.test(ch);
  });
}

function taskFailureFrom(error: unknown): TaskFailure {
  if (error instanceof Error) return new TaskFailure(error.name || 'Error', error.message);
  if (isRecord(error) && typeof error.errorType === 'string') {
    return new TaskFailure(error.errorType, typeof error.errorMessage === 'string' ? error.errorMessage : '');
  }
  return new TaskFailure('Error', String(error));
}

/** Error and cause of a failed engine run (the engine wraps the state's error as `cause`). */
function executionFailure(reason: unknown): { error?: string; cause?: string } {
  const inner = reason instanceof Error && reason.cause instanceof Error ? reason.cause : reason;
  if (!(inner instanceof Error)) return { error: 'States.Runtime', cause: String(inner) };
  // A Fail state without Error/Cause surfaces as the engine's defaults; AWS leaves both out.
  const error = inner.name === 'FailStateError' ? undefined : inner.name;
  const cause =
    inner.message === 'Execution failed because of a Fail state' || inner.message === '' ? undefined : inner.message;
  return { ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) };
}

function renderEvent(event: HistoryEvent, includeData: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    timestamp: seconds(event.timestamp),
    type: event.type,
    id: event.id,
    previousEventId: event.previousEventId,
  };
  if (event.detailsKey && event.details) {
    let details = event.details;
    if (!includeData) {
      details = Object.fromEntries(
        Object.entries(details).filter(([k]) => !['input', 'inputDetails', 'output', 'outputDetails'].includes(k)),
      );
    }
    out[event.detailsKey] = details;
  }
  return out;
}

function paginate<T>(
  items: T[],
  body: Record<string, unknown>,
  scope: string,
  defaultSize: number,
): { items: T[]; nextToken?: string } {
  const max = body.maxResults;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000)) {
    throw new AwsError('ValidationException', "Value at 'maxResults' must be between 0 and 1000");
  }
  const size = typeof max === 'number' && max > 0 ? max : defaultSize;
  let offset = 0;
  if (body.nextToken !== undefined) {
    const parsed = decodePageToken(body.nextToken, scope);
    if (parsed === undefined) throw new AwsError('InvalidToken', "Invalid Token: 'Invalid nextToken'");
    offset = parsed;
  }
  const page = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length ? { items: page, nextToken: encodePageToken(next, scope) } : { items: page };
}

function encodePageToken(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: scope })).toString('base64url');
}

function decodePageToken(token: unknown, scope: string): number | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; s?: unknown };
    return parsed.s === scope && typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0
      ? parsed.o
      : undefined;
  } catch {
    return undefined;
  }
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsError(
      'ValidationException',
      `Value null at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optionalString(body: Record<string, unknown>, key: string, maxLength: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new AwsError('ValidationException', `Value at '${key}' must be a string of at most ${maxLength} characters`);
  }
  return value;
}

function json(value: unknown): AwsResponse {
  return { ...jsonOk(value), headers: jsonHeaders() };
}

/** Step Functions speaks awsJson1_0. */
function jsonHeaders(errorType?: string): Record<string, string> {
  return {
    'content-type': 'application/x-amz-json-1.0',
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  };
}

function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

/** AWS JSON dates: epoch seconds with fractional milliseconds. */
function seconds(ms: number): number {
  return ms / 1000;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
