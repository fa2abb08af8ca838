import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { emailUnverified, plainEmail } from '../../domain/email';
import * as z from '../../domain/schema';
import { SignInRefused, SignInUnavailable } from '../../use-cases/port-errors';
import type { ApproverSignIn, AuthorizationRequest, CodeRedemption } from '../../use-cases/ports';

export { SignInRefused, SignInUnavailable } from '../../use-cases/port-errors';
export type { ApproverSignIn, AuthorizationRequest, CodeRedemption } from '../../use-cases/ports';

export interface OidcSignInOptions {
  /** The provider's issuer (`iss`), e.g. `https://login.example.com`; discovery is at `/.well-known/…` below it. */
  issuer: string;
  /** This application's client id at the provider (the ID token's audience). */
  clientId: string;
  /** Seconds since the epoch; Lambdas pass their clock. */
  now: () => number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-request timeout, ms. @default 5000 */
  timeoutMs?: number;
  /** Accepted clock difference with the provider, seconds. @default 60 */
  clockSkewSeconds?: number;
}

const Discovery = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
});
type Discovery = z.infer<typeof Discovery>;

const Jwks = z.object({
  keys: z.array(z.looseObject({ kty: z.string(), kid: z.optional(z.string()), alg: z.optional(z.string()) })),
});

const TokenAnswer = z.object({ id_token: z.string().check(z.minLength(1), z.maxLength(16_384)) });
const TokenError = z.object({ error: z.string(), error_description: z.optional(z.string()) });

const Header = z.object({ alg: z.string(), kid: z.optional(z.string()) });
const Claims = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  azp: z.optional(z.string()),
  exp: z.number(),
  iat: z.number(),
  nbf: z.optional(z.number()),
  nonce: z.optional(z.string()),
  email: z.optional(z.string()),
  email_verified: z.optional(z.union([z.boolean(), z.string()])),
});

const ALGORITHMS: Record<string, { kty: string; dsaEncoding?: 'ieee-p1363' }> = {
  RS256: { kty: 'RSA' },
  ES256: { kty: 'EC', dsaEncoding: 'ieee-p1363' },
};

/**
 * Approver sign-in through the organization's OpenID Connect provider: the authorization-code flow with PKCE
 * (S256), for a public client (no client secret). The provider's endpoints come from its discovery document;
 * ID tokens are verified here (RS256 or ES256 against the provider's JWKS, issuer, audience, authorized party,
 * times, nonce) before their `email` is trusted.
 */
export class OidcSignIn implements ApproverSignIn {
  private readonly issuer: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly skew: number;
  private discovery: Promise<Discovery> | undefined;
  private keys: Promise<Map<string, KeyObject>> | undefined;

