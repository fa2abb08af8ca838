import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from '../../local/api-gateway';
import {
  createOidcProvider,
  type OidcProvider,
  SIGNING_KEY_FILE,
  seededGroupsFor,
  validateTokenRequest,
} from '../../local/oidc';
import { crossSiteTextPost, loopbackHosts, rawRequest, rebindingHost } from './support/browser-requests';

/** Serves a provider on its own port, as the API server mounts it. */
async function serve(makeProvider: (issuerBase: string) => Promise<OidcProvider>) {
  let provider: OidcProvider | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void provider?.handle(req, res, Buffer.concat(chunks)).then((handled) => {
        if (!handled) res.writeHead(418).end('not the provider');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = await makeProvider(base);
  return { server, base, provider };
}

describe('local OIDC provider', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-oidc-'));
  let server: Server;
  let base: string;
  let provider: OidcProvider;
  const directoryCalls: string[] = [];

  beforeAll(async () => {
    ({ server, base, provider } = await serve((b) =>
      createOidcProvider({
        issuer: `${b}/local/oidc`,
        dataDir,
        groupsFor: (email) => {
          directoryCalls.push(email);
          return seededGroupsFor(email);
        },
      }),
    ));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const postToken = (body: unknown) =>
    fetch(`${base}/local/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('serves discovery and the key set under the issuer path', async () => {
    // Act
    const discovery = await fetch(`${base}/local/oidc/.well-known/openid-configuration`);
    const jwks = await fetch(`${base}/local/oidc/.well-known/jwks.json`);

    // Assess
    expect(discovery.status).toBe(200);
    expect(await discovery.json()).toMatchObject({
      issuer: `${base}/local/oidc`,
      jwks_uri: `${base}/local/oidc/.well-known/jwks.json`,
      token_endpoint: `${base}/local/oidc/token`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect(jwks.status).toBe(200);
    const keys = (await jwks.json()) as { keys: Array<Record<string, unknown>> };
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    expect(keys.keys[0]?.d).toBeUndefined();
    expect(keys).toEqual(provider.jwks);
  });

  it('mints an RS256 token with the contract claims and a one-hour default lifetime', async () => {
    // Act
    const before = Math.floor(Date.now() / 1000);
    const response = await postToken({ email: 'Admin@Example.com' });
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    const { header, claims } = decodeJwt(body.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: provider.jwks.keys[0]?.kid });
    expect(Object.keys(claims).sort()).toEqual(['aud', 'email', 'exp', 'groups', 'iat', 'iss', 'nbf', 'sub']);
    expect(claims).toMatchObject({
      iss: `${base}/local/oidc`,
      aud: 'token-warden',
      sub: 'admin@example.com',
      email: 'Admin@Example.com',
      groups: ['token-warden-admins'],
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.exp).toBe((claims.iat as number) + 3600);
    expect(directoryCalls).toContain('Admin@Example.com');
    await expect(provider.verify(body.access_token)).resolves.toMatchObject({ email: 'Admin@Example.com' });
  });

  it('uses given groups as they are and applies the time, audience and issuer overrides', async () => {
    // Act
    const response = await postToken({
      email: 'alice@example.com',
      groups: [],
      expiresInSeconds: -60,
      notBeforeSeconds: 600,
      audience: ['other', 'token-warden'],
      issuer: 'https://elsewhere.example.com',
    });
    const body = (await response.json()) as { access_token: string; expires_in: number };
    const member = (await (await postToken({ email: 'alice@example.com' })).json()) as { access_token: string };

    // Assess
    expect(response.status).toBe(200);
    expect(body.expires_in).toBe(-60);
    const { claims } = decodeJwt(body.access_token);
    expect(claims).toMatchObject({ groups: [], aud: ['other', 'token-warden'], iss: 'https://elsewhere.example.com' });
    expect(claims.exp).toBe((claims.iat as number) - 60);
    expect(claims.nbf).toBe((claims.iat as number) + 600);
    expect(decodeJwt(member.access_token).claims.groups).toEqual([]);
    await expect(provider.verify(body.access_token)).rejects.toThrow('the token does not have a valid issuer');
  });

  it.each([
    [{ email: 'not-an-email' }, 'email'],
    [{}, 'email'],
    [{ email: 42 }, 'email'],
    [{ email: 'a@example.com', groups: 'admins' }, 'groups'],
    [{ email: 'a@example.com', groups: [1] }, 'groups'],
    [{ email: 'a@example.com', expiresInSeconds: 1.5 }, 'expiresInSeconds'],
    [{ email: 'a@example.com', notBeforeSeconds: '60' }, 'notBeforeSeconds'],
    [{ email: 'a@example.com', audience: '' }, 'audience'],
    [{ email: 'a@example.com', issuer: 7 }, 'issuer'],
    [{ email: 'a@example.com', role: 'admin' }, 'role'],
  ])('refuses %j with 400 VALIDATION_ERROR on field %s', async (body, field) => {
    // Act
    const response = await postToken(body);

    // Assess
    expect(response.status).toBe(400);
    const error = (await response.json()) as { error: { code: string; message: string; field: string } };
    expect(error).toEqual({ error: { code: 'VALIDATION_ERROR', message: expect.any(String), field } });
  });

  it('refuses a body that is not a JSON object', async () => {
    // Act
    const invalid = await postToken('{nope');
    const array = await postToken([]);

    // Assess
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({
      error: { code: 'VALIDATION_ERROR', message: 'The body is not valid JSON' },
    });
    expect(array.status).toBe(400);
    expect(((await array.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR');
  });

  it('answers only under its own path, with 404 and 405 inside it', async () => {
    // Act
    const outside = await fetch(`${base}/health`);
    const unknown = await fetch(`${base}/local/oidc/userinfo`);
    const wrongMethod = await fetch(`${base}/local/oidc/token`);

    // Assess
    expect(outside.status).toBe(418);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'Not Found' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('refuses a cross-site text/plain POST /token with 415, minting nothing', async () => {
    // Prepare
    const looked = directoryCalls.length;

    // Act
    const answer = await crossSiteTextPost(`${base}/local/oidc/token`, '{"email":"admin@example.com"}');
    const untyped = await rawRequest(`${base}/local/oidc/token`, { method: 'POST', body: '{"email":"a@example.com"}' });

    // Assess
    expect([answer.status, untyped.status]).toEqual([415, 415]);
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringContaining('application/json'),
        field: 'content-type',
      },
    });
    expect(answer.text).not.toContain('access_token');
    expect(directoryCalls.length).toBe(looked);
  });

  it('refuses a POST /token from another origin with 403, whatever its type', async () => {
    // Act
    const answers = [
      await rawRequest(`${base}/local/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://attacker.example' },
        body: '{"email":"admin@example.com"}',
      }),
      await rawRequest(`${base}/local/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
        body: 'grant_type=authorization_code&code=x',
      }),
    ];

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
  });

  it('refuses a foreign Host, and serves the loopback ones', async () => {
    // Act
    const foreign = await rawRequest(`${base}/local/oidc/.well-known/jwks.json`, {
      headers: { host: rebindingHost(base) },
    });
    const served = [];
    for (const host of loopbackHosts(base)) {
      served.push((await rawRequest(`${base}/local/oidc/.well-known/jwks.json`, { headers: { host } })).status);
    }

    // Assess
    expect(foreign.status).toBe(403);
    expect(foreign.text).not.toContain('"keys"');
    expect(served).toEqual(loopbackHosts(base).map(() => 200));
  });

  it('persists the key pair as a JWK and reuses it on the next start', async () => {
    // Act
    const stored = JSON.parse(readFileSync(join(dataDir, SIGNING_KEY_FILE), 'utf8')) as Record<string, unknown>;
    const again = await createOidcProvider({ issuer: `${base}/local/oidc`, dataDir, groupsFor: () => [] });
    const token = (await provider.issueToken({ email: 'bob@example.com' })).access_token;

    // Assess
    expect(stored).toMatchObject({ kty: 'RSA', kid: provider.jwks.keys[0]?.kid, d: expect.any(String) });
    expect(again.jwks).toEqual(provider.jwks);
    await expect(again.verify(token)).resolves.toMatchObject({ email: 'bob@example.com' });
  });

  it('generates a different key in a fresh data dir', async () => {
    // Prepare
    const otherDir = mkdtempSync(join(tmpdir(), 'tw-oidc-other-'));

    // Act
    const other = await createOidcProvider({ issuer: `${base}/local/oidc`, dataDir: otherDir, groupsFor: () => [] });
    const token = (await other.issueToken({ email: 'bob@example.com' })).access_token;
    rmSync(otherDir, { recursive: true, force: true });

    // Assess
    expect(other.jwks.keys[0]?.kid).not.toBe(provider.jwks.keys[0]?.kid);
    await expect(provider.verify(token)).rejects.toThrow(/no key in the issuer's JWKS/);
  });

  it('validates requests without a server too', () => {
    expect(validateTokenRequest({ email: 'a@example.com', expiresInSeconds: 5 })).toEqual({
      email: 'a@example.com',
      expiresInSeconds: 5,
    });
    expect(() => validateTokenRequest(null)).toThrow('The body must be a JSON object');
    expect(seededGroupsFor('ADMIN@example.com')).toEqual(['token-warden-admins']);
    expect(seededGroupsFor('alice@example.com')).toEqual([]);
  });
});

describe('local OIDC provider: authorization code with PKCE', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-oidc-code-'));
  const simulatedNow = Date.parse('2027-03-01T00:00:00Z');
  let server: Server;
  let base: string;
  let provider: OidcProvider;
  const verifier = 'v'.repeat(50);
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  beforeAll(async () => {
    ({ server, base, provider } = await serve((b) =>
      createOidcProvider({
        issuer: `${b}/local/oidc`,
        dataDir,
        groupsFor: seededGroupsFor,
        now: () => simulatedNow,
      }),
    ));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const params = (over: Record<string, string | undefined> = {}) => {
    const all: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: 'token-warden',
      redirect_uri: `${base}/approvals/sign-in/callback`,
      scope: 'openid email',
      state: 's-1',
      nonce: 'n-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      login_hint: 'approver1@example.com',
      ...over,
    };
    return new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
  };
  const authorize = (p: URLSearchParams) => fetch(`${base}/local/oidc/authorize?${p}`, { redirect: 'manual' });
  const signIn = (p: URLSearchParams, email: string) =>
    fetch(`${base}/local/oidc/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${p}&email=${encodeURIComponent(email)}`,
      redirect: 'manual',
    });
  const redeem = (form: Record<string, string>) =>
    fetch(`${base}/local/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  const codeFor = async (email = 'approver1@example.com') => {
    const answer = await signIn(params(), email);
    expect(answer.status).toBe(302);
    const back = new URL(answer.headers.get('location') ?? '');
    expect(back.searchParams.get('state')).toBe('s-1');
    return back.searchParams.get('code') ?? '';
  };
  const grant = (code: string, over: Record<string, string> = {}) => ({
    grant_type: 'authorization_code',
    code,
    client_id: 'token-warden',
    redirect_uri: `${base}/approvals/sign-in/callback`,
    code_verifier: verifier,
    ...over,
  });

  it('advertises the flow in discovery', async () => {
    const discovery = await (await fetch(`${base}/local/oidc/.well-known/openid-configuration`)).json();
    expect(discovery).toMatchObject({
      authorization_endpoint: `${base}/local/oidc/authorize`,
      grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('shows an email form carrying the request, pre-filled from login_hint', async () => {
    const page = await authorize(params());
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('name="email" id="email" required autocomplete="username" value="approver1@example.com"');
    expect(html).toContain(`name="code_challenge" value="${challenge}"`);
  });

  it('issues a single-use code whose ID token names the email, the nonce and simulated-clock times', async () => {
    const code = await codeFor('Approver1@example.com');
    const answer = await redeem(grant(code));
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { id_token: string; access_token: string; token_type: string };
    expect(body.token_type).toBe('Bearer');
    const { claims } = decodeJwt(body.id_token);
    expect(claims).toMatchObject({
      iss: `${base}/local/oidc`,
      aud: 'token-warden',
      email: 'Approver1@example.com',
      email_verified: true,
      nonce: 'n-1',
      iat: simulatedNow / 1000,
      exp: simulatedNow / 1000 + 3600,
    });
    await expect(provider.verify(body.access_token)).resolves.toMatchObject({ email: 'Approver1@example.com' });
    const again = await redeem(grant(code));
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'the code is unknown, used or expired',
    });
  });

  it.each([
    ['a wrong verifier', { code_verifier: 'w'.repeat(50) }, 'invalid_grant'],
    ['a verifier too short', { code_verifier: 'short' }, 'invalid_grant'],
    ['another redirect_uri', { redirect_uri: 'http://127.0.0.1:1/approvals/sign-in/callback' }, 'invalid_grant'],
    ['another client', { client_id: 'other' }, 'invalid_client'],
    ['another grant type', { grant_type: 'password' }, 'unsupported_grant_type'],
  ])('refuses a redemption with %s, and the code is spent', async (_, over, error) => {
    const code = await codeFor();
    const answer = await redeem(grant(code, over));
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: string }).error).toBe(error);
    if (error !== 'unsupported_grant_type') expect((await redeem(grant(code))).status).toBe(400);
  });

  it('answers a 400 page for an unknown client or a foreign redirect_uri, and never redirects there', async () => {
    for (const over of [
      { client_id: 'other' },
      { redirect_uri: 'https://evil.example.com/cb' },
      { redirect_uri: 'x' },
    ]) {
      const page = await authorize(params(over));
      expect(page.status).toBe(400);
      expect(page.headers.get('location')).toBeNull();
    }
  });

  it.each([
    ['no PKCE', { code_challenge: undefined }, 'code_challenge (PKCE) is required'],
    ['plain PKCE', { code_challenge_method: 'plain' }, 'code_challenge_method must be S256'],
    ['another response type', { response_type: 'token' }, 'response_type must be code'],
    ['no openid scope', { scope: 'email' }, 'scope must include openid'],
  ])('sends %s back to the client as invalid_request with the state', async (_, over, description) => {
    const answer = await authorize(params(over));
    expect(answer.status).toBe(302);
    const back = new URL(answer.headers.get('location') ?? '');
    expect(Object.fromEntries(back.searchParams)).toEqual({
      error: 'invalid_request',
      error_description: description,
      state: 's-1',
    });
  });

  it('refuses a sign-in form posted from another origin (403) or as text/plain (415), issuing no code', async () => {
    // Act
    const answers = [
      await rawRequest(`${base}/local/oidc/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://attacker.example' },
        body: `${params()}&email=attacker%40example.com`,
      }),
      await crossSiteTextPost(`${base}/local/oidc/authorize`, `${params()}&email=attacker%40example.com`),
    ];

    // Assess
    expect(answers.map((a) => a.status)).toEqual([403, 415]);
    for (const answer of answers) expect(answer.headers.location).toBeUndefined();
  });

  it('accepts the sign-in form from its own page, as Chromium posts it (Origin null under no-referrer)', async () => {
    const posts: Record<string, string>[] = [
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      { origin: base, 'sec-fetch-site': 'same-origin' },
      { origin: base },
    ];
    for (const headers of posts) {
      const answer = await rawRequest(`${base}/local/oidc/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: `${params()}&email=approver1%40example.com`,
      });
      expect(answer.status).toBe(302);
      expect(new URL(String(answer.headers.location)).searchParams.get('code')).toEqual(expect.any(String));
    }
  });

  it('refuses the sign-in form from another site or an opaque origin that Fetch Metadata does not vouch for', async () => {
    const posts: Record<string, string>[] = [
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of posts) {
      const answer = await rawRequest(`${base}/local/oidc/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: `${params()}&email=attacker%40example.com`,
      });
      expect(answer.status).toBe(403);
      expect(answer.headers.location).toBeUndefined();
    }
  });

  it('refuses the sign-in page under a foreign Host', async () => {
    const page = await rawRequest(`${base}/local/oidc/authorize?${params()}`, {
      headers: { host: rebindingHost(base) },
    });
    expect(page.status).toBe(403);
    expect(page.text).not.toContain('<form');
  });

  it('asks again for a bad email and issues no code', async () => {
    const answer = await signIn(params(), 'not-an-email');
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('email must be an email address');
  });
});
