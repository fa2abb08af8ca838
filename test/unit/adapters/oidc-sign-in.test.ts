import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OidcSignIn, SignInRefused, SignInUnavailable } from '../../../functions/adapters/oidc/sign-in';
import { signInSecrets } from '../../../functions/domain/links';
import { createOidcProvider, type OidcProvider, seededGroupsFor } from '../../../local/oidc';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

async function listen(handler: Handler): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (server: Server) => new Promise((resolve) => server.close(resolve));
const NOW = 1_900_000_000;

describe('OidcSignIn against the local identity provider (authorization code + PKCE)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tw-sign-in-'));
  let server: Server;
  let base: string;
  let provider: OidcProvider | undefined;

  beforeAll(async () => {
    ({ server, base } = await listen(async (req, res, body) => {
      if (!(await provider?.handle(req, res, body))) res.writeHead(404).end();
    }));
    provider = await createOidcProvider({
      issuer: `${base}/local/oidc`,
      dataDir,
      groupsFor: seededGroupsFor,
      now: () => NOW * 1000,
    });
  });

  afterAll(async () => {
    await close(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const client = () => new OidcSignIn({ issuer: `${base}/local/oidc`, clientId: 'token-warden', now: () => NOW });
  const secrets = signInSecrets(Buffer.alloc(32, 7), 'state-1', 'browser-1');
  const redirectUri = () => `${base}/approvals/sign-in/callback`;

  /** Follows the authorization URL as a browser would: the form, then the approver's submission. */
  async function signInAs(email: string, authorizationUrl: string): Promise<URL> {
    const page = await fetch(authorizationUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    const hidden = Object.fromEntries(
      [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
        m[1],
        m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))),
      ]),
    );
    const answer = await fetch(`${base}/local/oidc/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...hidden, email }).toString(),
      redirect: 'manual',
    });
    expect(answer.status).toBe(302);
    return new URL(answer.headers.get('location') ?? '');
  }

  it('builds the authorization URL from discovery with S256 PKCE, state, nonce and the login hint', async () => {
    const url = new URL(
      await client().authorizationUrl({
        redirectUri: redirectUri(),
        state: 'state-1',
        nonce: secrets.nonce,
        codeChallenge: secrets.codeChallenge,
        loginHint: 'approver1@example.com',
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe(`${base}/local/oidc/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'token-warden',
      redirect_uri: redirectUri(),
      scope: 'openid email',
      state: 'state-1',
      nonce: secrets.nonce,
      code_challenge: secrets.codeChallenge,
      code_challenge_method: 'S256',
      login_hint: 'approver1@example.com',
    });
  });

  it('redeems the code with the verifier and answers the signed-in email, lower-cased', async () => {
    const sign = client();
    const back = await signInAs(
      'Approver1@Example.com',
      await sign.authorizationUrl({
        redirectUri: redirectUri(),
        state: 'state-1',
        nonce: secrets.nonce,
        codeChallenge: secrets.codeChallenge,
      }),
    );
    expect(back.searchParams.get('state')).toBe('state-1');
    const code = back.searchParams.get('code') ?? '';
    await expect(
      sign.complete({ code, redirectUri: redirectUri(), codeVerifier: secrets.codeVerifier, nonce: secrets.nonce }),
    ).resolves.toEqual({ email: 'approver1@example.com' });
    // Single use: the same code again is refused by the provider.
    await expect(
      sign.complete({ code, redirectUri: redirectUri(), codeVerifier: secrets.codeVerifier, nonce: secrets.nonce }),
    ).rejects.toThrow(new SignInRefused('the identity provider did not accept the sign-in (invalid_grant)'));
  });

  it('is refused with a verifier from another browser (PKCE) or a nonce from another sign-in', async () => {
    const other = signInSecrets(Buffer.alloc(32, 7), 'state-1', 'browser-2');
    const sign = client();
    const start = () =>
      sign.authorizationUrl({
        redirectUri: redirectUri(),
        state: 'state-1',
        nonce: secrets.nonce,
        codeChallenge: secrets.codeChallenge,
      });
    const first = (await signInAs('approver1@example.com', await start())).searchParams.get('code') ?? '';
    await expect(
      sign.complete({
        code: first,
        redirectUri: redirectUri(),
        codeVerifier: other.codeVerifier,
        nonce: secrets.nonce,
      }),
    ).rejects.toBeInstanceOf(SignInRefused);
    const second = (await signInAs('approver1@example.com', await start())).searchParams.get('code') ?? '';
    await expect(
      sign.complete({
        code: second,
        redirectUri: redirectUri(),
        codeVerifier: secrets.codeVerifier,
        nonce: other.nonce,
      }),
    ).rejects.toThrow('the ID token belongs to another sign-in');
  });
});

