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
    const unknown = await fetch(`${base}/local/oidc/authorize`);
    const wrongMethod = await fetch(`${base}/local/oidc/token`);

    // Assess
    expect(outside.status).toBe(418);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'Not Found' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
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
