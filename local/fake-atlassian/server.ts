/**
 * The fake Atlassian Cloud used by tests and the local runtime: every route of `shared/atlassian/README.md` on
 * one port, with real behaviour (tokens are minted, listed, revoked, expire on the injected clock, and verify on
 * `/myself` only with the right email, state and scopes). Paths are those of api.atlassian.com; the site routes
 * (`/rest/api/3/myself`, `/_edge/tenant_info`) are served at the root.
 *
 * Decisions where Atlassian's documents are silent:
 * - The per-account list keeps expired tokens (with their `expiry`), as Atlassian does; revoked ones disappear.
 * - The org inventory lists live tokens as `ALLOWED` (the status in Atlassian's example) and expired ones as
 *   `EXPIRED`; revoked tokens are not listed. Paging: `pageSize` (1-100, default 50) and `cursor`, next page in
 *   `links.next`.
 * - The directory search finds the org's human accounts; service accounts are not directory users.
 * - Injected faults: a 4xx (including 429) refuses the request before it is processed; a 5xx lets the request be
 *   processed and then replaces the answer — the lost response that makes mint reconciliation necessary.
 *   `delayMs` holds the request before it is served, whether or not the caller is still waiting.
 *
 * Test controls (local only): `POST /__control/faults`, `DELETE /__control/faults`, `POST /__control/rate-limit`,
 * `GET /__control/tokens`, `POST /__control/reset`. Control POSTs take `application/json` only (415
 * `unsupportedMediaType` otherwise, even without a body) and are refused (403) from another origin, so that a web
 * page cannot queue faults or reset the fake with a cross-site `text/plain` POST.
 *
 * Every route answers only a loopback `Host` (`127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`, or
 * `<site>.localhost:<port>`, which picks the site for `/_edge/tenant_info`); any other name gets 403 `forbidden`
 * (DNS rebinding, `../http-guard.ts`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { localPostRefusal, loopbackHostProblem } from '../http-guard';
import {
  type FakeRouteName,
  type Fault,
  FaultQueue,
  faultRequestSchema,
  rateLimitRequestSchema,
  TokenBucket,
} from './controls';
import {
  type FakeAccount,
  FakeAtlassianState,
  type FakeSeed,
  type FakeTokenRecord,
  type FakeTokenStatus,
} from './state';

/** Construction options of {@link createFakeAtlassian}. */
export interface FakeAtlassianOptions {
  /** The clock token expiry and timestamps run on (the simulated clock in the local runtime). */
  now: () => Date;
  /** The org API key admin routes accept as `Authorization: Bearer <key>`. */
  orgApiKey: string;
  seed: FakeSeed;
  /** JSON persistence of the tokens; absent = memory only. */
  stateFile?: string;
  /** Called after every request (for the local runtime's call log). Never carries a token or key. */
  onCall?: (call: FakeCall) => void;
}

