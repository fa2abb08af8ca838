/**
 * Guards every server of the local runtime applies against what a web page open in the user's browser can send to
 * 127.0.0.1:
 *
 * - **DNS rebinding** — a page on `attacker.example` whose name is made to resolve to 127.0.0.1 reaches the local
 *   servers as its own origin, so it can read their answers. The browser still sends the page's name as `Host`, so
 *   every server answers only a loopback `Host`: `127.0.0.1:<port>`, `localhost:<port>` or `[::1]:<port>`, with the
 *   port it listens on (no port only when that is 80).
 * - **Cross-site "simple" POSTs** — any page can POST `text/plain`, `application/x-www-form-urlencoded` or
 *   `multipart/form-data` bodies to 127.0.0.1 without a CORS preflight (it cannot read the answer, but the request
 *   has its effect). The local-only and test-control routes therefore take `application/json` only (a browser
 *   sends that cross-site only after a preflight, which these servers never grant); the few routes that must take
 *   forms (the sign-in form and the OAuth token endpoint of the local identity provider, the mail page's Clear
 *   button) take them only from a client that is not a browser or from their own origin. Every such POST from
 *   another origin is refused, whatever its type.
 */
import type { IncomingMessage } from 'node:http';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface LoopbackHostOptions {
  /**
   * Also accept `<label>.localhost:<port>`: names under `localhost` are loopback names (RFC 6761) that no page on
   * the internet can be served from. The fake Atlassian picks a site by the first label of `Host`.
   */
  localhostSubdomains?: boolean;
}

/** Why `req`'s `Host` is not a loopback name of the server that received it; undefined when it is. */
export function loopbackHostProblem(req: IncomingMessage, opts: LoopbackHostOptions = {}): string | undefined {
  const port = req.socket.localPort;
  const expected = port === undefined ? '127.0.0.1' : `127.0.0.1:${port}, localhost:${port} or [::1]:${port}`;
  const host = req.headers.host;
  if (host === undefined || host === '') {
    return `the request has no Host header; this local server answers Host ${expected} only`;
  }
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host.toLowerCase());
  const name = m?.[1] ?? '';
  const givenPort = m?.[2] === undefined ? 80 : Number(m[2]);
  const loopbackName =
    LOOPBACK_NAMES.has(name) || (opts.localhostSubdomains === true && /^[a-z0-9-]+\.localhost$/.test(name));
  if (m && loopbackName && (port === undefined || givenPort === port)) return undefined;
  return (
    `Host '${host.slice(0, 200)}' is not a loopback name of this local server; use ${expected}. ` +
    'The local runtime answers loopback names only, so that a web page whose name resolves to 127.0.0.1 ' +
    '(DNS rebinding) cannot use it'
  );
}

/** A POST that a local-only or test-control route refuses: 415 for its media type, 403 for its origin. */
export interface PostRefusal {
  status: 403 | 415;
  message: string;
}

/** The media type of `req` (`text/plain` for `text/plain;charset=UTF-8`), lower-cased; '' when absent. */
export function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The bodies a local-only route takes. */
export type LocalBody = 'json' | 'form';

const MEDIA_TYPES: Record<LocalBody, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
};

/**
 * Checks a POST to a local-only or test-control route: its body must be of a type in `accept` (`application/json`
 * by default; 415 otherwise), and it must not come from a page of another origin (403). `req`'s `Host` must
 * already have passed {@link loopbackHostProblem}.
 */
export function localPostRefusal(
  req: IncomingMessage,
  accept: readonly LocalBody[] = ['json'],
): PostRefusal | undefined {
  const type = mediaTypeOf(req);
  const accepted = accept.map((body) => MEDIA_TYPES[body]);
  if (!accepted.includes(type)) {
    const path = (req.url ?? '/').split('?')[0];
    return {
      status: 415,
      message: `${req.method ?? 'POST'} ${path} takes Content-Type: ${accepted.join(' or ')}, not ${type ? `'${type}'` : 'none'}`,
    };
  }
  return crossOriginProblem(req);
}

/**
 * Whether a browser sent `req` from a page of another origin. Fetch Metadata decides when present
 * (`Sec-Fetch-Site`: `same-origin` or `none` only; `same-site` is refused, as another port of 127.0.0.1 is the same
 * site): a page with `Referrer-Policy: no-referrer`, like the sign-in and mail pages, makes the browser send
 * `Origin: null` even on its own form. Without Fetch Metadata the `Origin` must be absent (not a browser) or this
 * server's own; `null` is refused there, as sandboxed frames send it too.
 */
function crossOriginProblem(req: IncomingMessage): PostRefusal | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return undefined;
    return { status: 403, message: `cross-origin request refused: Sec-Fetch-Site is '${site.slice(0, 40)}'` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${(req.headers.host ?? '').toLowerCase()}`) {
    return {
      status: 403,
      message: `cross-origin request refused: Origin '${origin.slice(0, 200)}' is not this local server`,
    };
  }
  return undefined;
}

/** A refusal in the HTTP API's error shape (`field` names the header at fault). */
export function refusalError(refusal: PostRefusal): { error: { code: string; message: string; field: string } } {
  return refusal.status === 415
    ? { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: refusal.message, field: 'content-type' } }
    : { error: { code: 'FORBIDDEN', message: refusal.message, field: 'origin' } };
}
