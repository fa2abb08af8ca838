/**
 * The local copy of a state machine definition: the runtime runs plain ASL (JSONPath) with
 * aws-local-stepfunctions, which sleeps on real timers. Every simulated wait is moved out of the engine and into
 * local task handlers that wait on the simulated clock. Each rewrite is listed in `docs/local-state-machines.md`.
 */

/** A JSON value as ASL passes it between states. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Stands in for `$$.Task.Token` in the engine's context object; swapped for a fresh token per task attempt. */
export const TASK_TOKEN_PLACEHOLDER = '<<token-warden:local-task-token>>';

/** Resource of the Task that replaces each `Wait` state in the local copy. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';

/**
 * The engine arms one real `setTimeout` per task (60 s when `TimeoutSeconds` is absent); Node timers overflow
 * past 2^31-1 ms and then fire after 1 ms. This is the longest timeout the engine can hold.
 */
export const ENGINE_MAX_TIMEOUT_SECONDS = 2_147_483;

/** Context key that carries the execution's simulated start time (`$$.Execution.StartTime` is rewritten to it). */
export const SIMULATED_START_TIME_KEY = 'SimulatedStartTime';

/** A `Retry` entry with AWS's defaults filled in. */
export interface RetryPolicy {
  readonly errorEquals: readonly string[];
  readonly intervalSeconds: number;
  readonly maxAttempts: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds?: number;
  readonly jitterStrategy: 'NONE' | 'FULL';
}

/** How a Task calls its Lambda function. */
export type TaskIntegration =
  /** `arn:aws:states:::lambda:invoke`: result is `{ StatusCode, Payload, ExecutedVersion }`. */
  | 'lambda-invoke'
  /** `arn:aws:states:::lambda:invoke.waitForTaskToken`: result is the `SendTaskSuccess` output. */
  | 'lambda-invoke-wait-token'
  /** A function ARN as `Resource` (CDK's `payloadResponseOnly`): result is the function's return value. */
  | 'lambda-function';

/** A Task state whose Lambda call, timeouts and retries the local handler carries out. */
export interface TaskStateSpec {
  readonly kind: 'task';
  readonly name: string;
  readonly resource: string;
  readonly integration: TaskIntegration;
  readonly timeoutSeconds?: number;
  readonly timeoutSecondsPath?: string;
  readonly heartbeatSeconds?: number;
  readonly heartbeatSecondsPath?: string;
  readonly retry: readonly RetryPolicy[];
}

/** A Wait state turned into a Task whose handler resolves at the simulated deadline. */
export interface WaitStateSpec {
  readonly kind: 'wait';
  readonly name: string;
}

export type LocalStateSpec = TaskStateSpec | WaitStateSpec;

/** Input the local handler of a rewritten `Wait` receives (built by the rewritten state's `Parameters`). */
export interface LocalWaitInput {
  input: Json;
  seconds?: Json;
  timestamp?: Json;
}

export interface LocalDefinition {
  /** The definition the engine runs. */
  readonly definition: Record<string, unknown>;
  /** Every state the runtime handles itself, by state name (the engine keys local handlers by name). */
  readonly handlers: ReadonlyMap<string, LocalStateSpec>;
  /** The original `Type` of every state (nested ones included), for history event names. */
  readonly stateTypes: ReadonlyMap<string, string>;
  /** Per-state engine retry pause, in ms (the engine would otherwise sleep on real timers). */
  readonly retryIntervalOverrides: Readonly<Record<string, number>>;
  /** The machine-level `TimeoutSeconds`, enforced on the simulated clock. */
  readonly timeoutSeconds?: number;
}

/** The definition uses something the local runtime cannot run faithfully. */
export class UnsupportedDefinitionError extends Error {
  override readonly name = 'UnsupportedDefinitionError';
}

/**
 * Lets the engine re-enter a task whose own real-time timer (at `ENGINE_MAX_TIMEOUT_SECONDS`) fired: the local
 * handler hands the re-entered call the work already in flight. Errors the local handlers throw are marked
 * non-retryable, so only the engine's own timer error ever matches.
 */
const ENGINE_REENTRY_RETRY = { ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 99_999_999 };

