/**
 * Rotation by a Lambda function, as the Secrets Manager API reference and user guide document it:
 *
 * - `RotateSecret` configures rotation (the function's ARN, `RotationRules`) and starts a rotation: it labels a new
 *   version `AWSPENDING` (its id is the `ClientRequestToken`; it has no value — the function's `createSecret` step
 *   stores one under that token), answers, and then invokes the function for `createSecret`, `setSecret`,
 *   `testSecret` and `finishSecret`, in that order, each once, stopping at the first step that fails.
 * - While `AWSPENDING` is on a version other than the `AWSCURRENT` one, a previous rotation is not complete: a
 *   `RotateSecret` with another token is refused; one with that rotation's token runs it again, and one with the
 *   token of a finished rotation changes nothing (the token makes the request idempotent).
 * - `RotateImmediately: false` invokes only `testSecret`, on an `AWSPENDING` version that holds the current value,
 *   and removes the label afterwards.
 * - `LastRotatedDate` is when a rotation completed (its `finishSecret` step left `AWSCURRENT` on the new version);
 *   `NextRotationDate` is the end of the next rotation window, counted from the last rotation, from the last
 *   `PutSecretValue` that made a new version `AWSCURRENT` (a manual rotation), or from when rotation was configured.
 *   Both are omitted while rotation is off.
 * - `CancelRotateSecret` turns rotation off and stops a rotation in progress before its next step; the labels stay
 *   where they are, as AWS leaves them.
 *
 * Local simplifications: Secrets Manager's own retries of a failed rotation and its scheduled rotations do not run
 * here — a rotation starts only when `RotateSecret` asks for one. A rotation in progress is not persisted: after a
 * restart it is a rotation that stopped between steps (its `AWSPENDING` version stays).
 */
import { randomUUID } from 'node:crypto';
import { AwsError } from '../protocol';
import { nextCronOccurrence } from '../scheduler';
import { DAY_MS, type RotationRules, type SecretRecord, type SecretStore, type SecretsDocument } from './store';
import { AWSCURRENT, AWSPENDING, addVersion, holderOf, type SecretValue } from './versions';
import { type Body, epochSeconds, Input } from './wire';

/** The rotation function's steps, in the order Secrets Manager invokes them. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** What Secrets Manager invokes the rotation function with, once per step. */
export interface RotationEvent {
  Step: RotationStep;
  /** The secret's ARN. */
  SecretId: string;
  /** The id of the version this rotation stages (labelled `AWSPENDING`). */
  ClientRequestToken: string;
  /** Identifies this rotation run; a function may pass it on to `PutSecretValue`. */
  RotationToken: string;
}

/** Invokes the rotation function for one step; a rejection is a failed step (the rotation stops there). */
export type RotationInvoker = (functionArn: string, event: RotationEvent) => Promise<void>;

/** A rotation that stopped short: the step that failed and why. */
export interface RotationFailure {
  secretArn: string;
  functionArn: string;
  step: RotationStep;
  clientRequestToken: string;
  error: unknown;
}

/** How rotations run (see `LocalSecretsManagerOptions`). */
export interface RotationOptions {
  invoke?: RotationInvoker;
  canInvoke?: (functionArn: string, secretArn: string) => boolean;
  track?: <T>(work: Promise<T>) => Promise<T>;
  onFailure?: (failure: RotationFailure) => void;
}

const HOUR_MS = 3_600_000;
const SECOND_MS = 1000;
export const PREVIOUS_ROTATION_PENDING = "A previous rotation isn't complete. That rotation will be reattempted.";
export const NO_ROTATION_FUNCTION = 'No Lambda rotation function ARN is associated with this secret.';
export const CANNOT_INVOKE =
  'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.';
/** The API reference's description of this InvalidRequestException cause (moto answers CancelRotateSecret so). */
export const NEVER_CONFIGURED =
  "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.";
export const BOTH_SCHEDULES = 'You cannot specify both rotation frequency and schedule expression together.';

interface Run {
  secretArn: string;
  token: string;
  cancelled: boolean;
}

type Mode = 'rotate' | 'test';

