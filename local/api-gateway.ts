/**
 * The HTTP API of the local runtime, behaving as API Gateway HTTP APIs do for Lambda proxy integrations with
 * payload format 2.0: API Gateway's route selection, its JWT authorizer, the event it builds, the way it reads
 * the Lambda result, and the responses it produces itself (`404 {"message":"Not Found"}`,
 * `401 {"message":"Unauthorized"}`, `500 {"message":"Internal Server Error"}`, …).
 *
 * JWT times are checked against the wall clock, as API Gateway does, never the simulated clock.
 *
 * Every request, API route or local route, must name the server by a loopback `Host` (`127.0.0.1:<port>`,
 * `localhost:<port>` or `[::1]:<port>`); any other name is refused with `403 {"message": "Forbidden: …"}` before
 * anything runs (`http-guard.ts`: a DNS-rebinding page would send its own name).
 */
import { createPublicKey, type KeyObject, randomBytes, verify as verifySignature } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { LOCAL_ACCOUNT } from './aws/protocol';
import { loopbackHostProblem } from './http-guard';

/** A JWT authorizer attached to a route (the `AWS::ApiGatewayV2::Authorizer` settings). */
export interface JwtAuthorizerConfig {
  issuer: string;
  audiences: string[];
  /** e.g. `$request.header.Authorization`; several sources are comma-separated. */
  identitySource: string;
  /** The route's `AuthorizationScopes`, if any: the token must carry one of them. */
  authorizationScopes?: string[];
}

/** One route of the HTTP API and the function its integration invokes. */
export interface HttpRoute {
  /** `METHOD /path/{param}/{proxy+}`, `ANY /path`, or `$default`. */
  routeKey: string;
  functionName: string;
  authorizer?: JwtAuthorizerConfig;
}

/** Handles `/local/…` routes; resolves true when it answered the request. */
export type LocalRouteHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;

/** One access-log entry, with the fields of API Gateway's `$context` access-log variables. */
export interface AccessLogEntry {
  requestId: string;
  ip: string;
  requestTime: string;
  requestTimeEpoch: number;
  httpMethod: string;
  routeKey: string;
  path: string;
  protocol: string;
  status: number;
  responseLength: number;
  /** Integration (Lambda) latency in ms, when the integration ran. */
  integrationLatency?: number;
  /** Why the authorizer refused the request (the `www-authenticate` description). */
  authorizerError?: string;
  /** The integration's error (Lambda errorType: errorMessage) when it failed. */
  integrationError?: string;
}