const LAMBDA_INVOKE = /^arn:[a-z-]+:states:::lambda:invoke(\.waitForTaskToken)?$/;
const LAMBDA_FUNCTION = /^arn:[a-z-]+:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/;
const TASK_FIELDS_HANDLED_LOCALLY = [
  'TimeoutSeconds',
  'TimeoutSecondsPath',
  'HeartbeatSeconds',
  'HeartbeatSecondsPath',
];
const JSONATA_FIELDS = ['Arguments', 'Output', 'Assign'];

type StateObject = Record<string, unknown> & { Type?: unknown };

interface RewriteContext {
  handlers: Map<string, LocalStateSpec>;
  stateTypes: Map<string, string>;
  retryIntervalOverrides: Record<string, number>;
}

/**
 * Builds the local copy of `definition` (left unchanged). Throws `UnsupportedDefinitionError` for what the local
 * runtime cannot run: JSONata, `Assign`, non-Lambda task resources, distributed Map.
 */
export function localDefinition(definition: unknown): LocalDefinition {
  if (!isObject(definition)) throw new UnsupportedDefinitionError('The definition must be a JSON object');
  const ctx: RewriteContext = { handlers: new Map(), stateTypes: new Map(), retryIntervalOverrides: {} };
  const copy = rewriteMachine(structuredClone(definition), ctx, '');
  const timeout = definition.TimeoutSeconds;
  delete copy.TimeoutSeconds;
  return {
    definition: copy,
    handlers: ctx.handlers,
    stateTypes: ctx.stateTypes,
    retryIntervalOverrides: ctx.retryIntervalOverrides,
    ...(typeof timeout === 'number' && timeout > 0 ? { timeoutSeconds: timeout } : {}),
  };
}

function rewriteMachine(machine: Record<string, unknown>, ctx: RewriteContext, where: string): Record<string, unknown> {
  if (machine.QueryLanguage === 'JSONata') {
    throw new UnsupportedDefinitionError(
      `${where || 'The state machine'} uses JSONata; the local engine runs JSONPath only`,
    );
  }
  const states = machine.States;
  if (!isObject(states)) throw new UnsupportedDefinitionError(`${where || 'The state machine'} has no States`);
  const rewritten: Record<string, unknown> = {};
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state) || typeof state.Type !== 'string') {
      throw new UnsupportedDefinitionError(`State "${name}" has no Type`);
    }
    if (ctx.stateTypes.has(name)) {
      throw new UnsupportedDefinitionError(`State name "${name}" is used twice; state names must be unique`);
    }
    ctx.stateTypes.set(name, state.Type);
    rewritten[name] = rewriteStartTimePaths(rewriteState(name, state, ctx));
  }
  return { ...machine, States: rewritten };
}

function rewriteState(name: string, state: StateObject, ctx: RewriteContext): Record<string, unknown> {
  if (state.QueryLanguage === 'JSONata') {
    throw new UnsupportedDefinitionError(`State "${name}" uses JSONata; the local engine runs JSONPath only`);
  }
  for (const field of JSONATA_FIELDS) {
    if (field in state) {
      throw new UnsupportedDefinitionError(`State "${name}" uses ${field}, which the local engine does not support`);
    }
  }
  switch (state.Type) {
    case 'Task':
      return rewriteTask(name, state, ctx);
    case 'Wait':
      return rewriteWait(name, state, ctx);
    case 'Parallel': {
      const branches = Array.isArray(state.Branches) ? state.Branches : [];
      const copy = {
        ...state,
        Branches: branches.map((b, i) => rewriteMachine(asObject(b), ctx, `Branch ${i} of "${name}"`)),
      };
      if (Array.isArray(state.Retry)) ctx.retryIntervalOverrides[name] = 0;
      return copy;
    }
    case 'Map': {
      if ('ItemReader' in state || 'ResultWriter' in state || isDistributed(state)) {
        throw new UnsupportedDefinitionError(
          `Map state "${name}" is distributed; the local engine runs inline Map only`,
        );
      }
      const copy: Record<string, unknown> = { ...state };
      for (const key of ['ItemProcessor', 'Iterator'] as const) {
        if (isObject(state[key])) copy[key] = rewriteMachine(state[key], ctx, `${key} of "${name}"`);
      }
      if (Array.isArray(state.Retry)) ctx.retryIntervalOverrides[name] = 0;
      return copy;
    }
    default:
      return { ...state };
  }
}

