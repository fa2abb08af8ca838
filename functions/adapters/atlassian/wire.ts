/**
 * What goes over the wire to Atlassian Cloud: the routes, the zod schemas every response is validated with, and
 * how a response or failure becomes one of the port errors (`../../use-cases/port-errors`). Messages keep keys and
 * field names only, never a token value or a response body.
 */
import * as z from '../../domain/schema';
import {
  AtlassianAuthError,
  type AtlassianError,
  type AtlassianFieldViolation,
  AtlassianMalformedResponseError,
  AtlassianNotFoundError,
  AtlassianRequestError,
  AtlassianTransientError,
} from '../../use-cases/port-errors';

type Method = 'GET' | 'POST' | 'DELETE';

export interface CallSpec {
  method: Method;
  /** Route template for messages, e.g. `/users/{accountId}/manage/api-tokens`. */
  route: string;
  url: string;
  /**
   * `org`: the unscoped org key (user-management, organization routes); `scoped`: the key of the scoped planes
   * (API Access, Admin Control), the org key unless configured apart.
   */
  auth: { kind: 'org' } | { kind: 'scoped' } | { kind: 'basic'; email: string; token: string } | { kind: 'none' };
  body?: unknown;
  /** `all`: repeat on 429/5xx/timeout/network; `rate-limit`: repeat only on 429 (not processed). */
  retry: 'all' | 'rate-limit';
  /** Statuses the caller interprets itself instead of them becoming errors. */
  accept?: readonly number[];
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

export const USER_TOKENS = '/users/{accountId}/manage/api-tokens';
export const USER_TOKEN = '/users/{accountId}/manage/api-tokens/{tokenId}';
export const ORG_TOKENS = '/admin/api-access/v1/orgs/{orgId}/api-tokens';
export const ORG_TOKENS_COUNT = '/admin/api-access/v1/orgs/{orgId}/api-tokens/count';
export const AUTH_POLICY_ADD_USERS = '/admin/control/v1/orgs/{orgId}/auth-policy/{policyId}/add-users';
export const AUTH_POLICY_TASK = '/admin/control/v1/orgs/{orgId}/auth-policy/task/{taskId}';
export const AUTH_POLICY_BULK_FETCH = '/admin/control/v1/orgs/{orgId}/users/auth-policies/bulk-fetch';
export const USER_SEARCH = '/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search';
export const MYSELF = '/ex/jira/{cloudId}/rest/api/3/myself';
export const TENANT_INFO = '/_edge/tenant_info';

const nonEmpty = () => z.string().check(z.minLength(1));

/** Absent and `null` both read as `undefined`. */
const absentAsUndefined = <T extends z.ZodMiniType>(schema: T) =>
  z.pipe(
    z.nullish(schema),
    z.transform((v: z.output<T> | null | undefined) => v ?? undefined),
  );

const optionalString = absentAsUndefined(z.string());

export const mintResponseSchema = z.object({ id: nonEmpty(), token: nonEmpty() });

export const apiTokenSchema = z.object({
  id: nonEmpty(),
  label: z.string(),
  createdAt: z.string(),
  lastAccess: optionalString,
  expiry: optionalString,
});

export const myselfSchema = z.object({ accountId: nonEmpty() });

/** The documented statuses; a token in any other is a malformed page, not a token silently dropped or guessed at. */
export const ORG_TOKEN_STATUSES = ['ALLOWED', 'BLOCKED'] as const;

/**
 * API Access `ApiTokenSearchResponse`. `links` is required there: a page without it is malformed rather than
 * read as the last page, so a truncated answer cannot end a scan early. `scopes` absent stays absent (`[]` is
 * an unscoped token).
 */
export const orgTokensSchema = z.object({
  data: z.array(
    z.object({
      id: nonEmpty(),
      label: z.string(),
      status: z.enum(ORG_TOKEN_STATUSES),
      createdAt: z.string(),
      expiresAt: optionalString,
      lastActiveAt: optionalString,
      user: z.object({ id: nonEmpty(), orgId: optionalString, name: optionalString, email: optionalString }),
      scopes: absentAsUndefined(z.array(z.string())),
    }),
  ),
  links: z.object({ next: optionalString }),
});

/** `…/api-tokens/count` answers a bare integer. */
export const countSchema = z.int().check(z.minimum(0));

/** Admin Control `Models.AsyncResponseModel` (`taskLink` is not used). */
export const asyncTaskSchema = z.object({ taskId: nonEmpty() });

const optionalCount = z.pipe(
  z.nullish(z.int().check(z.minimum(0))),
  z.transform((v: number | null | undefined) => v ?? 0),
);

/** Admin Control `Models.AddUsersToPolicyTaskStatus`: every field optional; absent counts read as 0. */
export const authPolicyTaskSchema = z.object({
  inProgressCount: optionalCount,
  successCount: optionalCount,
  failureCount: optionalCount,
  failureReasons: absentAsUndefined(
    z.array(
      z.object({
        emails: absentAsUndefined(z.array(z.string())),
        details: absentAsUndefined(
          z.object({
            status: absentAsUndefined(z.number()),
            title: optionalString,
            detail: optionalString,
          }),
        ),
      }),
    ),
  ),
});

/** Admin Control bulk-fetch answer: an array of `Models.UserPolicyInfo` (every field optional there). */
export const userPoliciesSchema = z.array(
  z.object({
    accountId: optionalString,
    email: optionalString,
    name: optionalString,
    authPolicyInfo: absentAsUndefined(z.object({ policyId: optionalString, dateAdded: absentAsUndefined(z.number()) })),
  }),
);

export const userSearchSchema = z.object({
  data: z.array(
    z.object({
      accountId: nonEmpty(),
      email: optionalString,
      name: optionalString,
      accountStatus: optionalString,
    }),
  ),
  links: z.nullish(z.object({ next: optionalString })),
});

export const tenantInfoSchema = z.object({ cloudId: nonEmpty() });

/**
 * Atlassian error bodies: `{key, context?}` (identity APIs), `{errors: [{code}]}` (organization, API Access,
 * Admin Control 400/500), or `{code, message}` (Admin Control 403/404, where a 404's `code` is the number 404).
 */
export const errorBodySchema = z.object({
  key: z.catch(z.optional(z.string()), undefined),
  /** A string is an error key; a number only repeats the HTTP status, so it adds nothing. */
  code: z.catch(z.optional(z.union([z.string(), z.number()])), undefined),
  context: z.catch(
    z.optional(
      z.object({
        fieldViolations: z.optional(
          z.array(z.object({ field: z.string(), violations: z.array(z.object({ key: z.string() })) })),
        ),
      }),
    ),
    undefined,
  ),
  errors: z.catch(z.optional(z.array(z.object({ code: z.optional(z.string()) }))), undefined),
});

/** Keys and field names are echoed into messages only when they look like identifiers, never free text. */
const SAFE_WORD = /^[A-Za-z0-9_.:-]{1,64}$/;
const safe = (value: string | undefined): string | undefined =>
  value !== undefined && SAFE_WORD.test(value) ? value : undefined;

/** Path segment encoding that keeps `:` (legal in a segment, and part of every Atlassian account id). */
export const seg = (value: string): string => encodeURIComponent(value).replace(/%3A/gi, ':');

/** Most the client will follow a `links.next` chain in one call. */
export const MAX_SEARCH_PAGES = 20;

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A SyntaxError quotes the body; the caller reports "malformed" without it.
    return undefined;
  }
}

