/**
 * EventBridge for the local AWS endpoint (awsJson1.1, `AWSEvents.*`): `PutEvents` validates entries as
 * EventBridge does, stamps them with the simulated time and persists them; the runtime lists them at
 * `GET /local/events`. Rules come from the template (`setRules`): each accepted event is matched against the rules
 * of its bus (EventBridge's event patterns) and handed, as EventBridge sends it to a target (the event envelope,
 * or what the target's `Input`, `InputPath` or `InputTransformer` makes of it), to `deliver`.
 *
 * Local simplification (documented): a delivery that fails is reported through `onDeliveryError` and not retried
 * (the runtime delivers to its in-process SQS, which fails only when the queue is gone).
 */
import { randomUUID } from 'node:crypto';
import type { DescribedAwsService } from './edge';
import { type EventPattern, matchesEventPattern } from './event-pattern';
import { JsonStore } from './json-store';
import { AwsError, type AwsRequest, jsonOk, LOCAL_ACCOUNT, LOCAL_REGION } from './protocol';

const TARGET_PREFIX = 'AWSEvents.';
/** EventBridge accepts 1 to 10 entries per call, at most 256 KB in all. */
const MAX_ENTRIES = 10;
const MAX_TOTAL_BYTES = 256 * 1024;
/** Oldest events are dropped beyond this many, so a long-running demo does not grow without bound. */
const MAX_STORED_EVENTS = 10_000;

/** One accepted event: EventBridge's event envelope plus the bus it was put on. */
export interface StoredEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO-8601 UTC. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  eventBusName: string;
}

export interface EventBridgeOptions {
  /** JSON file the events persist to; in memory when absent. */
  file?: string;
  /** The simulated clock's `now`. @default wall-clock time */
  now?: () => Date;
  /** Told about every accepted event (e.g. to log it). */
  onEvent?: (event: StoredEvent) => void;
  /** Sends the text a matching rule's target receives (see {@link EventRule}). */
  deliver?: (target: EventRuleTarget, text: string, rule: EventRule) => void;
  /** Told when `deliver` throws. @default console.error */
  onDeliveryError?: (error: unknown, target: EventRuleTarget, rule: EventRule) => void;
}

/** A rule of a bus: events matching `pattern` go to every target. */
export interface EventRule {
  name: string;
  eventBusName: string;
  pattern: EventPattern;
  targets: EventRuleTarget[];
}

export interface EventRuleTarget {
  id: string;
  arn: string;
  input?: string;
  inputPath?: string;
  inputTransformer?: { inputPathsMap: Record<string, string>; inputTemplate: string };
}

export interface EventBridgeService extends DescribedAwsService {
  /** Accepted events, oldest first. */
  listEvents(): StoredEvent[];
  /** Replaces the rules events are matched against. */
  setRules(rules: readonly EventRule[]): void;
}

interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

/** Creates the EventBridge service. */
export function createEventBridge(options: EventBridgeOptions = {}): EventBridgeService {
  const store = new JsonStore<{ events: StoredEvent[] }>(options.file, () => ({ events: [] }));
  const now = options.now ?? (() => new Date());
  const loaded = store.read();
  let events: StoredEvent[] = Array.isArray(loaded.events) ? loaded.events : [];
  let rules: readonly EventRule[] = [];
  const onDeliveryError =
    options.onDeliveryError ??
    ((error: unknown, target: EventRuleTarget, rule: EventRule) =>
      console.error(`[events] rule ${rule.name} target ${target.id} failed:`, error));

  function route(event: StoredEvent): void {
    const { eventBusName, ...envelope } = event;
    for (const rule of rules) {
      if (rule.eventBusName !== eventBusName || !matchesEventPattern(rule.pattern, envelope)) continue;
      for (const target of rule.targets) {
        try {
          options.deliver?.(target, targetInput(target, envelope, rule), rule);
        } catch (error) {
          onDeliveryError(error, target, rule);
        }
      }
    }
  }

  function putEvents(req: AwsRequest) {
    const input = parseInput(req.body);
    const entries = input.Entries;
    if (!Array.isArray(entries)) {
      throw validation(
        "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
      );
    }
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      const bound = entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
      throw validation(
        `1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy constraint: Member must have length ${bound}`,
      );
    }
    if (Buffer.byteLength(JSON.stringify(entries)) > MAX_TOTAL_BYTES) {
      throw validation('Total size of the entries in the request is over the limit.');
    }
    const results: PutEventsResultEntry[] = [];
    const accepted: StoredEvent[] = [];
    for (const raw of entries) {
      const outcome = toEvent(raw, now());
      if ('id' in outcome) {
        accepted.push(outcome);
        results.push({ EventId: outcome.id });
      } else results.push(outcome);
    }
    if (accepted.length > 0) {
      events = [...events, ...accepted].slice(-MAX_STORED_EVENTS);
      store.write({ events });
      for (const event of accepted) {
        options.onEvent?.(event);
        route(event);
      }
    }
    return jsonOk({ FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results });
  }

  return {
    name: 'events',
    operations: ['PutEvents'],
    matches: (req) => req.target?.startsWith(TARGET_PREFIX) ?? false,
    operation: (req) => (req.target ?? '').slice(TARGET_PREFIX.length),
    async handle(req) {
      const operation = (req.target ?? '').slice(TARGET_PREFIX.length);
      if (operation === 'PutEvents') return putEvents(req);
      throw new AwsError('UnknownOperationException', `Operation ${operation} of events is not supported locally`);
    },
    listEvents: () => [...events],
    setRules: (next) => {
      rules = [...next];
    },
  };
}