function rewriteTask(name: string, state: StateObject, ctx: RewriteContext): Record<string, unknown> {
  const resource = state.Resource;
  if (typeof resource !== 'string') throw new UnsupportedDefinitionError(`Task "${name}" has no Resource`);
  let integration: TaskIntegration;
  const invoke = LAMBDA_INVOKE.exec(resource);
  if (invoke) integration = invoke[1] ? 'lambda-invoke-wait-token' : 'lambda-invoke';
  else if (LAMBDA_FUNCTION.test(resource)) integration = 'lambda-function';
  else {
    throw new UnsupportedDefinitionError(
      `Task "${name}" uses resource ${resource}; the local runtime runs Lambda tasks only (lambda:invoke, lambda:invoke.waitForTaskToken, function ARNs)`,
    );
  }
  ctx.handlers.set(name, {
    kind: 'task',
    name,
    resource,
    integration,
    ...positiveNumber('timeoutSeconds', state.TimeoutSeconds),
    ...optionalString('timeoutSecondsPath', state.TimeoutSecondsPath),
    ...positiveNumber('heartbeatSeconds', state.HeartbeatSeconds),
    ...optionalString('heartbeatSecondsPath', state.HeartbeatSecondsPath),
    retry: retryPolicies(name, state.Retry),
  });
  const copy: Record<string, unknown> = { ...state };
  for (const field of TASK_FIELDS_HANDLED_LOCALLY) delete copy[field];
  copy.TimeoutSeconds = ENGINE_MAX_TIMEOUT_SECONDS;
  copy.Retry = [ENGINE_REENTRY_RETRY];
  ctx.retryIntervalOverrides[name] = 0;
  return copy;
}

function rewriteWait(name: string, state: StateObject, ctx: RewriteContext): Record<string, unknown> {
  const parameters: Record<string, unknown> = { 'input.$': '$' };
  if (state.Seconds !== undefined) parameters.seconds = state.Seconds;
  else if (state.Timestamp !== undefined) parameters.timestamp = state.Timestamp;
  else if (typeof state.SecondsPath === 'string') parameters['seconds.$'] = state.SecondsPath;
  else if (typeof state.TimestampPath === 'string') parameters['timestamp.$'] = state.TimestampPath;
  else
    throw new UnsupportedDefinitionError(`Wait "${name}" has none of Seconds, Timestamp, SecondsPath, TimestampPath`);
  ctx.handlers.set(name, { kind: 'wait', name });
  ctx.retryIntervalOverrides[name] = 0;
  const copy: Record<string, unknown> = {
    Type: 'Task',
    Resource: LOCAL_WAIT_RESOURCE,
    Parameters: parameters,
    TimeoutSeconds: ENGINE_MAX_TIMEOUT_SECONDS,
    Retry: [ENGINE_REENTRY_RETRY],
  };
  for (const field of ['Comment', 'InputPath', 'OutputPath', 'Next', 'End']) {
    if (field in state) copy[field] = state[field];
  }
  return copy;
}

function retryPolicies(name: string, retry: unknown): RetryPolicy[] {
  if (retry === undefined) return [];
  if (!Array.isArray(retry)) throw new UnsupportedDefinitionError(`Retry of "${name}" must be an array`);
  return retry.map((r): RetryPolicy => {
    const entry = asObject(r);
    const errorEquals = Array.isArray(entry.ErrorEquals) ? entry.ErrorEquals.filter((e) => typeof e === 'string') : [];
    return {
      errorEquals,
      intervalSeconds: typeof entry.IntervalSeconds === 'number' ? entry.IntervalSeconds : 1,
      maxAttempts: typeof entry.MaxAttempts === 'number' ? entry.MaxAttempts : 3,
      backoffRate: typeof entry.BackoffRate === 'number' ? entry.BackoffRate : 2,
      ...(typeof entry.MaxDelaySeconds === 'number' ? { maxDelaySeconds: entry.MaxDelaySeconds } : {}),
      jitterStrategy: entry.JitterStrategy === 'FULL' ? 'FULL' : 'NONE',
    };
  });
}

