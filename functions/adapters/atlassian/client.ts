/**
 * The one module that speaks to Atlassian Cloud (see `docs/architecture.md`). Every response is validated with
 * zod (`./wire`); every failure becomes one of the port errors (`../../use-cases/port-errors`), whose names the
 * workflows' `Retry`/`Catch` match.
 *
 * Retries: reads and the single-token DELETE are safe to repeat, so they back off on 429/5xx/timeout/network
 * failures. So is moving users into an authentication policy (`add-users`): a repeated move ends in the same
 * membership, and a lost answer's task is simply never polled. Minting is not idempotent and its response is the only copy of the token value, so a mint is
 * repeated only after a 429 (Atlassian did not process it); any other failure throws at once and the workflow
 * reconciles by label (list the account's tokens, revoke those with the label, mint again).
 */
import { AtlassianTransientError } from '../../use-cases/port-errors';

export {
  AtlassianAuthError,
  AtlassianError,
  type AtlassianErrorDetails,
  type AtlassianFieldViolation,
  AtlassianMalformedResponseError,
  AtlassianNotFoundError,
  AtlassianRequestError,
  AtlassianTransientError,
} from '../../use-cases/port-errors';

import * as z from '../../domain/schema';
import type {
  Atlassian,
  AtlassianApiToken,
  AtlassianDirectoryUser,
  AtlassianOrgToken,
  AtlassianOrgTokenFilters,
  AtlassianOrgTokenQuery,
  AtlassianOrgTokenSort,
  AuthPolicyFailure,
  AuthPolicyTaskStatus,
  UserAuthPolicy,
  VerifyResult,
} from '../../use-cases/ports';
import { type MetricsRecorder, wardenMetrics } from '../aws/metrics';
import {
  AUTH_POLICY_ADD_USERS,
  AUTH_POLICY_BULK_FETCH,
  AUTH_POLICY_TASK,
  apiTokenSchema,
  asyncTaskSchema,
  authPolicyTaskSchema,
  type CallSpec,
  countSchema,
  cursorOf,
  errorBodySchema,
  issuePaths,
  MAX_SEARCH_PAGES,
  MYSELF,
  malformed,
  mintResponseSchema,
  myselfSchema,
  ORG_TOKENS,
  ORG_TOKENS_COUNT,
  orgTokensSchema,
  parseJson,
  type RawResponse,
  seg,
  TENANT_INFO,
  tenantInfoSchema,
  toError,
  USER_SEARCH,
  USER_TOKEN,
  USER_TOKENS,
  userPoliciesSchema,
  userSearchSchema,
  withAttempts,
} from './wire';

export { waitFromHeaders } from './wire';

/** Construction options of {@link AtlassianClient}. */
export interface AtlassianClientOptions {
  /** `https://api.atlassian.com` (the fake Atlassian locally, e.g. `http://127.0.0.1:4610`). */
  apiBaseUrl: string;
  /** `https://{site}.atlassian.net`; `{site}` is replaced. Without `{site}` the URL is used as it is (the fake). */
  siteBaseUrl: string;
  /** Bearer key for admin routes, fetched lazily by the caller (Secrets Manager); called once per operation. */
  orgApiKey: () => Promise<string>;
  /**
   * Bearer key for API Access and Admin Control, which document per-operation scopes (`read:tokens:admin`,
   * `write:policies:admin`, ...), for a deployment that keeps a scoped key apart. @default orgApiKey
   */
  scopedApiKey?: () => Promise<string>;
  /** Per-request timeout. @default 10_000 */
  timeoutMs?: number;
  /** Attempts of a retryable call. @default 4 */
  maxAttempts?: number;
  /**
   * Total time one call may sleep for backoff; a wait beyond it throws {@link AtlassianTransientError} (carrying
   * `retryAfterMs`) so the Step Functions `Retry` takes over. @default 8_000
   */
  maxWaitMs?: number;
  /** @default a `setTimeout` promise */
  sleep?: (ms: number) => Promise<void>;
  /** Used to turn `X-RateLimit-Reset` timestamps into waits. @default the system clock */
  now?: () => Date;
  /** Jitter source in [0, 1). @default Math.random */
  random?: () => number;
  /** Shared rate limiter, awaited before every request (including each retry). */
  limiter?: { acquire(): Promise<void> };
  /** Where 429 answers and retries are counted, per route. @default the functions' metrics */
  metrics?: MetricsRecorder;
}

