/**
 * The one module that speaks to Atlassian Cloud (see `docs/architecture.md`). Every response is validated with
 * zod (`./wire`); every failure becomes one of the port errors (`../../use-cases/port-errors`), whose names the
 * workflows' `Retry`/`Catch` match.
 *
 * Retries: reads and the single-token DELETE are safe to repeat, so they back off on 429/5xx/timeout/network
 * failures. Minting is not idempotent and its response is the only copy of the token value, so a mint is
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
  VerifyResult,
} from '../../use-cases/ports';
import { type MetricsRecorder, wardenMetrics } from '../aws/metrics';
import {
  apiTokenSchema,
  type CallSpec,
  cursorOf,
  errorBodySchema,
  issuePaths,
  MAX_SEARCH_PAGES,
  MYSELF,
  malformed,
  mintResponseSchema,
  myselfSchema,
  ORG_TOKENS,
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

export type { AtlassianApiToken, AtlassianDirectoryUser, AtlassianOrgToken, VerifyResult } from '../../use-cases/ports';

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

  /** Revokes one token (permanent). A token Atlassian does not know (`404 {"key":"notFound"}`) is `not-found`. */
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

  /** One page of the org-wide token inventory (documented, experimental). `next` is the cursor of the next page. */
  async orgTokens(orgId: string, cursor?: string): Promise<{ data: AtlassianOrgToken[]; next?: string }> {
    const query = cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`;
    const spec: CallSpec = {
      method: 'GET',
      route: ORG_TOKENS,
      url: `${this.apiBaseUrl}/admin/api-access/v1/orgs/${seg(orgId)}/api-tokens${query}`,
      auth: { kind: 'org' },
      retry: 'all',
    };
    const res = await this.send(spec);
    const page = this.decode(spec, res, orgTokensSchema);
    const data = page.data.map((t) => {
      const token: AtlassianOrgToken = { id: t.id, label: t.label, status: t.status, createdAt: t.createdAt };
      if (t.expiresAt !== undefined) token.expiresAt = t.expiresAt;
      if (t.lastActiveAt !== undefined) token.lastActiveAt = t.lastActiveAt;
      if (t.user !== undefined) {
        const user: NonNullable<AtlassianOrgToken['user']> = { id: t.user.id };
        if (t.user.orgId !== undefined) user.orgId = t.user.orgId;
        if (t.user.name !== undefined) user.name = t.user.name;
        if (t.user.email !== undefined) user.email = t.user.email;
        token.user = user;
      }
      if (t.scopes !== undefined) token.scopes = t.scopes;
      return token;
    });
    const next = cursorOf(page.links?.next);
    return next === undefined ? { data } : { data, next };
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