/** Index of the retrier that handles `errorName` (AWS: the first whose `ErrorEquals` names it), or -1. */
export function findRetrier(policies: readonly RetryPolicy[], errorName: string): number {
  return policies.findIndex((p) => errorMatches(p.errorEquals, errorName));
}

/** AWS's matching: `States.ALL` matches all but `States.Runtime`; `States.TaskFailed` all but `States.Timeout`. */
export function errorMatches(errorEquals: readonly string[], errorName: string): boolean {
  if (errorName === 'States.Runtime') return errorEquals.includes('States.Runtime');
  return errorEquals.some(
    (e) => e === errorName || e === 'States.ALL' || (e === 'States.TaskFailed' && errorName !== 'States.Timeout'),
  );
}

/**
 * Pause before retry number `retriesSoFar + 1`: `IntervalSeconds × BackoffRate^retriesSoFar`, capped by
 * `MaxDelaySeconds`; FULL jitter picks uniformly in [0, that].
 */
export function retryDelayMs(policy: RetryPolicy, retriesSoFar: number, random: () => number = Math.random): number {
  let seconds = policy.intervalSeconds * policy.backoffRate ** retriesSoFar;
  if (policy.maxDelaySeconds !== undefined) seconds = Math.min(seconds, policy.maxDelaySeconds);
  const ms = Math.round(seconds * 1000);
  return policy.jitterStrategy === 'FULL' ? Math.round(random() * ms) : ms;
}

/**
 * Resolves an ASL reference path (`$.a.b`, `$['a'][0]`, `$$.Execution.Id`) against the state input or the
 * context object. Reference paths have no wildcards or filters, so this small walker covers them.
 */
export function resolveReferencePath(path: string, input: unknown, context: unknown): unknown {
  let value: unknown;
  let rest: string;
  if (path.startsWith('$$')) {
    value = context;
    rest = path.slice(2);
  } else if (path.startsWith('$')) {
    value = input;
    rest = path.slice(1);
  } else {
    return undefined;
  }
  const segment = /^(?:\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;
  while (rest.length > 0) {
    const m = segment.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length);
    const key = m[1] ?? m[3] ?? m[4];
    if (key !== undefined) {
      value = isObject(value) ? value[key] : undefined;
    } else {
      value = Array.isArray(value) ? value[Number(m[2])] : undefined;
    }
    if (value === undefined) return undefined;
  }
  return value;
}

/** Replaces every occurrence of `from` inside the strings of `value` (keys included). */
export function replaceInStrings(value: Json, from: string, to: string): Json {
  if (typeof value === 'string') return value.includes(from) ? value.split(from).join(to) : value;
  if (Array.isArray(value)) return value.map((v) => replaceInStrings(v, from, to));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [replaceInStrings(k, from, to) as string, replaceInStrings(v, from, to)]),
    );
  }
  return value;
}

/**
 * The engine sets `$$.Execution.StartTime` from the wall clock; the runtime supplies the simulated start time
 * under another context key, and paths are pointed at it. Only path-valued fields are touched, never data.
 */
function rewriteStartTimePaths<T>(value: T): T {
  const from = '$$.Execution.StartTime';
  const to = `$$.Execution.${SIMULATED_START_TIME_KEY}`;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!isObject(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(v)) {
      if (key === 'Result' || key === 'States' || key === 'Branches' || key === 'ItemProcessor' || key === 'Iterator') {
        // Static data is not a path; nested machines were rewritten on their own.
        out[key] = child;
      } else if (typeof child === 'string' && (key.endsWith('.$') || key.endsWith('Path') || key === 'Variable')) {
        out[key] = child.split(from).join(to);
      } else {
        out[key] = walk(child);
      }
    }
    return out;
  };
  return walk(value) as T;
}

function isDistributed(state: StateObject): boolean {
  const processor = state.ItemProcessor;
  return isObject(processor) && isObject(processor.ProcessorConfig) && processor.ProcessorConfig.Mode === 'DISTRIBUTED';
}

function positiveNumber<K extends string>(key: K, value: unknown): Partial<Record<K, number>> {
  return typeof value === 'number' && value > 0 ? ({ [key]: value } as Record<K, number>) : {};
}

function optionalString<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' ? ({ [key]: value } as Record<K, string>) : {};
}

function asObject(value: unknown): Record<string, unknown> {
  return isObject(value) ? value : {};
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
