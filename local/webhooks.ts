/**
 * The local chat-webhook sink: the chat secrets seeded locally point at `POST /local/webhooks/<name>` on the API
 * port, which stores what arrived (`{name, body, at}`) and answers `200 ok` as a Slack incoming webhook does. A test
 * control makes a named sink fail the next N deliveries with a given status (e.g. 429 with `Retry-After`, or 500),
 * so retries and back-off can be driven. Deliveries persist like mail (`webhooks.json`); faults live in memory.
 */
import { JsonLog } from './aws/json-store';

/** One delivery the sink accepted. */
export interface WebhookDelivery {
  name: string;
  /** The posted JSON body. */
  body: unknown;
  /** When it arrived: simulated time, ISO-8601 UTC. */
  at: string;
}

/** The next `count` deliveries to `name` answer `status` (with `Retry-After` when given). */
export interface WebhookFault {
  status: number;
  count: number;
  retryAfterSeconds?: number;
}

/** What the sink answers a delivery. */
export interface WebhookAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface WebhookSinkOptions {
  /** JSON file deliveries persist to; in memory when absent. */
  file?: string;
  /** The simulated clock's `now`. @default wall-clock time */
  now?: () => Date;
}

export const WEBHOOK_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Slack's error texts for the statuses a test may ask for. */
const ERROR_TEXT: Record<number, string> = {
  400: 'invalid_payload',
  403: 'action_prohibited',
  404: 'no_service',
  410: 'channel_is_archived',
  429: 'rate_limited',
};

interface Document {
  items: WebhookDelivery[];
}

export class WebhookSink {
  private readonly store: JsonLog<Document, WebhookDelivery>;
  private readonly now: () => Date;
  private readonly items: WebhookDelivery[];
  private readonly faults = new Map<string, WebhookFault>();

  constructor(options: WebhookSinkOptions = {}) {
    this.store = new JsonLog<Document, WebhookDelivery>(options.file, () => ({ items: [] }));
    this.now = options.now ?? (() => new Date());
    const { document, entries } = this.store.read();
    this.items = [...(Array.isArray(document.items) ? document.items : []), ...entries];
  }

  /** Handles one delivery to `name`: a pending fault answers first; otherwise the body is stored and `200 ok`. */
  deliver(name: string, rawBody: Buffer): WebhookAnswer {
    const fault = this.faults.get(name);
    if (fault && fault.count > 0) {
      fault.count -= 1;
      if (fault.count === 0) this.faults.delete(name);
      return {
        status: fault.status,
        headers: {
          'content-type': 'text/plain',
          ...(fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}),
        },
        body: ERROR_TEXT[fault.status] ?? 'internal_error',
      };
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'invalid_payload' };
    }
    const delivery: WebhookDelivery = { name, body, at: this.now().toISOString() };
    this.items.push(delivery);
    if (this.store.ready && !this.store.wantsRewrite) this.store.append(delivery);
    else this.store.write({ items: this.items });
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: 'ok' };
  }

  /** Sets (or, with `count: 0`, clears) the fault of `name`. */
  setFault(name: string, fault: WebhookFault): void {
    if (fault.count === 0) this.faults.delete(name);
    else this.faults.set(name, { ...fault });
  }

  /** Accepted deliveries, oldest first; only those to `name` when it is given. */
  list(name?: string): WebhookDelivery[] {
    return this.items.filter((item) => name === undefined || item.name === name);
  }
}

/**
 * Validates a fault control body `{"status", "count"?, "retryAfterSeconds"?}`: `status` 400–599, `count` 0–1000
 * (default 1), `retryAfterSeconds` 0–86400. Returns the fault, or the problem (field and message).
 */
export function parseWebhookFault(value: unknown): WebhookFault | { field: string; message: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { field: 'status', message: 'body must be {"status", "count"?, "retryAfterSeconds"?}' };
  }
  const input = value as Record<string, unknown>;
  const unknown = Object.keys(input).find((key) => !['status', 'count', 'retryAfterSeconds'].includes(key));
  if (unknown) return { field: unknown, message: `unknown property ${unknown}` };
  const isInt = (v: unknown, min: number, max: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (!isInt(input.status, 400, 599)) return { field: 'status', message: 'status must be an integer from 400 to 599' };
  const count = input.count ?? 1;
  if (!isInt(count, 0, 1000)) return { field: 'count', message: 'count must be an integer from 0 to 1000' };
  const retryAfter = input.retryAfterSeconds;
  if (retryAfter !== undefined && !isInt(retryAfter, 0, 86_400)) {
    return { field: 'retryAfterSeconds', message: 'retryAfterSeconds must be an integer from 0 to 86400' };
  }
  return {
    status: input.status as number,
    count: count as number,
    ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter as number } : {}),
  };
}