export type {
  AtlassianApiToken,
  AtlassianDirectoryUser,
  AtlassianOrgToken,
  AtlassianOrgTokenFilters,
  AtlassianOrgTokenQuery,
  AtlassianOrgTokenSort,
  AuthPolicyFailure,
  AuthPolicyTaskStatus,
  UserAuthPolicy,
  VerifyResult,
} from '../../use-cases/ports';

/** Most account ids one bulk-fetch request carries (the spec states no limit). */
export const BULK_FETCH_CHUNK = 100;

const ORG_TOKEN_SORTS: readonly AtlassianOrgTokenSort[] = [
  'label',
  '-label',
  'user.name',
  '-user.name',
  'createdAt',
  '-createdAt',
  'expiresAt',
  '-expiresAt',
  'lastActiveAt',
  '-lastActiveAt',
];

/** The filters as query parameters, checked here: API Access has been seen to answer 500, not 400, to a bad query. */
function filterParams(filters: AtlassianOrgTokenFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.status !== undefined) {
    if (filters.status !== 'allowed' && filters.status !== 'blocked') {
      throw new RangeError('org token status filter must be allowed or blocked');
    }
    params.set('status', filters.status);
  }
  if (filters.q !== undefined && filters.q !== '') params.set('q', filters.q);
  return params;
}

/** The Atlassian Cloud API client used by the Lambdas. Build once per container; pass to use cases. */
export class AtlassianClient implements Atlassian {
  private readonly apiBaseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly metrics: MetricsRecorder;

