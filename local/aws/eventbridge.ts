/**
 * EventBridge for the local AWS endpoint (awsJson1.1, `AWSEvents.*`): `PutEvents` validates entries as
 * EventBridge does, stamps them with the simulated time and persists them; the runtime lists them at
 * `GET /local/events`. No rules or targets: the system only publishes events.
 */
import { randomUUID } from 'node:crypto';
import type { DescribedAwsService } from './edge';
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
}

export interface EventBridgeService extends DescribedAwsService {
  /** Accepted events, oldest first. */
  listEvents(): StoredEvent[];
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
      for (const event of accepted) options.onEvent?.(event);
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
  };
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
