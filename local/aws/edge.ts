/**
 * The local AWS endpoint (port 4566 by default, LocalStack's convention): one HTTP server in front of every
 * emulated service. Requests are routed as AWS routes them — by `X-Amz-Target` for the JSON protocols and by
 * path for the REST ones — and every call lands in the call log. It answers only a loopback `Host` and signed
 * requests (any credentials), so that a web page open in the user's browser can use none of it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { loopbackHostProblem } from '../http-guard';
import {
  AwsError,
  type AwsRequest,
  type AwsResponse,
  type AwsService,
  type CallLog,
  jsonError,
  restError,
} from './protocol';

/** A service that also says which operations it emulates (all services of this endpoint do). */
export interface DescribedAwsService extends AwsService {
  /** Every operation name `operation()` can return that `handle()` really emulates. */
  readonly operations: readonly string[];
}

export interface AwsEdgeOptions {
  services: readonly AwsService[];
  callLog?: CallLog;
  /** Which workflow execution a call belongs to, for the call log (the runtime knows how to tell). */
  executionIdOf?: (req: AwsRequest) => string | undefined;
  /** Time stamped on call log entries; the runtime passes the simulated clock. @default wall-clock time */
  now?: () => Date;
  /**
   * The time a response's `Date` header carries, by request. SDK clients correct their clock by it (and retry a
   * request that failed while their clock looked skewed), so a caller must get a time that agrees with its own
   * clock: the runtime answers sandboxes, which run on the simulated clock, with the simulated time.
   * @default wall-clock time
   */
  dateFor?: (req: AwsRequest) => Date;
  /** @default 10 MiB */
  maxBodyBytes?: number;
  /** Told about failures the service did not expect (the client only sees `InternalFailure`). */
  onInternalError?: (error: unknown, where: { service: string; operation: string }) => void;
}

export interface AwsEdge {
  /** Starts serving; rejects with `port <n> is already in use` when the port is taken. */
  listen(port: number, host?: string): Promise<Server>;
  /** Stops serving (services keep their own resources: close them separately). */
  close(): Promise<void>;
  /** The request listener, for embedding the endpoint in another server. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Creates the shared AWS endpoint over `services` (first match wins). */
export function createAwsEdge(options: AwsEdgeOptions): AwsEdge {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const now = options.now ?? (() => new Date());
  const onInternalError =
    options.onInternalError ??
    ((error: unknown, where: { service: string; operation: string }) =>
      console.error(`[aws] ${where.service}.${where.operation} failed unexpectedly:`, error));
  let server: Server | undefined;

  async function dispatch(req: AwsRequest): Promise<{ response: AwsResponse; service: string; operation: string }> {
    const service = options.services.find((s) => s.matches(req));
    if (!service) {
      const what = req.target ?? `${req.method} ${req.path}`;
      return {
        service: 'unknown',
        operation: what,
        response: errorResponse(
          req,
          new AwsError(
            'UnknownOperationException',
            `Operation ${what} is not supported by the local AWS endpoint`,
            req.target ? 400 : 404,
          ),
        ),
      };
    }
    const operation = service.operation(req);
    const supported = operationsOf(service);
    if (supported && !supported.includes(operation)) {
      return {
        service: service.name,
        operation,
        response: errorResponse(
          req,
          new AwsError(
            'UnknownOperationException',
            `Operation ${operation} of ${service.name} is not supported by the local AWS endpoint`,
            req.target ? 400 : 404,
          ),
        ),
      };
    }
    try {
      return { service: service.name, operation, response: await service.handle(req) };
    } catch (error) {
      if (error instanceof AwsError) return { service: service.name, operation, response: errorResponse(req, error) };
      onInternalError(error, { service: service.name, operation });
      // The message stays generic: internals and stack traces never reach the client.
      const failure = new AwsError(
        'InternalFailure',
        `The local ${service.name} emulator failed to process ${operation}`,
        500,
      );
      return { service: service.name, operation, response: errorResponse(req, failure) };
    }
  }

  const handler = (httpReq: IncomingMessage, httpRes: ServerResponse): void => {
    const started = performance.now();
    const at = now().toISOString();
    readBody(httpReq, maxBodyBytes).then(
      async (body) => {
        const url = new URL(httpReq.url ?? '/', 'http://localhost');
        const targetHeader = httpReq.headers['x-amz-target'];
        const req: AwsRequest = {
          method: httpReq.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: httpReq.headers,
          body: body ?? Buffer.alloc(0),
          ...(typeof targetHeader === 'string' && targetHeader ? { target: targetHeader } : {}),
        };
        const refused = refusal(httpReq, req);
        if (refused) {
          writeResponse(httpRes, errorResponse(req, refused), new Date());
          return;
        }
        const outcome =
          body === undefined
            ? {
                service: 'unknown',
                operation: req.target ?? `${req.method} ${req.path}`,
                response: errorResponse(
                  req,
                  new AwsError('RequestEntityTooLarge', `Request body exceeds ${maxBodyBytes} bytes`, 413),
                ),
              }
            : await dispatch(req);
        writeResponse(httpRes, outcome.response, options.dateFor?.(req) ?? new Date());
        const errorCode = errorCodeOf(outcome.response);
        let executionId: string | undefined;
        try {
          executionId = options.executionIdOf?.(req);
        } catch {
          // A failing lookup must not lose the call record.
        }
        options.callLog?.record({
          at,
          service: outcome.service,
          operation: outcome.operation,
          durationMs: Math.round((performance.now() - started) * 1000) / 1000,
          status: outcome.response.status,
          ...(executionId ? { executionId } : {}),
          ...(errorCode ? { errorCode } : {}),
        });
      },
      (error: unknown) => {
        // The client went away mid-body: nothing left to answer.
        if (!httpRes.headersSent) httpRes.destroy(error instanceof Error ? error : undefined);
      },
    );
  };

  return {
    handler,
    async listen(port, host = '127.0.0.1') {
      const created = createServer(handler);
      // SDK clients keep connections alive; idle ones must not hold `close()` up.
      created.keepAliveTimeout = 5_000;
      await listenOn(created, port, host);
      server = created;
      return created;
    },
    async close() {
      const current = server;
      server = undefined;
      if (current) await closeServer(current);
    },
  };
}

/** The operations each service emulates, keyed by service name (for start-up checks). */
export function supportedOperations(services: readonly AwsService[]): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const service of services) result[service.name] = [...(operationsOf(service) ?? [])];
  return result;
}