/** One request the fake answered. */
export interface FakeCall {
  route: FakeRouteName | 'control' | 'unmatched';
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

/** A token as `GET /__control/tokens` shows it: everything but the value. */
export interface FakeTokenView {
  id: string;
  label: string;
  accountId: string;
  status: FakeTokenStatus;
  scopes: string[];
  createdAt: string;
  expiry: string;
  revokedAt?: string;
  lastAccess?: string;
}

/** A running fake: mount `handler` on any server, or `listen()`. */
export interface FakeAtlassian {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Starts an HTTP server (host defaults to 127.0.0.1); rejects with a clear error when the port is taken. */
  listen(port: number, host?: string): Promise<Server>;
  state: FakeAtlassianState;
  /** Back to the seed: no tokens, no faults, no rate limit. */
  reset(): void;
  /** The token views served by `GET /__control/tokens`. */
  tokens(): FakeTokenView[];
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

interface Matched {
  name: FakeRouteName;
  params: string[];
}

/** Scopes that let a token call `/myself`: `read:jira-user`, or all of the granular set. */
const CLASSIC_USER_SCOPE = 'read:jira-user';
const GRANULAR_USER_SCOPES = ['read:application-role:jira', 'read:group:jira', 'read:user:jira', 'read:avatar:jira'];
const SCOPE_PATTERN = /^[a-z]+:[a-z0-9._:-]+$/;
const MAX_LIFETIME_MS = 365 * 24 * 3600 * 1000;
const MAX_BODY_BYTES = 1024 * 1024;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Paths and methods of the Atlassian routes; `:` marks a path parameter. */
const ROUTES: ReadonlyArray<{ path: string[]; methods: Partial<Record<string, FakeRouteName>> }> = [
  { path: ['users', ':', 'manage', 'api-tokens'], methods: { GET: 'list', POST: 'mint' } },
  { path: ['users', ':', 'manage', 'api-tokens', ':'], methods: { DELETE: 'revoke' } },
  { path: ['admin', 'api-access', 'v1', 'orgs', ':', 'api-tokens'], methods: { GET: 'inventory' } },
  { path: ['admin', 'v2', 'orgs', ':', 'directories', ':', 'users', 'search'], methods: { POST: 'search' } },
  { path: ['ex', 'jira', ':', 'rest', 'api', '3', 'myself'], methods: { GET: 'myself' } },
  { path: ['rest', 'api', '3', 'myself'], methods: { GET: 'myself' } },
  { path: ['_edge', 'tenant_info'], methods: { GET: 'tenant_info' } },
];

const ERROR_KEYS: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'notFound',
  405: 'methodNotAllowed',
  409: 'conflict',
  413: 'payloadTooLarge',
  429: 'tooManyRequests',
  500: 'internalServerError',
  502: 'badGateway',
  503: 'serviceUnavailable',
  504: 'gatewayTimeout',
};

class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  constructor(readonly reply: Reply) {
    super(`fake Atlassian answered ${reply.status}`);
  }
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply =>
  headers ? { status, body, headers } : { status, body };

const atlassianError = (status: number, key = ERROR_KEYS[status] ?? 'error', message?: string): Reply =>
  json(status, message === undefined ? { key } : { key, message });

/** Organization-API routes document `{errors: [...]}`; the `key` keeps every fake error readable one way. */
const orgError = (status: number, code: string, title: string, message: string): Reply =>
  json(status, {
    key: ERROR_KEYS[status] ?? 'error',
    message,
    errors: [{ status: String(status), code, title, detail: message }],
  });

/** An Atlassian-like token value: `ATATT3x` + high-entropy body + `=` + an 8-hex check. */
export function newTokenValue(): string {
  const body = `ATATT3x${randomBytes(138).toString('base64url')}`;
  const check = createHash('sha256').update(body).digest('hex').slice(0, 8).toUpperCase();
  return `${body}=${check}`;
}

const encodeCursor = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
function decodeCursor(cursor: string | null | undefined): number | undefined {
  if (cursor === null || cursor === undefined || cursor === '') return 0;
  const match = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return match ? Number(match[1]) : undefined;
}

/** Builds the fake Atlassian. State is loaded from `stateFile` when it exists. */
export function createFakeAtlassian(opts: FakeAtlassianOptions): FakeAtlassian {
  const state = new FakeAtlassianState(opts.seed, opts.stateFile);
  const faults = new FaultQueue();
  const bucket = new TokenBucket();
  const expectedKey = Buffer.from(`Bearer ${opts.orgApiKey}`);

  const tokenView = (r: FakeTokenRecord): FakeTokenView => {
    const view: FakeTokenView = {
      id: r.id,
      label: r.label,
      accountId: r.accountId,
      status: state.statusOf(r, opts.now()),
      scopes: [...r.scopes],
      createdAt: r.createdAt,
      expiry: r.expiry,
    };
    if (r.revokedAt) view.revokedAt = r.revokedAt;
    if (r.lastAccess) view.lastAccess = r.lastAccess;
    return view;
  };

  const reset = () => {
    state.reset();
    faults.clear();
    bucket.configure(0);
  };

  function requireOrgKey(req: IncomingMessage): void {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expectedKey.length || !timingSafeEqual(given, expectedKey)) {
      throw new HttpFailure(atlassianError(401, 'unauthorized'));
    }
  }

