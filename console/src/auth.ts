/**
 * Sign-in: OpenID Connect authorization code with PKCE (S256) as a public client, with oauth4webapi. The access
 * token lives in this module's memory only (never localStorage or a cookie); the one-time PKCE verifier, state,
 * nonce and the page to come back to wait in sessionStorage for the length of one redirect.
 */
import * as oauth from 'oauth4webapi';
import { type ConsoleConfig, callbackUrl, isConsolePage } from './config';

const PENDING_KEY = 'tw.sign-in';
/** Sign in again this long before the access token expires, so no call goes out with a token about to lapse. */
const EXPIRY_MARGIN_MS = 30_000;

interface Session {
  accessToken: string;
  expiresAt: number;
  /** Sent as `id_token_hint` at sign-out (some providers honour `post_logout_redirect_uri` only with it). */
  idToken?: string;
  signedInAt: number;
}

/** A token this fresh that the API refuses would be refused again after another sign-in. */
const FRESH_MS = 15_000;

interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

let session: Session | undefined;
/** The sign-in under way: calls that need one at the same time share it (each would overwrite the other's state). */
let leaving: Promise<never> | undefined;
let server: Promise<oauth.AuthorizationServer> | undefined;

/** Plain HTTP is accepted only for an identity provider on this machine (the local runtime's). */
function insecureAllowed(issuer: URL): boolean {
  return issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
}

function options(config: ConsoleConfig) {
  return { [oauth.allowInsecureRequests]: insecureAllowed(new URL(config.issuer)) };
}

function authorizationServer(config: ConsoleConfig): Promise<oauth.AuthorizationServer> {
  server ??= (async () => {
    const issuer = new URL(config.issuer);
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options(config) });
    return oauth.processDiscoveryResponse(issuer, response);
  })().catch((error: unknown) => {
    server = undefined;
    throw error;
  });
  return server;
}

/** The page the user is on, to come back to after signing in. */
export function currentPage(): string {
  return `${location.pathname}${location.search}`;
}

/** Whether a usable access token is held. */
export function signedIn(): boolean {
  return session !== undefined && session.expiresAt - EXPIRY_MARGIN_MS > Date.now();
}

/** Whether the held token came from a sign-in moments ago. */
export function justSignedIn(): boolean {
  return session !== undefined && Date.now() - session.signedInAt < FRESH_MS;
}

/** Leaves for the identity provider's sign-in page; the promise never settles (the page unloads). */
export function signIn(config: ConsoleConfig, returnTo: string = currentPage()): Promise<never> {
  leaving ??= leave(config, returnTo).catch((error: unknown) => {
    leaving = undefined;
    throw error;
  });
  return leaving;
}

async function leave(config: ConsoleConfig, returnTo: string): Promise<never> {
  const as = await authorizationServer(config);
  if (!as.authorization_endpoint) throw new Error('The identity provider has no authorization endpoint.');
  const pending: PendingSignIn = {
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    returnTo: isConsolePage(returnTo) ? returnTo : '/console/',
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    redirect_uri: callbackUrl(),
    response_type: 'code',
    scope: 'openid email',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
  return new Promise<never>(() => {});
}

/**
 * Finishes a sign-in on the callback page: checks the state, redeems the code with the verifier, checks the ID
 * token (issuer, audience, nonce) and keeps the access token. Resolves with the page to return to.
 */
export async function completeSignIn(config: ConsoleConfig, current: URL): Promise<string> {
  const saved = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!saved) throw new Error('This sign-in was not started here, or it was already used. Sign in again.');
  const pending = JSON.parse(saved) as PendingSignIn;
  const as = await authorizationServer(config);
  const client: oauth.Client = { client_id: config.clientId };
  const params = oauth.validateAuthResponse(as, client, current, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    callbackUrl(),
    pending.verifier,
    options(config),
  );
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  session = {
    accessToken: result.access_token,
    expiresAt: Date.now() + (result.expires_in ?? 300) * 1000,
    ...(result.id_token ? { idToken: result.id_token } : {}),
    signedInAt: Date.now(),
  };
  return pending.returnTo;
}

/**
 * The access token for an API call. When none is held or it is about to expire, the console signs in again and
 * comes back to the page the user was on.
 */
export async function accessToken(config: ConsoleConfig): Promise<string> {
  if (session && signedIn()) return session.accessToken;
  session = undefined;
  return signIn(config);
}

/** Drops the held token (the API refused it). */
export function forget(): void {
  session = undefined;
}

/** Forgets the token, and ends the identity provider's session when it offers a way to. */
export async function signOut(config: ConsoleConfig): Promise<void> {
  const idToken = session?.idToken;
  session = undefined;
  const as = await authorizationServer(config).catch(() => undefined);
  if (as?.end_session_endpoint) {
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('client_id', config.clientId);
    url.searchParams.set('post_logout_redirect_uri', `${location.origin}/console/`);
    if (idToken) url.searchParams.set('id_token_hint', idToken);
    location.assign(url.href);
  }
}
