/**
 * The web console's files, end to end: the local runtime serves them from the synthesized template's routes through
 * the bundled assets function, whose bundle holds the console `console/build.ts` built.
 */
import { LocalRuntime } from '../../local/driver';

jest.setTimeout(120_000);

let rt: LocalRuntime;

beforeAll(async () => {
  rt = await LocalRuntime.start('console-assets');
}, 240_000);

afterAll(async () => {
  await rt?.dispose();
});

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function expectSecurityHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(SECURITY))
    expect({ name, value: headers.get(name) }).toEqual({ name, value });
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  // The browser fetches the identity provider's discovery document and token endpoint.
  expect(csp).toContain(`connect-src 'self' ${new URL(rt.urls.api).origin}`);
}

describe('the console on the API origin', () => {
  it('redirects / to /console/', async () => {
    // Act
    const root = await rt.http(`${rt.urls.api}/`);

    // Assess
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    expectSecurityHeaders(root.headers);
  });

  it('serves index.html with its configuration and loads the assets it names, cached for good', async () => {
    // Act
    const page = await rt.http(`${rt.urls.api}/console/`, { headers: { 'accept-encoding': 'gzip' } });
    const deep = await rt.http(`${rt.urls.api}/console/tokens/tok_x`);

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-encoding')).toBe('gzip');
    expectSecurityHeaders(page.headers);
    const meta = /<meta name="tw-config" content="([^"]*)">/.exec(page.text)?.[1] ?? '';
    expect(JSON.parse(meta.replace(/&quot;/g, '"').replace(/&amp;/g, '&'))).toEqual({
      issuer: `${rt.urls.api}/local/oidc`,
      clientId: 'token-warden',
    });
    expect(deep.status).toBe(200);
    expect(deep.text).toBe(page.text);

    const script = /<script type="module" src="([^"]+)"/.exec(page.text)?.[1];
    const stylesheet = /<link rel="stylesheet" href="([^"]+)"/.exec(page.text)?.[1];
    expect(script).toMatch(/^\/console\/assets\/[^/]+\.js$/);
    expect(stylesheet).toMatch(/^\/console\/assets\/[^/]+\.css$/);
    for (const [path, type] of [
      [script, 'text/javascript; charset=utf-8'],
      [stylesheet, 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await rt.http(`${rt.urls.api}${path}`);
      expect({ path, status: asset.status, type: asset.headers.get('content-type') }).toEqual({
        path,
        status: 200,
        type,
      });
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(asset.text.length).toBeGreaterThan(0);
      expectSecurityHeaders(asset.headers);
    }
  });

  it('answers 404 for a missing asset, never the page', async () => {
    // Act
    const missing = await rt.http(`${rt.urls.api}/console/assets/app.000000.js`);

    // Assess
    expect(missing.status).toBe(404);
    expect(missing.text).not.toContain('tw-config');
    expectSecurityHeaders(missing.headers);
  });
});
