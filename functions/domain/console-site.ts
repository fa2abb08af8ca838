/**
 * The web console as the assets function serves it from the HTTP API's own origin: which answer a path gets, the
 * content type of each asset, the security headers of every answer, and the console's configuration written into
 * `index.html`. Pure: the files are read (and compressed) elsewhere.
 */

/** Where the console lives on the API's origin. */
export const CONSOLE_BASE = '/console/';
/** Where the console's content-hashed assets live. */
export const CONSOLE_ASSETS = '/console/assets/';
/** The placeholder of `index.html`'s `<meta name="tw-config" content="…">`, replaced by the configuration. */
export const CONFIG_PLACEHOLDER = '__TW_CONFIG__';

/** Cache policy of content-hashed assets: their name changes with their content, so a browser keeps them. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** What the console needs to sign in (OpenID Connect authorization code with PKCE, as a public client). */
export interface ConsoleConfig {
  /** The identity provider's issuer URL (the API's JWT issuer). */
  readonly issuer: string;
  /** The console's client id there. */
  readonly clientId: string;
  /** Other origins of the identity provider's endpoints the browser calls (e.g. a token endpoint's). */
  readonly identityOrigins?: readonly string[];
}

/** What a `GET` of `path` answers. */
export type ConsoleRoute =
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'asset'; readonly path: string }
  | { readonly kind: 'index' }
  | { readonly kind: 'not-found' };

/**
 * The answer for a request path (`rawPath`, without the query string): `/` and `/console` redirect to the console,
 * `/console/assets/<file>` is that asset (never `index.html`: a missing asset is a 404), and every other path under
 * `/console/` is a route of the single-page app, answered with `index.html`.
 */
export function consoleRoute(path: string, query = ''): ConsoleRoute {
  if (path === '/' || path === '/console') {
    return { kind: 'redirect', location: `${CONSOLE_BASE}${query ? `?${query}` : ''}` };
  }
  if (path.startsWith(CONSOLE_ASSETS)) return { kind: 'asset', path };
  if (path.startsWith(CONSOLE_BASE)) return { kind: 'index' };
  return { kind: 'not-found' };
}

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  json: 'application/json',
  map: 'application/json',
  txt: 'text/plain; charset=utf-8',
  woff2: 'font/woff2',
};

/** The content type of a file, by its extension; `application/octet-stream` for any other. */
export function contentTypeOf(file: string): string {
  const dot = file.lastIndexOf('.');
  const ext = dot >= 0 ? file.slice(dot + 1).toLowerCase() : '';
  return TYPES[ext] ?? 'application/octet-stream';
}

/** Whether gzip makes a file of this content type smaller (images other than SVG and fonts are compressed already). */
export function compressible(contentType: string): boolean {
  return /^(text\/|application\/json|image\/svg\+xml|image\/x-icon)/.test(contentType);
}

/** The origin of a URL (`https://idp.example.com` of `https://idp.example.com/oauth2/default`). */
export function originOf(url: string): string {
  return new URL(url).origin;
}

/** The identity provider's origins the browser calls: the issuer's, then any others configured, each once. */
export function identityProviderOrigins(config: ConsoleConfig): string[] {
  return [...new Set([originOf(config.issuer), ...(config.identityOrigins ?? []).map(originOf)])];
}

/**
 * The console's Content-Security-Policy: everything from the API's own origin, no inline script or style, no
 * framing. `connect-src` also names the identity provider's origins: the issuer's (its discovery document) and those
 * of endpoints served elsewhere (a token endpoint on another domain), which the browser fetches.
 */
export function contentSecurityPolicy(config: ConsoleConfig): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${identityProviderOrigins(config).join(' ')}`,
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The headers every answer of the assets function carries. */
export function securityHeaders(config: ConsoleConfig): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(config),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `text` made safe inside a quoted HTML attribute value (either quote). */
export function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ATTRIBUTE_ESCAPES[c] as string);
}

/**
 * `index.html` with the configuration in place of {@link CONFIG_PLACEHOLDER}: the JSON `{"issuer", "clientId"}`,
 * attribute-escaped (the browser unescapes it when the console reads the attribute). Throws when the page holds
 * no placeholder, or more than one: the build is not the console's.
 */
export function renderIndex(html: string, config: ConsoleConfig): string {
  const parts = html.split(CONFIG_PLACEHOLDER);
  if (parts.length !== 2) {
    throw new Error(`index.html must hold ${CONFIG_PLACEHOLDER} exactly once (found ${parts.length - 1})`);
  }
  const json = JSON.stringify({ issuer: config.issuer, clientId: config.clientId });
  return parts.join(escapeAttribute(json));
}

/**
 * Whether an `Accept-Encoding` header accepts gzip: listed (or `*`) with a quality above zero, as RFC 9110 reads
 * it; an absent header accepts only the identity.
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  let star: boolean | undefined;
  for (const item of acceptEncoding.split(',')) {
    const [coding = '', ...params] = item.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return accepted;
    if (coding === '*') star = accepted;
  }
  return star === true;
}