/** The rotations in progress: each runs its steps after `RotateSecret` answered, tracked until it settles. */
export class RotationRunner {
  /** The latest run of each secret, by ARN; a newer run or CancelRotateSecret cancels it. */
  private readonly latest = new Map<string, Run>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: SecretStore,
    private readonly options: RotationOptions,
  ) {}

  /** Whether Secrets Manager may invoke the function: never without an invoker. */
  canInvoke(functionArn: string, secretArn: string): boolean {
    if (!this.options.invoke) return false;
    return this.options.canInvoke?.(functionArn, secretArn) ?? true;
  }

  isRunning(secretArn: string, token: string): boolean {
    const run = this.latest.get(secretArn);
    return run !== undefined && run.token === token && !run.cancelled;
  }

  start(secretArn: string, functionArn: string, token: string, mode: Mode): void {
    const invoke = this.options.invoke;
    if (!invoke) throw new Error('unreachable: RotateSecret checked that the function can be invoked');
    const previous = this.latest.get(secretArn);
    if (previous) previous.cancelled = true;
    const run: Run = { secretArn, token, cancelled: false };
    this.latest.set(secretArn, run);
    // AWS answers RotateSecret and rotates afterwards: the first step starts on a later turn of the event loop.
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.execute(run, invoke, functionArn, mode),
    );
    const tracked = (this.options.track ?? (<T>(w: Promise<T>) => w))(work);
    this.inFlight.add(tracked);
    const done = () => {
      this.inFlight.delete(tracked);
      if (this.latest.get(secretArn) === run) this.latest.delete(secretArn);
    };
    tracked.then(done, done);
  }

  /** Stops the secret's rotation in progress before its next step. */
  cancel(secretArn: string): void {
    const run = this.latest.get(secretArn);
    if (run) run.cancelled = true;
  }

  /** Resolves once no rotation is in progress (including rotations started while waiting). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async execute(run: Run, invoke: RotationInvoker, functionArn: string, mode: Mode): Promise<void> {
    const steps: readonly RotationStep[] = mode === 'rotate' ? ROTATION_STEPS : ['testSecret'];
    const rotationToken = randomUUID();
    const fail = (step: RotationStep, error: unknown) =>
      this.report({ secretArn: run.secretArn, functionArn, step, clientRequestToken: run.token, error });
    for (const step of steps) {
      if (run.cancelled) return;
      try {
        await invoke(functionArn, {
          Step: step,
          SecretId: run.secretArn,
          ClientRequestToken: run.token,
          RotationToken: rotationToken,
        });
      } catch (error) {
        fail(step, error);
        // A failed rotation keeps its AWSPENDING version; a configuration test removes its label either way.
        if (mode === 'rotate') return;
        break;
      }
    }
    if (run.cancelled) return;
    try {
      const incomplete = this.store.transact((doc) => this.conclude(doc, run, mode));
      if (incomplete) fail('finishSecret', incomplete);
    } catch (error) {
      fail(steps[steps.length - 1] ?? 'finishSecret', error);
    }
  }

  /** After the last step: records a completed rotation, or removes a configuration test's label. */
  private conclude(doc: SecretsDocument, run: Run, mode: Mode): Error | undefined {
    const secret = this.store.find(doc, run.secretArn);
    const version = secret?.versions.find((v) => v.id === run.token);
    if (!secret || !version) return undefined;
    const nowMs = this.store.nowMs();
    if (mode === 'test') {
      if (version.stages.includes(AWSPENDING)) {
        version.stages = version.stages.filter((s) => s !== AWSPENDING);
        secret.lastChangedMs = nowMs;
      }
      return undefined;
    }
    if (!version.stages.includes(AWSCURRENT)) {
      return new Error(
        `finishSecret returned, but version ${run.token} is not AWSCURRENT: the rotation is not complete`,
      );
    }
    if (secret.rotation) secret.rotation.lastRotatedMs = nowMs;
    return undefined;
  }

  private report(failure: RotationFailure): void {
    if (this.options.onFailure) {
      this.options.onFailure(failure);
      return;
    }
    const reason = failure.error instanceof Error ? `${failure.error.name}: ${failure.error.message}` : 'failed';
    console.error(`[secretsmanager] rotation of ${failure.secretArn} stopped at ${failure.step}: ${reason}`);
  }
}

