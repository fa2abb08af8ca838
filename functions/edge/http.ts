import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { metricsMiddleware } from '../adapters/aws/metrics';
import { emailUnverified, plainEmail } from '../domain/email';
import { RequestError, validationError } from '../domain/errors';
import type { Caller } from '../domain/model';
import { logger } from './logger';

/** Payload format 2.0 event, with or without the JWT authorizer's context. */
export type ApiEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & {
    authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } };
  };
};
export type ApiResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** Largest body accepted: 64 KB (product contract). */
export const MAX_BODY_BYTES = 64 * 1024;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...SECURITY_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResult(error: RequestError): ApiResult {
  const body: { code: string; message: string; field?: string } = { code: error.code, message: error.message };
  if (error.field !== undefined) body.field = error.field;
  return json(error.status, { error: body });
}

export function header(event: ApiEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** The raw body bytes, decoding API Gateway's base64 form; 413 past the limit. */
export function rawBody(event: ApiEvent): Buffer {
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new RequestError('PAYLOAD_TOO_LARGE', `body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  return bytes;
}

function mediaType(event: ApiEvent): string {
  return (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Parses a JSON body: 415 for another media type, 400 for malformed JSON. Prototype keys are dropped. */
export function jsonBody(event: ApiEvent, { optional = false } = {}): unknown {
  const bytes = rawBody(event);
  if (bytes.length === 0 && optional) return undefined;
  const type = mediaType(event);
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw new RequestError('UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json', 'content-type');
  }
  let parsed: unknown;
  try {
    // JSON.parse makes `__proto__` an own property (it never sets a prototype); such keys are refused below.
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw validationError(undefined, 'body is not valid JSON');
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const offending = Object.keys(parsed).find(
      (key) => PROTOTYPE_KEYS.has(key) || holdsPrototypeKey((parsed as Record<string, unknown>)[key], 0),
    );
    if (offending !== undefined)
      throw validationError(
        offending,
        `property '${offending}' holds a key that is not allowed, or nests deeper than 64 levels`,
      );
  } else if (holdsPrototypeKey(parsed, 0)) {
    throw validationError(undefined, 'body holds a key that is not allowed, or nests deeper than 64 levels');
  }
  return parsed;
}

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether `value` holds a prototype key at any depth (bodies are at most 64 KB, so the walk is bounded). */
function holdsPrototypeKey(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object' || depth > 64) return depth > 64;
  if (Array.isArray(value)) return value.some((v) => holdsPrototypeKey(v, depth + 1));
  return Object.keys(value).some(
    (key) => PROTOTYPE_KEYS.has(key) || holdsPrototypeKey((value as Record<string, unknown>)[key], depth + 1),
  );
}

/** Parses an `application/x-www-form-urlencoded` body. */
export function formBody(event: ApiEvent): URLSearchParams {
  const bytes = rawBody(event);
  if (mediaType(event) !== 'application/x-www-form-urlencoded') {
    throw new RequestError(
      'UNSUPPORTED_MEDIA_TYPE',
      'content-type must be application/x-www-form-urlencoded',
      'content-type',
    );
  }
  return new URLSearchParams(bytes.toString('utf8'));
}

type Claims = Record<string, unknown>;

const own = (o: Claims, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/** A compact JWS in the `authorization` header (with or without the `Bearer` prefix), and nothing else. */
const BEARER_JWS = /^(?:bearer +)?[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/i;

/**
 * Whether a claim of the token reached the function as API Gateway's JWT authorizer flattens it: strings as they are,
 * an array of strings as `[a b]`, a claim without a value left out. Other values (numbers, objects, mixed arrays)
 * have no form to compare and are not bound.
 */
function sameClaim(signed: unknown, handed: unknown): boolean {
  if (signed === undefined || signed === null) return handed === undefined;
  if (typeof signed === 'string') return handed === signed;
  if (Array.isArray(signed) && signed.every((v) => typeof v === 'string')) return handed === `[${signed.join(' ')}]`;
  return true;
}

/**
 * The claims of the bearer token API Gateway verified, decoded (not verified again) from the `authorization` header,
 * its JWT authorizer's identity source. Only when the header holds exactly one compact JWS whose identity and groups
 * claims are those the authorizer handed over; otherwise (no header, two tokens, another token) `undefined`.
 */
function verifiedTokenClaims(event: ApiEvent, handed: Claims, groupsClaim: string): Claims | undefined {
  const match = BEARER_JWS.exec((header(event, 'authorization') ?? '').trim());
  if (!match) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(match[1] as string, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const signed = payload as Claims;
  for (const key of new Set(['iss', 'sub', 'email', groupsClaim])) {
    if (!sameClaim(own(signed, key), own(handed, key))) return undefined;
  }
  return signed;
}

const strings = (values: unknown[]) => values.filter((v): v is string => typeof v === 'string');

/**
 * The caller's groups, each name exactly as the identity provider signed it, never split. API Gateway hands an array
 * claim to the function flattened as `"[a b]"`, which cannot tell `["a b"]` from `["a", "b"]` (nor `["x,admins"]`
 * from `["x", "admins"]`), so the array is read from the verified token itself; a single-valued string claim is one
 * group. A groups claim that already arrives as an array is taken as it is. When the token cannot be read, or does
 * not match the authorizer's claims, the caller has no groups: a flattened string alone never makes an admin.
 */
export function groupsOf(event: ApiEvent, groupsClaim: string): string[] {
  const handed = event.requestContext.authorizer?.jwt?.claims;
  if (!handed) return [];
  const direct = own(handed, groupsClaim);
  if (Array.isArray(direct)) return strings(direct);
  const signed = verifiedTokenClaims(event, handed, groupsClaim);
  const groups = signed ? own(signed, groupsClaim) : undefined;
  if (Array.isArray(groups)) return strings(groups);
  return typeof groups === 'string' ? [groups] : [];
}

/**
 * The caller, from the claims the JWT authorizer verified; never from the body. The `email` claim must be a plain
 * ASCII address (see {@link plainEmail}) and not marked unverified (`email_verified` false); otherwise 401. Admin
 * only through a group named exactly `adminGroup`.
 */
export function callerOf(event: ApiEvent, opts: { adminGroup: string; groupsClaim: string }): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  const claimed = claims ? own(claims, 'email') : undefined;
  if (typeof claimed !== 'string' || claimed.length === 0) {
    throw new RequestError('UNAUTHORIZED', 'the bearer token carries no email claim', 'authorization');
  }
  const email = plainEmail(claimed);
  if (email === undefined) {
    throw new RequestError(
      'UNAUTHORIZED',
      "the bearer token's email claim is not a plain ASCII email address (an internationalised domain must be in its xn-- form)",
      'authorization',
    );
  }
  if (emailUnverified(own(claims as Claims, 'email_verified'))) {
    throw new RequestError(
      'UNAUTHORIZED',
      'the identity provider has not verified the email address of the bearer token',
      'authorization',
    );
  }
  return { email, isAdmin: groupsOf(event, opts.groupsClaim).includes(opts.adminGroup) };
}

export function pathParam(event: ApiEvent, name: string, pattern: RegExp): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || !pattern.test(value)) throw new RequestError('NOT_FOUND', `${name} not found`);
  return value;
}

/** Maps expected refusals to their 4xx; anything else is logged and becomes an opaque 500. */
export const apiErrors = (): middy.MiddlewareObj<ApiEvent, ApiResult> => ({
  onError: async (request) => {
    const error = request.error;
    if (error instanceof RequestError) {
      request.response = errorResult(error);
      return;
    }
    logger.error('unhandled error', {
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    request.response = json(500, { error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
  },
});

/** Wraps a route function with the API middleware (metrics published after everything else, error mapping last). */
export function apiHandler(fn: (event: ApiEvent, context: Context) => Promise<ApiResult>) {
  return middy<ApiEvent, ApiResult>()
    .use(metricsMiddleware())
    .use({
      before: async (request) => {
        logger.addContext(request.context);
        logger.appendKeys({ route: request.event.routeKey });
      },
    })
    .use(apiErrors())
    .handler(fn);
}

/**
 * A handler for the pages behind emailed links (approvals, uploads). `fn` answers the routes it knows and `undefined`
 * for any other; a {@link RequestError} it throws (a malformed form body, say) is answered as the page itself, with
 * the error's status and message, rather than in the JSON error shape. An unknown route stays a JSON 404.
 */
export function linkPageHandler(
  errorPage: (status: number, model: { title: string; message: string }) => ApiResult,
  fn: (event: ApiEvent, context: Context) => Promise<ApiResult | undefined>,
) {
  return apiHandler(async (event, context) => {
    let result: ApiResult | undefined;
    try {
      result = await fn(event, context);
    } catch (error) {
      if (error instanceof RequestError) {
        return errorPage(error.status, { title: 'Request not accepted', message: error.message });
      }
      throw error;
    }
    if (!result) throw new RequestError('NOT_FOUND', 'route not found');
    return result;
  });
}

/**
 * Headers of the HTML pages behind emailed links: nothing cached, no referrer, no framing, no scripts, no inline
 * style (only the same-origin stylesheet), forms posting back to the same origin only, no `<base>` to redirect them.
 * Following the sign-in link, and the GET redirect to the identity provider, are navigations: no directive governs
 * them.
 */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
} as const;

/** An HTML page answer. */
export function htmlPage(statusCode: number, body: string): ApiResult {
  return { statusCode, headers: { ...PAGE_HEADERS }, body };
}
