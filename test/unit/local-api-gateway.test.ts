import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AccessLogEntry,
  compileRoutes,
  createHttpApi,
  type HttpApi,
  type HttpRoute,
  mapResult,
  matchRoute,
  stringifyClaims,
} from '../../local/api-gateway';
import { LambdaRunner } from '../../local/lambda-runner';
import { createOidcProvider, type OidcProvider, seededGroupsFor } from '../../local/oidc';
import { loopbackHosts, rawRequest, rebindingHost } from './support/browser-requests';

type Event = Record<string, unknown> & {
  headers: Record<string, string>;
  requestContext: Record<string, unknown> & {
    authorizer?: { jwt: { claims: Record<string, string>; scopes: unknown } };
  };
};

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('local HTTP API (API Gateway emulation)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-apigw-'));
  let idp: HttpApi;
  let provider: OidcProvider;
  let issuer: string;
  let api: HttpApi;
  let base: string;
  const invocations: Array<{ functionName: string; event: Event }> = [];
  const access: AccessLogEntry[] = [];
  let respond: (functionName: string, event: Event) => unknown = () => ({ statusCode: 200, body: 'ok' });

  beforeAll(async () => {
    // The identity provider runs on its own API server, mounted through localRoutes as the runtime mounts it.
    idp = createHttpApi({
      routes: [],
      invoke: () => Promise.reject(new Error('no functions here')),
      localRoutes: (req, res, body) => provider.handle(req, res, body),
    });
    await idp.listen(0);
    issuer = `${idp.url}/local/oidc`;
    provider = await createOidcProvider({ issuer, dataDir, groupsFor: seededGroupsFor });

    const authorizer = { issuer, audiences: ['token-warden'], identitySource: '$request.header.Authorization' };
    const routes: HttpRoute[] = [
      { routeKey: 'GET /health', functionName: 'health' },
      { routeKey: 'POST /token-requests', functionName: 'token-requests', authorizer },
      { routeKey: 'GET /token-requests/{requestId}', functionName: 'token-requests', authorizer },
      { routeKey: 'POST /token-requests/{requestId}/cancel', functionName: 'token-requests', authorizer },
      { routeKey: 'POST /approvals/{approvalId}', functionName: 'approvals' },
      { routeKey: 'ANY /files/{proxy+}', functionName: 'files-any' },
      { routeKey: 'GET /files/{proxy+}', functionName: 'files-get' },
      { routeKey: 'GET /files/special', functionName: 'files-special' },
    ];
    api = createHttpApi({
      routes,
      apiId: 'abc123defg',
      maxBodyBytes: 4096,
      integrationTimeoutMs: 500,
      onAccess: (entry) => access.push(entry),
      invoke: async (functionName, event) => {
        invocations.push({ functionName, event: event as Event });
        return respond(functionName, event as Event);
      },
    });
    await api.listen(0);
    base = api.url as string;
  });

  beforeEach(() => {
    invocations.length = 0;
    access.length = 0;
    respond = () => ({ statusCode: 200, body: 'ok' });
  });

  afterAll(async () => {
    await api.close();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const token = async (body: Record<string, unknown>) => (await provider.issueToken(body)).access_token;
  const lastEvent = () => {
    const last = invocations[invocations.length - 1];
    if (!last) throw new Error('no invocation');
    return last.event;
  };

  describe('routes', () => {
    it('selects the most specific route and decodes path parameters', async () => {
      // Act
      await fetch(`${base}/files/special`);
      await fetch(`${base}/files/a/b%20c`);
      await fetch(`${base}/files/a/b`, { method: 'DELETE' });
      await fetch(`${base}/approvals/apv%2F1`, { method: 'POST' });

      // Assess
      expect(invocations.map((i) => i.functionName)).toEqual(['files-special', 'files-get', 'files-any', 'approvals']);
      expect(invocations[1]?.event.pathParameters).toEqual({ proxy: 'a/b c' });
      expect(invocations[1]?.event.routeKey).toBe('GET /files/{proxy+}');
      expect(invocations[3]?.event.pathParameters).toEqual({ approvalId: 'apv/1' });
      expect(invocations[3]?.event.rawPath).toBe('/approvals/apv%2F1');
    });

    it("answers API Gateway's 404 for an unmatched path or method", async () => {
      // Act
      const unknownPath = await fetch(`${base}/nothing/here`);
      const wrongMethod = await fetch(`${base}/health`, { method: 'DELETE' });
      const extraSegment = await fetch(`${base}/health/more`);

      // Assess
      for (const response of [unknownPath, wrongMethod, extraSegment]) {
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toBe('application/json');
        expect(await response.text()).toBe('{"message":"Not Found"}');
      }
      expect(invocations).toHaveLength(0);
    });

    it('matches a greedy route for its prefix with a trailing slash, and / only for GET /', () => {
      // Prepare
      const routes = compileRoutes([
        { routeKey: 'GET /', functionName: 'root' },
        { routeKey: 'GET /console', functionName: 'bare' },
        { routeKey: 'GET /console/{proxy+}', functionName: 'greedy' },
      ]);

      // Act / Assess
      expect(matchRoute(routes, 'GET', '/')?.route.functionName).toBe('root');
      expect(matchRoute(routes, 'GET', '/console')?.route.functionName).toBe('bare');
      expect(matchRoute(routes, 'GET', '/console/')).toEqual({
        route: routes[2]?.route,
        pathParameters: { proxy: '' },
      });
      expect(matchRoute(routes, 'GET', '/console/tokens/tok_1')?.pathParameters).toEqual({ proxy: 'tokens/tok_1' });
      expect(matchRoute(routes, 'GET', '/other')).toBeUndefined();
    });

    it('sends whatever matches nothing to $default when there is one', () => {
      // Prepare
      const routes = compileRoutes([
        { routeKey: '$default', functionName: 'fallback' },
        { routeKey: 'GET /a/{id}', functionName: 'a' },
      ]);

      // Act / Assess
      expect(matchRoute(routes, 'GET', '/a/1')?.route.functionName).toBe('a');
      expect(matchRoute(routes, 'POST', '/a/1')?.route.functionName).toBe('fallback');
      expect(matchRoute(routes, 'GET', '/a/')?.route.functionName).toBe('fallback');
      expect(() => compileRoutes([{ routeKey: 'GET /{proxy+}/x', functionName: 'x' }])).toThrow(/Greedy/);
    });
  });

  describe('payload format 2.0 event', () => {
    it('builds the event as API Gateway does', async () => {
      // Act
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          `${base}/health?b=2&a=1&a=x%20y`,
          {
            method: 'GET',
            headers: { 'User-Agent': 'jest', 'X-Multi': ['one', 'two'], Cookie: 'session=abc; theme=dark' },
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });

      // Assess
      const event = lastEvent();
      expect(event).toMatchObject({
        version: '2.0',
        routeKey: 'GET /health',
        rawPath: '/health',
        rawQueryString: 'b=2&a=1&a=x%20y',
        cookies: ['session=abc', 'theme=dark'],
        queryStringParameters: { a: '1,x y', b: '2' },
        isBase64Encoded: false,
      });
      expect(event.headers).toMatchObject({ 'user-agent': 'jest', 'x-multi': 'one,two', 'x-forwarded-proto': 'http' });
      expect(event.headers.cookie).toBeUndefined();
      expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
      expect('body' in event).toBe(false);
      expect('pathParameters' in event).toBe(false);
      expect('authorizer' in event.requestContext).toBe(false);
      const port = new URL(base).port;
      expect(event.requestContext).toMatchObject({
        accountId: '000000000000',
        apiId: 'abc123defg',
        domainName: `127.0.0.1:${port}`,
        domainPrefix: '127',
        http: { method: 'GET', path: '/health', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
        routeKey: 'GET /health',
        stage: '$default',
      });
      expect(event.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
      expect(Math.abs((event.requestContext.timeEpoch as number) - Date.now())).toBeLessThan(10_000);
      expect(event.requestContext.requestId).toEqual(expect.any(String));
    });

    it('passes JSON and text bodies as text and form bodies base64-encoded', async () => {
      // Act
      await fetch(`${base}/approvals/a1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: '{"x":"é"}',
      });
      const json = lastEvent();
      await fetch(`${base}/approvals/a1`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'decision=approve&sig=a%2Bb&csrf=xyz',
      });
      const form = lastEvent();
      await fetch(`${base}/approvals/a1`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
      const text = lastEvent();

      // Assess
      expect([json.body, json.isBase64Encoded]).toEqual(['{"x":"é"}', false]);
      expect(form.isBase64Encoded).toBe(true);
      expect(Buffer.from(form.body as string, 'base64').toString('utf8')).toBe('decision=approve&sig=a%2Bb&csrf=xyz');
      expect([text.body, text.isBase64Encoded]).toEqual(['hi', false]);
    });

    it("answers API Gateway's 413 for a body over the payload limit without invoking", async () => {
      // Act
      const response = await fetch(`${base}/approvals/a1`, { method: 'POST', body: 'x'.repeat(5000) });

      // Assess
      expect(response.status).toBe(413);
      expect(await response.text()).toBe('{"message":"Request Entity Too Large"}');
      expect(invocations).toHaveLength(0);
    });
  });

  describe('JWT authorizer', () => {
    it('passes verified claims stringified as API Gateway does', async () => {
      // Prepare
      const jwt = await token({ email: 'admin@example.com' });
      const multi = await token({ email: 'carol@example.com', groups: ['a', 'b'] });

      // Act
      const response = await fetch(`${base}/token-requests/r1`, { headers: { authorization: `Bearer ${jwt}` } });
      const admin = lastEvent();
      await fetch(`${base}/token-requests/r1/cancel`, { method: 'POST', headers: { authorization: multi } });
      const carol = lastEvent();

      // Assess
      expect(response.status).toBe(200);
      const claims = admin.requestContext.authorizer?.jwt.claims ?? {};
      expect(claims).toMatchObject({
        iss: issuer,
        aud: 'token-warden',
        sub: 'admin@example.com',
        email: 'admin@example.com',
        groups: '[token-warden-admins]',
      });
      expect(claims.exp).toMatch(/^\d{10}$/);
      expect(claims.iat).toMatch(/^\d{10}$/);
      expect(admin.requestContext.authorizer?.jwt.scopes).toBeNull();
      expect(admin.pathParameters).toEqual({ requestId: 'r1' });
      // The token without the Bearer prefix is accepted too.
      expect(carol.requestContext.authorizer?.jwt.claims.groups).toBe('[a b]');
    });

    it.each<[string, () => Promise<Record<string, string>>, string | undefined]>([
      ['a missing token', async () => ({}), undefined],
      ['an empty header', async () => ({ authorization: '' }), undefined],
      ['a bare Bearer prefix', async () => ({ authorization: 'Bearer ' }), 'the token is malformed'],
      ['a malformed token', async () => ({ authorization: 'Bearer not-a-jwt' }), 'the token is malformed'],
      [
        'an expired token',
        async () => ({ authorization: `Bearer ${await token({ email: 'a@example.com', expiresInSeconds: -1 })}` }),
        'the token has expired',
      ],
      [
        'a not-yet-valid token',
        async () => ({ authorization: `Bearer ${await token({ email: 'a@example.com', notBeforeSeconds: 600 })}` }),
        'the token is not valid yet',
      ],
      [
        'a wrong issuer',
        async () => ({
          authorization: `Bearer ${await token({ email: 'a@example.com', issuer: 'https://evil.example.com' })}`,
        }),
        'the token does not have a valid issuer',
      ],
      [
        'a wrong audience',
        async () => ({ authorization: `Bearer ${await token({ email: 'a@example.com', audience: 'other-app' })}` }),
        'the token does not have a valid audience',
      ],
    ])('refuses %s with 401 {"message":"Unauthorized"}', async (_case, headers, description) => {
      // Act
      const response = await fetch(`${base}/token-requests/r1`, { headers: await headers() });

      // Assess
      expect(response.status).toBe(401);
      expect(await response.text()).toBe('{"message":"Unauthorized"}');
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.get('apigw-requestid')).toEqual(expect.any(String));
      expect(response.headers.get('www-authenticate')).toBe(
        description === undefined
          ? 'Bearer'
          : `Bearer scope="" error="invalid_token" error_description="${description}"`,
      );
      expect(invocations).toHaveLength(0);
      expect(access[access.length - 1]).toMatchObject({ status: 401, routeKey: 'GET /token-requests/{requestId}' });
    });

    it('refuses tokens that are not validly signed by the issuer', async () => {
      // Prepare
      const good = await token({ email: 'alice@example.com' });
      const [h, p] = good.split('.') as [string, string];
      const kid = provider.jwks.keys[0]?.kid;
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
      const tampered = `${h}.${b64({ ...claims, email: 'admin@example.com' })}.${good.split('.')[2]}`;
      const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forgedInput = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${p}`;
      const forged = `${forgedInput}.${sign('sha256', Buffer.from(forgedInput), otherKey).toString('base64url')}`;
      const none = `${b64({ alg: 'none', typ: 'JWT', kid })}.${p}.`;
      const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${p}`;
      const hs256 = `${hsInput}.${createHmac('sha256', JSON.stringify(provider.jwks.keys[0])).update(hsInput).digest('base64url')}`;
      const unknownKidInput = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'unknown-kid' })}.${p}`;
      const unknownKid = `${unknownKidInput}.${sign('sha256', Buffer.from(unknownKidInput), otherKey).toString('base64url')}`;

      // Act
      const outcomes: Array<[number, string, string | null]> = [];
      for (const jwt of [tampered, forged, none, hs256, unknownKid]) {
        const response = await fetch(`${base}/token-requests/r1`, { headers: { authorization: `Bearer ${jwt}` } });
        outcomes.push([response.status, await response.text(), response.headers.get('www-authenticate')]);
      }

      // Assess
      for (const [status, body] of outcomes) {
        expect(status).toBe(401);
        expect(body).toBe('{"message":"Unauthorized"}');
      }
      expect(outcomes.map(([, , header]) => /error_description="([^"]*)"/.exec(header ?? '')?.[1])).toEqual([
        'the token signature is invalid',
        'the token signature is invalid',
        'signing method none is invalid',
        'signing method HS256 is invalid',
        "no key in the issuer's JWKS matches the token's key id unknown-kid",
      ]);
      expect(invocations).toHaveLength(0);
    });

    it('stringifies claims of every type', () => {
      expect(
        stringifyClaims({ s: 'x', n: 1712345678, f: 1.5, t: true, a: ['x', 2, true], o: { k: 'v' }, z: null }),
      ).toEqual({ s: 'x', n: '1712345678', f: '1.5', t: 'true', a: '[x 2 true]', o: '{"k":"v"}' });
    });
  });

  describe('Lambda results', () => {
    it('maps statusCode, headers, cookies and base64 bodies', async () => {
      // Prepare
      respond = () => ({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
        cookies: ['a=1; HttpOnly', 'b=2'],
        body: Buffer.from([0, 1, 2, 255]).toString('base64'),
        isBase64Encoded: true,
      });

      // Act
      const response = await fetch(`${base}/health`);

      // Assess
      expect(response.status).toBe(201);
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(response.headers.get('x-count')).toBe('3');
      expect(response.headers.getSetCookie()).toEqual(['a=1; HttpOnly', 'b=2']);
      expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    });

    it('answers 200 JSON for a result without statusCode', async () => {
      // Prepare
      respond = () => ({ status: 'ok' });

      // Act
      const object = await fetch(`${base}/health`);
      respond = () => 'plain text';
      const text = await fetch(`${base}/health`);

      // Assess
      expect(object.status).toBe(200);
      expect(object.headers.get('content-type')).toBe('application/json');
      expect(await object.text()).toBe('{"status":"ok"}');
      expect(await text.text()).toBe('plain text');
    });

    it("answers API Gateway's 500 when the function fails or returns a malformed response", async () => {
      // Prepare
      const failures: Array<() => unknown> = [
        () => {
          const error = new Error('secret detail at /var/task/index.js:1');
          error.name = 'TypeError';
          throw error;
        },
        () => ({ statusCode: 'two hundred' }),
        () => ({ statusCode: 200, body: { not: 'a string' } }),
      ];

      // Act / Assess
      for (const failure of failures) {
        respond = failure;
        const response = await fetch(`${base}/health`);
        expect(response.status).toBe(500);
        const text = await response.text();
        expect(text).toBe('{"message":"Internal Server Error"}');
      }
      expect(access[0]?.integrationError).toBe('TypeError: secret detail at /var/task/index.js:1');
    });

    it('answers 503 when the integration exceeds its timeout', async () => {
      // Prepare
      respond = () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 1_000));

      // Act
      const response = await fetch(`${base}/health`);

      // Assess
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('{"message":"Service Unavailable"}');
    });

    it('maps results without a server too', () => {
      expect(mapResult(null).body.toString()).toBe('null');
      expect(mapResult({ statusCode: 204 }).status).toBe(204);
      expect(mapResult({ statusCode: 99 }).status).toBe(500);
    });
  });

  it('serves local routes before route selection, and logs access entries', async () => {
    // Act
    const discovery = await fetch(`${issuer}/.well-known/openid-configuration`);
    await fetch(`${base}/health`);

    // Assess
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as { issuer: string }).issuer).toBe(issuer);
    expect(access).toEqual([
      expect.objectContaining({
        httpMethod: 'GET',
        path: '/health',
        routeKey: 'GET /health',
        status: 200,
        protocol: 'HTTP/1.1',
        responseLength: 2,
        integrationLatency: expect.any(Number),
      }),
    ]);
  });

  describe('loopback Host (DNS rebinding)', () => {
    it('refuses a request whose Host is not a loopback name, on API and local routes alike, invoking nothing', async () => {
      // Act
      const health = await rawRequest(`${base}/health`, { headers: { host: rebindingHost(base) } });
      const create = await rawRequest(`${base}/token-requests`, {
        method: 'POST',
        headers: { host: rebindingHost(base), 'content-type': 'application/json' },
        body: '{}',
      });
      const jwks = await rawRequest(`${issuer}/.well-known/jwks.json`, { headers: { host: rebindingHost(issuer) } });

      // Assess
      for (const answer of [health, create, jwks]) {
        expect(answer.status).toBe(403);
        expect(answer.headers['content-type']).toBe('application/json');
        const { message } = JSON.parse(answer.text) as { message: string };
        expect(message).toContain("Host 'rebind.attacker.example:");
        expect(message).toContain('127.0.0.1:');
      }
      expect(jwks.text).not.toContain('"keys"');
      expect(invocations).toEqual([]);
      expect(access).toEqual([]);
    });

    it('serves 127.0.0.1, localhost and [::1] with the port it listens on, and refuses another port', async () => {
      // Act
      const served = [];
      for (const host of loopbackHosts(base)) served.push(await rawRequest(`${base}/health`, { headers: { host } }));
      const otherPort = await rawRequest(`${base}/health`, { headers: { host: '127.0.0.1:1' } });
      const noPort = await rawRequest(`${base}/health`, { headers: { host: 'localhost' } });

      // Assess
      expect(served.map((a) => a.status)).toEqual(loopbackHosts(base).map(() => 200));
      expect(invocations).toHaveLength(loopbackHosts(base).length);
      expect(otherPort.status).toBe(403);
      expect(noPort.status).toBe(403);
    });
  });

  it('fails clearly when the port is in use', async () => {
    // Prepare
    const port = Number(new URL(base).port);
    const second = createHttpApi({ routes: [], invoke: async () => null });

    // Act / Assess
    await expect(second.listen(port)).rejects.toThrow(`Cannot start the HTTP API: 127.0.0.1:${port} is already in use`);
  });

  it('runs real bundled handlers through the Lambda runner', async () => {
    // Prepare
    const runner = new LambdaRunner({
      functions: [
        {
          logicalId: 'Echo',
          functionName: 'echo',
          assetDir: join(__dirname, 'fixtures', 'local-lambda', 'asset-a'),
          handler: 'index.echo',
          env: {},
          timeoutSeconds: 5,
          memoryMb: 128,
        },
        {
          logicalId: 'Fail',
          functionName: 'fail',
          assetDir: join(__dirname, 'fixtures', 'local-lambda', 'asset-a'),
          handler: 'index.fail',
          env: {},
          timeoutSeconds: 5,
          memoryMb: 128,
        },
      ],
      clockOffsetMs: () => 0,
      onLog: () => {},
    });
    const gateway = createHttpApi({
      routes: [
        { routeKey: 'GET /echo/{id}', functionName: 'echo' },
        { routeKey: 'GET /fail', functionName: 'fail' },
      ],
      invoke: (name, event) => runner.invoke(name, event),
    });
    await gateway.listen(0);

    try {
      // Act
      const echoed = await fetch(`${gateway.url}/echo/42?x=1`);
      const failed = await fetch(`${gateway.url}/fail`);

      // Assess: the echo handler returns the event itself, which has no statusCode.
      expect(echoed.status).toBe(200);
      expect(await echoed.json()).toMatchObject({
        version: '2.0',
        routeKey: 'GET /echo/{id}',
        pathParameters: { id: '42' },
        queryStringParameters: { x: '1' },
      });
      expect(failed.status).toBe(500);
      expect(await failed.text()).toBe('{"message":"Internal Server Error"}');
    } finally {
      await gateway.close();
      await runner.close();
    }
  });
});