/**
 * Listens on `port`/`host`, turning `EADDRINUSE` into an error whose message is `port <n> is already in use`
 * (the runtime prints it as it is).
 */
export function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use`, { cause: error }) : error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Closes `server`, dropping idle keep-alive connections so it does not wait for them; connections still busy
 * after two seconds are cut.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => server.closeAllConnections(), 2_000).unref();
    server.close((error) => {
      clearTimeout(force);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

function operationsOf(service: AwsService): readonly string[] | undefined {
  const operations = (service as Partial<DescribedAwsService>).operations;
  return Array.isArray(operations) ? operations : undefined;
}

/**
 * What the endpoint refuses before any service sees the request: a `Host` that is not a loopback name of this
 * server (a DNS-rebinding page sends its own name), and an unsigned request — AWS answers those with
 * `MissingAuthenticationTokenException` too, and a web page cannot sign: without this, any page could
 * POST `text/plain` JSON to a REST route (`POST /schedules/{name}`, `POST /v2/email/outbound-emails`).
 * Any credentials still do; the signature itself is not checked.
 */
function refusal(httpReq: IncomingMessage, req: AwsRequest): AwsError | undefined {
  const hostProblem = loopbackHostProblem(httpReq);
  if (hostProblem) return new AwsError('InvalidHostHeaderException', hostProblem, 403);
  const authorization = httpReq.headers.authorization ?? '';
  if (!authorization.startsWith('AWS4-') && !req.query.has('X-Amz-Signature')) {
    return new AwsError('MissingAuthenticationTokenException', 'Request is missing Authentication Token', 403);
  }
  return undefined;
}

/** JSON-protocol requests get awsJson errors; REST requests get restJson1 errors. */
function errorResponse(req: AwsRequest, error: AwsError): AwsResponse {
  return req.target ? jsonError(error) : restError(error);
}

/** Resolves with the body, or `undefined` once it exceeds `limit` bytes (the rest is drained). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function writeResponse(res: ServerResponse, response: AwsResponse, date: Date): void {
  const body = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
  const headers: Record<string, string> = { ...response.headers };
  const names = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  if (!names.has('date')) headers.date = date.toUTCString();
  if (!names.has('x-amzn-requestid')) headers['x-amzn-RequestId'] = randomUUID();
  if (!names.has('content-type')) headers['content-type'] = 'application/json';
  headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}

/** AWS's error code of a response: the `x-amzn-errortype` header, else awsJson's `__type` (after any `#`). */
function errorCodeOf(response: AwsResponse): string | undefined {
  if (response.status < 400) return undefined;
  const header = Object.entries(response.headers ?? {}).find(([name]) => name.toLowerCase() === 'x-amzn-errortype');
  if (header) return header[1].split(':')[0];
  try {
    const parsed = JSON.parse(response.body.toString()) as { __type?: unknown };
    if (typeof parsed.__type === 'string') return parsed.__type.split('#').pop();
  } catch {
    // not JSON: no code to report
  }
  return undefined;
}
