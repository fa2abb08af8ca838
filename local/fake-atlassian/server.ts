/**
 * The fake Atlassian Cloud used by tests and the local runtime: every route of `shared/atlassian/README.md` on
 * one port, with real behaviour (tokens are minted, listed, revoked, expire on the injected clock, and verify on
 * `/myself` only with the right email, state, scopes and authentication policy). Paths are those of
 * api.atlassian.com; the site routes (`/rest/api/3/myself`, `/_edge/tenant_info`) are served at the root.
 * Documented routes answer as Atlassian's specs say (`docs/atlassian/*.openapi.json`), error bodies included.
 *
 * Decisions where Atlassian's documents are silent:
 * - The per-account list keeps expired tokens (with their `expiry`), as Atlassian does; revoked ones disappear.
 *   An unknown account is `404 {"key":"accountNotFound"}`, an unknown token of a known one `404 {"key":"notFound"}`
 *   (the undocumented mint route keeps `notFound` for an unknown account).
 * - Org inventory (`GET /admin/api-access/v1/orgs/{orgId}/api-tokens` and `…/count`): lists every unrevoked,
 *   unexpired token — members' personal tokens and service accounts' tokens alike (`user` = the service account,
 *   always `ALLOWED`), since nothing in the spec tells them apart. A member's token is `ALLOWED` while the member's
 *   authentication policy allows user API tokens and `BLOCKED` while it blocks them. `pageSize` 1–1000, default 20
 *   (else `400 INVALID_PAGE_SIZE`). `sort` is exactly one value of the spec's enum (default `-lastActiveAt`; a
 *   comma list or `+field` is `400 INVALID_SORT`); ties go by token id; a missing value (never used) is the
 *   smallest, so never-used tokens come last in descending order and first in ascending. `q` is a case-insensitive
 *   substring of label, user name or email. The `createdAt*` / `lastActiveAt*` filters: `gt` / `lt` compare the
 *   timestamp with now minus `Value` `Uom`s (`gt` = later than that, i.e. within the window); `range` takes
 *   `From` / `To` (ISO 8601, inclusive, at least one); `range_time` takes `RangeFrom` / `RangeTo` such as
 *   `-3w 2d` (relative to now, inclusive). A never-used token matches no `lastActiveAt` filter. Missing companions
 *   are `400 INVALID_API_TOKEN_SEARCH_QUERY`, malformed values `400 INVALID_FIELD_FORMAT`. An undocumented query
 *   parameter is `500 GENERIC_ERROR` (observed on Atlassian). Cursors encode a position only (sort value + token
 *   id, base64url JSON), so a cursor stays valid when tokens are added; resent with another sort or filter it
 *   means the same position in the new order. `links.self` is always there, `next` / `prev` when such a page
 *   exists. Another org is `403` (the only documented refusal); a wrong key `401` in the same `{errors}` shape.
 *   Every answer under `/admin/api-access/` carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (ISO 8601,
 *   next second of the fake's clock); with no rate limit set the limit reported is 1000.
 * - Admin Control: a wrong key is `401` with no body, another org, policy or task `404 {"code":404,"message"}`, a
 *   bad body `400 {"errors":[…]}`. An `add-users` task is in progress for 300 ms of wall time, then moves every
 *   email of a member of the org (case-insensitive) and reports any other email as a failure reason
 *   (`details.status` 404). `bulk-fetch` answers the members among the account ids, in request order (unknown ids
 *   and service accounts are left out).
 * - `/myself` answers a service account with `accountType: "app", appType: "service"` and a member with
 *   `accountType: "atlassian"`. A personal token works only while its owner's policy allows API tokens. An
 *   unscoped token (`scopes: []`, the classic personal token) works on both the site and the gateway form; a
 *   scoped one, whoever owns it, needs `read:jira-user` or the granular set. A use sets `lastAccess` /
 *   `lastActiveAt` on the fake's clock.
 * - The directory search finds the org's members; service accounts are not directory users.
 * - Injected faults: a 4xx (including 429) refuses the request before it is processed; a 5xx lets the request be
 *   processed and then replaces the answer — the lost response that makes mint reconciliation necessary.
 *   `delayMs` holds the request before it is served, whether or not the caller is still waiting. Their bodies
 *   take the route's documented error shape.
 *
 * Test controls (local only): `POST /__control/faults`, `DELETE /__control/faults`, `POST /__control/rate-limit`,
 * `GET /__control/tokens` (every token, service-account and personal, never a value), `POST /__control/reset`,
 * `POST /__control/personal-tokens` (a member creates a token in id.atlassian.com: `201 {id, token}`, `403` while
 * their policy blocks API tokens unless `createdDaysAgo` says it predates the block, `404` for no such member),
 * `POST /__control/policies/{policyId}/members` (an admin moves a member, at once) and `GET /__control/policies`.
 * Control POSTs take `application/json` only (415 `unsupportedMediaType` otherwise, even without a body) and are
 * refused (403) from another origin, so that a web page cannot queue faults or reset the fake with a cross-site
 * `text/plain` POST.
 *
 * Every route answers only a loopback `Host` (`127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`, or
 * `<site>.localhost:<port>`, which picks the site for `/_edge/tenant_info`); any other name gets 403 `forbidden`
 * (DNS rebinding, `../http-guard.ts`).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { localPostRefusal, loopbackHostProblem } from '../http-guard';
import {
  type FakeRouteName,
  type Fault,
  FaultQueue,
  faultRequestSchema,
  personalTokenRequestSchema,
  policyMemberRequestSchema,
  rateLimitRequestSchema,
  TokenBucket,
} from './controls';
import {
  compareTuples,
  type FakeAccount,
  FakeAtlassianState,
  type FakeSeed,
  type FakeTokenRecord,
  type FakeTokenStatus,
  type InventorySortField,
} from './state';

/** Construction options of {@link createFakeAtlassian}. */
export interface FakeAtlassianOptions {
  /** The clock token expiry and timestamps run on (the simulated clock in the local runtime). */
  now: () => Date;
  /** The org API key admin routes accept as `Authorization: Bearer <key>`. */
  orgApiKey: string;
  seed: FakeSeed;
  /** JSON persistence of tokens, members' policies and policy moves; absent = memory only. */
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
  /** `service`: minted by an admin for a service account; `personal`: a member's own token. */
  kind: 'service' | 'personal';
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
  /** Back to the seed: its members, policies and personal tokens only; no faults, no rate limit. */
  reset(): void;
  /** The service-account tokens of `GET /__control/tokens` (the ones admins mint). */
  tokens(): FakeTokenView[];
  /** The members' personal tokens of `GET /__control/tokens`. */
  personalTokens(): FakeTokenView[];
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
const DAY_MS = 24 * 3600 * 1000;
const MAX_LIFETIME_MS = 365 * DAY_MS;
const MAX_BODY_BYTES = 1024 * 1024;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Paths and methods of the Atlassian routes; `:` marks a path parameter. */
const ROUTES: ReadonlyArray<{ path: string[]; methods: Partial<Record<string, FakeRouteName>> }> = [
  { path: ['users', ':', 'manage', 'api-tokens'], methods: { GET: 'list', POST: 'mint' } },
  { path: ['users', ':', 'manage', 'api-tokens', ':'], methods: { DELETE: 'revoke' } },
  { path: ['admin', 'api-access', 'v1', 'orgs', ':', 'api-tokens'], methods: { GET: 'inventory' } },
  { path: ['admin', 'api-access', 'v1', 'orgs', ':', 'api-tokens', 'count'], methods: { GET: 'inventory_count' } },
  { path: ['admin', 'control', 'v1', 'orgs', ':', 'auth-policy', 'task', ':'], methods: { GET: 'task' } },
  { path: ['admin', 'control', 'v1', 'orgs', ':', 'auth-policy', ':', 'add-users'], methods: { POST: 'add_users' } },
  {
    path: ['admin', 'control', 'v1', 'orgs', ':', 'users', 'auth-policies', 'bulk-fetch'],
    methods: { POST: 'bulk_fetch' },
  },
  { path: ['admin', 'v2', 'orgs', ':', 'directories', ':', 'users', 'search'], methods: { POST: 'search' } },
  { path: ['ex', 'jira', ':', 'rest', 'api', '3', 'myself'], methods: { GET: 'myself' } },
  { path: ['rest', 'api', '3', 'myself'], methods: { GET: 'myself' } },
  { path: ['_edge', 'tenant_info'], methods: { GET: 'tenant_info' } },
];

/** Which API (and so which error shape) a route belongs to. */
type Plane = 'identity' | 'organization' | 'api-access' | 'admin-control';
const PLANE: Record<FakeRouteName, Plane> = {
  mint: 'identity',
  list: 'identity',
  revoke: 'identity',
  myself: 'identity',
  tenant_info: 'identity',
  search: 'organization',
  inventory: 'api-access',
  inventory_count: 'api-access',
  add_users: 'admin-control',
  task: 'admin-control',
  bulk_fetch: 'admin-control',
};

/** The documented query parameters of the inventory (`…/count` takes the filters only). */
const INVENTORY_FILTERS = ['q', 'status', ...['createdAt', 'lastActiveAt'].flatMap(dateFilterParams)];
const INVENTORY_PARAMS = [...INVENTORY_FILTERS, 'sort', 'pageSize', 'cursor'];
const INVENTORY_SORTS: ReadonlySet<string> = new Set(
  ['label', 'user.name', 'createdAt', 'expiresAt', 'lastActiveAt'].flatMap((f) => [f, `-${f}`]),
);
/** `X-RateLimit-Limit` reported on API Access when no rate limit is set. */
const NOMINAL_RATE_LIMIT = 1000;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: DAY_MS, week: 7 * DAY_MS };

