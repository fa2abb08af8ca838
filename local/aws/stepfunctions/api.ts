/**
 * The Step Functions API of the local runtime (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`) on the
 * local AWS endpoint: the state machines of the synthesized template, and their executions (`store.ts`), run on
 * the simulated clock (`executions.ts`, `tasks.ts`).
 */
import '../../polyfills';
import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { SimulatedClock } from '../../clock';
import { type Json, type LocalDefinition, localDefinition } from '../asl-rewrite';
import {
  AwsError,
  type AwsRequest,
  type AwsResponse,
  type AwsService,
  jsonError,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
} from '../protocol';
import { probeEngineTimeoutClass } from './errors';
import { ExecutionRunner } from './executions';
import type { Machine, PendingTask, TaskInvoker } from './model';
import { type ExecutionRecord, ExecutionStore, NO_DATA } from './store';
import { isWellFormedTaskToken } from './task-tokens';
import { isRecord } from './util';
import {
  isValidExecutionName,
  json,
  jsonHeaders,
  optionalString,
  paginate,
  renderEvent,
  requiredString,
  seconds,
} from './wire';

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

const TARGET_PREFIX = 'AWSStepFunctions.';
const OPERATIONS = [
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
] as const;
type Operation = (typeof OPERATIONS)[number];
const MAX_PAYLOAD_BYTES = 262_144;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
const EXECUTION_STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

/** Step Functions behind the local AWS endpoint. */
export class LocalStepFunctions implements AwsService {
  readonly name = 'states';
  /** The operations this service answers (for the runtime's start-up check). */
  readonly operations: readonly string[] = [...OPERATIONS];
  private readonly clock: SimulatedClock;
  private readonly account: string;
  private readonly machines = new Map<string, Machine>();
  private readonly store: ExecutionStore;
  private readonly runner: ExecutionRunner;
  private closed = false;
  private readonly handlers: Record<Operation, (body: Record<string, unknown>) => unknown> = {
    StartExecution: (body) => this.startExecution(body),
    DescribeExecution: (body) => this.describeExecution(body),
    ListExecutions: (body) => this.listExecutions(body),
    StopExecution: (body) => this.stopExecution(body),
    GetExecutionHistory: (body) => this.getExecutionHistory(body),
    SendTaskSuccess: (body) => this.sendTaskSuccess(body),
    SendTaskFailure: (body) => this.sendTaskFailure(body),
    SendTaskHeartbeat: (body) => this.sendTaskHeartbeat(body),
    DescribeStateMachine: (body) => this.describeStateMachine(body),
    ListStateMachines: (body) => this.listStateMachines(body),
  };

  constructor(opts: LocalStepFunctionsOptions) {
    this.clock = opts.clock;
    this.account = opts.account ?? LOCAL_ACCOUNT;
    this.store = new ExecutionStore(opts.file, () => this.clock.nowMs());
    this.runner = new ExecutionRunner({
      clock: opts.clock,
      invoke: opts.invoke,
      store: this.store,
      region: opts.region ?? LOCAL_REGION,
      random: opts.random ?? Math.random,
    });
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
    for (const exec of this.store.values()) {
      if (exec.status !== 'RUNNING' || this.runner.runs.has(exec.executionArn)) continue;
      const machine = this.machines.get(exec.stateMachineArn);
      if (!machine) {
        exec.status = 'FAILED';
        exec.error = 'States.Runtime';
        exec.cause = 'The state machine is no longer in the template; the execution cannot be re-driven';
        exec.stopDate = this.clock.nowMs();
        this.store.recordEvent(exec, 'ExecutionFailed', 'executionFailedEventDetails', {
          error: exec.error,
          cause: exec.cause,
        });
        continue;
      }
      exec.redriveCount += 1;
      exec.redriveDate = this.clock.nowMs();
      this.store.recordEvent(exec, 'ExecutionRedriven', 'executionRedrivenEventDetails', {
        redriveCount: exec.redriveCount,
      });
      this.runner.launch(exec, machine);
    }
    this.store.schedulePersist();
  }

  /**
   * Waits until no execution has work in flight: every running one is parked on a simulated wait or a task
   * token. Resolves false if that takes longer than `timeoutMs` of wall time.
   */
  idle(timeoutMs = 30_000): Promise<boolean> {
    return this.runner.idle(timeoutMs);
  }

  /**
   * Stops every run without closing its execution (they stay RUNNING, for `resume()` after a restart), closes
   * all task tokens and writes the executions file.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.store.seal();
    await this.runner.stopAll('The local runtime is shutting down');
    this.store.flush();
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
      if (!isOperation(op)) {
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
      return json(await this.handlers[op](body));
    } catch (error) {
      if (error instanceof AwsError) return { ...jsonError(error), headers: jsonHeaders(error.code) };
      const failure = new AwsError('InternalFailure', `${op} failed inside the local Step Functions`, 500);
      return { ...jsonError(failure), headers: jsonHeaders(failure.code) };
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
    const existing = this.store.get(executionArn);
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
    this.store.add(exec);
    this.store.recordEvent(exec, 'ExecutionStarted', 'executionStartedEventDetails', {
      input,
      inputDetails: NO_DATA,
      roleArn: machine.roleArn,
    });
    this.runner.launch(exec, machine);
    this.store.schedulePersist(exec);
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
    const items = [...this.store.values()]
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
    const run = this.runner.runs.get(exec.executionArn);
    if (exec.status === 'RUNNING') {
      exec.status = 'ABORTED';
      exec.stopDate = this.clock.nowMs();
      if (error !== undefined) exec.error = error;
      if (cause !== undefined) exec.cause = cause;
      this.store.recordEvent(exec, 'ExecutionAborted', 'executionAbortedEventDetails', {
        ...(error !== undefined ? { error } : {}),
        ...(cause !== undefined ? { cause } : {}),
      });
      if (run) this.runner.endRun(run, 'The execution was stopped');
      this.store.schedulePersist(exec);
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
    this.runner.tokens.delete(token);
    task.succeed(parsed);
    return {};
  }

  private sendTaskFailure(body: Record<string, unknown>): unknown {
    const { token, task } = this.openTask(body);
    const error = optionalString(body, 'error', 256) ?? '';
    const cause = optionalString(body, 'cause', 32_768) ?? '';
    this.runner.tokens.delete(token);
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
    const exec = this.store.get(arn);
    if (!exec) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return exec;
  }

  /** The open task behind a token. Error messages never echo the token. */
  private openTask(body: Record<string, unknown>): { token: string; task: PendingTask } {
    const token = body.taskToken;
    if (typeof token !== 'string' || token.length === 0) {
      throw new AwsError('ValidationException', "Value null at 'taskToken' failed to satisfy constraint");
    }
    const task = this.runner.tokens.get(token);
    if (task) return { token, task };
    if (isWellFormedTaskToken(token)) {
      throw new AwsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    throw new AwsError('InvalidToken', "Invalid Token: 'Invalid token'");
  }
}

function isOperation(op: string): op is Operation {
  return (OPERATIONS as readonly string[]).includes(op);
}
