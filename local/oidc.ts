/**
 * The local identity provider: an OpenID Connect issuer that mints RS256 access tokens for any email, so the
 * HTTP API's JWT authorizer can be exercised exactly as on AWS without a real identity provider.
 *
 * Routes, under the issuer's path (`/local/oidc`):
 * - `GET  /.well-known/openid-configuration` — discovery (`jwks_uri`, `token_endpoint`, …)
 * - `GET  /.well-known/jwks.json` — the public signing key
 * - `POST /token` — `{"email", "groups"?, "expiresInSeconds"?, "notBeforeSeconds"?, "audience"?, "issuer"?}`
 *   → `200 {"access_token", "token_type": "Bearer", "expires_in"}`
 *
 * The overrides exist so tests can mint expired, not-yet-valid, wrong-audience or wrong-issuer tokens that are
 * still validly signed. Token times are wall-clock times, as the authorizer checks them.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type Jwk, verifyJwt } from './api-gateway';

/** The audience the HTTP API's authorizer expects. */
export const DEFAULT_AUDIENCE = 'token-warden';
/** Token lifetime when the request names none: one hour. */
export const DEFAULT_LIFETIME_SECONDS = 3600;
/** File (inside the data dir) that keeps the signing key, as a private JWK. */
export const SIGNING_KEY_FILE = 'oidc-signing-key.json';

const ADMIN_GROUP = 'token-warden-admins';
// Overrides are bounded so that a typo cannot produce a token whose times overflow.
const MAX_OFFSET_SECONDS = 10 * 366 * 86_400;

/** The seeded directory: `admin@example.com` is in `token-warden-admins`, everyone else in no group. */
export function seededGroupsFor(email: string): string[] {
  return email.toLowerCase() === 'admin@example.com' ? [ADMIN_GROUP] : [];
}

/** Options of {@link createOidcProvider}. */
export interface OidcProviderOptions {
  /** e.g. `http://127.0.0.1:3000/local/oidc`; its path is where the provider's routes live. */
  issuer: string;
  /** The runtime's data dir; the signing key is generated once and kept there. */
  dataDir: string;
  /** The groups of a user whose token request names none. */
  groupsFor: (email: string) => string[] | Promise<string[]>;
  /** @default 'token-warden' */
  audience?: string;
}

/** A validated body of `POST /token`. */
export interface TokenRequest {
  email: string;
  groups?: string[];
  expiresInSeconds?: number;
  notBeforeSeconds?: number;
  audience?: string | string[];
  issuer?: string;
}

/** The body of a successful `POST /token`. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/** The local identity provider, mounted by the API server under the issuer's path. */
export interface OidcProvider {
  readonly issuer: string;
  /** The public key set served at `/.well-known/jwks.json`. */
  readonly jwks: { keys: Jwk[] };
  /** Answers the provider's routes; resolves false (untouched) for any path outside the issuer's path. */
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean>;
  /** Mints a token as `POST /token` does (the request is validated first). */
  issueToken(request: unknown): Promise<TokenResponse>;
  /**
   * Verifies a token this provider signed, as the HTTP API's authorizer does (issuer, audience, wall-clock
   * times), and resolves with its claims.
   */
  verify(token: string, expected?: { audience?: string; issuer?: string }): Promise<Record<string, unknown>>;
}

/** A bad `POST /token` body; `field` is the offending top-level property. */
export class OidcValidationError extends Error {
  override readonly name = 'OidcValidationError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ALLOWED = new Set(['email', 'groups', 'expiresInSeconds', 'notBeforeSeconds', 'audience', 'issuer']);

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function offset(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > MAX_OFFSET_SECONDS) {
    throw new OidcValidationError(
      `${field} must be an integer number of seconds (at most ${MAX_OFFSET_SECONDS})`,
      field,
    );
  }
  return value;
}

/** Validates a `POST /token` body; throws {@link OidcValidationError}. */
export function validateTokenRequest(body: unknown): TokenRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OidcValidationError('The body must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!ALLOWED.has(key)) throw new OidcValidationError(`Unknown property ${key}`, key);
  }
  const { email, groups, audience, issuer } = input;
  if (typeof email !== 'string' || email.length > 254 || !EMAIL.test(email)) {
    throw new OidcValidationError('email must be an email address', 'email');
  }
  if (groups !== undefined && (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))) {
    throw new OidcValidationError('groups must be an array of strings', 'groups');
  }
  if (
    audience !== undefined &&
    !isNonEmptyString(audience) &&
    !(Array.isArray(audience) && audience.length > 0 && audience.every(isNonEmptyString))
  ) {
    throw new OidcValidationError('audience must be a non-empty string or array of strings', 'audience');
  }
  if (issuer !== undefined && !isNonEmptyString(issuer)) {
    throw new OidcValidationError('issuer must be a non-empty string', 'issuer');
  }
  const expiresInSeconds = offset(input, 'expiresInSeconds');
  const notBeforeSeconds = offset(input, 'notBeforeSeconds');
  return {
    email,
    ...(groups !== undefined ? { groups: groups as string[] } : {}),
    ...(expiresInSeconds !== undefined ? { expiresInSeconds } : {}),
    ...(notBeforeSeconds !== undefined ? { notBeforeSeconds } : {}),
    ...(audience !== undefined ? { audience: audience as string | string[] } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
  };
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: Jwk;
}

