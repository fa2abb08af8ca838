import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, contentSecurityPolicy } from '../../../functions/domain/console-site';
import { PAGE_CSS, PAGE_STYLESHEET_PATH } from '../../../functions/domain/page-style';
import { consoleAssetsHandler } from '../../../functions/edge/console-assets';
import type { ApiResult } from '../../../functions/edge/http';
import { apiEvent, lambdaContext } from '../../support/events';

const ISSUER = 'https://idp.example.com/oauth2/default';
const INDEX = `<!doctype html>
<html><head><meta name="tw-config" content="__TW_CONFIG__">
<link rel="stylesheet" href="/console/assets/app.9C0D.css"><script type="module" src="/console/assets/app.3F2A1B.js"></script>
</head><body><div id="app"></div></body></html>`;
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;
const STYLE = 'body{margin:0}';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);

const EXPECTED_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' " +
  "https://idp.example.com; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
  "frame-ancestors 'none'";

/** A console built as `console/build.ts` lays it out. */
function builtConsole(index = INDEX): string {
  const dir = mkdtempSync(join(tmpdir(), 'tw-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), index);
  writeFileSync(join(dir, 'assets', 'app.3F2A1B.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'app.9C0D.css'), STYLE);
  writeFileSync(join(dir, 'assets', 'logo.77AA.png'), PNG);
  return dir;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function site(clientId = 'token-warden', index = INDEX) {
  const dir = builtConsole(index);
  dirs.push(dir);
  const handler = consoleAssetsHandler(dir, { issuer: ISSUER, clientId });
  return (path: string, opts: { headers?: Record<string, string>; query?: Record<string, string> } = {}) => {
    const routeKey = path === '/' ? 'GET /' : path === '/console' ? 'GET /console' : 'GET /console/{proxy+}';
    return handler(apiEvent({ routeKey, path, ...opts }), lambdaContext) as Promise<ApiResult>;
  };
}

/** The body as the client reads it (API Gateway decodes `isBase64Encoded` bodies). */
const bytes = (result: ApiResult) => Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
const headerOf = (result: ApiResult, name: string) => result.headers?.[name];

/** The `content` attribute of `<meta name="tw-config">`, unescaped as a browser reads it. */
function metaConfig(html: string): unknown {
  const m = /<meta name="tw-config" content="([^"]*)">/.exec(html);
  if (!m?.[1]) throw new Error('no tw-config meta in the page');
  const unescaped = m[1]
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return JSON.parse(unescaped);
}

describe('console assets handler', () => {
  const get = site();

  it('sends the security headers on every answer: redirect, page, asset, missing asset', async () => {
    // Act
    const answers = await Promise.all([
      get('/'),
      get('/console/'),
      get('/console/tokens/tok_x'),
      get('/console/assets/app.3F2A1B.js'),
      get('/console/assets/nope.1234.js'),
      get(PAGE_STYLESHEET_PATH),
    ]);

    // Assess
    expect(answers.map((a) => a.statusCode)).toEqual([302, 200, 200, 200, 404, 200]);
    for (const answer of answers) {
      expect(answer.headers).toMatchObject({
        'content-security-policy': EXPECTED_CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      });
    }
  });

  it('redirects / and /console to /console/', async () => {
    // Act
    const root = await get('/');
    const bare = await get('/console', { query: { a: '1' } });

    // Assess
    expect(root.statusCode).toBe(302);
    expect(headerOf(root, 'location')).toBe('/console/');
    expect(bare.statusCode).toBe(302);
    expect(headerOf(bare, 'location')).toBe('/console/?a=1');
  });

  it('caches assets for good with their content type, and never caches the page', async () => {
    // Act
    const script = await get('/console/assets/app.3F2A1B.js');
    const style = await get('/console/assets/app.9C0D.css');
    const image = await get('/console/assets/logo.77AA.png');
    const page = await get('/console/');

    // Assess
    expect(headerOf(script, 'content-type')).toBe('text/javascript; charset=utf-8');
    expect(headerOf(style, 'content-type')).toBe('text/css; charset=utf-8');
    expect(headerOf(image, 'content-type')).toBe('image/png');
    for (const asset of [script, style, image]) {
      expect(headerOf(asset, 'cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect(bytes(script).toString('utf8')).toBe(SCRIPT);
    expect(bytes(style).toString('utf8')).toBe(STYLE);
    expect(bytes(image)).toEqual(PNG);
    expect(headerOf(page, 'content-type')).toBe('text/html; charset=utf-8');
    expect(headerOf(page, 'cache-control')).toBe('no-store');
  });

  it('answers index.html for routes of the app, and a plain 404 for a missing asset', async () => {
    // Act
    const routes = await Promise.all(
      ['/console/', '/console/tokens/tok_x', '/console/callback'].map((path) =>
        get(path, { query: { code: 'c', state: 's' } }),
      ),
    );
    const missing = await get('/console/assets/app.000000.js');
    const missingNested = await get('/console/assets/deeper/index.html');

    // Assess
    for (const route of routes) {
      expect(route.statusCode).toBe(200);
      expect(bytes(route).toString('utf8')).toContain('<div id="app"></div>');
    }
    for (const answer of [missing, missingNested]) {
      expect(answer.statusCode).toBe(404);
      expect(headerOf(answer, 'content-type')).toBe('text/plain; charset=utf-8');
      expect(answer.body).toBe('Not Found');
      expect(answer.body).not.toContain('<div id="app">');
    }
  });

  it('serves the pages stylesheet at its hashed path', async () => {
    // Act
    const sheet = await get(PAGE_STYLESHEET_PATH);

    // Assess
    expect(PAGE_STYLESHEET_PATH).toMatch(/^\/console\/assets\/page\.[0-9a-z]+\.css$/);
    expect(sheet.statusCode).toBe(200);
    expect(headerOf(sheet, 'content-type')).toBe('text/css; charset=utf-8');
    expect(headerOf(sheet, 'cache-control')).toBe('public, max-age=31536000, immutable');
    expect(bytes(sheet).toString('utf8')).toBe(PAGE_CSS);
  });

  it('answers gzip when the browser accepts it, and the identity otherwise', async () => {
    // Act
    const zipped = await get('/console/assets/app.3F2A1B.js', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    const page = await get('/console/', { headers: { 'accept-encoding': 'br;q=1, gzip;q=0.5' } });
    const refused = await get('/console/assets/app.3F2A1B.js', { headers: { 'accept-encoding': 'gzip;q=0, br' } });
    const none = await get('/console/assets/app.3F2A1B.js');
    const image = await get('/console/assets/logo.77AA.png', { headers: { 'accept-encoding': 'gzip' } });

    // Assess
    expect(zipped).toMatchObject({
      isBase64Encoded: true,
      headers: { 'content-encoding': 'gzip', vary: 'accept-encoding' },
    });
    const unzipped = gunzipSync(bytes(zipped)).toString('utf8');
    expect(unzipped).toBe(SCRIPT);
    expect(bytes(zipped).length).toBeLessThan(Buffer.byteLength(SCRIPT));
    expect(headerOf(page, 'content-encoding')).toBe('gzip');
    expect(gunzipSync(bytes(page)).toString('utf8')).toContain('<div id="app"></div>');
    for (const plain of [refused, none]) {
      expect(headerOf(plain, 'content-encoding')).toBeUndefined();
      expect(headerOf(plain, 'vary')).toBe('accept-encoding');
      expect(bytes(plain).toString('utf8')).toBe(SCRIPT);
    }
    // PNG is compressed already: sent as it is.
    expect(headerOf(image, 'content-encoding')).toBeUndefined();
    expect(bytes(image)).toEqual(PNG);
  });

  it('writes the configuration into the page, attribute-escaped', async () => {
    // Prepare
    const hostile = `tw"><script>alert('x')</script>&amp;`;
    const getHostile = site(hostile);

    // Act
    const page = await getHostile('/console/');
    const html = bytes(page).toString('utf8');

    // Assess
    expect(html).not.toContain('__TW_CONFIG__');
    expect(html).not.toContain('<script>alert');
    expect(html.match(/<meta /g)).toHaveLength(1);
    expect(metaConfig(html)).toEqual({ issuer: ISSUER, clientId: hostile });
    expect(metaConfig(bytes(await get('/console/')).toString('utf8'))).toEqual({
      issuer: ISSUER,
      clientId: 'token-warden',
    });
  });

  it('refuses at cold start a build without the placeholder, or no build at all', () => {
    // Prepare
    const noPlaceholder = builtConsole('<!doctype html><p>not the console</p>');
    dirs.push(noPlaceholder);

    // Act / Assess
    expect(() => consoleAssetsHandler(noPlaceholder, { issuer: ISSUER, clientId: 'c' })).toThrow(/__TW_CONFIG__/);
    expect(() => consoleAssetsHandler(join(noPlaceholder, 'absent'), { issuer: ISSUER, clientId: 'c' })).toThrow(
      /not built/,
    );
  });
});

describe('the handler module', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('fails at cold start without its configuration, naming the variable', () => {
    // Prepare
    delete process.env.CONSOLE_ISSUER;
    process.env.CONSOLE_CLIENT_ID = 'token-warden';
    process.env.CONSOLE_CONNECT_ORIGINS = '';

    // Act / Assess
    jest.isolateModules(() => {
      expect(() => require('../../../functions/api/console-assets')).toThrow(/CONSOLE_ISSUER/);
    });
  });

  it('serves the console built into the task root', async () => {
    // Prepare
    const taskRoot = mkdtempSync(join(tmpdir(), 'tw-task-root-'));
    dirs.push(taskRoot);
    renameSync(builtConsole(), join(taskRoot, 'console'));
    process.env.LAMBDA_TASK_ROOT = taskRoot;
    process.env.CONSOLE_ISSUER = ISSUER;
    process.env.CONSOLE_CLIENT_ID = 'token-warden';
    process.env.CONSOLE_CONNECT_ORIGINS = '';
    let handler: (event: unknown, context: unknown) => Promise<ApiResult> = async () => {
      throw new Error('not loaded');
    };
    jest.isolateModules(() => {
      handler = require('../../../functions/api/console-assets').handler;
    });

    // Act
    const page = await handler(apiEvent({ routeKey: 'GET /console/{proxy+}', path: '/console/' }), lambdaContext);
    const script = await handler(
      apiEvent({ routeKey: 'GET /console/{proxy+}', path: '/console/assets/app.3F2A1B.js' }),
      lambdaContext,
    );

    // Assess
    expect(metaConfig(bytes(page).toString('utf8'))).toEqual({ issuer: ISSUER, clientId: 'token-warden' });
    expect(bytes(script).toString('utf8')).toBe(SCRIPT);
  });

  it('fails at cold start when no console is built beside it', () => {
    // Prepare (the source folder holds no built console)
    delete process.env.LAMBDA_TASK_ROOT;
    process.env.CONSOLE_ISSUER = ISSUER;
    process.env.CONSOLE_CLIENT_ID = 'token-warden';
    process.env.CONSOLE_CONNECT_ORIGINS = '';

    // Act / Assess
    jest.isolateModules(() => {
      expect(() => require('../../../functions/api/console-assets')).toThrow(/functions\/api\/console\/index\.html/);
    });
  });
});

describe('accept-encoding', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['GZIP;q=0.1', true],
    ['gzip;q=0', false],
    ['br, *', true],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['identity', false],
  ])('%p accepts gzip: %p', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('contentSecurityPolicy', () => {
  it('lets the console call the identity provider endpoints configured off the issuer origin, each once', () => {
    // Prepare
    const config = {
      issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE',
      clientId: 'abc',
      identityOrigins: [
        'https://warden.auth.us-east-1.amazoncognito.com',
        'https://cognito-idp.us-east-1.amazonaws.com',
      ],
    };

    // Act
    const csp = contentSecurityPolicy(config);

    // Assess
    expect(csp).toContain(
      "connect-src 'self' https://cognito-idp.us-east-1.amazonaws.com https://warden.auth.us-east-1.amazoncognito.com;",
    );
  });
});