export function issuePaths(issues: readonly { path: readonly PropertyKey[] }[]): string {
  const paths = new Set(issues.map((i) => i.path.map(String).join('.') || 'body'));
  return [...paths]
    .filter((p) => SAFE_WORD.test(p))
    .slice(0, 5)
    .join(', ');
}

export function malformed(spec: CallSpec, status: number, fields: string): AtlassianMalformedResponseError {
  const detail = fields === 'body' || fields === '' ? 'not the documented JSON' : `missing or invalid: ${fields}`;
  return new AtlassianMalformedResponseError(
    `Atlassian ${spec.method} ${spec.route} answered ${status} with a malformed body (${detail})`,
    { status },
  );
}

/** Maps a non-2xx response to its error. Only keys and field names from the body are kept, never its text. */
export function toError(spec: CallSpec, res: RawResponse, now: Date = new Date()): AtlassianError {
  const parsed = errorBodySchema.safeParse(parseJson(res.text));
  const body = parsed.success ? parsed.data : undefined;
  const code = typeof body?.code === 'string' ? body.code : undefined;
  const key = safe(body?.key) ?? safe(body?.errors?.[0]?.code) ?? safe(code);
  const violations: AtlassianFieldViolation[] = (body?.context?.fieldViolations ?? []).flatMap((v) => {
    const field = safe(v.field);
    const keys = v.violations.map((x) => safe(x.key)).filter((k): k is string => k !== undefined);
    return field === undefined ? [] : [{ field, keys }];
  });
  const detail = [key, ...violations.map((v) => `${v.field} ${v.keys.join('/')}`.trim())].filter(Boolean).join(': ');
  const message = `Atlassian ${spec.method} ${spec.route} answered ${res.status}${detail ? ` (${detail})` : ''}`;
  const details = {
    status: res.status,
    ...(key === undefined ? {} : { key }),
    ...(violations.length === 0 ? {} : { violations }),
  };

  if (res.status === 429 || res.status >= 500) {
    const retryAfterMs = waitFromHeaders(res.headers, now);
    return new AtlassianTransientError(message, retryAfterMs === undefined ? details : { ...details, retryAfterMs });
  }
  if ((res.status === 401 || res.status === 403) && (spec.auth.kind === 'org' || spec.auth.kind === 'scoped'))
    return new AtlassianAuthError(message, details);
  if (res.status === 404) return new AtlassianNotFoundError(message, details);
  return new AtlassianRequestError(message, details);
}