  function parseObject(text: string): Record<string, unknown> | undefined {
    try {
      const value: unknown = JSON.parse(text);
      return value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  function serviceOrUser(accountId: string): FakeAccount {
    const account = state.account(accountId);
    if (!account) throw new HttpFailure(atlassianError(404, 'notFound'));
    return account;
  }

  function mint(req: IncomingMessage, accountId: string, text: string): Reply {
    requireOrgKey(req);
    const account = serviceOrUser(accountId);
    if (account.kind !== 'service') {
      return atlassianError(403, 'forbidden', 'API tokens can only be created for service accounts');
    }
    const body = parseObject(text);
    if (!body) return atlassianError(400, 'bodyParseFailure');

    const violations: Array<{ field: string; violations: Array<{ key: string }> }> = [];
    const violate = (field: string, key: string) => violations.push({ field, violations: [{ key }] });

    const label = body.label;
    if (typeof label !== 'string' || label.trim() === '') violate('label', 'required');
    else if (label.length > 255) violate('label', 'maxLength');

    const scopes = body.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0) violate('scopes', 'minItems');
    else if (scopes.length > 50) violate('scopes', 'maxItems');
    else if (!scopes.every((s): s is string => typeof s === 'string' && SCOPE_PATTERN.test(s))) {
      violate('scopes', 'pattern');
    } else if (new Set(scopes).size !== scopes.length) violate('scopes', 'uniqueItems');

    // Atlassian's field is `expiry`; anything else (notably `expiresAt`) leaves it missing.
    const now = opts.now();
    const expiryText = body.expiry;
    const expiry = typeof expiryText === 'string' && ISO_DATE_TIME.test(expiryText) ? new Date(expiryText) : undefined;
    if (
      !expiry ||
      Number.isNaN(expiry.getTime()) ||
      expiry.getTime() <= now.getTime() ||
      expiry.getTime() > now.getTime() + MAX_LIFETIME_MS
    ) {
      violate('expiry', 'INVALID_EXPIRY');
    }

    if (violations.length > 0 || !expiry || typeof label !== 'string' || !Array.isArray(scopes)) {
      return json(400, {
        key: 'fieldConstraintsViolated',
        message: `invalid field(s): ${violations.map((v) => v.field).join(', ')}`,
        context: { fieldViolations: violations },
      });
    }
    const value = newTokenValue();
    const record = state.addToken({ accountId, label, scopes: scopes as string[], expiry, value, now });
    return json(200, { id: record.id, token: value, label: record.label, expiry: record.expiry });
  }

  function list(req: IncomingMessage, accountId: string): Reply {
    requireOrgKey(req);
    serviceOrUser(accountId);
    const tokens = state.tokens
      .filter((r) => r.accountId === accountId && !r.revokedAt)
      .map((r) => {
        const item: Record<string, string> = { id: r.id, label: r.label, createdAt: r.createdAt, expiry: r.expiry };
        if (r.lastAccess) item.lastAccess = r.lastAccess;
        return item;
      });
    return json(200, tokens);
  }

  function revoke(req: IncomingMessage, accountId: string, tokenId: string): Reply {
    requireOrgKey(req);
    serviceOrUser(accountId);
    if (!state.revoke(accountId, tokenId, opts.now())) return atlassianError(404, 'notFound');
    return { status: 204 };
  }

  function myself(req: IncomingMessage, cloudId: string | undefined): Reply {
    if (cloudId !== undefined && !state.siteByCloudId(cloudId)) return atlassianError(404, 'notFound');
    // One flat answer for every refusal, as Atlassian gives: callers cannot tell why.
    const refused = atlassianError(401, 'unauthorized');
    const match = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1]) return refused;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return refused;
    const email = decoded.slice(0, colon).toLowerCase();
    const record = state.findByValue(decoded.slice(colon + 1));
    if (!record) return refused;
    const account = state.account(record.accountId);
    const now = opts.now();
    if (!account || account.email.toLowerCase() !== email) return refused;
    if (state.statusOf(record, now) !== 'ACTIVE') return refused;
    const scopes = new Set(record.scopes);
    if (!scopes.has(CLASSIC_USER_SCOPE) && !GRANULAR_USER_SCOPES.every((s) => scopes.has(s))) return refused;
    state.touch(record, now);
    return json(200, {
      accountId: account.accountId,
      accountType: 'app',
      active: true,
      displayName: account.displayName,
      emailAddress: account.email,
    });
  }

  function inventory(req: IncomingMessage, orgId: string, query: URLSearchParams): Reply {
    requireOrgKey(req);
    if (orgId !== opts.seed.orgId) return atlassianError(404, 'notFound', 'organization not found');
    const pageSizeText = query.get('pageSize');
    const pageSize = pageSizeText === null ? 50 : Number(pageSizeText);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      return atlassianError(400, 'badRequest', 'pageSize must be an integer from 1 to 100');
    }
    const offset = decodeCursor(query.get('cursor'));
    if (offset === undefined) return atlassianError(400, 'invalidPageCursor', 'cursor is not valid');
    const now = opts.now();
    const live = state.tokens.filter((r) => !r.revokedAt);
    const data = live.slice(offset, offset + pageSize).map((r) => {
      const account = state.account(r.accountId);
      const item: Record<string, unknown> = {
        id: r.id,
        label: r.label,
        status: state.statusOf(r, now) === 'EXPIRED' ? 'EXPIRED' : 'ALLOWED',
        createdAt: r.createdAt,
        expiresAt: r.expiry,
        user: { id: r.accountId, orgId, name: account?.displayName ?? '', email: account?.email ?? '' },
        scopes: [...r.scopes],
      };
      if (r.lastAccess) item.lastActiveAt = r.lastAccess;
      return item;
    });
    const links: Record<string, string> = { self: encodeCursor(offset) };
    if (offset + pageSize < live.length) links.next = encodeCursor(offset + pageSize);
    return json(200, { data, links });
  }

  function search(req: IncomingMessage, orgId: string, directoryId: string, text: string): Reply {
    try {
      requireOrgKey(req);
    } catch {
      return orgError(401, 'ADMIN-UAM-401-1', 'Unauthenticated', 'a valid org API key is required');
    }
    if (orgId !== opts.seed.orgId) {
      return orgError(404, 'ADMIN-UAM-404-2', 'Organization not found', 'organization not found');
    }
    if (directoryId !== '-' && directoryId !== opts.seed.directoryId) {
      return orgError(404, 'ADMIN-UAM-404-1', 'Unknown Resource', 'directory not found');
    }
    const bad = (message: string) => orgError(400, 'ADMIN-UAM-400-1', 'Bad Request', message);
    const body = text.trim() === '' ? {} : parseObject(text);
    if (!body) return bad('the body is not a JSON object');
    const { emails, searchTerm, limit, cursor } = body;
    if (emails !== undefined && searchTerm !== undefined) return bad('emails and searchTerm are mutually exclusive');
    if (
      emails !== undefined &&
      (!Array.isArray(emails) ||
        emails.length < 1 ||
        emails.length > 100 ||
        !emails.every((e) => typeof e === 'string') ||
        new Set(emails).size !== emails.length)
    ) {
      return bad('emails must hold 1 to 100 distinct strings');
    }
    if (searchTerm !== undefined && typeof searchTerm !== 'string') return bad('searchTerm must be a string');
    if (limit !== undefined && !(Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= 100)) {
      return bad('limit must be an integer from 1 to 100');
    }
    if (cursor !== undefined && typeof cursor !== 'string') return bad('cursor must be a string');
    const offset = decodeCursor(cursor as string | undefined);
    if (offset === undefined) return bad('cursor is not valid');

    const wanted = Array.isArray(emails) ? new Set(emails.map((e) => String(e).toLowerCase())) : undefined;
    const term = typeof searchTerm === 'string' ? searchTerm.toLowerCase() : undefined;
    const found = opts.seed.accounts.filter(
      (a) =>
        a.kind === 'human' &&
        (wanted === undefined || wanted.has(a.email.toLowerCase())) &&
        (term === undefined || a.email.toLowerCase().includes(term) || a.displayName.toLowerCase().includes(term)),
    );
    const pageSize = (limit as number | undefined) ?? 50;
    const data = found.slice(offset, offset + pageSize).map((a) => ({
      accountId: a.accountId,
      accountType: 'atlassian',
      accountStatus: 'active',
      membershipStatus: 'active',
      status: 'active',
      claimStatus: 'managed',
      email: a.email,
      emailVerified: true,
      name: a.displayName,
      nickname: a.displayName,
    }));
    const links: Record<string, string> = {};
    if (offset + pageSize < found.length) links.next = encodeCursor(offset + pageSize);
    return json(200, { data, links });
  }

  function tenantInfo(req: IncomingMessage): Reply {
    // Served at the root for every site: the Host's first label picks the site when it names one.
    const label = (req.headers.host ?? '').split('.')[0] ?? '';
    const site = state.site(label) ?? opts.seed.sites[0];
    if (!site) return atlassianError(404, 'notFound');
    return json(200, { cloudId: site.cloudId });
  }

  function serve(route: Matched, req: IncomingMessage, query: URLSearchParams, text: string): Reply {
    const [a = '', b = ''] = route.params;
    switch (route.name) {
      case 'mint':
        return mint(req, a, text);
      case 'list':
        return list(req, a);
      case 'revoke':
        return revoke(req, a, b);
      case 'myself':
        return myself(req, route.params.length > 0 ? a : undefined);
      case 'inventory':
        return inventory(req, a, query);
      case 'search':
        return search(req, a, b, text);
      case 'tenant_info':
        return tenantInfo(req);
    }
  }

  function faultReply(fault: Fault): Reply {
    const status = fault.status;
    if (status === 429) {
      const seconds = fault.retryAfterSeconds ?? 1;
      return json(429, { key: 'tooManyRequests', message: 'rate limit exceeded' }, rateLimitHeaders(100, seconds));
    }
    const headers: Record<string, string> | undefined =
      fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) };
    return json(status, { key: ERROR_KEYS[status] ?? 'error', message: 'injected fault' }, headers);
  }

  function rateLimitHeaders(limit: number, retryAfterSeconds: number): Record<string, string> {
    return {
      'retry-after': String(retryAfterSeconds),
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': new Date(opts.now().getTime() + retryAfterSeconds * 1000).toISOString(),
    };
  }

  function control(method: string, path: string[], text: string): Reply {
    const what = path.join('/');
    const bad = (message: string) => atlassianError(400, 'badRequest', message);
    const parseBody = (): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    };
    if (what === 'faults' && method === 'POST') {
      const parsed = faultRequestSchema.safeParse(parseBody());
      if (!parsed.success) return bad(`invalid fault: ${describeIssues(parsed.error.issues)}`);
      faults.add(parsed.data);
      return json(200, { faults: faults.pending() });
    }
    if (what === 'faults' && method === 'DELETE') {
      faults.clear();
      return { status: 204 };
    }
    if (what === 'faults' && method === 'GET') return json(200, { faults: faults.pending() });
    if (what === 'rate-limit' && method === 'POST') {
      const parsed = rateLimitRequestSchema.safeParse(parseBody());
      if (!parsed.success) return bad(`invalid rate limit: ${describeIssues(parsed.error.issues)}`);
      bucket.configure(parsed.data.perSecond);
      return json(200, { perSecond: parsed.data.perSecond });
    }
    if (what === 'tokens' && method === 'GET') return json(200, state.tokens.map(tokenView));
    if (what === 'reset' && method === 'POST') {
      reset();
      return { status: 204 };
    }
    return atlassianError(404, 'notFound', `no control route ${method} /__control/${what}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    let routeName: FakeCall['route'] = 'unmatched';
    let path = '/';
    let reply: Reply;
    try {
      const url = new URL(req.url ?? '/', 'http://fake-atlassian.invalid');
      path = url.pathname;
      const segments = splitPath(url.pathname);
      const text = await readBody(req);
      const hostProblem = loopbackHostProblem(req, { localhostSubdomains: true });
      const refusal = segments[0] === '__control' && method === 'POST' ? localPostRefusal(req) : undefined;
      if (hostProblem) {
        reply = atlassianError(403, 'forbidden', `Forbidden: ${hostProblem}`);
      } else if (refusal) {
        routeName = 'control';
        reply = atlassianError(
          refusal.status,
          refusal.status === 415 ? 'unsupportedMediaType' : 'forbidden',
          refusal.message,
        );
      } else if (segments[0] === '__control') {
        routeName = 'control';
        reply = control(method, segments.slice(1), text);
      } else {
        const matched = match(method, segments);
        if (matched === 'method-not-allowed') {
          reply = atlassianError(405, 'methodNotAllowed');
        } else if (!matched) {
          reply = atlassianError(404, 'notFound');
        } else {
          routeName = matched.name;
          reply = await serveWithControls(matched, req, url.searchParams, text);
        }
      }
    } catch (error) {
      if (error instanceof HttpFailure) reply = error.reply;
      else {
        console.error('fake Atlassian: unexpected failure', error);
        reply = atlassianError(500, 'internalServerError');
      }
    }
    write(res, reply);
    opts.onCall?.({ route: routeName, method, path, status: reply.status, durationMs: performance.now() - started });
  }

  async function serveWithControls(
    matched: Matched,
    req: IncomingMessage,
    query: URLSearchParams,
    text: string,
  ): Promise<Reply> {
    const limited = bucket.take();
    if (!limited.allowed) {
      return json(
        429,
        { key: 'tooManyRequests', message: 'rate limit exceeded' },
        rateLimitHeaders(limited.limit, limited.retryAfterSeconds),
      );
    }
    const fault = faults.take(matched.name);
    if (fault?.delayMs) await delay(fault.delayMs);
    if (fault && fault.status >= 400 && fault.status < 500) return faultReply(fault);
    let reply: Reply;
    try {
      reply = serve(matched, req, query, text);
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error;
      reply = error.reply;
    }
    if (fault && fault.status >= 500) return faultReply(fault);
    if (limited.limit !== undefined) {
      reply.headers = {
        ...reply.headers,
        'x-ratelimit-limit': String(limited.limit),
        'x-ratelimit-remaining': String(limited.remaining ?? 0),
      };
    }
    return reply;
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };

  return {
    handler,
    state,
    reset,
    tokens: () => state.tokens.map(tokenView),
    listen(port: number, host = '127.0.0.1') {
      return new Promise<Server>((resolve, reject) => {
        const server = createServer(handler);
        const onError = (error: NodeJS.ErrnoException) => {
          reject(
            error.code === 'EADDRINUSE'
              ? new Error(`fake Atlassian: port ${port} on ${host} is already in use`, { cause: error })
              : error,
          );
        };
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve(server);
        });
      });
    },
  };
}

function splitPath(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpFailure(atlassianError(400, 'badRequest', 'malformed path encoding'));
  }
}

function match(method: string, segments: string[]): Matched | 'method-not-allowed' | undefined {
  for (const route of ROUTES) {
    if (route.path.length !== segments.length) continue;
    const params: string[] = [];
    const fits = route.path.every((part, i) => {
      const segment = segments[i] ?? '';
      if (part === ':') {
        params.push(segment);
        return true;
      }
      return part === segment;
    });
    if (!fits) continue;
    const name = route.methods[method];
    return name ? { name, params } : 'method-not-allowed';
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpFailure(atlassianError(413, 'payloadTooLarge')));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return;
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ');
}
