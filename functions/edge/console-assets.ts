import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  acceptsGzip,
  CONSOLE_ASSETS,
  type ConsoleConfig,
  compressible,
  consoleRoute,
  contentTypeOf,
  IMMUTABLE,
  renderIndex,
  securityHeaders,
} from '../domain/console-site';
import { PAGE_CSS, PAGE_STYLESHEET_PATH } from '../domain/page-style';
import { type ApiEvent, type ApiResult, apiHandler, header } from './http';

/** One file ready to send: its bytes, and their gzip form when that is worth sending. */
interface Prepared {
  readonly contentType: string;
  readonly cacheControl: string;
  readonly body: Buffer;
  readonly gzipped?: Buffer;
}

/** The built console, read and compressed once per container. */
export interface ConsoleSite {
  readonly config: ConsoleConfig;
  /** `index.html` with the configuration filled in. */
  readonly index: Prepared;
  /** Assets by request path (`/console/assets/app.3F2A1B.js`), the pages' stylesheet included. */
  readonly assets: ReadonlyMap<string, Prepared>;
}

function prepare(body: Buffer, contentType: string, cacheControl: string): Prepared {
  // Level 9: compressed once per container, sent many times.
  return compressible(contentType)
    ? { contentType, cacheControl, body, gzipped: gzipSync(body, { level: 9 }) }
    : { contentType, cacheControl, body };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * Reads the console built by `console/build.ts` from `dir` (`index.html` and `assets/*`), fills in its
 * configuration and compresses what compresses. Throws when `index.html` is missing or holds no placeholder, so a
 * bundle without the console fails at cold start rather than answering 404s.
 */
export function loadConsoleSite(dir: string, config: ConsoleConfig): ConsoleSite {
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) throw new Error(`the console is not built: no ${indexFile}`);
  const index = prepare(
    Buffer.from(renderIndex(readFileSync(indexFile, 'utf8'), config), 'utf8'),
    'text/html; charset=utf-8',
    'no-store',
  );
  const assets = new Map<string, Prepared>();
  const assetDir = join(dir, 'assets');
  for (const file of filesUnder(assetDir)) {
    const path = CONSOLE_ASSETS + relative(assetDir, file).split(sep).join('/');
    assets.set(path, prepare(readFileSync(file), contentTypeOf(file), IMMUTABLE));
  }
  // The emailed-link pages link this sheet; its name carries the hash of its content.
  assets.set(PAGE_STYLESHEET_PATH, prepare(Buffer.from(PAGE_CSS, 'utf8'), 'text/css; charset=utf-8', IMMUTABLE));
  return { config, index, assets };
}

/**
 * The answers of the assets function (`GET /`, `GET /console`, `GET /console/{proxy+}`), chosen by the raw path:
 * redirects to `/console/`, assets (cached for good), `index.html` for every route of the single-page app (never
 * cached), 404 for a missing asset. Every answer carries the console's security headers.
 */
export function consoleAnswer(site: ConsoleSite, event: ApiEvent): ApiResult {
  const headers = securityHeaders(site.config);
  const plain = (statusCode: number, body: string, extra: Record<string, string> = {}): ApiResult => ({
    statusCode,
    headers: { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra },
    body,
  });
  if (event.requestContext.http.method !== 'GET') return plain(405, 'Method Not Allowed', { allow: 'GET' });
  const route = consoleRoute(event.rawPath, event.rawQueryString);
  if (route.kind === 'redirect') return plain(302, `Found: ${route.location}`, { location: route.location });
  const file = route.kind === 'index' ? site.index : route.kind === 'asset' ? site.assets.get(route.path) : undefined;
  if (!file) return plain(404, 'Not Found');
  const base = { ...headers, 'content-type': file.contentType, 'cache-control': file.cacheControl };
  if (!file.gzipped) {
    return { statusCode: 200, headers: base, body: file.body.toString('base64'), isBase64Encoded: true };
  }
  // Whichever form is sent, a shared cache must tell the two apart.
  if (acceptsGzip(header(event, 'accept-encoding'))) {
    return {
      statusCode: 200,
      headers: { ...base, 'content-encoding': 'gzip', vary: 'accept-encoding' },
      body: file.gzipped.toString('base64'),
      isBase64Encoded: true,
    };
  }
  return { statusCode: 200, headers: { ...base, vary: 'accept-encoding' }, body: file.body.toString('utf8') };
}

/** The assets function's handler for the console in `dir`, with the API middleware. */
export function consoleAssetsHandler(dir: string, config: ConsoleConfig) {
  const site = loadConsoleSite(dir, config);
  return apiHandler(async (event) => consoleAnswer(site, event));
}