/** Options of {@link createHttpApi}. */
export interface HttpApiOptions {
  routes: HttpRoute[];
  /** Invokes a Lambda function synchronously; rejects when the function fails. */
  invoke: (functionName: string, event: unknown) => Promise<unknown>;
  /** Tried before route selection, for every request (the runtime's `/local/…` routes). */
  localRoutes?: LocalRouteHandler;
  /** @default 'localapi00' */
  apiId?: string;
  /** @default '$default' */
  stage?: string;
  onAccess?: (entry: AccessLogEntry) => void;
  /** API Gateway's payload limit. @default 10 MiB */
  maxBodyBytes?: number;
  /** API Gateway's integration timeout (HTTP APIs: at most 30 s). @default 30000 */
  integrationTimeoutMs?: number;
  /** Fetches discovery documents and key sets. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A local HTTP API server. */
export interface HttpApi {
  /** Listens on `host:port` (port 0 picks a free one); rejects with a clear error when the port is in use. */
  listen(port: number, host?: string): Promise<Server>;
  close(): Promise<void>;
  /** The base URL once listening, e.g. `http://127.0.0.1:3000`. */
  readonly url: string | undefined;
  /** The request listener, for serving the API from a server the caller owns. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The body API Gateway answers with when it refuses or fails a request itself. */
function gatewayResponse(status: number, message: string): GatewayResult {
  return { status, headers: { ...JSON_HEADERS }, cookies: [], body: Buffer.from(JSON.stringify({ message })) };
}

/** An HTTP response as API Gateway sends it to the client. */
export interface GatewayResult {
  status: number;
  headers: Record<string, string>;
  cookies: string[];
  body: Buffer;
}

// ---------------------------------------------------------------------------------------------------------------
// Route selection

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

/** A route with its key parsed for matching. */
export interface CompiledRoute {
  route: HttpRoute;
  method: string;
  segments: Segment[];
}

/** A selected route and its decoded path parameters. */
export interface RouteMatch {
  route: HttpRoute;
  pathParameters: Record<string, string>;
}

/** Compiles route keys once; throws on a malformed key (as API Gateway refuses to create it). */
export function compileRoutes(routes: HttpRoute[]): CompiledRoute[] {
  const compiled: CompiledRoute[] = [];
  for (const route of routes) {
    if (route.routeKey === '$default') {
      compiled.push({ route, method: '$default', segments: [] });
      continue;
    }
    const m = /^([A-Z]+) (\/.*)$/.exec(route.routeKey);
    if (!m?.[1] || m[2] === undefined) throw new Error(`Invalid route key: ${route.routeKey}`);
    const segments = m[2]
      .split('/')
      .slice(1)
      .map((part, i, all): Segment => {
        const greedy = /^\{([^{}]+)\+\}$/.exec(part);
        if (greedy?.[1]) {
          if (i !== all.length - 1) throw new Error(`Greedy path variable must be last: ${route.routeKey}`);
          return { kind: 'greedy', name: greedy[1] };
        }
        const param = /^\{([^{}+]+)\}$/.exec(part);
        if (param?.[1]) return { kind: 'param', name: param[1] };
        return { kind: 'literal', value: part };
      });
    // `GET /` has one empty literal segment; keep it so that it matches only `/`.
    compiled.push({ route, method: m[1], segments });
  }
  return compiled;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Selects the route API Gateway would: the most specific path wins (segment by segment, a literal over a
 * `{param}` over a `{proxy+}`), then an exact method over `ANY`; `$default` catches whatever matches nothing.
 */
export function matchRoute(routes: CompiledRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const parts = rawPath.split('/').slice(1);
  let best: { match: RouteMatch; score: number[] } | undefined;
  for (const candidate of routes) {
    if (candidate.method === '$default') continue;
    if (candidate.method !== method && candidate.method !== 'ANY') continue;
    const pathParameters: Record<string, string> = {};
    const score: number[] = [];
    let ok = true;
    for (let i = 0; i < candidate.segments.length && ok; i++) {
      const segment = candidate.segments[i] as Segment;
      const part = parts[i];
      if (segment.kind === 'greedy') {
        const rest = parts.slice(i);
        // `/files/` (the prefix and a trailing slash) matches `/files/{proxy+}` with an empty remainder, as API
        // Gateway catches it (route keys cannot end in a slash); `/files` (no slash) does not.
        if (rest.length === 0) ok = false;
        else pathParameters[segment.name] = decodeSegment(rest.join('/'));
        score.push(1);
        break;
      }
      if (part === undefined) {
        ok = false;
      } else if (segment.kind === 'literal') {
        ok = decodeSegment(part) === segment.value;
        score.push(3);
      } else {
        ok = part !== '';
        pathParameters[segment.name] = decodeSegment(part);
        score.push(2);
      }
    }
    const last = candidate.segments[candidate.segments.length - 1];
    if (ok && last?.kind !== 'greedy' && parts.length !== candidate.segments.length) ok = false;
    if (!ok) continue;
    score.push(candidate.method === 'ANY' ? 0 : 1);
    if (!best || compareScores(score, best.score) > 0)
      best = { match: { route: candidate.route, pathParameters }, score };
  }
  if (best) return best.match;
  const fallback = routes.find((r) => r.method === '$default');
  return fallback ? { route: fallback.route, pathParameters: {} } : undefined;
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// JWT authorizer

/** A JSON Web Key as found in a JWKS document. */
export interface Jwk {
  kty?: string;
  kid?: string;
  alg?: string;
  use?: string;
  n?: string;
  e?: string;
  [name: string]: unknown;
}

/** Why a token was refused; `description` is what API Gateway puts in `www-authenticate`. */
export class JwtRejectedError extends Error {
  override readonly name = 'JwtRejectedError';
  constructor(readonly description: string) {
    super(description);
  }
}

/** What a verified token must satisfy. */
export interface JwtExpectations {
  issuer: string;
  audiences: string[];
  /** Wall-clock seconds since the epoch. @default Date.now() / 1000 */
  nowSeconds?: number;
}

// API Gateway supports only RSA-based algorithms.
const RSA_ALGORITHMS: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512' };

function parseSegment(segment: string): Record<string, unknown> {
  const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value as Record<string, unknown>;
}

/** Decodes a compact JWS without verifying it; throws {@link JwtRejectedError} when it is not a JWT. */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw new JwtRejectedError('the token is malformed');
  }
  try {
    return { header: parseSegment(parts[0] as string), claims: parseSegment(parts[1] as string) };
  } catch {
    throw new JwtRejectedError('the token is malformed');
  }
}

/**
 * Verifies a JWT as API Gateway's JWT authorizer does: an RSA signature by the key named by `kid`, then `iss`,
 * `aud` (or `client_id` when `aud` is absent), `exp`, `nbf` and `iat` against the wall clock. Resolves with the
 * claims; rejects with {@link JwtRejectedError}.
 */
export async function verifyJwt(
  token: string,
  keyFor: (kid: string) => Promise<KeyObject | undefined>,
  expected: JwtExpectations,
): Promise<Record<string, unknown>> {
  const { header, claims } = decodeJwt(token);
  const alg = header.alg;
  const hash = typeof alg === 'string' ? RSA_ALGORITHMS[alg] : undefined;
  if (!hash) throw new JwtRejectedError(`signing method ${String(alg)} is invalid`);
  if (typeof header.kid !== 'string' || header.kid === '') throw new JwtRejectedError('the token has no key id (kid)');
  const key = await keyFor(header.kid);
  if (!key) throw new JwtRejectedError(`no key in the issuer's JWKS matches the token's key id ${header.kid}`);
  const [h, p, s] = token.split('.') as [string, string, string];
  if (!verifySignature(hash, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
    throw new JwtRejectedError('the token signature is invalid');
  }
  if (claims.iss !== expected.issuer) throw new JwtRejectedError('the token does not have a valid issuer');
  const audience = claims.aud !== undefined ? claims.aud : claims.client_id;
  const audiences = Array.isArray(audience) ? audience : [audience];
  if (!audiences.some((a) => typeof a === 'string' && expected.audiences.includes(a))) {
    throw new JwtRejectedError('the token does not have a valid audience');
  }
  const now = expected.nowSeconds ?? Date.now() / 1000;
  if (typeof claims.exp !== 'number') throw new JwtRejectedError('the token has no valid expiry (exp)');
  if (now >= claims.exp) throw new JwtRejectedError('the token has expired');
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now < claims.nbf)) {
    throw new JwtRejectedError('the token is not valid yet');
  }
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || now < claims.iat)) {
    throw new JwtRejectedError('the token was issued in the future');
  }
  return claims;
}

