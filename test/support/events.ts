/** Payload-format-2.0 events as API Gateway builds them, for handler tests. */
import type { Context } from 'aws-lambda';
import type { ApiEvent } from '../../functions/shared/http';

export interface EventSpec {
  routeKey: string;
  path?: string;
  body?: string;
  base64?: boolean;
  headers?: Record<string, string>;
  claims?: Record<string, string>;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  /** `name=value` pairs, as format 2.0 moves the Cookie header into `cookies`. */
  cookies?: string[];
}

export function apiEvent(spec: EventSpec): ApiEvent {
  const [method = 'GET', routePath = '/'] = spec.routeKey.split(' ');
  const path = spec.path ?? routePath;
  const event = {
    version: '2.0',
    routeKey: spec.routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(spec.query ?? {}).toString(),
    headers: Object.fromEntries(Object.entries(spec.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
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
      ...(spec.claims ? { authorizer: { jwt: { claims: spec.claims, scopes: null } } } : {}),
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

export const member = (email: string) => ({ email, groups: '[]' });
export const admin = (email = 'admin@example.com') => ({ email, groups: '[token-warden-admins]' });
