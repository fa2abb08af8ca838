/**
 * The local identity provider: an OpenID Connect issuer that mints RS256 access tokens for any email, so the
 * HTTP API's JWT authorizer can be exercised exactly as on AWS without a real identity provider.
 *
 * Routes, under the issuer's path (`/local/oidc`):
 * - `GET  /.well-known/openid-configuration` — discovery (`jwks_uri`, `token_endpoint`, …)
 * - `GET  /.well-known/jwks.json` — the public signing key
 * - `POST /token` — `{"email", "groups"?, "expiresInSeconds"?, "notBeforeSeconds"?, "audience"?, "issuer"?}`
 *   → `200 {"access_token", "token_type": "Bearer", "expires_in"}`
 * - `GET  /authorize` — the authorization-code flow's sign-in page (OpenID Connect, PKCE with S256 required): a
 *   form asking for an email (pre-filled from `login_hint`); `POST /authorize` with that form signs in as the email
 *   and redirects to `redirect_uri` with `code` and `state`
 * - `POST /token` with `application/x-www-form-urlencoded` `grant_type=authorization_code`, `code`, `redirect_uri`,
 *   `client_id`, `code_verifier` → `200 {"access_token", "id_token", "token_type": "Bearer", "expires_in"}`;
 *   refusals answer RFC 6749's `400 {"error", "error_description"}`
 *
 * The overrides exist so tests can mint expired, not-yet-valid, wrong-audience or wrong-issuer tokens that are
 * still validly signed. Access-token times are wall-clock times, as the authorizer checks them; ID-token times
 * are on the runtime's simulated clock, as the Lambdas that verify them run on it. Any email signs in: this
 * provider proves who typed it, not who owns it. Codes live 60 s (wall clock), in memory, and are single-use.
 *
 * Against pages in the user's browser (`http-guard.ts`): a `Host` that is not a loopback name is refused (403), and
 * so is a POST from another origin (403) or of another type (415) than JSON (`/token`), the form (`/authorize`)
 * or either (`/token`, whose `authorization_code` grant is a form as RFC 6749 requires).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type Jwk, verifyJwt } from './api-gateway';
import { type LocalBody, localPostRefusal, loopbackHostProblem, refusalError } from './http-guard';

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
  /** Client ids that may use the authorization-code flow. @default [audience] */
  clientIds?: string[];
  /** Origins redirect URIs may point to. @default the issuer's origin */
  redirectOrigins?: string[];
  /** Now in ms for ID tokens (the simulated clock). @default Date.now */
  now?: () => number;
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

const CODE_LIFETIME_MS = 60_000;
const PKCE = /^[A-Za-z0-9._~-]{43,128}$/;

/** A validated authorization request (`GET`/`POST /authorize`). */
interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state?: string;
  nonce?: string;
  codeChallenge: string;
  loginHint?: string;
}

/** An issued authorization code, kept until redeemed or expired. */
interface IssuedCode extends AuthorizationRequest {
  email: string;
  expiresAtMs: number;
}

/** An authorization request the provider refuses; `redirect` when the error may go back to the client. */
class AuthorizeError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly redirect?: { uri: string; state?: string },
  ) {
    super(message);
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendHtml(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>${escapeHtml(title)} · local identity provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}input,button{font-size:1rem;padding:.4rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  });
  res.end(html);
}

