/** Payload-format-2.0 events as API Gateway builds them, for handler tests. */
import type { Context } from 'aws-lambda';
import type { ApiEvent } from '../../functions/edge/http';
import { stringifyClaims } from '../../local/api-gateway';

export interface EventSpec {
  routeKey: string;
  path?: string;
  body?: string;
  base64?: boolean;
  headers?: Record<string, string>;
  /**
   * The claims of the caller's access token as the identity provider signed them (arrays as arrays). The event carries
   * them as API Gateway's JWT authorizer hands them over (every value a string, arrays as `[a b]`, see
   * {@link stringifyClaims}) and the token itself in `authorization`, the authorizer's identity source, unless
   * `headers` names another `authorization`.
   */
  claims?: Record<string, unknown>;
  /** Authorizer claims exactly as given, with no token in `authorization` (overrides `claims`). */
  authorizerClaims?: Record<string, unknown>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** `name=value` pairs, as format 2.0 moves the Cookie header into `cookies`. */
  cookies?: string[];
}

/** A compact JWS carrying `claims`, shaped as the identity provider's (the signature is not a real one). */
export function bearerToken(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  return `${encode({ alg: 'RS256', kid: 'test', typ: 'JWT' })}.${encode(claims)}.${encode('not-a-signature')}`;
}

/** The authorizer context and headers API Gateway gives the integration for the claims of `spec`. */
function authorization(spec: EventSpec): { claims?: Record<string, unknown>; headers: Record<string, string> } {
  const headers = Object.fromEntries(Object.entries(spec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  if (spec.authorizerClaims) return { claims: spec.authorizerClaims, headers };
  if (!spec.claims) return { headers };
  return {
    claims: stringifyClaims(spec.claims),
    headers: { authorization: `Bearer ${bearerToken(spec.claims)}`, ...headers },
  };
}

export function apiEvent(spec: EventSpec): ApiEvent {
  const [method = 'GET', routePath = '/'] = spec.routeKey.split(' ');
  const path = spec.path ?? routePath;
  const auth = authorization(spec);
  const event = {
    version: '2.0',
    routeKey: spec.routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(spec.query ?? {}).toString(),
    headers: auth.headers,
    queryStringParameters: spec.query,
    pathParameters: spec.pathParameters,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: 'test-request',
      routeKey: spec.routeKey,
      stage: '$default',
      time: '28/Nov/2026:10:00:00 +0000',
      timeEpoch: Date.now(),
      ...(auth.claims ? { authorizer: { jwt: { claims: auth.claims, scopes: null } } } : {}),
    },
    body: spec.body === undefined ? undefined : spec.base64 ? Buffer.from(spec.body).toString('base64') : spec.body,
    isBase64Encoded: spec.base64 ?? false,
    ...(spec.cookies ? { cookies: spec.cookies } : {}),
  };
  return event as unknown as ApiEvent;
}

export const lambdaContext = {
  functionName: 'test',
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => 30_000,
  callbackWaitsForEmptyEventLoop: true,
} as unknown as Context;

export const member = (email: string): Record<string, unknown> => ({ email, groups: [] });
export const admin = (email = 'admin@example.com'): Record<string, unknown> => ({
  email,
  groups: ['token-warden-admins'],
});