  constructor(private readonly options: OidcSignInOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.skew = options.clockSkewSeconds ?? 60;
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<string> {
    const { authorization_endpoint } = await this.discover();
    const url = new URL(authorization_endpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: this.options.clientId,
      redirect_uri: request.redirectUri,
      scope: 'openid email',
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
      ...(request.loginHint ? { login_hint: request.loginHint } : {}),
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.toString();
  }

  async complete(request: CodeRedemption): Promise<{ email: string }> {
    const { token_endpoint } = await this.discover();
    const response = await this.call(token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: request.code,
        redirect_uri: request.redirectUri,
        client_id: this.options.clientId,
        code_verifier: request.codeVerifier,
      }).toString(),
    });
    const body = await this.json(response);
    if (response.status >= 400 && response.status < 500) {
      const refused = TokenError.safeParse(body);
      // The provider's own words are not echoed: they may quote the request.
      throw new SignInRefused(
        `the identity provider did not accept the sign-in (${refused.success ? refused.data.error.slice(0, 40) : `HTTP ${response.status}`})`,
      );
    }
    if (response.status !== 200) throw new SignInUnavailable(`the identity provider answered HTTP ${response.status}`);
    const answer = TokenAnswer.safeParse(body);
    if (!answer.success) throw new SignInUnavailable('the identity provider answered without an id_token');
    return this.verifyIdToken(answer.data.id_token, request.nonce);
  }

  /** Verifies an ID token and answers its lower-cased email. */
  async verifyIdToken(idToken: string, expectedNonce: string): Promise<{ email: string }> {
    const parts = idToken.split('.');
    if (parts.length !== 3) throw new SignInRefused('the ID token is not a signed JWT');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = Header.safeParse(decodeJson(headerPart));
    if (!header.success) throw new SignInRefused('the ID token header is malformed');
    const algorithm = ALGORITHMS[header.data.alg];
    if (!algorithm) throw new SignInRefused(`the ID token algorithm ${header.data.alg.slice(0, 10)} is not accepted`);
    const key = await this.key(header.data.kid, algorithm.kty);
    const signed = verify(
      'sha256',
      Buffer.from(`${headerPart}.${payloadPart}`),
      algorithm.dsaEncoding ? { key, dsaEncoding: algorithm.dsaEncoding } : key,
      Buffer.from(signaturePart, 'base64url'),
    );
    if (!signed) throw new SignInRefused('the ID token signature is not valid');
    const parsed = Claims.safeParse(decodeJson(payloadPart));
    if (!parsed.success) throw new SignInRefused('the ID token claims are malformed');
    const claims = parsed.data;
    const now = this.options.now();
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
    if (claims.iss !== this.issuer) throw new SignInRefused('the ID token was issued by another provider');
    if (!audiences.includes(this.options.clientId)) throw new SignInRefused('the ID token is for another client');
    if ((audiences.length > 1 || claims.azp !== undefined) && claims.azp !== this.options.clientId) {
      throw new SignInRefused('the ID token was issued to another party');
    }
    if (claims.exp <= now - this.skew) throw new SignInRefused('the ID token has expired');
    if (claims.iat > now + this.skew || (claims.nbf !== undefined && claims.nbf > now + this.skew)) {
      throw new SignInRefused('the ID token is not valid yet');
    }
    if (claims.nonce !== expectedNonce) throw new SignInRefused('the ID token belongs to another sign-in');
    if (claims.email === undefined || claims.email.length === 0) {
      throw new SignInRefused('the ID token carries no email address');
    }
    // The approver's identity is compared lower-cased with the policy's: a Unicode look-alike is refused, never folded.
    const email = plainEmail(claims.email);
    if (email === undefined) throw new SignInRefused('the ID token email is not a plain ASCII email address');
    if (emailUnverified(claims.email_verified)) {
      throw new SignInRefused('the identity provider has not verified this email address');
    }
    return { email };
  }

  private discover(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const response = await this.call(`${this.issuer}/.well-known/openid-configuration`, {});
      if (response.status !== 200) {
        throw new SignInUnavailable(`the identity provider's discovery answered HTTP ${response.status}`);
      }
      const parsed = Discovery.safeParse(await this.json(response));
      if (!parsed.success) throw new SignInUnavailable("the identity provider's discovery document is malformed");
      if (parsed.data.issuer.replace(/\/+$/, '') !== this.issuer) {
        throw new SignInUnavailable("the identity provider's discovery names another issuer");
      }
      return parsed.data;
    })();
    // A failed discovery is tried again by the next sign-in.
    this.discovery.catch(() => {
      this.discovery = undefined;
    });
    return this.discovery;
  }

  /** The signing key named by `kid` (or the only key of the type); the key set is fetched again once for a new kid. */
  private async key(kid: string | undefined, kty: string): Promise<KeyObject> {
    const find = (keys: Map<string, KeyObject>) => {
      if (kid !== undefined) return keys.get(`${kty}:${kid}`);
      const ofType = [...keys].filter(([id]) => id.startsWith(`${kty}:`));
      return ofType.length === 1 ? ofType[0]![1] : undefined;
    };
    const cached = this.keys ? find(await this.keys) : undefined;
    if (cached) return cached;
    this.keys = this.fetchKeys();
    this.keys.catch(() => {
      this.keys = undefined;
    });
    const fresh = find(await this.keys);
    if (!fresh) throw new SignInRefused('the ID token is signed with a key the identity provider does not publish');
    return fresh;
  }

  private async fetchKeys(): Promise<Map<string, KeyObject>> {
    const { jwks_uri } = await this.discover();
    const response = await this.call(jwks_uri, {});
    if (response.status !== 200)
      throw new SignInUnavailable(`the identity provider's JWKS answered HTTP ${response.status}`);
    const parsed = Jwks.safeParse(await this.json(response));
    if (!parsed.success) throw new SignInUnavailable("the identity provider's JWKS is malformed");
    const keys = new Map<string, KeyObject>();
    for (const jwk of parsed.data.keys) {
      if ((jwk as { use?: unknown }).use !== undefined && (jwk as { use?: unknown }).use !== 'sig') continue;
      try {
        keys.set(`${jwk.kty}:${jwk.kid ?? ''}`, createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
      } catch {
        // A key this runtime cannot read (another type or curve) verifies nothing here.
      }
    }
    return keys;
  }

  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      // The abort reason is a DOMException, which is not an Error in every realm.
      const reason =
        (error as { name?: unknown } | null)?.name === 'TimeoutError' ? 'timed out' : 'could not be reached';
      throw new SignInUnavailable(`the identity provider ${reason}`);
    }
  }

  /** The body as JSON; undefined when it is not JSON (the schema that reads it then says what is wrong). */
  private async json(response: Response): Promise<unknown> {
    const text = await response.text().catch(() => '');
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
