/**
 * 8. The web console: its transfer size, and how soon a signed-in page renders on the local runtime.
 *
 * Size: `buildConsole` (console/build.ts) into a temp dir; raw and gzip bytes of `index.html`, the JS and the CSS,
 * gzip at level 9 as the assets function compresses them (and at zlib's default level beside it); then the same three
 * files as the local runtime's assets function sends them to a client that accepts gzip (the bytes on the wire).
 *
 * Render: headless Chromium signs in through the local identity provider, each run in a fresh browser context
 * (empty storage and cache). Timed: from the click on the identity provider's *Sign in* submit until the signed-in
 * page's `h1` is visible (the bench's clock), and, from the callback document's own performance entries, its
 * navigation start (the form POST, whose answer redirects to `/console/callback`) to its first contentful paint: the
 * callback document paints nothing before the signed-in page, since `index.html` has no content of its own. Baseline
 * in the same runs: the signed-out page (`GET /console/`, no sign-in work) with the same cached assets, and the bare
 * `GET /console/` round trip.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildConsole } from '../../console/build';
import type { LocalRuntime } from '../../local/driver';
import { SEED } from '../lib/local';
import { type Row, row, type SectionResult } from '../lib/report';
import { type Figure, figure, quantile, round, since, single } from '../lib/stats';

const PROJECT = resolve(__dirname, '..', '..');
const KB = 1024;
const SIZE_TARGET_KB = 120;
const RENDER_TARGET_MS = 1000;
/** The assets function's gzip level (functions/edge/console-assets.ts: compressed once per container). */
const SERVED_GZIP_LEVEL = 9;
const CHROMIUM = '/usr/bin/chromium';
const SIGNED_IN_H1 = 'header.top ~ main h1';
const SIGNED_OUT_H1 = 'main.signed-out h1';

export interface ConsoleOptions {
  rt: LocalRuntime;
  /** Measured sign-ins (one more runs first, unmeasured: it starts the functions' sandboxes). */
  runs: number;
  log: (line: string) => void;
}

interface FileSize {
  file: string;
  bytes: number;
  gzipBytes: number;
  gzipDefaultBytes: number;
}

/** Raw and gzip sizes of the built console's files. */
function sizesOf(dir: string, files: string[]): FileSize[] {
  return files.map((file) => {
    const body = readFileSync(join(dir, file));
    return {
      file,
      bytes: statSync(join(dir, file)).size,
      gzipBytes: gzipSync(body, { level: SERVED_GZIP_LEVEL }).length,
      gzipDefaultBytes: gzipSync(body).length,
    };
  });
}

/**
 * Minified bytes of the console's bundle per package, from an esbuild metafile of the same entry built with the
 * options of console/build.ts.
 */