/**
 * Claims as API Gateway hands them to the integration: every value a string; arrays as `[a b]` (space
 * separated, in brackets, not JSON); numbers and booleans in their plain text form; objects as JSON;
 * null-valued claims left out.
 */
export function stringifyClaims(claims: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === null || value === undefined) continue;
    out[name] = stringifyClaim(value);
  }
  return out;
}

function stringifyClaim(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((v) => (v === null ? '' : stringifyClaim(v))).join(' ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The scopes a token carries: the space-separated `scope` claim, or `scp` (string or array). */
function scopesOf(claims: Record<string, unknown>): string[] {
  const raw = claims.scope ?? claims.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === 'string');
  return [];
}

/** JWKS discovery and caching for one issuer (API Gateway caches keys for up to two hours). */
class IssuerKeys {
  private static readonly TTL_MS = 2 * 60 * 60 * 1000;
  private static readonly REFRESH_COOLDOWN_MS = 10_000;
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly issuer: string,
    private readonly fetchImpl: typeof fetch,
  ) {}

  async keyFor(kid: string): Promise<KeyObject | undefined> {
    const age = Date.now() - this.fetchedAt;
    if (this.fetchedAt === 0 || age > IssuerKeys.TTL_MS) await this.refresh();
    else if (!this.keys.has(kid) && age > IssuerKeys.REFRESH_COOLDOWN_MS) await this.refresh();
    return this.keys.get(kid);
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(): Promise<void> {
    const discoveryUrl = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let jwks: { keys?: unknown };
    try {
      const discovery = (await this.getJson(discoveryUrl)) as { jwks_uri?: unknown };
      if (typeof discovery.jwks_uri !== 'string') throw new Error(`no jwks_uri in ${discoveryUrl}`);
      jwks = (await this.getJson(discovery.jwks_uri)) as { keys?: unknown };
    } catch (error) {
      throw new JwtRejectedError(`unable to fetch the issuer's keys: ${(error as Error).message}`);
    }
    const keys = new Map<string, KeyObject>();
    for (const jwk of Array.isArray(jwks.keys) ? (jwks.keys as Jwk[]) : []) {
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      try {
        keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }));
      } catch {
        // A key this authorizer cannot read cannot have signed an acceptable token.
      }
    }
    this.keys = keys;
    this.fetchedAt = Date.now();
  }

  private async getJson(url: string): Promise<unknown> {
    const response = await this.fetchImpl(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    return response.json();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The server

/** Media types HTTP APIs pass to Lambda as text; every other body (form bodies too) arrives base64-encoded. */
function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return (
    media.startsWith('text/') ||
    media === 'application/json' ||
    media === 'application/xml' ||
    media === 'application/javascript'
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime`'s format, e.g. `12/Mar/2020:19:03:58 +0000`. */
function requestTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
}

function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Thrown by the body reader when the request exceeds the payload limit. */
class PayloadTooLargeError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new PayloadTooLargeError());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new PayloadTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!tooLarge) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * Creates the HTTP API. Requests go to `localRoutes` first, then through route selection, the route's JWT
 * authorizer and its Lambda integration.
 */
export function createHttpApi(opts: HttpApiOptions): HttpApi {
  const routes = compileRoutes(opts.routes);
  const apiId = opts.apiId ?? 'localapi00';
  const stage = opts.stage ?? '$default';
  const maxBodyBytes = opts.maxBodyBytes ?? 10 * 1024 * 1024;
  const integrationTimeoutMs = opts.integrationTimeoutMs ?? 30_000;
  const fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const issuers = new Map<string, IssuerKeys>();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let url: string | undefined;

  const keysOf = (issuer: string) => {
    let keys = issuers.get(issuer);
    if (!keys) {
      keys = new IssuerKeys(issuer, fetchImpl);
      issuers.set(issuer, keys);
    }
    return keys;
  };

  async function authorize(
    authorizer: JwtAuthorizerConfig,
    headers: IncomingMessage['headers'],
    query: URLSearchParams,
  ): Promise<{ claims: Record<string, string>; scopes: string[] | null }> {
    const token = identityOf(authorizer.identitySource, headers, query);
    if (token === undefined) throw new JwtRejectedError('');
    const claims = await verifyJwt(token, (kid) => keysOf(authorizer.issuer).keyFor(kid), {
      issuer: authorizer.issuer,
      audiences: authorizer.audiences,
    });
    const required = authorizer.authorizationScopes ?? [];
    if (required.length === 0) return { claims: stringifyClaims(claims), scopes: null };
    const scopes = scopesOf(claims);
    if (!scopes.some((s) => required.includes(s))) throw new JwtRejectedError('the token does not have a valid scope');
    return { claims: stringifyClaims(claims), scopes };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before anything else, and outside the access log: a request for another name never reached this API.
    const hostProblem = loopbackHostProblem(req);
    if (hostProblem) {
      const refused = Buffer.from(JSON.stringify({ message: `Forbidden: ${hostProblem}` }));
      res.writeHead(403, { ...JSON_HEADERS, 'content-length': refused.length, connection: 'close' }).end(refused);
      req.resume();
      return;
    }
    const startedMs = Date.now();
    const requestId = randomBytes(11).toString('base64');
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    const rawQueryString = q >= 0 ? rawUrl.slice(q + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    const log: AccessLogEntry = {
      requestId,
      ip: clientIp(req),
      requestTime: requestTime(startedMs),
      requestTimeEpoch: startedMs,
      httpMethod: method,
      routeKey: '-',
      path: rawPath,
      protocol: `HTTP/${req.httpVersion}`,
      status: 0,
      responseLength: 0,
    };

    const send = (result: GatewayResult) => {
      res.statusCode = result.status;
      for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
      // Each entry of `cookies` becomes its own set-cookie header, beside one the headers may carry.
      const setCookies = [...(result.headers['set-cookie'] ? [result.headers['set-cookie']] : []), ...result.cookies];
      if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);
      res.setHeader('apigw-requestid', requestId);
      res.setHeader('content-length', result.body.length);
      res.end(result.body);
      log.status = result.status;
      log.responseLength = result.body.length;
      opts.onAccess?.(log);
    };

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError)) throw error;
      // Answer at once and drop the connection once the answer is out; the rest of the upload is discarded.
      res.setHeader('connection', 'close');
      send(gatewayResponse(413, 'Request Entity Too Large'));
      req.resume();
      return;
    }

    if (opts.localRoutes && (await opts.localRoutes(req, res, body))) return;

    const match = matchRoute(routes, method, rawPath);
    if (!match) {
      send(gatewayResponse(404, 'Not Found'));
      return;
    }
    log.routeKey = match.route.routeKey;
    const query = new URLSearchParams(rawQueryString);

    let authorizerContext: { jwt: { claims: Record<string, string>; scopes: string[] | null } } | undefined;
    if (match.route.authorizer) {
      try {
        authorizerContext = { jwt: await authorize(match.route.authorizer, req.headers, query) };
      } catch (error) {
        const description = error instanceof JwtRejectedError ? error.description : 'the token could not be verified';
        log.authorizerError = description || 'no token in the identity source';
        const refused = gatewayResponse(401, 'Unauthorized');
        refused.headers['www-authenticate'] = description
          ? `Bearer scope="${(match.route.authorizer.authorizationScopes ?? []).join(' ')}" error="invalid_token" error_description="${description.replace(/"/g, "'")}"`
          : 'Bearer';
        send(refused);
        return;
      }
    }

    const event = buildEvent({
      req,
      requestId,
      routeKey: match.route.routeKey,
      rawPath,
      rawQueryString,
      query,
      pathParameters: match.pathParameters,
      body,
      apiId,
      stage,
      startedMs,
      authorizer: authorizerContext,
    });

    const integrationStarted = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        opts.invoke(match.route.functionName, event),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new IntegrationTimeoutError()), integrationTimeoutMs);
        }),
      ]);
      log.integrationLatency = Date.now() - integrationStarted;
      send(mapResult(result));
    } catch (error) {
      log.integrationLatency = Date.now() - integrationStarted;
      const e = error as Error;
      log.integrationError = `${e.name}: ${e.message}`;
      send(
        error instanceof IntegrationTimeoutError
          ? gatewayResponse(503, 'Service Unavailable')
          : gatewayResponse(500, 'Internal Server Error'),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      // A defect here must still look like API Gateway to the client, never a stack trace.
      if (!res.headersSent) {
        res.writeHead(500, JSON_HEADERS).end(JSON.stringify({ message: 'Internal Server Error' }));
      } else {
        res.destroy(error as Error);
      }
    });
  };

  const api: HttpApi = {
    get url() {
      return url;
    },
    handler: listener,
    listen(port: number, host = '127.0.0.1') {
      return new Promise<Server>((resolve, reject) => {
        const s = createServer(listener);
        s.on('connection', (socket) => {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
        });
        s.once('error', (error: NodeJS.ErrnoException) => {
          reject(
            error.code === 'EADDRINUSE'
              ? Object.assign(new Error(`Cannot start the HTTP API: ${host}:${port} is already in use`), {
                  code: error.code,
                })
              : error,
          );
        });
        s.listen(port, host, () => {
          server = s;
          const address = s.address() as AddressInfo;
          url = `http://${host}:${address.port}`;
          resolve(s);
        });
      });
    },
    close() {
      const s = server;
      server = undefined;
      if (!s) return Promise.resolve();
      return new Promise<void>((resolve) => {
        s.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
  return api;
}

class IntegrationTimeoutError extends Error {
  override readonly name = 'IntegrationTimeout';
  constructor() {
    super('the integration did not answer within the integration timeout');
  }
}

function identityOf(
  identitySource: string,
  headers: IncomingMessage['headers'],
  query: URLSearchParams,
): string | undefined {
  const values: string[] = [];
  for (const source of identitySource.split(',').map((s) => s.trim())) {
    let value: string | undefined;
    if (source.toLowerCase().startsWith('$request.header.')) {
      const raw = headers[source.slice('$request.header.'.length).toLowerCase()];
      value = Array.isArray(raw) ? raw.join(',') : raw;
    } else if (source.startsWith('$request.querystring.')) {
      value = query.get(source.slice('$request.querystring.'.length)) ?? undefined;
    }
    // Every identity source must be present and non-empty, else API Gateway answers 401 at once.
    if (value === undefined || value.trim() === '') return undefined;
    values.push(value.trim());
  }
  const first = values[0];
  if (first === undefined) return undefined;
  return /^bearer /i.test(first) ? first.slice(7).trim() : first;
}

interface EventInput {
  req: IncomingMessage;
  requestId: string;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  query: URLSearchParams;
  pathParameters: Record<string, string>;
  body: Buffer;
  apiId: string;
  stage: string;
  startedMs: number;
  authorizer: { jwt: { claims: Record<string, string>; scopes: string[] | null } } | undefined;
}

/** The payload format 2.0 event; fields without a value are left out, as API Gateway leaves them out. */
function buildEvent(input: EventInput): Record<string, unknown> {
  const { req } = input;
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'cookie') {
      // Format 2.0 moves cookies out of the headers into `cookies`.
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const ip = clientIp(req);
  const port = req.socket.localPort;
  headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${ip}` : ip;
  headers['x-forwarded-port'] ??= String(port ?? '');
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(input.startedMs / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  const queryStringParameters: Record<string, string> = {};
  for (const [name, value] of input.query) {
    queryStringParameters[name] =
      queryStringParameters[name] === undefined ? value : `${queryStringParameters[name]},${value}`;
  }

  const host = headers.host ?? `${input.apiId}.execute-api.us-east-1.amazonaws.com`;
  const domainPrefix = host.split('.')[0] ?? host;
  const hasBody = input.body.length > 0;
  const base64 = hasBody && !isTextContentType(headers['content-type']);

  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: input.apiId,
      ...(input.authorizer ? { authorizer: input.authorizer } : {}),
      domainName: host,
      domainPrefix,
      http: {
        method: (req.method ?? 'GET').toUpperCase(),
        path: input.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: ip,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: input.requestId,
      routeKey: input.routeKey,
      stage: input.stage,
      time: requestTime(input.startedMs),
      timeEpoch: input.startedMs,
    },
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: input.pathParameters } : {}),
    ...(hasBody ? { body: base64 ? input.body.toString('base64') : input.body.toString('utf8') } : {}),
    isBase64Encoded: base64,
  };
}

/**
 * Reads a Lambda result as API Gateway does for format 2.0: an object with `statusCode` is a response
 * (`headers`, `cookies`, `body`, `isBase64Encoded`); anything else is the body of a `200` JSON response (a string
 * as it is, other values as JSON). A malformed response is API Gateway's 500.
 */
export function mapResult(result: unknown): GatewayResult {
  if (typeof result !== 'object' || result === null || Array.isArray(result) || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { status: 200, headers: { ...JSON_HEADERS }, cookies: [], body: Buffer.from(body ?? 'null') };
  }
  const response = result as {
    statusCode: unknown;
    headers?: unknown;
    cookies?: unknown;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const status = response.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    return gatewayResponse(500, 'Internal Server Error');
  }
  if (response.body !== undefined && response.body !== null && typeof response.body !== 'string') {
    return gatewayResponse(500, 'Internal Server Error');
  }
  const headers: Record<string, string> = {};
  if (response.headers !== undefined && response.headers !== null) {
    if (typeof response.headers !== 'object' || Array.isArray(response.headers)) {
      return gatewayResponse(500, 'Internal Server Error');
    }
    for (const [name, value] of Object.entries(response.headers as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      headers[name.toLowerCase()] = String(value);
    }
  }
  const cookies = Array.isArray(response.cookies) ? response.cookies.map(String) : [];
  const text = (response.body as string | undefined) ?? '';
  const body = response.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { status, headers, cookies, body };
}