/** RFC 7638 thumbprint of an RSA key: a stable `kid`. */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Loads the persisted signing key, or generates and persists one. */
function loadOrCreateKey(dataDir: string): SigningKey {
  const file = join(dataDir, SIGNING_KEY_FILE);
  let stored: (JsonWebKey & { kid?: string }) | undefined;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    try {
      stored = JSON.parse(text) as JsonWebKey & { kid?: string };
      if (stored.kty !== 'RSA' || typeof stored.d !== 'string') throw new Error('not a private RSA JWK');
    } catch (error) {
      throw new Error(
        `${file}: unreadable signing key (${(error as Error).message}); start with --reset to replace it`,
      );
    }
  } else {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = privateKey.export({ format: 'jwk' });
    stored = { ...jwk, kid: thumbprint(jwk), alg: 'RS256', use: 'sig' } as JsonWebKey & { kid: string };
    mkdirSync(dataDir, { recursive: true });
    // Write then rename, so an interrupted start never leaves half a key behind.
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, file);
  }
  const privateKey = createPrivateKey({ key: stored, format: 'jwk' });
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = stored.kid ?? thumbprint(publicJwk);
  return { kid, privateKey, publicJwk: { kty: 'RSA', n: publicJwk.n, e: publicJwk.e, kid, alg: 'RS256', use: 'sig' } };
}

function signJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key.privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Creates the provider, loading (or generating once) its signing key from the data dir. */
export async function createOidcProvider(opts: OidcProviderOptions): Promise<OidcProvider> {
  const issuer = opts.issuer.replace(/\/+$/, '');
  const basePath = new URL(issuer).pathname.replace(/\/+$/, '');
  const audience = opts.audience ?? DEFAULT_AUDIENCE;
  const key = loadOrCreateKey(opts.dataDir);
  const publicKey = createPublicKey(key.privateKey);
  const jwks = { keys: [key.publicJwk] };

  const discovery = {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/token`,
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: ['iss', 'aud', 'sub', 'email', 'groups', 'iat', 'nbf', 'exp'],
  };

  async function issueToken(request: unknown): Promise<TokenResponse> {
    const input = validateTokenRequest(request);
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = input.expiresInSeconds ?? DEFAULT_LIFETIME_SECONDS;
    const groups = input.groups ?? [...(await opts.groupsFor(input.email))];
    const claims = {
      iss: input.issuer ?? issuer,
      aud: input.audience ?? audience,
      sub: input.email.toLowerCase(),
      email: input.email,
      groups,
      iat: now,
      nbf: now + (input.notBeforeSeconds ?? 0),
      exp: now + expiresIn,
    };
    return { access_token: signJwt(key, claims), token_type: 'Bearer', expires_in: expiresIn };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return false;
    const route = path.slice(basePath.length);
    const method = (req.method ?? 'GET').toUpperCase();
    const only = (allowed: string): boolean => {
      if (method === allowed) return true;
      sendJson(
        res,
        405,
        { error: { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed here; use ${allowed}` } },
        { allow: allowed },
      );
      return false;
    };

    if (route === '/.well-known/openid-configuration') {
      if (only('GET')) sendJson(res, 200, discovery, { 'cache-control': 'public, max-age=300' });
      return true;
    }
    if (route === '/.well-known/jwks.json') {
      if (only('GET')) sendJson(res, 200, jwks, { 'cache-control': 'public, max-age=300' });
      return true;
    }
    if (route === '/token') {
      if (!only('POST')) return true;
      let request: unknown;
      try {
        request = JSON.parse(body.toString('utf8') || 'null');
      } catch {
        sendJson(res, 400, { error: { code: 'VALIDATION_ERROR', message: 'The body is not valid JSON' } });
        return true;
      }
      try {
        sendJson(res, 200, await issueToken(request));
      } catch (error) {
        if (!(error instanceof OidcValidationError)) throw error;
        sendJson(res, 400, {
          error: { code: 'VALIDATION_ERROR', message: error.message, ...(error.field ? { field: error.field } : {}) },
        });
      }
      return true;
    }
    sendJson(res, 404, { message: 'Not Found' });
    return true;
  }

  return {
    issuer,
    jwks,
    handle,
    issueToken,
    verify: (token, expected = {}) =>
      verifyJwt(token, async (kid) => (kid === key.kid ? publicKey : undefined), {
        issuer: expected.issuer ?? issuer,
        audiences: [expected.audience ?? audience],
      }),
  };
}