/** What a target receives for `event`: the envelope, its `InputPath` part, the constant `Input`, or the transform. */
export function targetInput(target: EventRuleTarget, event: Record<string, unknown>, rule: { name: string }): string {
  if (target.input !== undefined) return target.input;
  if (target.inputPath !== undefined) return JSON.stringify(jsonPath(event, target.inputPath) ?? null);
  const transformer = target.inputTransformer;
  if (!transformer) return JSON.stringify(event);
  const values: Record<string, unknown> = {
    'aws.events.rule-name': rule.name,
    'aws.events.event': event,
    'aws.events.event.json': event,
    'aws.events.event.ingestion-time': event.time,
  };
  for (const [name, path] of Object.entries(transformer.inputPathsMap)) values[name] = jsonPath(event, path);
  return fillTemplate(transformer.inputTemplate, values);
}

/**
 * Fills an InputTemplate as EventBridge does: in a JSON template, a placeholder outside a string literal becomes the
 * value's JSON and one inside a string literal the value's characters (escaped); a text template takes the values'
 * text as it is.
 */
function fillTemplate(template: string, values: Record<string, unknown>): string {
  const json = /^\s*[[{]/.test(template);
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const char = template[i] as string;
    if (json && char === '"' && template[i - 1] !== '\\') inString = !inString;
    const placeholder = char === '<' ? /^<([A-Za-z0-9_.-]+)>/.exec(template.slice(i)) : null;
    const name = placeholder?.[1];
    if (!placeholder || name === undefined || !Object.hasOwn(values, name)) {
      out += char;
      continue;
    }
    const value = values[name] ?? null;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (!json) out += text;
    else if (inString) out += typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : text;
    else out += JSON.stringify(value);
    i += placeholder[0].length - 1;
  }
  return out;
}

/** The value at a simple JSONPath (`$`, `$.detail.type`, `$.resources[0]`). */
function jsonPath(value: unknown, path: string): unknown {
  if (path === '$') return value;
  const steps = path
    .replace(/^\$\.?/, '')
    .split(/\.|\[(\d+)\]/)
    .filter((step) => step !== undefined && step !== '');
  let current: unknown = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function validation(message: string): AwsError {
  return new AwsError('ValidationException', message);
}

function parseInput(body: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw new AwsError('SerializationException', 'The request body is not a JSON object');
}

function invalid(parameter: string, reason: string): PutEventsResultEntry {
  return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}` };
}

/** Validates one entry as EventBridge does: failures are reported per entry, not for the whole call. */
function toEvent(raw: unknown, now: Date): StoredEvent | PutEventsResultEntry {
  if (typeof raw !== 'object' || raw === null) return invalid('Entries', 'An entry must be an object.');
  const entry = raw as Record<string, unknown>;
  const { Source: source, DetailType: detailType, Detail: detailText } = entry;
  if (typeof source !== 'string' || source === '') return invalid('Source', 'Source is a required argument.');
  if (source.toLowerCase().startsWith('aws.')) {
    return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: `Not authorized for the source ${source}.` };
  }
  if (typeof detailType !== 'string' || detailType === '') {
    return invalid('DetailType', 'DetailType is a required argument.');
  }
  if (typeof detailText !== 'string' || detailText === '') {
    return invalid('Detail', 'Detail is a required argument.');
  }
  let detail: unknown;
  try {
    detail = JSON.parse(detailText);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  const bus = entry.EventBusName;
  if (bus !== undefined && (typeof bus !== 'string' || bus === '')) {
    return invalid('EventBusName', 'EventBusName must be a name or an ARN.');
  }
  const resources = entry.Resources ?? [];
  if (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string')) {
    return invalid('Resources', 'Resources must be a list of ARNs.');
  }
  // `Time` arrives as epoch seconds from the SDK.
  const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : now;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: LOCAL_ACCOUNT,
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: resources as string[],
    detail: detail as Record<string, unknown>,
    // An ARN names the bus by its last path segment (`…:event-bus/<name>`).
    eventBusName: typeof bus === 'string' ? (bus.split('/').pop() ?? bus) : 'default',
  };
}
