/**
 * The local-only routes of the HTTP API (`/local/…`, never deployed): the identity provider under `/local/oidc`,
 * the simulated clock (`GET /local/clock`, `POST /local/clock/advance`), the call log (`GET /local/calls`), the
 * EventBridge events (`GET /local/events`), the metrics the functions emitted (`GET /local/metrics`, optionally
 * `?name=<metric>`) and the chat-webhook sink (`POST /local/webhooks/<name>` receives a delivery and answers `200 ok`;
 * `GET /local/webhooks` lists `{"items": [{"name", "body", "at"}]}`, optionally `?name=`; the test control
 * `POST /local/webhooks/<name>/faults {"status", "count"?, "retryAfterSeconds"?}` makes the next `count` deliveries
 * to that sink fail). Any other `/local/…` path answers `404 {"message": "Not Found"}`.
 *
 * Every POST takes `application/json` only (`415 UNSUPPORTED_MEDIA_TYPE` otherwise) and is refused
 * (`403 FORBIDDEN`) when its `Origin` is another site: a web page could otherwise move the clock with a
 * cross-site `text/plain` POST. The API server in front refuses a `Host` that is not a loopback name.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalRouteHandler } from './api-gateway';
import type { CallRecord } from './aws/protocol';
import type { SimulatedClock } from './clock';
import { localPostRefusal, refusalError } from './http-guard';
import type { MetricPoint } from './metrics-log';
import type { OidcProvider } from './oidc';
import { parseWebhookFault, WEBHOOK_NAME, type WebhookSink } from './webhooks';

export interface LocalRoutesOptions {
  clock: SimulatedClock;
  oidc: Pick<OidcProvider, 'handle'>;
  /** The call log, oldest first. */
  calls: () => readonly CallRecord[];
  /** The events EventBridge accepted. */
  events: () => readonly unknown[];
  /** The metrics of the functions' EMF lines, oldest first; only those named `name` when it is given. */
  metrics: (name?: string) => readonly MetricPoint[];
  /** The chat-webhook sink; without it the `/local/webhooks` routes are absent. */
  webhooks?: WebhookSink;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The handler the HTTP API tries before route selection; resolves false for paths outside `/local/`. */
export function createLocalRoutes(opts: LocalRoutesOptions): LocalRouteHandler {
  const { clock, oidc } = opts;
  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/local/oidc')) return oidc.handle(req, res, body);
    if (url.pathname.startsWith('/local/') && req.method === 'POST') {
      const refusal = localPostRefusal(req);
      if (refusal) {
        json(res, refusal.status, refusalError(refusal));
        return true;
      }
    }
    if (url.pathname === '/local/clock' && req.method === 'GET') {
      json(res, 200, { now: clock.now().toISOString() });
      return true;
    }
    if (url.pathname === '/local/clock/advance' && req.method === 'POST') {
      await advanceClock(clock, body, res);
      return true;
    }
    if (url.pathname === '/local/calls' && req.method === 'GET') {
      json(res, 200, { calls: opts.calls() });
      return true;
    }
    if (url.pathname === '/local/events' && req.method === 'GET') {
      json(res, 200, { events: opts.events() });
      return true;
    }
    if (url.pathname === '/local/metrics' && req.method === 'GET') {
      json(res, 200, { metrics: opts.metrics(url.searchParams.get('name') ?? undefined) });
      return true;
    }
    if (opts.webhooks && (await serveWebhooks(opts.webhooks, req, res, url, body))) return true;
    if (url.pathname.startsWith('/local/')) {
      json(res, 404, { message: 'Not Found' });
      return true;
    }
    return false;
  };
}

async function serveWebhooks(
  sink: WebhookSink,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: Buffer,
): Promise<boolean> {
  if (url.pathname === '/local/webhooks' && req.method === 'GET') {
    json(res, 200, { items: sink.list(url.searchParams.get('name') ?? undefined) });
    return true;
  }
  const match = /^\/local\/webhooks\/([^/]+)(\/faults)?$/.exec(url.pathname);
  const name = match ? decodeURIComponent(match[1] as string) : undefined;
  if (!match || !name || !WEBHOOK_NAME.test(name) || req.method !== 'POST') return false;
  if (match[2]) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      json(res, 400, { error: { code: 'VALIDATION_ERROR', message: 'body is not valid JSON' } });
      return true;
    }
    const fault = parseWebhookFault(parsed);
    if ('field' in fault) {
      json(res, 400, { error: { code: 'VALIDATION_ERROR', message: fault.message, field: fault.field } });
      return true;
    }
    sink.setFault(name, fault);
    json(res, 200, { name, ...fault });
    return true;
  }
  const answer = sink.deliver(name, body);
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
  return true;
}

async function advanceClock(clock: SimulatedClock, body: Buffer, res: ServerResponse): Promise<void> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    return json(res, 400, { error: { code: 'VALIDATION_ERROR', message: 'body is not valid JSON' } });
  }
  const keys = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? Object.keys(parsed) : [];
  const unitMs = { days: 86_400_000, hours: 3_600_000, seconds: 1_000 } as const;
  const unit =
    keys.length === 1 && Object.hasOwn(unitMs, keys[0] as string) ? (keys[0] as keyof typeof unitMs) : undefined;
  const n = unit ? (parsed as Record<string, unknown>)[unit] : undefined;
  if (!unit || typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n * unitMs[unit] > 3650 * unitMs.days) {
    return json(res, 400, {
      error: {
        code: 'VALIDATION_ERROR',
        message: 'body must be {"days": n}, {"hours": n} or {"seconds": n} with a positive integer n',
        field: unit ?? 'days',
      },
    });
  }
  const result = await clock.advance(n * unitMs[unit]);
  json(res, 200, { now: result.now.toISOString(), settled: result.settled });
}
