import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
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

/** API Gateway hands array claims to the Lambda as `"[a b]"`; tokens read directly carry arrays. */
export function parseGroupsClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value !== 'string') return [];
  const trimmed = value.trim();
  const inner = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  return inner
    .split(/[\s,]+/)
    .map((g) => g.replace(/^"|"$/g, ''))
    .filter((g) => g.length > 0);
}

/** The caller, from the claims the JWT authorizer verified. Never from the body. */
export function callerOf(event: ApiEvent, opts: { adminGroup: string; groupsClaim: string }): Caller {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  const email = claims?.email;
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) {
    throw new RequestError('UNAUTHORIZED', 'the bearer token carries no valid email claim', 'authorization');
  }
  const groups = parseGroupsClaim(claims?.[opts.groupsClaim]);
  return { email: email.toLowerCase(), isAdmin: groups.includes(opts.adminGroup) };
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

/** Wraps a route function with the API middleware (error mapping last). */
export function apiHandler(fn: (event: ApiEvent, context: Context) => Promise<ApiResult>) {
  return middy<ApiEvent, ApiResult>()
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

/** Headers of the HTML pages behind emailed links: nothing cached, no referrer, no framing, no scripts. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
} as const;

/** An HTML page answer. */
export function htmlPage(statusCode: number, body: string): ApiResult {
  return { statusCode, headers: { ...PAGE_HEADERS }, body };
}
