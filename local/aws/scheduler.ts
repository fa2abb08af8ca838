/**
 * EventBridge Scheduler for the local AWS endpoint (restJson1: `/schedules/{Name}`, `/schedule-groups/{Name}`).
 *
 * Schedules fire on the simulated clock: each armed schedule holds one `clock.at()` deadline for its next
 * occurrence, so `POST /local/clock/advance` fires them in time order. Targets are invoked through the
 * injected `fireTarget` (the runtime maps Step Functions ARNs and the `aws-sdk:sfn:startExecution` universal
 * target to its Step Functions emulator). Schedules, groups and what already fired persist to a JSON file;
 * on start-up schedules are re-armed, and what fell due while the runtime was down fires once.
 *
 * Local simplifications (documented): a flexible time window fires at its earliest time; a failed target is
 * reported through `onError` and not retried (no RetryPolicy, no dead-letter queue); tags are not supported.
 */
import { randomUUID } from 'node:crypto';
import type { SimulatedClock, SimulatedTimer } from '../clock';
import type { DescribedAwsService } from './edge';
import { JsonStore } from './json-store';
import { AwsError, type AwsRequest, type AwsResponse, LOCAL_ACCOUNT, LOCAL_REGION } from './protocol';

/** What a firing schedule hands to the runtime. */
export interface FiredTarget {
  /** `Target.Arn`: a resource ARN or a universal target (`arn:aws:scheduler:::aws-sdk:<service>:<action>`). */
  arn: string;
  roleArn: string;
  /** `Target.Input` with Scheduler's context attributes (`<aws.scheduler.scheduled-time>`, …) filled in. */
  input: string | undefined;
  scheduleName: string;
  groupName: string;
  scheduleArn: string;
  /** The occurrence being fired (simulated time). */
  scheduledTime: Date;
}

export interface SchedulerOptions {
  clock: SimulatedClock;
  /** Invokes a schedule's target. */
  fireTarget: (target: FiredTarget) => Promise<void>;
  /** JSON file that schedules persist to; in memory when absent. */
  file?: string;
  /** Told when a target invocation fails. @default console.error */
  onError?: (error: unknown, target: FiredTarget) => void;
}

/** A schedule as the runtime's debugging views show it. */
export interface ScheduleInfo {
  groupName: string;
  name: string;
  expression: string;
  state: ScheduleState;
  /** When it fires next (simulated time, ISO-8601), while armed. */
  nextFireAt?: string;
}

export interface SchedulerService extends DescribedAwsService {
  /** Arms every enabled schedule; until then schedules are stored but never fire. */
  start(): void;
  /** Disarms every schedule (nothing fires afterwards). */
  close(): void;
  list(): ScheduleInfo[];
}

type ScheduleState = 'ENABLED' | 'DISABLED';
type ActionAfterCompletion = 'NONE' | 'DELETE';

interface StoredSchedule {
  name: string;
  groupName: string;
  expression: string;
  timezone?: string;
  /** Epoch milliseconds. */
  startDate?: number;
  endDate?: number;
  description?: string;
  state: ScheduleState;
  flexibleTimeWindow: { Mode: string; MaximumWindowInMinutes?: number };
  /** `Target` as the client sent it (returned unchanged by GetSchedule). */
  target: Record<string, unknown> & { Arn: string; RoleArn: string; Input?: string };
  actionAfterCompletion: ActionAfterCompletion;
  kmsKeyArn?: string;
  creationDate: number;
  lastModificationDate: number;
  /** One-time schedules: when it fired (so it never fires twice, across restarts too). */
  firedAt?: number;
  /** Recurring schedules: the last firing; the next occurrence is the first one after it. */
  lastFiredAt?: number;
}

interface StoredGroup {
  name: string;
  creationDate: number;
  lastModificationDate: number;
}

interface Document {
  groups: StoredGroup[];
  schedules: StoredSchedule[];
}