  constructor(private readonly options: AtlassianClientOptions) {
    this.apiBaseUrl = options.apiBaseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? 8_000);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? wardenMetrics;
  }

  /**
   * Creates a token for a service account (`POST /users/{accountId}/manage/api-tokens`, observed route).
   * Retried only after a 429. Any other failure, including a 2xx without `id`/`token`, throws at once: the
   * token may exist at Atlassian, so the caller reconciles by `label`.
   */
  async mintToken(
    accountId: string,
    req: { label: string; scopes: string[]; expiry: Date },
  ): Promise<{ id: string; token: string }> {
    const spec: CallSpec = {
      method: 'POST',
      route: USER_TOKENS,
      url: `${this.apiBaseUrl}/users/${seg(accountId)}/manage/api-tokens`,
      auth: { kind: 'org' },
      body: { label: req.label, scopes: req.scopes, expiry: req.expiry.toISOString() },
      retry: 'rate-limit',
    };
    const res = await this.send(spec);
    const parsed = mintResponseSchema.safeParse(parseJson(res.text));
    // The body holds the token value: neither the body nor zod's issues may reach the error.
    if (!parsed.success) throw malformed(spec, res.status, issuePaths(parsed.error.issues));
    return { id: parsed.data.id, token: parsed.data.token };
  }

  /** Lists one account's tokens (documented; no values, no scopes). */
  async listTokens(accountId: string): Promise<AtlassianApiToken[]> {
    const spec: CallSpec = {
      method: 'GET',
      route: USER_TOKENS,
      url: `${this.apiBaseUrl}/users/${seg(accountId)}/manage/api-tokens`,
      auth: { kind: 'org' },
      retry: 'all',
    };
    const res = await this.send(spec);
    const tokens = this.decode(spec, res, z.array(apiTokenSchema));
    return tokens.map((t) => {
      const token: AtlassianApiToken = { id: t.id, label: t.label, createdAt: t.createdAt };
      if (t.lastAccess !== undefined) token.lastAccess = t.lastAccess;
      if (t.expiry !== undefined) token.expiry = t.expiry;
      return token;
    });
  }

  /**
   * Revokes one token (permanent). A token Atlassian does not know (`404 {"key":"notFound"}`) is `not-found`;
   * an unknown account (`404 {"key":"accountNotFound"}`) throws `AtlassianNotFoundError` with that key,
   * since nothing shows its token is gone (for a governed token it means the catalogue is wrong).
   */
  async revokeToken(accountId: string, atlassianTokenId: string): Promise<'revoked' | 'not-found'> {
    const spec: CallSpec = {
      method: 'DELETE',
      route: USER_TOKEN,
      url: `${this.apiBaseUrl}/users/${seg(accountId)}/manage/api-tokens/${seg(atlassianTokenId)}`,
      auth: { kind: 'org' },
      retry: 'all',
      accept: [404],
    };
    const res = await this.send(spec);
    if (res.status !== 404) return 'revoked';
    const body = errorBodySchema.safeParse(parseJson(res.text));
    // Only Atlassian's own "no such token" answer counts; an HTML 404 (wrong base URL) must not pass as revoked.
    if (body.success && body.data.key === 'notFound') return 'not-found';
    throw toError(spec, res);
  }

  /**
   * Checks a token with `GET {apiBase}/ex/jira/{cloudId}/rest/api/3/myself` and Basic auth. `401` means the
   * token is invalid (wrong, revoked, expired, or lacking `read:jira-user`); 429/5xx/timeouts throw
   * {@link AtlassianTransientError} and are never reported as invalid.
   */
  async verifyMyself(args: { cloudId: string; email: string; token: string }): Promise<VerifyResult> {
    const spec: CallSpec = {
      method: 'GET',
      route: MYSELF,
      url: `${this.apiBaseUrl}/ex/jira/${seg(args.cloudId)}/rest/api/3/myself`,
      auth: { kind: 'basic', email: args.email, token: args.token },
      retry: 'all',
      accept: [401],
    };
    const res = await this.send(spec);
    if (res.status === 401) return { valid: false };
    const me = this.decode(spec, res, myselfSchema);
    return { valid: true, accountId: me.accountId };
  }

  /**
   * One page of the org-wide inventory of members' tokens (`GET …/api-tokens`, documented). The cursor encodes
   * only a position, so page size, sort and filters go with every request, the cursor's included; the default
   * sort `createdAt` keeps a token from moving between pages while the list is paged (`-lastActiveAt`, the
   * server's default, moves a token used mid-scan). A token in an undocumented status makes the page malformed.
   */
  async orgTokens(
    orgId: string,
    query: AtlassianOrgTokenQuery = {},
  ): Promise<{ data: AtlassianOrgToken[]; next?: string }> {
    const pageSize = query.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new RangeError('org token page size must be an integer from 1 to 1000');
    }
    const sort = query.sort ?? 'createdAt';
    if (!ORG_TOKEN_SORTS.includes(sort)) throw new RangeError('org token sort is not one Atlassian documents');
    const params = new URLSearchParams({ pageSize: String(pageSize), sort });
    for (const [name, value] of filterParams(query)) params.set(name, value);
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    const spec: CallSpec = {
      method: 'GET',
      route: ORG_TOKENS,
      url: `${this.apiBaseUrl}/admin/api-access/v1/orgs/${seg(orgId)}/api-tokens?${params}`,
      auth: { kind: 'scoped' },
      retry: 'all',
    };
    const res = await this.send(spec);
    const page = this.decode(spec, res, orgTokensSchema);
    const data = page.data.map((t) => {
      const user: AtlassianOrgToken['user'] = { id: t.user.id };
      if (t.user.orgId !== undefined) user.orgId = t.user.orgId;
      if (t.user.name !== undefined) user.name = t.user.name;
      if (t.user.email !== undefined) user.email = t.user.email;
      const token: AtlassianOrgToken = { id: t.id, label: t.label, status: t.status, createdAt: t.createdAt, user };
      if (t.expiresAt !== undefined) token.expiresAt = t.expiresAt;
      if (t.lastActiveAt !== undefined) token.lastActiveAt = t.lastActiveAt;
      if (t.scopes !== undefined) token.scopes = t.scopes;
      return token;
    });
    const next = cursorOf(page.links.next);
    return next === undefined ? { data } : { data, next };
  }

  /** How many members' tokens match the filters (`GET …/api-tokens/count`, documented; a bare integer). */
  async countOrgTokens(orgId: string, filters: AtlassianOrgTokenFilters = {}): Promise<number> {
    const params = filterParams(filters);
    const query = params.size === 0 ? '' : `?${params}`;
    const spec: CallSpec = {
      method: 'GET',
      route: ORG_TOKENS_COUNT,
      url: `${this.apiBaseUrl}/admin/api-access/v1/orgs/${seg(orgId)}/api-tokens/count${query}`,
      auth: { kind: 'scoped' },
      retry: 'all',
    };
    const res = await this.send(spec);
    return this.decode(spec, res, countSchema);
  }

  /**
   * Starts moving users, by email, into an authentication policy (`POST …/auth-policy/{policyId}/add-users`,
   * documented; `202 {taskId}`). Retried like a read: moving a user into the policy they are in already leaves
   * the same membership, and the task of an answer that was lost is simply never polled.
   */
  async addUsersToAuthPolicy(orgId: string, policyId: string, emails: string[]): Promise<{ taskId: string }> {
    const users = [...new Set(emails)];
    if (users.length === 0) throw new RangeError('addUsersToAuthPolicy needs at least one email');
    const spec: CallSpec = {
      method: 'POST',
      route: AUTH_POLICY_ADD_USERS,
      url: `${this.apiBaseUrl}/admin/control/v1/orgs/${seg(orgId)}/auth-policy/${seg(policyId)}/add-users`,
      auth: { kind: 'scoped' },
      body: { users },
      retry: 'all',
    };
    const res = await this.send(spec);
    const task = this.decode(spec, res, asyncTaskSchema);
    return { taskId: task.taskId };
  }

  /** Progress of a policy move (`GET …/auth-policy/task/{taskId}`, documented); absent counts read as 0. */
  async authPolicyTask(orgId: string, taskId: string): Promise<AuthPolicyTaskStatus> {
    const spec: CallSpec = {
      method: 'GET',
      route: AUTH_POLICY_TASK,
      url: `${this.apiBaseUrl}/admin/control/v1/orgs/${seg(orgId)}/auth-policy/task/${seg(taskId)}`,
      auth: { kind: 'scoped' },
      retry: 'all',
    };
    const res = await this.send(spec);
    const task = this.decode(spec, res, authPolicyTaskSchema);
    const failureReasons = (task.failureReasons ?? []).map((r) => {
      const reason: AuthPolicyFailure = { emails: r.emails ?? [] };
      if (r.details?.status !== undefined) reason.status = r.details.status;
      if (r.details?.title !== undefined) reason.title = r.details.title;
      if (r.details?.detail !== undefined) reason.detail = r.details.detail;
      return reason;
    });
    return {
      inProgressCount: task.inProgressCount,
      successCount: task.successCount,
      failureCount: task.failureCount,
      failureReasons,
    };
  }

  /**
   * The authentication policy of each managed user (`POST …/users/auth-policies/bulk-fetch`, documented), in
   * requests of at most {@link BULK_FETCH_CHUNK} account ids. A read, so retried. Entries without an account id
   * are left out: a user Atlassian did not answer for is absent, never guessed.
   */
  async bulkFetchAuthPolicies(orgId: string, accountIds: string[]): Promise<UserAuthPolicy[]> {
    const unique = [...new Set(accountIds)];
    const found: UserAuthPolicy[] = [];
    for (let i = 0; i < unique.length; i += BULK_FETCH_CHUNK) {
      const spec: CallSpec = {
        method: 'POST',
        route: AUTH_POLICY_BULK_FETCH,
        url: `${this.apiBaseUrl}/admin/control/v1/orgs/${seg(orgId)}/users/auth-policies/bulk-fetch`,
        auth: { kind: 'scoped' },
        body: { accountIds: unique.slice(i, i + BULK_FETCH_CHUNK) },
        retry: 'all',
      };
      const res = await this.send(spec);
      for (const u of this.decode(spec, res, userPoliciesSchema)) {
        if (u.accountId === undefined || u.accountId === '') continue;
        const info: UserAuthPolicy = { accountId: u.accountId };
        if (u.email !== undefined) info.email = u.email;
        if (u.name !== undefined) info.name = u.name;
        if (u.authPolicyInfo?.policyId !== undefined) info.policyId = u.authPolicyInfo.policyId;
        if (u.authPolicyInfo?.dateAdded !== undefined) info.dateAdded = u.authPolicyInfo.dateAdded;
        found.push(info);
      }
    }
    return found;
  }

  /**
   * Looks users up by exact email in an org directory (`directoryId` `-` = every directory the key may manage).
   * Follows `links.next` to the end. Emails are matched lower-cased.
   */
  async findUsersByEmail(orgId: string, directoryId: string, emails: string[]): Promise<AtlassianDirectoryUser[]> {
    const unique = [...new Set(emails.map((e) => e.toLowerCase()))];
    if (unique.length === 0) return [];
    if (unique.length > 100) throw new RangeError('findUsersByEmail accepts at most 100 emails per call');
    const users: AtlassianDirectoryUser[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_SEARCH_PAGES; page++) {
      const spec: CallSpec = {
        method: 'POST',
        route: USER_SEARCH,
        url: `${this.apiBaseUrl}/admin/v2/orgs/${seg(orgId)}/directories/${seg(directoryId)}/users/search`,
        auth: { kind: 'org' },
        body: cursor === undefined ? { emails: unique, limit: 100 } : { emails: unique, limit: 100, cursor },
        retry: 'all',
      };
      const res = await this.send(spec);
      const result = this.decode(spec, res, userSearchSchema);
      for (const u of result.data) {
        if (u.email === undefined) continue;
        const user: AtlassianDirectoryUser = { accountId: u.accountId, email: u.email };
        if (u.name !== undefined) user.name = u.name;
        if (u.accountStatus !== undefined) user.accountStatus = u.accountStatus;
        users.push(user);
      }
      cursor = cursorOf(result.links?.next);
      if (cursor === undefined) break;
    }
    return users;
  }

  /** Resolves a site name (`example` in `example.atlassian.net`) to its cloudId (`GET /_edge/tenant_info`). */
  async tenantInfo(site: string): Promise<{ cloudId: string }> {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/i.test(site)) throw new RangeError(`invalid Atlassian site name: ${site}`);
    const base = this.options.siteBaseUrl.replace('{site}', site).replace(/\/+$/, '');
    const spec: CallSpec = {
      method: 'GET',
      route: TENANT_INFO,
      url: `${base}/_edge/tenant_info`,
      auth: { kind: 'none' },
      retry: 'all',
    };
    const res = await this.send(spec);
    const info = this.decode(spec, res, tenantInfoSchema);
    return { cloudId: info.cloudId };
  }

  private decode<T>(spec: CallSpec, res: RawResponse, schema: z.ZodMiniType<T>): T {
    const parsed = schema.safeParse(parseJson(res.text));
    if (!parsed.success) throw malformed(spec, res.status, issuePaths(parsed.error.issues));
    return parsed.data;
  }

  /** Sends with retries; returns 2xx and `accept`ed responses, throws the mapped error for the rest. */
  private async send(spec: CallSpec): Promise<RawResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (spec.auth.kind === 'org') headers.authorization = `Bearer ${await this.options.orgApiKey()}`;
    if (spec.auth.kind === 'scoped') {
      const key = this.options.scopedApiKey ?? this.options.orgApiKey;
      headers.authorization = `Bearer ${await key()}`;
    }
    if (spec.auth.kind === 'basic') {
      headers.authorization = `Basic ${Buffer.from(`${spec.auth.email}:${spec.auth.token}`).toString('base64')}`;
    }
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    // The route template only: the metric's dimension never carries an id.
    const route = `${spec.method} ${spec.route}`;

    let slept = 0;
    for (let attempt = 1; ; attempt++) {
      let failure: AtlassianTransientError;
      let retryable: boolean;
      try {
        const res = await this.attempt(spec, headers, body);
        if ((res.status >= 200 && res.status < 300) || spec.accept?.includes(res.status)) return res;
        if (res.status === 429) this.metrics.atlassianRateLimited(route);
        const error = toError(spec, res, this.now());
        if (!(error instanceof AtlassianTransientError)) throw error;
        failure = error;
        retryable = spec.retry === 'all' || res.status === 429;
      } catch (error) {
        if (!(error instanceof AtlassianTransientError)) throw error;
        failure = error;
        // Without a status the request may have been processed: only idempotent calls may go again.
        retryable = error.status === 429 || spec.retry === 'all';
      }
      if (!retryable) throw failure;
      if (attempt >= this.maxAttempts) throw withAttempts(failure, attempt);
      const wait = failure.retryAfterMs ?? this.backoff(attempt);
      if (slept + wait > this.maxWaitMs) throw withAttempts(failure, attempt, wait);
      this.metrics.atlassianRetry(route);
      await this.sleep(wait);
      slept += wait;
    }
  }

  private async attempt(spec: CallSpec, headers: Record<string, string>, body: string | undefined) {
    await this.options.limiter?.acquire();
    try {
      const init: RequestInit = {
        method: spec.method,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      };
      if (body !== undefined) init.body = body;
      const response = await fetch(spec.url, init);
      // The timeout signal also covers reading the body.
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      const what = `Atlassian ${spec.method} ${spec.route}`;
      // Checked by name, not instanceof: fetch's DOMException may come from another realm (e.g. a test VM).
      const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new AtlassianTransientError(`${what} timed out after ${this.timeoutMs} ms`, { cause: error });
      }
      throw new AtlassianTransientError(`${what} failed before a response arrived (network error)`, { cause: error });
    }
  }

  /** Exponential backoff with equal jitter: half the step fixed, half random. */
  private backoff(attempt: number): number {
    const step = Math.min(250 * 2 ** (attempt - 1), 4_000);
    return Math.round(step / 2 + (this.random() * step) / 2);
  }
}