/** Rebuilds a transient error whose message says how many attempts were made (and the wait it wanted). */
export function withAttempts(
  error: AtlassianTransientError,
  attempts: number,
  wantedWaitMs?: number,
): AtlassianTransientError {
  if (attempts === 1 && wantedWaitMs === undefined) return error;
  const suffix =
    wantedWaitMs === undefined
      ? ` (after ${attempts} attempts)`
      : ` (after ${attempts} attempt(s); asked to wait ${wantedWaitMs} ms, beyond the retry budget)`;
  const retryAfterMs = wantedWaitMs ?? error.retryAfterMs;
  return new AtlassianTransientError(`${error.message}${suffix}`, {
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.key === undefined ? {} : { key: error.key }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    cause: error,
  });
}

/**
 * The wait Atlassian asks for: `Retry-After` (seconds or an HTTP date), else `X-RateLimit-Reset` (ISO timestamp
 * or epoch seconds/milliseconds; a small number is taken as seconds from now).
 */
export function waitFromHeaders(headers: Headers, now: Date): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - now.getTime());
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset) {
    if (/^\d+(\.\d+)?$/.test(reset)) {
      const n = Number(reset);
      if (n < 1e9) return Math.ceil(n * 1000);
      const atMs = n >= 1e12 ? n : n * 1000;
      return Math.max(0, Math.ceil(atMs - now.getTime()));
    }
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now.getTime());
  }
  return undefined;
}

/**
 * `links.next` is a cursor in Atlassian's admin APIs (API Access `Links`: "a cursor representing the next page");
 * some answer a URL carrying `cursor=` instead.
 */
export function cursorOf(next: string | undefined): string | undefined {
  if (next === undefined || next === '') return undefined;
  if (/^(https?:)?\//.test(next)) {
    try {
      return new URL(next, 'http://placeholder.invalid').searchParams.get('cursor') ?? undefined;
    } catch {
      return undefined;
    }
  }
  return next;
}