interface Entry {
  schedule: StoredSchedule;
  timer?: SimulatedTimer;
}

const DEFAULT_GROUP = 'default';
const NAME_PATTERN = /^[0-9a-zA-Z\-_.]{1,64}$/;
const UNIVERSAL_PLACEHOLDERS = /<aws\.scheduler\.(scheduled-time|execution-id|schedule-arn|attempt-number)>/g;

/** Creates the Scheduler service. Call `start()` once the targets can be invoked. */
export function createScheduler(options: SchedulerOptions): SchedulerService {
  return new Scheduler(options).service();
}

class Scheduler {
  private readonly clock: SimulatedClock;
  private readonly store: JsonStore<Document>;
  private readonly groups = new Map<string, StoredGroup>();
  private readonly entries = new Map<string, Entry>();
  private started = false;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock;
    this.store = new JsonStore<Document>(options.file, () => ({ groups: [], schedules: [] }));
    const document = this.store.read();
    for (const group of document.groups ?? []) this.groups.set(group.name, group);
    if (!this.groups.has(DEFAULT_GROUP)) {
      const now = this.clock.nowMs();
      this.groups.set(DEFAULT_GROUP, { name: DEFAULT_GROUP, creationDate: now, lastModificationDate: now });
    }
    for (const schedule of document.schedules ?? []) {
      this.entries.set(key(schedule.groupName, schedule.name), { schedule });
    }
  }

  service(): SchedulerService {
    return {
      name: 'scheduler',
      operations: [
        'CreateSchedule',
        'GetSchedule',
        'UpdateSchedule',
        'DeleteSchedule',
        'ListSchedules',
        'CreateScheduleGroup',
        'GetScheduleGroup',
        'DeleteScheduleGroup',
        'ListScheduleGroups',
      ],
      matches: (req) =>
        !req.target &&
        (/^\/schedules(\/|$)/.test(req.path) ||
          /^\/schedule-groups(\/|$)/.test(req.path) ||
          (req.path.startsWith('/tags/') && decodeURIComponent(req.path).includes(':scheduler:'))),
      operation: (req) => route(req).operation,
      handle: async (req) => this.handle(req),
      start: () => {
        this.started = true;
        for (const entry of this.entries.values()) this.arm(entry);
      },
      close: () => {
        this.started = false;
        for (const entry of this.entries.values()) {
          entry.timer?.cancel();
          entry.timer = undefined;
        }
      },
      list: () =>
        [...this.entries.values()].map(({ schedule, timer }) => ({
          groupName: schedule.groupName,
          name: schedule.name,
          expression: schedule.expression,
          state: schedule.state,
          ...(timer ? { nextFireAt: timer.dueAt.toISOString() } : {}),
        })),
    };
  }

  private handle(req: AwsRequest): AwsResponse {
    const { operation, name } = route(req);
    switch (operation) {
      case 'CreateSchedule':
        return ok(this.putSchedule(requireName(name), parseBody(req.body), 'create'));
      case 'UpdateSchedule':
        return ok(this.putSchedule(requireName(name), parseBody(req.body), 'update'));
      case 'GetSchedule':
        return ok(this.getSchedule(requireName(name), req.query.get('groupName') ?? undefined));
      case 'DeleteSchedule':
        this.deleteSchedule(requireName(name), req.query.get('groupName') ?? undefined);
        return ok({});
      case 'ListSchedules':
        return ok(this.listSchedules(req.query));
      case 'CreateScheduleGroup':
        return ok(this.createGroup(requireName(name)));
      case 'GetScheduleGroup':
        return ok(groupView(this.requireGroup(requireName(name))));
      case 'DeleteScheduleGroup':
        this.deleteGroup(requireName(name));
        return ok({});
      case 'ListScheduleGroups':
        return ok(this.listGroups(req.query));
      default:
        throw new AwsError('UnknownOperationException', `Operation ${operation} of scheduler is not supported locally`);
    }
  }

  // --- schedules ------------------------------------------------------------------------------------------

  private putSchedule(name: string, input: Record<string, unknown>, mode: 'create' | 'update') {
    checkName(name, 'name');
    const groupName = optionalString(input, 'GroupName') ?? DEFAULT_GROUP;
    checkName(groupName, 'groupName');
    this.requireGroup(groupName);
    const id = key(groupName, name);
    const existing = this.entries.get(id);
    if (mode === 'create' && existing) throw new AwsError('ConflictException', `Schedule ${name} already exists.`, 409);
    if (mode === 'update' && !existing) {
      throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    }
    const now = this.clock.nowMs();
    const schedule = this.validate(name, groupName, input, now);
    // UpdateSchedule replaces the whole definition (omitted members reset to defaults), and a changed
    // definition may fire again.
    schedule.creationDate = existing?.schedule.creationDate ?? now;
    existing?.timer?.cancel();
    const entry: Entry = { schedule };
    this.entries.set(id, entry);
    this.persist();
    this.arm(entry);
    return { ScheduleArn: scheduleArn(groupName, name) };
  }

  private validate(name: string, groupName: string, input: Record<string, unknown>, now: number): StoredSchedule {
    const expression = optionalString(input, 'ScheduleExpression');
    if (!expression) throw validation('ScheduleExpression is required.');
    if (expression.length > 256) throw validation('ScheduleExpression must be at most 256 characters long.');
    const timezone = optionalString(input, 'ScheduleExpressionTimezone');
    if (timezone !== undefined && !isTimeZone(timezone)) {
      throw validation(`Invalid ScheduleExpressionTimezone ${timezone}.`);
    }
    compile(expression, timezone);

    const window = input.FlexibleTimeWindow;
    if (!isObject(window)) throw validation('FlexibleTimeWindow is required.');
    const mode = window.Mode;
    if (mode !== 'OFF' && mode !== 'FLEXIBLE') {
      throw validation("FlexibleTimeWindow.Mode must be one of 'OFF', 'FLEXIBLE'.");
    }
    const maxWindow = window.MaximumWindowInMinutes;
    if (mode === 'FLEXIBLE') {
      if (typeof maxWindow !== 'number' || !Number.isInteger(maxWindow) || maxWindow < 1 || maxWindow > 1440) {
        throw validation('FlexibleTimeWindow.MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.');
      }
    } else if (maxWindow !== undefined) {
      throw validation('FlexibleTimeWindow.MaximumWindowInMinutes is only allowed when Mode is FLEXIBLE.');
    }

    const target = input.Target;
    if (!isObject(target)) throw validation('Target is required.');
    if (typeof target.Arn !== 'string' || target.Arn === '') throw validation('Target.Arn is required.');
    if (typeof target.RoleArn !== 'string' || target.RoleArn === '') throw validation('Target.RoleArn is required.');
    if (target.Input !== undefined && typeof target.Input !== 'string') {
      throw validation('Target.Input must be a string.');
    }

    const state = optionalString(input, 'State') ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') throw validation("State must be one of 'ENABLED', 'DISABLED'.");
    const action = optionalString(input, 'ActionAfterCompletion') ?? 'NONE';
    if (action !== 'NONE' && action !== 'DELETE') {
      throw validation("ActionAfterCompletion must be one of 'NONE', 'DELETE'.");
    }
    const description = optionalString(input, 'Description');
    if (description !== undefined && description.length > 512) {
      throw validation('Description must be at most 512 characters long.');
    }
    const startDate = optionalEpoch(input, 'StartDate');
    const endDate = optionalEpoch(input, 'EndDate');
    if (startDate !== undefined && startDate < now - 5 * 60_000) {
      throw validation('The StartDate you specify cannot be earlier than 5 minutes ago.');
    }
    if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
      throw validation('The EndDate you specify must be after the StartDate.');
    }
    const kmsKeyArn = optionalString(input, 'KmsKeyArn');

    return {
      name,
      groupName,
      expression,
      ...(timezone !== undefined ? { timezone } : {}),
      ...(startDate !== undefined ? { startDate } : {}),
      ...(endDate !== undefined ? { endDate } : {}),
      ...(description !== undefined ? { description } : {}),
      state,
      flexibleTimeWindow: {
        Mode: mode,
        ...(typeof maxWindow === 'number' ? { MaximumWindowInMinutes: maxWindow } : {}),
      },
      target: target as StoredSchedule['target'],
      actionAfterCompletion: action,
      ...(kmsKeyArn !== undefined ? { kmsKeyArn } : {}),
      creationDate: now,
      lastModificationDate: now,
    };
  }

  private getSchedule(name: string, groupName = DEFAULT_GROUP) {
    const s = this.requireSchedule(name, groupName).schedule;
    return {
      Arn: scheduleArn(s.groupName, s.name),
      GroupName: s.groupName,
      Name: s.name,
      ScheduleExpression: s.expression,
      ...(s.timezone !== undefined ? { ScheduleExpressionTimezone: s.timezone } : {}),
      ...(s.startDate !== undefined ? { StartDate: s.startDate / 1000 } : {}),
      ...(s.endDate !== undefined ? { EndDate: s.endDate / 1000 } : {}),
      ...(s.description !== undefined ? { Description: s.description } : {}),
      State: s.state,
      CreationDate: s.creationDate / 1000,
      LastModificationDate: s.lastModificationDate / 1000,
      ...(s.kmsKeyArn !== undefined ? { KmsKeyArn: s.kmsKeyArn } : {}),
      Target: s.target,
      FlexibleTimeWindow: s.flexibleTimeWindow,
      ActionAfterCompletion: s.actionAfterCompletion,
    };
  }

  private deleteSchedule(name: string, groupName = DEFAULT_GROUP): void {
    const entry = this.requireSchedule(name, groupName);
    entry.timer?.cancel();
    this.entries.delete(key(groupName, name));
    this.persist();
  }

  private listSchedules(query: URLSearchParams) {
    const group = query.get('ScheduleGroup') ?? undefined;
    const prefix = query.get('NamePrefix') ?? '';
    const state = query.get('State') ?? undefined;
    if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED') {
      throw validation("State must be one of 'ENABLED', 'DISABLED'.");
    }
    const all = [...this.entries.values()]
      .map((e) => e.schedule)
      .filter((s) => (group === undefined || s.groupName === group) && s.name.startsWith(prefix))
      .filter((s) => state === undefined || s.state === state)
      .sort((a, b) => compareText(a.groupName, b.groupName) || compareText(a.name, b.name));
    const { items, nextToken } = page(all, query);
    return {
      Schedules: items.map((s) => ({
        Arn: scheduleArn(s.groupName, s.name),
        Name: s.name,
        GroupName: s.groupName,
        State: s.state,
        CreationDate: s.creationDate / 1000,
        LastModificationDate: s.lastModificationDate / 1000,
        Target: { Arn: s.target.Arn },
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  private requireSchedule(name: string, groupName: string): Entry {
    this.requireGroup(groupName);
    const entry = this.entries.get(key(groupName, name));
    if (!entry) throw new AwsError('ResourceNotFoundException', `Schedule ${name} does not exist.`, 404);
    return entry;
  }

  // --- groups ---------------------------------------------------------------------------------------------

  private createGroup(name: string) {
    checkName(name, 'name');
    if (this.groups.has(name)) throw new AwsError('ConflictException', `Schedule group ${name} already exists.`, 409);
    const now = this.clock.nowMs();
    this.groups.set(name, { name, creationDate: now, lastModificationDate: now });
    this.persist();
    return { ScheduleGroupArn: groupArn(name) };
  }

  private requireGroup(name: string): StoredGroup {
    const group = this.groups.get(name);
    if (!group) throw new AwsError('ResourceNotFoundException', `Schedule group ${name} does not exist.`, 404);
    return group;
  }

  private deleteGroup(name: string): void {
    if (name === DEFAULT_GROUP) throw validation('You cannot delete the default group.');
    this.requireGroup(name);
    // Deleting a group deletes its schedules (AWS does it asynchronously; here at once).
    for (const [id, entry] of this.entries) {
      if (entry.schedule.groupName !== name) continue;
      entry.timer?.cancel();
      this.entries.delete(id);
    }
    this.groups.delete(name);
    this.persist();
  }

  private listGroups(query: URLSearchParams) {
    const prefix = query.get('NamePrefix') ?? '';
    const all = [...this.groups.values()]
      .filter((g) => g.name.startsWith(prefix))
      .sort((a, b) => compareText(a.name, b.name));
    const { items, nextToken } = page(all, query);
    return { ScheduleGroups: items.map(groupView), ...(nextToken ? { NextToken: nextToken } : {}) };
  }

  // --- firing ---------------------------------------------------------------------------------------------

  /** (Re)registers the entry's next occurrence with the clock. */
  private arm(entry: Entry): void {
    entry.timer?.cancel();
    entry.timer = undefined;
    const s = entry.schedule;
    if (!this.started || s.state !== 'ENABLED') return;
    const due = nextDue(s, this.clock.nowMs());
    if (due === undefined) {
      // A recurring schedule past its last occurrence is complete.
      const ended = s.lastFiredAt !== undefined || (s.endDate !== undefined && s.endDate <= this.clock.nowMs());
      if (compile(s.expression, s.timezone).kind !== 'at' && s.actionAfterCompletion === 'DELETE' && ended) {
        this.remove(entry);
      }
      return;
    }
    entry.timer = this.clock.at(new Date(due), () => this.fire(entry, due));
  }

  private fire(entry: Entry, due: number): void {
    entry.timer = undefined;
    const s = entry.schedule;
    if (this.entries.get(key(s.groupName, s.name)) !== entry) return;
    const firedAt = Math.max(due, this.clock.nowMs());
    const oneTime = compile(s.expression, s.timezone).kind === 'at';
    if (oneTime) s.firedAt = firedAt;
    else s.lastFiredAt = firedAt;
    this.persist();
    if (!oneTime) this.arm(entry);

    const arn = scheduleArn(s.groupName, s.name);
    const target: FiredTarget = {
      arn: s.target.Arn,
      roleArn: s.target.RoleArn,
      input: fillPlaceholders(s.target.Input, { scheduledTime: new Date(due), scheduleArn: arn }),
      scheduleName: s.name,
      groupName: s.groupName,
      scheduleArn: arn,
      scheduledTime: new Date(due),
    };
    const work = (async () => {
      try {
        await this.options.fireTarget(target);
      } catch (error) {
        (this.options.onError ?? defaultOnError)(error, target);
      } finally {
        if (oneTime && s.actionAfterCompletion === 'DELETE') this.remove(entry);
      }
    })();
    this.clock.track(work);
  }

  /** Removes the entry unless it was replaced meanwhile (an update after the firing started). */
  private remove(entry: Entry): void {
    const id = key(entry.schedule.groupName, entry.schedule.name);
    if (this.entries.get(id) !== entry) return;
    entry.timer?.cancel();
    this.entries.delete(id);
    this.persist();
  }

  private persist(): void {
    this.store.write({
      groups: [...this.groups.values()],
      schedules: [...this.entries.values()].map((e) => e.schedule),
    });
  }
}

function defaultOnError(error: unknown, target: FiredTarget): void {
  console.error(`[scheduler] ${target.groupName}/${target.scheduleName} failed to invoke ${target.arn}:`, error);
}

/**
 * The next occurrence to fire, or `undefined` when none is left. Recurring occurrences missed while the runtime
 * was down collapse into the latest one, so a restart fires a recurring schedule once, not once per miss.
 */
function nextDue(s: StoredSchedule, nowMs: number): number | undefined {
  const expression = compile(s.expression, s.timezone);
  if (expression.kind === 'at') return s.firedAt === undefined ? expression.at : undefined;
  const start = s.startDate ?? s.creationDate;
  const after = s.lastFiredAt ?? start - 1;
  const inRange = (t: number | undefined): t is number =>
    t !== undefined && (s.endDate === undefined || t <= s.endDate);
  const first = expression.next(after, start);
  if (!inRange(first)) return undefined;
  if (first >= nowMs) return first;
  let latest = first;
  // Looking back one day bounds the scan; an older miss still fires once, at its own time.
  for (
    let probe = expression.next(Math.max(after, nowMs - DAY_MS), start);
    inRange(probe) && probe <= nowMs;
    probe = expression.next(probe, start)
  ) {
    latest = Math.max(latest, probe);
  }
  return latest;
}

function fillPlaceholders(
  input: string | undefined,
  context: { scheduledTime: Date; scheduleArn: string },
): string | undefined {
  if (input === undefined) return undefined;
  return input.replace(UNIVERSAL_PLACEHOLDERS, (_, attribute: string) => {
    switch (attribute) {
      case 'scheduled-time':
        return context.scheduledTime.toISOString().replace(/\.\d{3}Z$/, 'Z');
      case 'execution-id':
        return randomUUID();
      case 'schedule-arn':
        return context.scheduleArn;
      default:
        return '1';
    }
  });
}

// --- expressions ----------------------------------------------------------------------------------------

type Compiled =
  | { kind: 'at'; at: number }
  | { kind: 'rate' | 'cron'; next: (afterMs: number, startMs: number) => number | undefined };

const MINUTE = 60_000;
const DAY_MS = 24 * 60 * MINUTE;
const RATE_UNITS: Record<string, number> = {
  minute: MINUTE,
  minutes: MINUTE,
  hour: 60 * MINUTE,
  hours: 60 * MINUTE,
  day: 24 * 60 * MINUTE,
  days: 24 * 60 * MINUTE,
};

/**
 * Parses `at(yyyy-mm-ddThh:mm:ss)`, `rate(n unit)` or a six-field `cron(...)`.
 * @throws AwsError `ValidationException` naming what is wrong.
 */
function compile(expression: string, timezone: string | undefined): Compiled {
  const invalid = (why: string) => validation(`Invalid Schedule Expression ${expression}: ${why}`);
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at) {
    const [y, mo, d, h, mi, s] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    if (probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
      throw invalid('not a valid date and time.');
    }
    return { kind: 'at', at: zonedToUtc(y, mo, d, h, mi, s, timezone) };
  }
  if (expression.startsWith('at(')) throw invalid('expected at(yyyy-mm-ddThh:mm:ss).');

  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = RATE_UNITS[rate[2] ?? ''];
    if (!unit) throw invalid('the unit must be minute(s), hour(s) or day(s).');
    if (!Number.isSafeInteger(value) || value < 1) throw invalid('the value must be a positive integer.');
    const period = value * unit;
    return {
      kind: 'rate',
      // Occurrences are start, start + period, …; the first one after `afterMs`.
      next: (afterMs, startMs) =>
        afterMs < startMs ? startMs : startMs + (Math.floor((afterMs - startMs) / period) + 1) * period,
    };
  }
  if (expression.startsWith('rate(')) throw invalid('expected rate(value unit).');

  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const spec = parseCron(cron[1] ?? '', invalid);
    return { kind: 'cron', next: (afterMs) => nextCron(spec, afterMs, timezone) };
  }
  throw invalid('expected at(...), rate(...) or cron(...).');
}