export function rotateSecret(store: SecretStore, body: Body, runner: RotationRunner): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const token = input.string('ClientRequestToken', { min: 32, max: 64 });
  const lambdaArn = input.string('RotationLambdaARN', { max: 2048 });
  const rules = readRules(input);
  const immediately = input.boolean('RotateImmediately') ?? true;
  input.finish();
  if (rules) scheduleOf(rules);
  const secret = store.requireActive(store.state, secretId);
  const functionArn = lambdaArn || secret.rotation?.lambdaArn;
  if (!functionArn) throw new AwsError('InvalidRequestException', NO_ROTATION_FUNCTION);
  // AWS checks that it may invoke the function before it changes anything.
  if (!runner.canInvoke(functionArn, secret.arn)) throw new AwsError('AccessDeniedException', CANNOT_INVOKE);
  const versionId = token ?? store.newVersionId();
  const answer = { ARN: secret.arn, Name: secret.name, VersionId: versionId };
  const existing = secret.versions.find((v) => v.id === versionId);
  const current = holderOf(secret, AWSCURRENT);
  if (existing) {
    // The token of an earlier request: a rotation that stopped short runs again; anything else is a repeat.
    const stopped = existing.stages.includes(AWSPENDING) && existing !== current;
    if (!stopped || runner.isRunning(secret.arn, versionId)) return answer;
  } else {
    const pending = holderOf(secret, AWSPENDING);
    if (pending && pending !== current) throw new AwsError('InvalidRequestException', PREVIOUS_ROTATION_PENDING);
  }
  store.transact((doc) => {
    const target = store.requireActive(doc, secretId);
    const nowMs = store.nowMs();
    configure(target, functionArn, rules, nowMs);
    if (!existing) {
      // The configuration test runs on the current value (moto copies it; the reference says only that the test
      // "creates an AWSPENDING version of the secret and then removes it").
      const value: SecretValue = immediately ? {} : copyValue(holderOf(target, AWSCURRENT));
      addVersion(target, versionId, value, [AWSPENDING], nowMs);
    }
  });
  runner.start(secret.arn, functionArn, versionId, existing || immediately ? 'rotate' : 'test');
  return answer;
}

export function cancelRotateSecret(store: SecretStore, body: Body, runner: RotationRunner): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  input.finish();
  const secret = store.requireActive(store.state, secretId);
  if (!secret.rotation?.lambdaArn) throw new AwsError('InvalidRequestException', NEVER_CONFIGURED);
  const answer = store.transact((doc) => {
    const target = store.requireActive(doc, secretId);
    if (target.rotation) target.rotation.enabled = false;
    target.lastChangedMs = store.nowMs();
    // The version the rotation in progress (or a stopped one) created, which the caller may need to clean up.
    const pending = holderOf(target, AWSPENDING);
    const stopped = pending && pending !== holderOf(target, AWSCURRENT) ? pending : undefined;
    return { ARN: target.arn, Name: target.name, ...(stopped ? { VersionId: stopped.id } : {}) };
  });
  runner.cancel(secret.arn);
  return answer;
}

/** The rotation members of DescribeSecret and ListSecrets; none for a secret never configured for rotation. */
export function rotationFields(secret: SecretRecord): Record<string, unknown> {
  const rotation = secret.rotation;
  if (!rotation) return {};
  const next = nextRotationMs(secret);
  return {
    RotationEnabled: rotation.enabled,
    ...(rotation.lambdaArn ? { RotationLambdaARN: rotation.lambdaArn } : {}),
    ...(rotation.rules ? { RotationRules: { ...rotation.rules } } : {}),
    ...(rotation.enabled && rotation.lastRotatedMs !== undefined
      ? { LastRotatedDate: epochSeconds(rotation.lastRotatedMs) }
      : {}),
    ...(next !== undefined ? { NextRotationDate: epochSeconds(next) } : {}),
  };
}

/**
 * The end of the next rotation window (the reference: "the next rotation is scheduled to occur on or before this
 * date"), or undefined while rotation is off. A window in days is the whole UTC day, one in hours an hour, unless
 * `Duration` sets it; the date is the window's last second.
 */
export function nextRotationMs(secret: SecretRecord): number | undefined {
  const rotation = secret.rotation;
  if (!rotation?.enabled || !rotation.rules) return undefined;
  const base = Math.max(rotation.configuredMs, rotation.lastRotatedMs ?? 0, secret.valueChangedMs ?? 0);
  const schedule = scheduleOf(rotation.rules);
  if (!schedule) return undefined;
  const duration = rotation.rules.Duration;
  const windowMs = duration !== undefined ? Number.parseInt(duration, 10) * HOUR_MS : undefined;
  switch (schedule.kind) {
    case 'days': {
      // "adding the rotation interval (number of days) to the actual date of the last rotation"
      const start = dayStart(base) + schedule.days * DAY_MS;
      return start + (windowMs ?? DAY_MS) - SECOND_MS;
    }
    case 'hours': {
      // Rate windows start at midnight, then every `hours` hours.
      const period = schedule.hours * HOUR_MS;
      const day = dayStart(base);
      const start = day + (Math.floor((base - day) / period) + 1) * period;
      return start + (windowMs ?? HOUR_MS) - SECOND_MS;
    }
    case 'cron': {
      const start = nextCronOccurrence(schedule.expression, base);
      if (start === undefined) return undefined;
      const end =
        windowMs !== undefined ? start + windowMs : schedule.hourly ? start + HOUR_MS : dayStart(start) + DAY_MS;
      return end - SECOND_MS;
    }
  }
}