describe('OidcSignIn verifies ID tokens before trusting them', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let server: Server;
  let base: string;
  /** What the token endpoint answers next. */
  let answer: { status: number; body: string } = { status: 200, body: '{}' };
  let jwksFetches = 0;
  let published: Array<Record<string, unknown>> = [];

  const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig' });

  beforeAll(async () => {
    ({ server, base } = await listen((req, res) => {
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.url === '/.well-known/openid-configuration') {
        json(200, {
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          jwks_uri: `${base}/jwks`,
        });
      } else if (req.url === '/jwks') {
        jwksFetches++;
        json(200, { keys: published });
      } else if (req.url === '/token') {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      } else {
        res.writeHead(404).end();
      }
    }));
  });

  afterAll(() => close(server));

  beforeEach(() => {
    published = [jwk(rsa.publicKey, 'rsa-1'), jwk(ec.publicKey, 'ec-1')];
  });

  const claims = (over: Record<string, unknown> = {}) => ({
    iss: base,
    aud: 'token-warden',
    sub: 'u1',
    email: 'approver1@example.com',
    email_verified: true,
    nonce: 'nonce-1',
    iat: NOW,
    exp: NOW + 300,
    ...over,
  });

  function jwt(
    payload: unknown,
    header: Record<string, unknown> = { alg: 'RS256', kid: 'rsa-1' },
    key = rsa.privateKey,
  ) {
    const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${encode(header)}.${encode(payload)}`;
    const signature =
      header.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : header.alg === 'none'
          ? Buffer.alloc(0)
          : sign('sha256', Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
  }

  const client = () => new OidcSignIn({ issuer: base, clientId: 'token-warden', now: () => NOW, timeoutMs: 1000 });
  const redeem = (idToken: string, status = 200) => {
    answer = { status, body: JSON.stringify({ id_token: idToken, token_type: 'Bearer' }) };
    return client().complete({ code: 'c', redirectUri: `${base}/cb`, codeVerifier: 'v'.repeat(43), nonce: 'nonce-1' });
  };

  it('accepts RS256 and ES256 tokens signed with a published key', async () => {
    await expect(redeem(jwt(claims()))).resolves.toEqual({ email: 'approver1@example.com' });
    await expect(redeem(jwt(claims(), { alg: 'ES256', kid: 'ec-1' }, ec.privateKey))).resolves.toEqual({
      email: 'approver1@example.com',
    });
  });

  it.each([
    ['alg none', () => jwt(claims(), { alg: 'none', kid: 'rsa-1' }), 'algorithm none is not accepted'],
    ['HS256', () => jwt(claims(), { alg: 'HS256', kid: 'rsa-1' }), 'algorithm HS256 is not accepted'],
    ['a key not published', () => jwt(claims(), { alg: 'RS256', kid: 'rsa-1' }, stranger.privateKey), 'signature'],
    ['an unknown kid', () => jwt(claims(), { alg: 'RS256', kid: 'rsa-9' }), 'does not publish'],
    ['another issuer', () => jwt(claims({ iss: 'https://evil.example.com' })), 'another provider'],
    ['another audience', () => jwt(claims({ aud: 'other-app' })), 'another client'],
    ['several audiences without azp', () => jwt(claims({ aud: ['token-warden', 'other'] })), 'another party'],
    ['another authorized party', () => jwt(claims({ azp: 'other-app' })), 'another party'],
    ['an expired token', () => jwt(claims({ exp: NOW - 61 })), 'expired'],
    ['a token issued in the future', () => jwt(claims({ iat: NOW + 120 })), 'not valid yet'],
    ['a token not valid yet', () => jwt(claims({ nbf: NOW + 120 })), 'not valid yet'],
    ['another nonce', () => jwt(claims({ nonce: 'nonce-2' })), 'another sign-in'],
    ['no nonce', () => jwt(claims({ nonce: undefined })), 'another sign-in'],
    ['no email', () => jwt(claims({ email: undefined })), 'no email'],
    ['an unverified email', () => jwt(claims({ email_verified: false })), 'not verified'],
    ['an unverified email, as a string', () => jwt(claims({ email_verified: 'false' })), 'not verified'],
    ['an email with a KELVIN SIGN', () => jwt(claims({ email: '\u212Aate@example.com' })), 'plain ASCII'],
    ['an email NFKC folds onto another', () => jwt(claims({ email: '\uff41pprover1@example.com' })), 'plain ASCII'],
    ['an email with a Cyrillic letter', () => jwt(claims({ email: 'approver1@ex\u0430mple.com' })), 'plain ASCII'],
    ['claims of the wrong type', () => jwt(claims({ exp: 'tomorrow' })), 'malformed'],
    ['two parts', () => 'a.b', 'not a signed JWT'],
    ['garbage header', () => `${Buffer.from('{').toString('base64url')}.e30.AA`, 'header is malformed'],
  ])('refuses %s', async (_, token, message) => {
    const failure = redeem(token());
    await expect(failure).rejects.toBeInstanceOf(SignInRefused);
    await expect(failure).rejects.toThrow(message);
  });

  it('fetches the key set again once when a token names a new key (key rotation)', async () => {
    const sign = client();
    answer = { status: 200, body: JSON.stringify({ id_token: jwt(claims()) }) };
    const redemption = { code: 'c', redirectUri: `${base}/cb`, codeVerifier: 'v'.repeat(43), nonce: 'nonce-1' };
    await sign.complete(redemption);
    const before = jwksFetches;
    const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
    published = [jwk(rotated.publicKey, 'rsa-2')];
    answer = {
      status: 200,
      body: JSON.stringify({ id_token: jwt(claims(), { alg: 'RS256', kid: 'rsa-2' }, rotated.privateKey) }),
    };
    await expect(sign.complete(redemption)).resolves.toEqual({ email: 'approver1@example.com' });
    expect(jwksFetches).toBe(before + 1);
  });

  it('tells refusals (4xx) from outages (5xx, non-JSON, no id_token, timeouts)', async () => {
    answer = { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'code <script>' }) };
    await expect(client().complete({ code: 'c', redirectUri: 'x', codeVerifier: 'v', nonce: 'n' })).rejects.toThrow(
      new SignInRefused('the identity provider did not accept the sign-in (invalid_grant)'),
    );
    answer = { status: 401, body: '<html>no</html>' };
    await expect(client().complete({ code: 'c', redirectUri: 'x', codeVerifier: 'v', nonce: 'n' })).rejects.toThrow(
      new SignInRefused('the identity provider did not accept the sign-in (HTTP 401)'),
    );
    answer = { status: 503, body: 'down' };
    await expect(client().complete({ code: 'c', redirectUri: 'x', codeVerifier: 'v', nonce: 'n' })).rejects.toThrow(
      new SignInUnavailable('the identity provider answered HTTP 503'),
    );
    answer = { status: 200, body: '{"access_token":"a"}' };
    await expect(client().complete({ code: 'c', redirectUri: 'x', codeVerifier: 'v', nonce: 'n' })).rejects.toThrow(
      new SignInUnavailable('the identity provider answered without an id_token'),
    );
    const silent = await listen(() => undefined);
    const stalled = new OidcSignIn({ issuer: silent.base, clientId: 'token-warden', now: () => NOW, timeoutMs: 200 });
    await expect(
      stalled.authorizationUrl({ redirectUri: 'x', state: 's', nonce: 'n', codeChallenge: 'c' }),
    ).rejects.toThrow(new SignInUnavailable('the identity provider timed out'));
    silent.server.closeAllConnections();
    await close(silent.server);
  });

  it('refuses a discovery document that names another issuer', async () => {
    const liar = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: 'https://login.example.com',
          authorization_endpoint: 'https://login.example.com/a',
          token_endpoint: 'https://login.example.com/t',
          jwks_uri: 'https://login.example.com/k',
        }),
      );
    });
    const sign = new OidcSignIn({ issuer: liar.base, clientId: 'token-warden', now: () => NOW });
    await expect(
      sign.authorizationUrl({ redirectUri: 'x', state: 's', nonce: 'n', codeChallenge: 'c' }),
    ).rejects.toThrow("the identity provider's discovery names another issuer");
    await close(liar.server);
  });
});