/**
 * The first occurrence of a six-field `cron(...)` expression (UTC) strictly after `afterMs`, for the services that
 * share EventBridge's cron syntax (Secrets Manager rotation schedules).
 * @throws AwsError `ValidationException` naming what is wrong with the expression.
 */
export function nextCronOccurrence(expression: string, afterMs: number): number | undefined {
  const compiled = compile(expression, undefined);
  if (compiled.kind !== 'cron') throw validation(`Invalid Schedule Expression ${expression}: expected cron(...).`);
  return compiled.next(afterMs, afterMs);
}

interface CronSpec {
  minutes: number[];
  hours: number[];
  daysOfMonth: Set<number> | undefined;
  months: Set<number>;
  /** 1 = Sunday … 7 = Saturday, as AWS counts. */
  daysOfWeek: Set<number> | undefined;
  years: Set<number>;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseCron(body: string, invalid: (why: string) => AwsError): CronSpec {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw invalid('cron needs six fields (minutes hours day-of-month month day-of-week year).');
  }
  const [minutes, hours, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  // Day names go first: WED is a day, not the W feature.
  const dayFeatures = `${dom} ${dow.toUpperCase().replace(/SUN|MON|TUE|WED|THU|FRI|SAT/g, '')}`;
  if (/[LW#]/i.test(dayFeatures)) {
    throw invalid('the L, W and # cron features are not supported by the local Scheduler.');
  }
  if ((dom === '?') === (dow === '?')) {
    throw invalid('exactly one of day-of-month and day-of-week must be ?.');
  }
  const field = (text: string, name: string, min: number, max: number, names?: string[]) =>
    parseCronField(text, min, max, names, (why) => invalid(`${name}: ${why}`));
  return {
    minutes: [...field(minutes, 'minutes', 0, 59)].sort((a, b) => a - b),
    hours: [...field(hours, 'hours', 0, 23)].sort((a, b) => a - b),
    daysOfMonth: dom === '?' ? undefined : field(dom, 'day-of-month', 1, 31),
    months: field(month, 'month', 1, 12, MONTHS),
    daysOfWeek: dow === '?' ? undefined : field(dow, 'day-of-week', 1, 7, WEEKDAYS),
    years: field(year, 'year', 1970, 2199),
  };
}

/** One cron field: `*`, `n`, `a-b`, `*\/s`, `a/s`, `a-b/s` and comma lists of them. */
function parseCronField(
  text: string,
  min: number,
  max: number,
  names: string[] | undefined,
  invalid: (why: string) => AwsError,
): Set<number> {
  const value = (token: string): number => {
    const index = names?.indexOf(token.toUpperCase()) ?? -1;
    const n = index >= 0 ? index + 1 : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw invalid(`'${token}' is not between ${min} and ${max}.`);
    return n;
  };
  const result = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw invalid(`'${part}' has an invalid step.`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [min, max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [from, to] = [value(a), value(b)];
      if (from > to) throw invalid(`'${range}' is a descending range.`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let n = from; n <= to; n += step) result.add(n);
  }
  return result;
}

/** The first cron occurrence strictly after `afterMs`, scanning up to ten years of days. */
function nextCron(spec: CronSpec, afterMs: number, timezone: string | undefined): number | undefined {
  const local = localParts(afterMs, timezone);
  for (let offset = 0; offset < 3660; offset++) {
    const day = new Date(Date.UTC(local.year, local.month - 1, local.day + offset));
    const [y, mo, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    if (!spec.years.has(y) || !spec.months.has(mo)) continue;
    if (spec.daysOfMonth && !spec.daysOfMonth.has(d)) continue;
    if (spec.daysOfWeek && !spec.daysOfWeek.has(day.getUTCDay() + 1)) continue;
    for (const h of spec.hours) {
      for (const mi of spec.minutes) {
        const t = zonedToUtc(y, mo, d, h, mi, 0, timezone);
        if (t > afterMs) return t;
      }
    }
  }
  return undefined;
}

// --- time zones -----------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function localParts(ms: number, zone: string | undefined) {
  if (!zone || zone === 'UTC') {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(ms))) parts[part.type] = Number(part.value);
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The zone's offset from UTC at instant `ms`, in milliseconds. */
function offsetAt(ms: number, zone: string | undefined): number {
  const p = localParts(ms, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant at which the wall clock in `zone` shows the given local time. */
function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, zone?: string): number {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (!zone || zone === 'UTC') return asUtc;
  const first = asUtc - offsetAt(asUtc, zone);
  // Near a DST change the offset at the guess can differ from the offset at the answer.
  return asUtc - offsetAt(first, zone);
}

// --- protocol helpers -----------------------------------------------------------------------------------

function route(req: AwsRequest): { operation: string; name?: string } {
  const schedule = /^\/schedules\/([^/]+)$/.exec(req.path);
  const group = /^\/schedule-groups\/([^/]+)$/.exec(req.path);
  const name = schedule?.[1] ?? group?.[1];
  const decoded = name === undefined ? undefined : decodeURIComponent(name);
  const operations: Record<string, string> = schedule
    ? { POST: 'CreateSchedule', GET: 'GetSchedule', PUT: 'UpdateSchedule', DELETE: 'DeleteSchedule' }
    : group
      ? { POST: 'CreateScheduleGroup', GET: 'GetScheduleGroup', DELETE: 'DeleteScheduleGroup' }
      : req.path === '/schedules'
        ? { GET: 'ListSchedules' }
        : req.path === '/schedule-groups'
          ? { GET: 'ListScheduleGroups' }
          : req.path.startsWith('/tags/')
            ? { GET: 'ListTagsForResource', POST: 'TagResource', DELETE: 'UntagResource' }
            : {};
  return {
    operation: operations[req.method] ?? `${req.method} ${req.path}`,
    ...(decoded !== undefined ? { name: decoded } : {}),
  };
}

function ok(value: unknown): AwsResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message, 400);
}

function key(groupName: string, name: string): string {
  return `${groupName}/${name}`;
}

function scheduleArn(groupName: string, name: string): string {
  return `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule/${groupName}/${name}`;
}

function groupArn(name: string): string {
  return `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule-group/${name}`;
}

function groupView(g: StoredGroup) {
  return {
    Arn: groupArn(g.name),
    Name: g.name,
    State: 'ACTIVE',
    CreationDate: g.creationDate / 1000,
    LastModificationDate: g.lastModificationDate / 1000,
  };
}

function requireName(name: string | undefined): string {
  if (name === undefined) throw validation('Name is required.');
  return name;
}

function checkName(value: string, member: string): void {
  if (!NAME_PATTERN.test(value)) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$ and have length between 1 and 64`,
    );
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (isObject(parsed)) return parsed;
  } catch {
    // answered below
  }
  throw validation('The request body is not a JSON object.');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(`${member} must be a string.`);
  return value;
}

/** restJson1 timestamps arrive as epoch seconds. */
function optionalEpoch(input: Record<string, unknown>, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw validation(`${member} must be a timestamp.`);
  return Math.round(value * 1000);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `MaxResults`/`NextToken` paging; the token is the offset of the next item. */
function page<T>(all: T[], query: URLSearchParams): { items: T[]; nextToken?: string } {
  const maxText = query.get('MaxResults');
  const max = maxText === null ? 100 : Number(maxText);
  if (!Number.isInteger(max) || max < 1 || max > 100) throw validation('MaxResults must be between 1 and 100.');
  const token = query.get('NextToken');
  const offset = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(offset) || offset < 0) throw validation('The NextToken is not valid.');
  const items = all.slice(offset, offset + max);
  const next = offset + max < all.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
  return { items, ...(next ? { nextToken: next } : {}) };
}