type Schedule =
  | { kind: 'days'; days: number }
  | { kind: 'hours'; hours: number }
  | { kind: 'cron'; expression: string; hourly: boolean };

/**
 * The schedule the rules set, checked as the reference documents it: `AutomaticallyAfterDays` or
 * `ScheduleExpression` but not both, rotation at most every four hours, a window that ends before the next one.
 * The wording of these messages, other than the first, is the emulator's: the reference does not give it.
 * @throws AwsError `InvalidParameterException`
 */
function scheduleOf(rules: RotationRules): Schedule | undefined {
  const { AutomaticallyAfterDays: days, ScheduleExpression: expression, Duration: duration } = rules;
  if (days !== undefined && expression !== undefined) throw new AwsError('InvalidParameterException', BOTH_SCHEDULES);
  const windowHours = duration !== undefined ? Number.parseInt(duration, 10) : undefined;
  if (windowHours !== undefined && (windowHours < 1 || windowHours > 24)) {
    throw new AwsError(
      'InvalidParameterException',
      `The rotation window ${duration} must be between 1h and 24h: it must not extend into the next UTC day.`,
    );
  }
  if (days !== undefined) return { kind: 'days', days };
  if (expression === undefined) return undefined;
  const invalid = (why: string) =>
    new AwsError('InvalidParameterException', `The schedule expression ${expression} is not valid: ${why}`);
  const rate = /^rate\((\d+) (hours?|days?)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    if (rate[2]?.startsWith('day')) {
      if (value < 1 || value > 1000) throw invalid('a rate in days must be between 1 and 1000 days.');
      return { kind: 'days', days: value };
    }
    if (value < 4) throw invalid('Secrets Manager rotates a secret at most every four hours.');
    if (windowHours !== undefined && windowHours > value) {
      throw invalid('the rotation window must not extend into the next rotation window.');
    }
    return { kind: 'hours', hours: value };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) throw invalid('expected rate(n hours), rate(n days) or cron(...).');
  try {
    nextCronOccurrence(expression, 0);
  } catch (error) {
    if (error instanceof AwsError) throw invalid(error.message.replace(/^Invalid Schedule Expression [^:]*: /, ''));
    throw error;
  }
  // A cron schedule "in hours" names more than one hour; its window closes after an hour, a daily one's at midnight.
  const hours = cron[1]?.trim().split(/\s+/)[1] ?? '';
  return { kind: 'cron', expression, hourly: !/^\d+$/.test(hours) };
}

function readRules(input: Input): RotationRules | undefined {
  const rules = input.structure('RotationRules');
  if (!rules) return undefined;
  const days = rules.integer('AutomaticallyAfterDays', { min: 1, max: 1000 });
  const expression = rules.string('ScheduleExpression', {
    min: 1,
    max: 256,
    pattern: { test: /^[0-9A-Za-z()#?*\-/, ]+$/, text: '[0-9A-Za-z\\(\\)#\\?\\*\\-\\/, ]+' },
  });
  const duration = rules.string('Duration', { min: 2, max: 3, pattern: { test: /^[0-9]+h$/, text: '[0-9]+h' } });
  return {
    ...(days !== undefined ? { AutomaticallyAfterDays: days } : {}),
    ...(expression !== undefined ? { ScheduleExpression: expression } : {}),
    ...(duration !== undefined ? { Duration: duration } : {}),
  };
}

/** Records the function and rules (rules given replace the stored ones); the schedule restarts when they change. */
function configure(secret: SecretRecord, functionArn: string, rules: RotationRules | undefined, nowMs: number): void {
  const before = secret.rotation;
  const nextRules = rules ?? before?.rules;
  // With no schedule, rotation is not enabled: moto's choice (the reference does not say).
  const enabled = nextRules !== undefined && scheduleOf(nextRules) !== undefined;
  const restarted = rules !== undefined || !before?.enabled;
  secret.rotation = {
    lambdaArn: functionArn,
    ...(nextRules ? { rules: nextRules } : {}),
    enabled,
    configuredMs: restarted || !before ? nowMs : before.configuredMs,
    ...(before?.lastRotatedMs !== undefined ? { lastRotatedMs: before.lastRotatedMs } : {}),
  };
  secret.lastChangedMs = nowMs;
}

function copyValue(version: { string?: string; binary?: string } | undefined): SecretValue {
  return {
    ...(version?.string !== undefined ? { string: version.string } : {}),
    ...(version?.binary !== undefined ? { binary: version.binary } : {}),
  };
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