function redirectTo(res: ServerResponse, uri: string, params: Record<string, string | undefined>): void {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  res.writeHead(302, { location: url.toString(), 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
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
    authorization_endpoint: `${issuer}/authorize`,
    response_types_supported: ['code', 'token'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'email'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['none'],
    claims_supported: ['iss', 'aud', 'sub', 'email', 'email_verified', 'groups', 'nonce', 'iat', 'nbf', 'exp'],
  };
  const clientIds = new Set(opts.clientIds ?? [audience]);
  const redirectOrigins = new Set(opts.redirectOrigins ?? [new URL(issuer).origin]);
  const idTokenNow = opts.now ?? (() => Date.now());
  const codes = new Map<string, IssuedCode>();

  /** Validates an authorization request's parameters (from the query or the sign-in form). */
  function authorizationRequest(params: URLSearchParams): AuthorizationRequest {
    const one = (name: string) => {
      const values = params.getAll(name);
      if (values.length > 1) throw new AuthorizeError(name, `${name} is given more than once`);
      return values[0];
    };
    const clientId = one('client_id');
    if (!clientId || !clientIds.has(clientId))
      throw new AuthorizeError('client_id', 'client_id is not a registered client');
    const redirectUri = one('redirect_uri');
    let redirect: URL | undefined;
    try {
      redirect = redirectUri ? new URL(redirectUri) : undefined;
    } catch {
      redirect = undefined;
    }
    if (!redirectUri || !redirect || !redirectOrigins.has(redirect.origin) || redirect.hash !== '') {
      throw new AuthorizeError('redirect_uri', `redirect_uri must be a URL on ${[...redirectOrigins].join(' or ')}`);
    }
    const state = one('state');
    // From here on, errors go back to the client, as RFC 6749 4.1.2.1 says.
    const back = { uri: redirectUri, ...(state !== undefined ? { state } : {}) };
    if (one('response_type') !== 'code') throw new AuthorizeError('response_type', 'response_type must be code', back);
    if (!(one('scope') ?? '').split(' ').includes('openid')) {
      throw new AuthorizeError('scope', 'scope must include openid', back);
    }
    const codeChallenge = one('code_challenge');
    if (!codeChallenge || !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
      throw new AuthorizeError('code_challenge', 'code_challenge (PKCE) is required', back);
    }
    if (one('code_challenge_method') !== 'S256') {
      throw new AuthorizeError('code_challenge_method', 'code_challenge_method must be S256', back);
    }
    const nonce = one('nonce');
    const loginHint = one('login_hint');
    if ((state?.length ?? 0) > 512 || (nonce?.length ?? 0) > 512 || (loginHint?.length ?? 0) > 254) {
      throw new AuthorizeError('state', 'state, nonce and login_hint are limited in length', back);
    }
    return {
      clientId,
      redirectUri,
      codeChallenge,
      ...(state !== undefined ? { state } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
      ...(loginHint !== undefined ? { loginHint } : {}),
    };
  }

  function signInForm(res: ServerResponse, request: AuthorizationRequest, status = 200, problem?: string): void {
    const hidden = {
      response_type: 'code',
      scope: 'openid email',
      client_id: request.clientId,
      redirect_uri: request.redirectUri,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      state: request.state,
      nonce: request.nonce,
      login_hint: request.loginHint,
    };
    const fields = Object.entries(hidden)
      .filter((entry): entry is [string, string] => entry[1] !== undefined)
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`)
      .join('\n');
    sendHtml(
      res,
      status,
      'Sign in',
      `${problem ? `<p id="problem">${escapeHtml(problem)}</p>` : ''}<p>Local identity provider: sign in to ${escapeHtml(request.clientId)} as any email.</p>
<form method="post" action="${escapeHtml(`${basePath}/authorize`)}">
${fields}
<label>Email <input type="email" name="email" id="email" required autocomplete="username" value="${escapeHtml(request.loginHint ?? '')}"></label>
<button type="submit" id="sign-in">Sign in</button>
</form>`,
    );
  }

  async function authorize(req: IncomingMessage, res: ServerResponse, body: Buffer, method: string): Promise<void> {
    const form =
      method === 'POST'
        ? new URLSearchParams(body.toString('utf8'))
        : new URL(req.url ?? '/', 'http://local').searchParams;
    let request: AuthorizationRequest;
    try {
      request = authorizationRequest(form);
    } catch (error) {
      if (!(error instanceof AuthorizeError)) throw error;
      if (error.redirect) {
        redirectTo(res, error.redirect.uri, {
          error: 'invalid_request',
          error_description: error.message,
          state: error.redirect.state,
        });
      } else {
        sendHtml(
          res,
          400,
          'Sign-in request not valid',
          `<p id="problem">${escapeHtml(error.message)} (${error.field}).</p>`,
        );
      }
      return;
    }
    if (method === 'GET') {
      signInForm(res, request);
      return;
    }
    const emails = form.getAll('email');
    const email = emails[0]?.trim() ?? '';
    if (emails.length !== 1 || email.length > 254 || !EMAIL.test(email)) {
      signInForm(res, request, 400, 'email must be an email address');
      return;
    }
    for (const [code, issued] of codes) if (issued.expiresAtMs <= Date.now()) codes.delete(code);
    const code = randomBytes(32).toString('base64url');
    codes.set(code, { ...request, email, expiresAtMs: Date.now() + CODE_LIFETIME_MS });
    redirectTo(res, request.redirectUri, { code, state: request.state });
  }

  /** The authorization-code grant; answers RFC 6749 5.2 errors. */
  async function redeem(res: ServerResponse, form: URLSearchParams): Promise<void> {
    const refuse = (error: string, description: string) =>
      sendJson(res, 400, { error, error_description: description });
    if (form.get('grant_type') !== 'authorization_code') {
      refuse('unsupported_grant_type', 'grant_type must be authorization_code');
      return;
    }
    const code = form.get('code') ?? '';
    const issued = codes.get(code);
    // Single use: a code is gone once presented, whether or not the rest of the request is right.
    codes.delete(code);
    if (!issued || issued.expiresAtMs <= Date.now()) {
      refuse('invalid_grant', 'the code is unknown, used or expired');
      return;
    }
    if (form.get('client_id') !== issued.clientId) {
      refuse('invalid_client', 'client_id is not the client the code was issued to');
      return;
    }
    if (form.get('redirect_uri') !== issued.redirectUri) {
      refuse('invalid_grant', 'redirect_uri differs from the authorization request');
      return;
    }
    const verifier = form.get('code_verifier') ?? '';
    if (!PKCE.test(verifier) || createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge) {
      refuse('invalid_grant', 'code_verifier does not match the code_challenge');
      return;
    }
    const access = await issueToken({ email: issued.email });
    const now = Math.floor(idTokenNow() / 1000);
    const idToken = signJwt(key, {
      iss: issuer,
      aud: issued.clientId,
      sub: issued.email.toLowerCase(),
      email: issued.email,
      email_verified: true,
      ...(issued.nonce !== undefined ? { nonce: issued.nonce } : {}),
      auth_time: now,
      iat: now,
      exp: now + DEFAULT_LIFETIME_SECONDS,
    });
    sendJson(res, 200, { ...access, id_token: idToken });
  }

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
    // Wherever the provider is mounted: a loopback Host only, and no cross-site POSTs (http-guard.ts).
    const hostProblem = loopbackHostProblem(req);
    if (hostProblem) {
      sendJson(res, 403, { message: `Forbidden: ${hostProblem}` }, { connection: 'close' });
      return true;
    }
    if (method === 'POST') {
      const accept: LocalBody[] = route === '/authorize' ? ['form'] : route === '/token' ? ['json', 'form'] : ['json'];
      const refusal = localPostRefusal(req, accept);
      if (refusal && route === '/authorize') {
        sendHtml(res, refusal.status, 'Sign-in refused', `<p id="problem">${escapeHtml(refusal.message)}.</p>`);
        return true;
      }
      if (refusal) {
        sendJson(res, refusal.status, refusalError(refusal));
        return true;
      }
    }
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
    if (route === '/authorize') {
      if (method !== 'GET' && method !== 'POST') {
        sendJson(
          res,
          405,
          { error: { code: 'METHOD_NOT_ALLOWED', message: `${method} is not allowed here` } },
          {
            allow: 'GET, POST',
          },
        );
        return true;
      }
      await authorize(req, res, body, method);
      return true;
    }
    if (route === '/token') {
      if (!only('POST')) return true;
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (mediaType === 'application/x-www-form-urlencoded') {
        await redeem(res, new URLSearchParams(body.toString('utf8')));
        return true;
      }
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