async function attribute(): Promise<{ name: string; bytes: number }[]> {
  const result = await build({
    entryPoints: [join(PROJECT, 'console', 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: 'out',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    tsconfig: join(PROJECT, 'console', 'tsconfig.json'),
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.js'))?.[1];
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? 'console code';
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...byPackage.entries()].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** One GET on a fresh connection; resolves with the status, the headers and the body's bytes as sent. */
function getRaw(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number; ms: number }> {
  const target = new URL(url);
  const started = performance.now();
  return new Promise((done, fail) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, agent: false, headers },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, bytes, ms: since(started) }));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/** The files `index.html` links, as served: `/console/assets/app.<hash>.js` and `.css`. */
async function servedPaths(rt: LocalRuntime): Promise<string[]> {
  const res = await fetch(`${rt.urls.api}/console/`);
  const html = await res.text();
  if (res.status !== 200) throw new Error(`GET /console/ answered ${res.status}: is the assets function deployed?`);
  const linked = [...html.matchAll(/(?:href|src)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
  if (linked.length !== 2) throw new Error(`index.html links ${linked.length} assets, expected a script and a sheet`);
  return ['/console/', ...linked];
}

/** Timings the page reports about its own document (ms from its navigation start). */
interface PageTimes {
  url: string;
  fetchStart: number;
  responseEnd: number;
  domContentLoaded: number;
  firstPaint: number | null;
  firstContentfulPaint: number | null;
  largestContentfulPaint: number | null;
  /** The console's assets this document loaded, and the bytes each took over the network (0: from the cache). */
  assets: { name: string; transferSize: number }[];
}

/** Read in the page as a string (the bench type-checks without the DOM library). */
const PAGE_TIMES = `(async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = (name) => performance.getEntriesByName(name, 'paint')[0]?.startTime ?? null;
  const lcp = await new Promise((done) => {
    const observer = new PerformanceObserver((list) => {
      const entries = list.getEntries();
      done(entries[entries.length - 1]?.startTime ?? null);
    });
    observer.observe({ type: 'largest-contentful-paint', buffered: true });
    setTimeout(() => done(null), 300);
  });
  return {
    url: nav.name,
    fetchStart: nav.fetchStart,
    responseEnd: nav.responseEnd,
    domContentLoaded: nav.domContentLoadedEventEnd,
    firstPaint: paint('first-paint'),
    firstContentfulPaint: paint('first-contentful-paint'),
    largestContentfulPaint: lcp,
    assets: performance
      .getEntriesByType('resource')
      .filter((r) => r.name.includes('/console/assets/'))
      .map((r) => ({ name: new URL(r.name).pathname, transferSize: r.transferSize })),
  };
})()`;

const pageTimes = (page: Page) => page.evaluate<PageTimes>(PAGE_TIMES);

interface RunSample {
  /** Signed-out page, cold cache: `goto` → `h1` visible (bench clock). */
  signedOutColdMs: number;
  signedOutCold: PageTimes;
  /** Signed-out page again, assets cached (what the callback document finds too). */
  signedOutWarmMs: number;
  signedOutWarm: PageTimes;
  /** Click on the identity provider's submit → signed-in `h1` visible (bench clock). */
  clickToH1Ms: number;
  callback: PageTimes;
}

/** One sign-in in a fresh context. */
async function oneRun(browser: Browser, rt: LocalRuntime, email: string): Promise<RunSample> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    const signedOutPage = async () => {
      const started = performance.now();
      await page.goto(`${rt.urls.api}/console/`);
      await page.locator(SIGNED_OUT_H1).waitFor({ state: 'visible' });
      return { ms: since(started), times: await pageTimes(page) };
    };
    try {
      const cold = await signedOutPage();
      const warm = await signedOutPage();
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#email').fill(email);
      const submit = page.locator('#sign-in');
      await submit.waitFor({ state: 'visible' });
      const started = performance.now();
      await submit.click();
      await page.locator(SIGNED_IN_H1).waitFor({ state: 'visible', timeout: 15_000 });
      const clickToH1Ms = since(started);
      const callback = await pageTimes(page);
      if (!callback.url.includes('/console/callback')) throw new Error(`the signed-in document is ${callback.url}`);
      return {
        signedOutColdMs: cold.ms,
        signedOutCold: cold.times,
        signedOutWarmMs: warm.ms,
        signedOutWarm: warm.times,
        clickToH1Ms,
        callback,
      };
    } catch (error) {
      const seen = problems.length ? `; the page reported: ${problems.slice(0, 5).join(' | ')}` : '';
      throw new Error(`${(error as Error).message.split('\n')[0]} (at ${page.url()})${seen}`);
    }
  } finally {
    await context.close();
  }
}

/** min / median / max, with the p95 in the row's median column (`p95`) and the median (`median`). */
function withP95(samples: number[], unit: string): { median: Figure; p95: Figure } {
  const fig = figure(samples, unit);
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: fig, p95: { ...fig, median: quantile(sorted, 0.95) } };
}

const values = (samples: (number | null)[]): number[] => samples.filter((v): v is number => v !== null);

export async function runConsole(opts: ConsoleOptions): Promise<SectionResult> {
  const { rt } = opts;
  const rows: Row[] = [];
  const notes: string[] = [];

  // Transfer size, from a fresh build.
  const dir = mkdtempSync(join(tmpdir(), 'token-warden-bench-console-'));
  let sizes: FileSize[];
  try {
    const built = await buildConsole(dir);
    sizes = sizesOf(dir, built.files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const kind = (f: FileSize) => (f.file.endsWith('.js') ? 'JS' : f.file.endsWith('.css') ? 'CSS' : 'index.html');
  for (const f of sizes) {
    rows.push(row(`${kind(f)} (raw)`, single(round(f.bytes / KB, 2), 'KB')));
    rows.push(row(`${kind(f)} (gzip)`, single(round(f.gzipBytes / KB, 2), 'KB')));
  }
  const sum = (pick: (f: FileSize) => number) => sizes.reduce((n, f) => n + pick(f), 0);
  const totalGzipKb = sum((f) => f.gzipBytes) / KB;
  rows.push(row('total HTML + JS + CSS (raw)', single(round(sum((f) => f.bytes) / KB, 2), 'KB')));
  rows.push(
    row(`total HTML + JS + CSS (gzip level ${SERVED_GZIP_LEVEL}, as served)`, single(round(totalGzipKb, 2), 'KB'), {
      text: `<= ${SIZE_TARGET_KB} KB`,
      met: totalGzipKb <= SIZE_TARGET_KB,
    }),
  );
  rows.push(
    row('total HTML + JS + CSS (gzip default level)', single(round(sum((f) => f.gzipDefaultBytes) / KB, 2), 'KB')),
  );
  const packages = await attribute();
  const scriptBytes = packages.reduce((n, p) => n + p.bytes, 0);
  notes.push(
    `Minified JS by package (esbuild metafile, the options of console/build.ts): ${packages
      .map((p) => `${p.name} ${round(p.bytes / KB, 1)} KB (${Math.round((p.bytes / scriptBytes) * 100)} %)`)
      .join(', ')}.`,
  );

  // The same files as the local runtime's assets function sends them (gzip when accepted).
  const paths = await servedPaths(rt);
  const served: { path: string; bytes: number; encoding: string }[] = [];
  for (const path of paths) {
    const res = await getRaw(`${rt.urls.api}${path}`, { 'accept-encoding': 'gzip' });
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
    served.push({ path, bytes: res.bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') });
  }
  const servedKb = served.reduce((n, s) => n + s.bytes, 0) / KB;
  rows.push(
    row('served by the local runtime, HTML + JS + CSS (response bodies)', single(round(servedKb, 2), 'KB'), {
      text: `<= ${SIZE_TARGET_KB} KB`,
      met: servedKb <= SIZE_TARGET_KB,
    }),
  );

  // First render of a signed-in page.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const chromiumVersion = browser.version();
  const samples: RunSample[] = [];
  let warmUp: RunSample;
  const roundTrips: number[] = [];
  try {
    warmUp = await oneRun(browser, rt, SEED.bob);
    for (let i = 0; i < opts.runs; i++) {
      samples.push(await oneRun(browser, rt, SEED.bob));
      roundTrips.push((await getRaw(`${rt.urls.api}/console/`, { 'accept-encoding': 'gzip' })).ms);
    }
  } finally {
    await browser.close();
  }
  opts.log(`  ${opts.runs} sign-ins: click → h1 ${samples.map((s) => Math.round(s.clickToH1Ms)).join(', ')} ms`);
  const fetchedAgain = samples.filter((s) => s.callback.assets.some((r) => r.transferSize > 0)).length;
  const assetsSeen = samples.filter((s) => s.callback.assets.length === 2).length;

  const clickToH1 = withP95(
    samples.map((s) => s.clickToH1Ms),
    'ms',
  );
  const fcp = withP95(values(samples.map((s) => s.callback.firstContentfulPaint)), 'ms');
  const target = (fig: Figure) => ({ text: `<= ${RENDER_TARGET_MS} ms`, met: fig.median <= RENDER_TARGET_MS });
  rows.push(row('sign-in submit → signed-in h1 visible, median', clickToH1.median, target(clickToH1.median)));
  rows.push(row('sign-in submit → signed-in h1 visible, p95', clickToH1.p95, target(clickToH1.p95)));
  rows.push(row('callback navigation start → first contentful paint, median', fcp.median, target(fcp.median)));
  rows.push(row('callback navigation start → first contentful paint, p95', fcp.p95, target(fcp.p95)));
  rows.push(
    row(
      '  of which before the callback GET (form POST + redirect)',
      figure(
        samples.map((s) => s.callback.fetchStart),
        'ms',
      ),
    ),
  );
  rows.push(
    row(
      '  callback largest contentful paint',
      figure(values(samples.map((s) => s.callback.largestContentfulPaint)), 'ms'),
    ),
  );
  rows.push(
    row(
      'baseline: signed-out page, assets cached, navigation start → first contentful paint',
      figure(values(samples.map((s) => s.signedOutWarm.firstContentfulPaint)), 'ms'),
    ),
  );
  rows.push(
    row(
      'baseline: signed-out page, empty cache, navigation start → first contentful paint',
      figure(values(samples.map((s) => s.signedOutCold.firstContentfulPaint)), 'ms'),
    ),
  );
  rows.push(
    row(
      'baseline: signed-out page, empty cache, goto → h1 visible',
      figure(
        samples.map((s) => s.signedOutColdMs),
        'ms',
      ),
    ),
  );
  rows.push(row('baseline: bare GET /console/ round trip', figure(roundTrips, 'ms')));
  rows.push(row('first sign-in (cold sandboxes, unmeasured above): submit → h1', single(warmUp.clickToH1Ms, 'ms')));

  notes.push(
    `Each run signs ${SEED.bob} in from a fresh browser context; the signed-out page has loaded the assets first, so the callback document finds them in the cache (immutable), as a member's browser would. Between the submit and the signed-in h1: the identity provider's answer to the form POST, the redirect to /console/callback, index.html (no-store), the discovery document, the token request, GET /me and GET /catalog, and the first render. The first sign-in of the run (new sandboxes of the assets and console functions) is reported apart.`,
    "In the p95 rows the median column holds the p95; min/max are of all samples. The click time is taken by the bench just before Playwright clicks, so it includes Playwright's actionability check and the poll that sees the h1 (a few ms); the paint figures are the page's own (PerformanceNavigationTiming and paint entries, ms from the callback navigation's start, which is the form POST to the identity provider: the cross-origin redirect hides the split, fetchStart marks the callback GET).",
    `The callback document loaded both assets in ${assetsSeen} of ${samples.length} runs, from the browser's cache in ${samples.length - fetchedAgain} (transferSize 0) and over the network in ${fetchedAgain}.`,
    `Headless Chromium ${chromiumVersion} with --disable-gpu, on the local runtime (one Node process for the API emulation, the Lambda sandboxes and the identity provider); on AWS the identity provider and API Gateway + Lambda add network round trips instead.`,
  );
  return {
    id: 'console',
    title: 'Web console: transfer size and first signed-in render',
    rows,
    notes,
    details: {
      files: sizes,
      served,
      packages,
      samples: samples.map((s) => ({
        clickToH1Ms: round(s.clickToH1Ms, 1),
        callback: s.callback,
        signedOutWarm: s.signedOutWarm,
        signedOutCold: s.signedOutCold,
        signedOutColdMs: round(s.signedOutColdMs, 1),
        signedOutWarmMs: round(s.signedOutWarmMs, 1),
      })),
      warmUp,
    },
  };
}