function dateFilterParams(prefix: string): string[] {
  return ['SearchType', 'Uom', 'Value', 'From', 'To', 'RangeFrom', 'RangeTo'].map((s) => `${prefix}${s}`);
}

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

const ERROR_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
};

/** API Access and Admin Control 400/500 bodies: `{"errors": [{id, status, code, title, detail}]}`. */
const errorsBody = (status: number, code: string, detail: string) => ({
  errors: [{ id: randomUUID(), status: String(status), code, title: ERROR_TITLES[status] ?? 'Error', detail }],
});

const apiAccessError = (status: number, code: string, detail: string): Reply =>
  json(status, errorsBody(status, code, detail));

/** Admin Control: `401` without a body, `404 {code, message}`, others `{errors: [...]}`. */
function adminControlError(status: number, detail: string, code = 'INVALID_REQUEST'): Reply {
  if (status === 401) return { status };
  if (status === 404) return json(404, { code: 404, message: detail });
  return json(status, errorsBody(status, code, detail));
}

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

/** A position in the inventory order: from (inclusive), after or before `(v, i)`; no position = the start. */
interface InventoryCursor {
  k: 'f' | 'a' | 'b';
  v?: string;
  i?: string;
}

const encodeInventoryCursor = (cursor: InventoryCursor) => Buffer.from(JSON.stringify(cursor)).toString('base64url');

function decodeInventoryCursor(text: string): InventoryCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (value === null || typeof value !== 'object') return undefined;
    const { k, v, i } = value as Record<string, unknown>;
    if (k !== 'f' && k !== 'a' && k !== 'b') return undefined;
    if (v === undefined && i === undefined) return k === 'f' ? { k } : undefined;
    return typeof v === 'string' && typeof i === 'string' ? { k, v, i } : undefined;
  } catch {
    return undefined;
  }
}

/** `-3w 2d 4h 5m` (each part optional, in that order) as signed milliseconds. */
function parseRelativeTime(text: string): number | undefined {
  const m = /^\s*(-)?\s*(?:(\d{1,6})w)?\s*(?:(\d{1,6})d)?\s*(?:(\d{1,6})h)?\s*(?:(\d{1,6})m)?\s*$/.exec(text);
  if (!m || (m[2] ?? m[3] ?? m[4] ?? m[5]) === undefined) return undefined;
  const [w, d, h, min] = [m[2], m[3], m[4], m[5]].map((x) => Number(x ?? 0)) as [number, number, number, number];
  const ms = w * UNIT_MS.week! + d * DAY_MS + h * UNIT_MS.hour! + min * UNIT_MS.minute!;
  return m[1] ? -ms : ms;
}

/** Builds the fake Atlassian. State is loaded from `stateFile` when it exists. */
export function createFakeAtlassian(opts: FakeAtlassianOptions): FakeAtlassian {
  const state = new FakeAtlassianState(
    opts.seed,
    opts.stateFile === undefined ? { now: opts.now } : { stateFile: opts.stateFile, now: opts.now },
  );
  const faults = new FaultQueue();
  const bucket = new TokenBucket();
  const expectedKey = Buffer.from(`Bearer ${opts.orgApiKey}`);

  const tokenView = (r: FakeTokenRecord): FakeTokenView => {
    const view: FakeTokenView = {
      id: r.id,
      label: r.label,
      accountId: r.accountId,
      kind: state.account(r.accountId)?.kind === 'human' ? 'personal' : 'service',
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

  function hasOrgKey(req: IncomingMessage): boolean {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expectedKey.length && timingSafeEqual(given, expectedKey);
  }

  function requireOrgKey(req: IncomingMessage, plane: Plane = 'identity'): void {
    if (hasOrgKey(req)) return;
    if (plane === 'api-access') {
      throw new HttpFailure(apiAccessError(401, 'GENERIC_ERROR', 'a valid org API key is required'));
    }
    if (plane === 'admin-control') throw new HttpFailure(adminControlError(401, 'a valid org API key is required'));
    throw new HttpFailure(atlassianError(401, 'unauthorized'));
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

  function serviceOrUser(accountId: string, unknownKey: 'notFound' | 'accountNotFound'): FakeAccount {
    const account = state.account(accountId);
    if (!account) throw new HttpFailure(atlassianError(404, unknownKey));
    return account;
  }

  function mint(req: IncomingMessage, accountId: string, text: string): Reply {
    requireOrgKey(req);
    const account = serviceOrUser(accountId, 'notFound');
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
    serviceOrUser(accountId, 'accountNotFound');
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
    serviceOrUser(accountId, 'accountNotFound');
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
    // The "User API tokens: Block" setting blocks using a member's tokens, not only creating them.
    if (!state.apiTokensAllowed(record.accountId)) return refused;
    const scopes = new Set(record.scopes);
    const unscoped = scopes.size === 0;
    if (!unscoped && !scopes.has(CLASSIC_USER_SCOPE) && !GRANULAR_USER_SCOPES.every((s) => scopes.has(s))) {
      return refused;
    }
    state.touch(record, now);
    const kind = account.kind === 'service' ? { accountType: 'app', appType: 'service' } : { accountType: 'atlassian' };
    return json(200, {
      accountId: account.accountId,
      ...kind,
      active: true,
      displayName: account.displayName,
      emailAddress: account.email,
    });
  }

  /** What an inventory request selects; a Reply when the query is refused. */
  function inventoryFilter(
    query: URLSearchParams,
    documented: readonly string[],
  ): Reply | ((r: FakeTokenRecord) => boolean) {
    const unknown = [...new Set(query.keys())].find((k) => !documented.includes(k));
    // Atlassian answers an undocumented parameter with a 500, not a 400 (README, observed).
    if (unknown !== undefined) return apiAccessError(500, 'GENERIC_ERROR', 'An unexpected error occurred');
    const now = opts.now();
    const status = query.get('status');
    if (status !== null && status !== 'allowed' && status !== 'blocked') {
      return apiAccessError(400, 'INVALID_FIELD_FORMAT', 'status must be allowed or blocked');
    }
    const q = (query.get('q') ?? '').toLowerCase();
    const dates: Array<(r: FakeTokenRecord) => boolean> = [];
    for (const field of ['createdAt', 'lastActiveAt'] as const) {
      const test = dateFilter(query, field, now.getTime());
      if (typeof test !== 'function') return test;
      dates.push(test);
    }
    return (r) => {
      if (state.statusOf(r, now) !== 'ACTIVE') return false;
      if (status !== null && state.apiTokensAllowed(r.accountId) !== (status === 'allowed')) return false;
      if (q !== '') {
        const account = state.account(r.accountId);
        const haystacks = [r.label, account?.displayName ?? '', account?.email ?? ''];
        if (!haystacks.some((h) => h.toLowerCase().includes(q))) return false;
      }
      return dates.every((test) => test(r));
    };
  }

  /** The `createdAt*` or `lastActiveAt*` filter of a query: always true when it has none. */
  function dateFilter(
    query: URLSearchParams,
    field: 'createdAt' | 'lastActiveAt',
    nowMs: number,
  ): Reply | ((r: FakeTokenRecord) => boolean) {
    const get = (suffix: string) => query.get(`${field}${suffix}`);
    const type = get('SearchType');
    const missing = (what: string) =>
      apiAccessError(400, 'INVALID_API_TOKEN_SEARCH_QUERY', `${field}SearchType=${type} needs ${what}`);
    const malformed = (name: string) => apiAccessError(400, 'INVALID_FIELD_FORMAT', `${field}${name} is malformed`);
    const timeOf = (r: FakeTokenRecord) => {
      const text = field === 'createdAt' ? r.createdAt : r.lastAccess;
      return text === undefined ? undefined : Date.parse(text);
    };
    const between = (from: number | undefined, to: number | undefined) => (r: FakeTokenRecord) => {
      const t = timeOf(r);
      return t !== undefined && (from === undefined || t >= from) && (to === undefined || t <= to);
    };
    if (type === null) {
      const stray = dateFilterParams(field).find((name) => query.has(name));
      return stray === undefined
        ? () => true
        : apiAccessError(400, 'INVALID_API_TOKEN_SEARCH_QUERY', `${stray} needs ${field}SearchType`);
    }
    if (type === 'gt' || type === 'lt') {
      const uom = get('Uom');
      const valueText = get('Value');
      if (uom === null || valueText === null) return missing(`${field}Uom and ${field}Value`);
      const unit = UNIT_MS[uom];
      if (unit === undefined) return malformed('Uom');
      if (!/^\d{1,9}$/.test(valueText)) return malformed('Value');
      const threshold = nowMs - Number(valueText) * unit;
      return (r) => {
        const t = timeOf(r);
        return t !== undefined && (type === 'gt' ? t > threshold : t < threshold);
      };
    }
    if (type === 'range') {
      const [from, to] = [get('From'), get('To')];
      if (from === null && to === null) return missing(`${field}From or ${field}To`);
      const parse = (text: string | null) => (text === null ? undefined : Date.parse(text));
      const [fromMs, toMs] = [parse(from), parse(to)];
      if (from !== null && (!ISO_DATE_TIME.test(from) || Number.isNaN(fromMs))) return malformed('From');
      if (to !== null && (!ISO_DATE_TIME.test(to) || Number.isNaN(toMs))) return malformed('To');
      return between(fromMs, toMs);
    }
    if (type === 'range_time') {
      const [from, to] = [get('RangeFrom'), get('RangeTo')];
      if (from === null && to === null) return missing(`${field}RangeFrom or ${field}RangeTo`);
      const [fromOffset, toOffset] = [from, to].map((t) => (t === null ? undefined : parseRelativeTime(t)));
      if (from !== null && fromOffset === undefined) return malformed('RangeFrom');
      if (to !== null && toOffset === undefined) return malformed('RangeTo');
      return between(
        fromOffset === undefined ? undefined : nowMs + fromOffset,
        toOffset === undefined ? undefined : nowMs + toOffset,
      );
    }
    return malformed('SearchType');
  }

  function requireOrg(req: IncomingMessage, orgId: string): void {
    requireOrgKey(req, 'api-access');
    if (orgId !== opts.seed.orgId) {
      throw new HttpFailure(apiAccessError(403, 'GENERIC_ERROR', 'the API key has no access to this organization'));
    }
  }

  function inventoryItem(r: FakeTokenRecord, orgId: string): Record<string, unknown> {
    const account = state.account(r.accountId);
    const item: Record<string, unknown> = {
      id: r.id,
      label: r.label,
      status: state.apiTokensAllowed(r.accountId) ? 'ALLOWED' : 'BLOCKED',
      createdAt: r.createdAt,
      expiresAt: r.expiry,
      user: { id: r.accountId, orgId, name: account?.displayName ?? '', email: account?.email ?? '' },
      scopes: [...r.scopes],
    };
    if (r.lastAccess) item.lastActiveAt = r.lastAccess;
    return item;
  }

  function inventory(req: IncomingMessage, orgId: string, query: URLSearchParams): Reply {
    requireOrg(req, orgId);
    const selected = inventoryFilter(query, INVENTORY_PARAMS);
    if (typeof selected !== 'function') return selected;
    const pageSizeText = query.get('pageSize');
    const pageSize = pageSizeText === null ? 20 : /^\d{1,7}$/.test(pageSizeText) ? Number(pageSizeText) : Number.NaN;
    if (!(pageSize >= 1 && pageSize <= 1000)) {
      return apiAccessError(400, 'INVALID_PAGE_SIZE', 'pageSize must be an integer from 1 to 1000');
    }
    const sort = query.get('sort') ?? '-lastActiveAt';
    if (!INVENTORY_SORTS.has(sort)) return apiAccessError(400, 'INVALID_SORT', `sort ${sort} is not supported`);
    const descending = sort.startsWith('-');
    const field = (descending ? sort.slice(1) : sort) as InventorySortField;
    const cursorText = query.get('cursor');
    const cursor = cursorText === null || cursorText === '' ? { k: 'f' as const } : decodeInventoryCursor(cursorText);
    if (!cursor) return apiAccessError(400, 'INVALID_FIELD_FORMAT', 'cursor is not valid');

    const sorted = state.sortedTokens(field, descending);
    const sign = descending ? -1 : 1;
    /** First index whose position is at or after (`strict`: after) the cursor's, in the requested order. */
    const bound = (v: string, i: string, strict: boolean) => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const r = sorted[mid] as FakeTokenRecord;
        const c = sign * compareTuples(state.sortValue(r, field), r.id, v, i);
        if (c < 0 || (strict && c === 0)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const hasMatch = (from: number, step: 1 | -1) => {
      for (let j = from; j >= 0 && j < sorted.length; j += step)
        if (selected(sorted[j] as FakeTokenRecord)) return true;
      return false;
    };
    const page: FakeTokenRecord[] = [];
    let before: number;
    let after: number;
    if (cursor.k === 'b' && cursor.v !== undefined && cursor.i !== undefined) {
      let j = bound(cursor.v, cursor.i, false) - 1;
      after = j + 1;
      for (; j >= 0 && page.length < pageSize; j--) {
        const r = sorted[j] as FakeTokenRecord;
        if (selected(r)) page.unshift(r);
      }
      before = j;
    } else {
      let j = cursor.v === undefined || cursor.i === undefined ? 0 : bound(cursor.v, cursor.i, cursor.k === 'a');
      before = j - 1;
      for (; j < sorted.length && page.length < pageSize; j++) {
        const r = sorted[j] as FakeTokenRecord;
        if (selected(r)) page.push(r);
      }
      after = j;
    }
    const first = page[0];
    const last = page[page.length - 1];
    const position = (r: FakeTokenRecord) => ({ v: state.sortValue(r, field), i: r.id });
    const links: Record<string, string> = {
      self: encodeInventoryCursor(first ? { k: 'f', ...position(first) } : cursor),
    };
    if (last && hasMatch(after, 1)) links.next = encodeInventoryCursor({ k: 'a', ...position(last) });
    if (first && hasMatch(before, -1)) links.prev = encodeInventoryCursor({ k: 'b', ...position(first) });
    return json(200, { data: page.map((r) => inventoryItem(r, orgId)), links });
  }

  function inventoryCount(req: IncomingMessage, orgId: string, query: URLSearchParams): Reply {
    requireOrg(req, orgId);
    const selected = inventoryFilter(query, INVENTORY_FILTERS);
    if (typeof selected !== 'function') return selected;
    let count = 0;
    for (const r of state.tokens) if (!r.revokedAt && selected(r)) count++;
    return json(200, count);
  }

  function requireControlOrg(req: IncomingMessage, orgId: string): void {
    requireOrgKey(req, 'admin-control');
    if (orgId !== opts.seed.orgId) throw new HttpFailure(adminControlError(404, 'organization not found'));
  }

  function addUsers(req: IncomingMessage, orgId: string, policyId: string, text: string): Reply {
    requireControlOrg(req, orgId);
    if (!state.policy(policyId)) return adminControlError(404, `authentication policy ${policyId} not found`);
    const users = parseObject(text)?.users;
    if (!Array.isArray(users) || users.length === 0 || !users.every((u) => typeof u === 'string')) {
      return adminControlError(400, 'users must be a non-empty array of email addresses');
    }
    const task = state.startPolicyMove(policyId, users as string[]);
    const taskPath = `/admin/control/v1/orgs/${encodeURIComponent(orgId)}/auth-policy/task/${task.taskId}`;
    return json(202, { taskId: task.taskId, taskLink: `http://${req.headers.host ?? '127.0.0.1'}${taskPath}` });
  }

  function taskStatus(req: IncomingMessage, orgId: string, taskId: string): Reply {
    requireControlOrg(req, orgId);
    const task = state.task(taskId);
    if (!task) return adminControlError(404, `task ${taskId} not found`);
    if (!task.outcome) {
      return json(200, { inProgressCount: task.emails.length, successCount: 0, failureCount: 0, failureReasons: [] });
    }
    const { succeeded, unknown } = task.outcome;
    const failureReasons =
      unknown.length === 0
        ? []
        : [
            {
              emails: unknown,
              details: { status: 404, title: 'User not found', detail: 'no managed user of the org has this email' },
            },
          ];
    return json(200, {
      inProgressCount: 0,
      successCount: succeeded.length,
      failureCount: unknown.length,
      failureReasons,
    });
  }

  function bulkFetch(req: IncomingMessage, orgId: string, text: string): Reply {
    requireControlOrg(req, orgId);
    const accountIds = parseObject(text)?.accountIds;
    if (!Array.isArray(accountIds) || !accountIds.every((a) => typeof a === 'string')) {
      return adminControlError(400, 'accountIds must be an array of account ids');
    }
    const found = (accountIds as string[]).flatMap((accountId) => {
      const account = state.account(accountId);
      if (account?.kind !== 'human') return [];
      const membership = state.membership(accountId);
      const info: Record<string, unknown> = { email: account.email, name: account.displayName, accountId };
      if (membership) info.authPolicyInfo = { policyId: membership.policyId, dateAdded: membership.dateAdded };
      return [info];
    });
    return json(200, found);
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
    const found = state.accounts.filter(
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
      case 'inventory_count':
        return inventoryCount(req, a, query);
      case 'add_users':
        return addUsers(req, a, b, text);
      case 'task':
        return taskStatus(req, a, b);
      case 'bulk_fetch':
        return bulkFetch(req, a, text);
      case 'search':
        return search(req, a, b, text);
      case 'tenant_info':
        return tenantInfo(req);
    }
  }

  /** An error body in the shape the route's API documents. */
  function planeErrorBody(plane: Plane, status: number, message: string): unknown {
    if (plane === 'api-access') return errorsBody(status, 'GENERIC_ERROR', message);
    if (plane === 'admin-control') {
      if (status === 404) return { code: 404, message };
      const code = status === 429 ? 'TOO_MANY_REQUESTS' : status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'INVALID_REQUEST';
      return errorsBody(status, code, message);
    }
    return { key: ERROR_KEYS[status] ?? 'error', message };
  }

  function faultReply(fault: Fault, plane: Plane): Reply {
    const status = fault.status;
    if (status === 429) {
      const seconds = fault.retryAfterSeconds ?? 1;
      return json(429, planeErrorBody(plane, 429, 'rate limit exceeded'), rateLimitHeaders(100, seconds));
    }
    const headers: Record<string, string> | undefined =
      fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) };
    return json(status, planeErrorBody(plane, status, 'injected fault'), headers);
  }

  function rateLimitHeaders(limit: number, retryAfterSeconds: number): Record<string, string> {
    return {
      'retry-after': String(retryAfterSeconds),
      'x-ratelimit-limit': String(Math.ceil(limit)),
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
    if (what === 'personal-tokens' && method === 'POST') {
      const parsed = personalTokenRequestSchema.safeParse(parseBody());
      if (!parsed.success) return bad(`invalid personal token: ${describeIssues(parsed.error.issues)}`);
      return createPersonalToken(parsed.data);
    }
    if (what === 'policies' && method === 'GET') {
      return json(
        200,
        state.policies.map((p) => ({
          ...p,
          members: state.membersOf(p.policyId).map(({ account, dateAdded }) => ({
            accountId: account.accountId,
            email: account.email,
            name: account.displayName,
            dateAdded,
          })),
        })),
      );
    }
    if (path.length === 3 && path[0] === 'policies' && path[2] === 'members' && method === 'POST') {
      const parsed = policyMemberRequestSchema.safeParse(parseBody());
      if (!parsed.success) return bad(`invalid member: ${describeIssues(parsed.error.issues)}`);
      const policyId = path[1] ?? '';
      if (!state.policy(policyId)) return atlassianError(404, 'notFound', `no authentication policy ${policyId}`);
      const account = state.accountByEmail(parsed.data.email);
      if (account?.kind !== 'human') return atlassianError(404, 'notFound', 'no member with that email');
      const membership = state.moveMember(account.accountId, policyId);
      return json(200, { accountId: account.accountId, email: account.email, ...membership });
    }
    if (what === 'reset' && method === 'POST') {
      reset();
      return { status: 204 };
    }
    return atlassianError(404, 'notFound', `no control route ${method} /__control/${what}`);
  }

  /** A member creates a personal token in id.atlassian.com: refused while their policy blocks API tokens. */
  function createPersonalToken(input: {
    email: string;
    label: string;
    scopes?: string[] | undefined;
    expiresInDays?: number | undefined;
    createdDaysAgo?: number | undefined;
  }): Reply {
    const account = state.accountByEmail(input.email);
    if (account?.kind !== 'human') return atlassianError(404, 'notFound', 'no member with that email');
    if (input.createdDaysAgo === undefined && !state.apiTokensAllowed(account.accountId)) {
      return atlassianError(403, 'forbidden', "the member's authentication policy blocks user API tokens");
    }
    const now = opts.now();
    const createdAt = new Date(now.getTime() - (input.createdDaysAgo ?? 0) * DAY_MS);
    const expiry =
      input.expiresInDays === undefined
        ? new Date(createdAt.getTime() + MAX_LIFETIME_MS)
        : new Date(now.getTime() + input.expiresInDays * DAY_MS);
    const value = newTokenValue();
    const record = state.addToken({
      accountId: account.accountId,
      label: input.label,
      scopes: input.scopes ?? [],
      expiry,
      value,
      now,
      createdAt,
    });
    return json(201, { id: record.id, token: value });
  }

  /** API Access sends its rate-limit headers on every answer, errors included. */
  function withApiAccessHeaders(reply: Reply): Reply {
    const headers = { ...reply.headers };
    const limit = bucket.limit > 0 ? Math.ceil(bucket.limit) : NOMINAL_RATE_LIMIT;
    headers['x-ratelimit-limit'] ??= String(limit);
    headers['x-ratelimit-remaining'] ??= String(limit);
    headers['x-ratelimit-reset'] ??= new Date(opts.now().getTime() + 1000).toISOString();
    return { ...reply, headers };
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
    if (path.startsWith('/admin/api-access/')) reply = withApiAccessHeaders(reply);
    write(res, reply);
    opts.onCall?.({ route: routeName, method, path, status: reply.status, durationMs: performance.now() - started });
  }

  async function serveWithControls(
    matched: Matched,
    req: IncomingMessage,
    query: URLSearchParams,
    text: string,
  ): Promise<Reply> {
    const plane = PLANE[matched.name];
    const limited = bucket.take();
    if (!limited.allowed) {
      return json(
        429,
        planeErrorBody(plane, 429, 'rate limit exceeded'),
        rateLimitHeaders(limited.limit, limited.retryAfterSeconds),
      );
    }
    const fault = faults.take(matched.name);
    if (fault?.delayMs) await delay(fault.delayMs);
    if (fault && fault.status >= 400 && fault.status < 500) return faultReply(fault, plane);
    let reply: Reply;
    try {
      reply = serve(matched, req, query, text);
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error;
      reply = error.reply;
    }
    if (fault && fault.status >= 500) return faultReply(fault, plane);
    if (limited.limit !== undefined) {
      reply.headers = {
        ...reply.headers,
        'x-ratelimit-limit': String(Math.ceil(limited.limit)),
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
    tokens: () => state.tokens.map(tokenView).filter((t) => t.kind === 'service'),
    personalTokens: () => state.tokens.map(tokenView).filter((t) => t.kind === 'personal'),
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
