/**
 * The web console in a real browser, as its users see it: one headless Chromium, one browser context per person
 * (their own storage, their own in-memory session), sign-in at the local identity provider, and the checks every
 * page visited gets — axe-core's serious and critical violations, sideways overflow, a screenshot for review — and
 * what the whole journey must never show: a content-security-policy violation, or an access token in a URL.
 */
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Where the screenshots of the console's pages go (ignored by git). */
export const SCREENSHOTS = resolve(__dirname, '..', '..', '..', 'test-output', 'console');

/** What the browser saw during the journey, across every person's context. */
export interface Observed {
  /** `securitypolicyviolation` events and the browser's own CSP console errors. */
  cspViolations: string[];
  /** Every other `console.error` of a console page (for the report of a failing test). */
  consoleErrors: string[];
  /** Every URL any page requested, redirects included. */
  requestUrls: string[];
  /** Every bearer token the console sent in an `Authorization` header. */
  bearerTokens: Set<string>;
  /** Every answer to a `/console/…` document or asset, with its headers. */
  consoleResponses: { url: string; status: number; headers: Record<string, string> }[];
}

/** One signed-in (or about to sign in) person: a browser context of their own and its page. */
export interface Person {
  email: string;
  context: BrowserContext;
  page: Page;
}

/** The console's browser: one Chromium; `person()` opens a fresh context per person. */
export interface ConsoleBrowser {
  readonly observed: Observed;
  person(email: string, options?: BrowserContextOptions): Promise<Person>;
  close(): Promise<void>;
}

// Reported by the page through `console.error`, which the listener below collects; an init script runs before the
// page's own scripts and is not governed by its content security policy.
const CSP_LISTENER = `document.addEventListener('securitypolicyviolation', (e) => {
  console.error('securitypolicyviolation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    ' at ' + e.sourceFile + ':' + e.lineNumber);
}, true);`;

/** Launches Debian's Chromium (a missing browser fails with the command that installs it). */
export async function launchConsoleBrowser(): Promise<ConsoleBrowser> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; install it with:\napt-get install -y chromium`);
  }
  // `launch` gives the browser a fresh temporary profile of its own, removed on close.
  const browser: Browser = await chromium.launch({
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
  const observed: Observed = {
    cspViolations: [],
    consoleErrors: [],
    requestUrls: [],
    bearerTokens: new Set(),
    consoleResponses: [],
  };
  const contexts: BrowserContext[] = [];
  return {
    observed,
    async person(email, options = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
      contexts.push(context);
      await context.addInitScript({ content: CSP_LISTENER });
      context.on('console', (message) => {
        if (message.type() !== 'error') return;
        const text = message.text();
        if (/securitypolicyviolation|Content Security Policy/i.test(text)) observed.cspViolations.push(text);
        else observed.consoleErrors.push(`${message.page()?.url() ?? '?'}: ${text}`);
      });
      context.on('request', (request) => {
        observed.requestUrls.push(request.url());
        const authorization = request.headers().authorization;
        if (authorization?.startsWith('Bearer ')) observed.bearerTokens.add(authorization.slice('Bearer '.length));
      });
      context.on('response', (response) => {
        if (new URL(response.url()).pathname.startsWith('/console')) {
          observed.consoleResponses.push({
            url: response.url(),
            status: response.status(),
            headers: response.headers(),
          });
        }
      });
      const page = await context.newPage();
      return { email, context, page };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}

/**
 * On the identity provider's sign-in page (the browser was sent there), signs in as `email`; resolves once the
 * console shows the signed-in header again.
 */
export async function signInAtProvider(page: Page, email: string): Promise<void> {
  await page.waitForURL((url) => url.pathname === '/local/oidc/authorize');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/console') && url.pathname !== '/console/callback');
  await page.getByText(`Signed in as ${email}`).waitFor();
}

/**
 * Opens `path` of the console signed out, presses *Sign in*, signs in as the person, and resolves on the page
 * the console came back to.
 */
export async function signIn(person: Person, origin: string, path = '/console/'): Promise<void> {
  await person.page.goto(`${origin}${path}`);
  await person.page.getByRole('button', { name: 'Sign in' }).click();
  await signInAtProvider(person.page, person.email);
}

/** Resolves once no "Loading …" status is left on the page (polled through locators: the page's CSP forbids eval). */
export async function settled(page: Page, timeoutMs = 15_000): Promise<void> {
  const loading = page.getByRole('status').filter({ hasText: /^\s*Loading/ });
  const deadline = Date.now() + timeoutMs;
  while ((await loading.count()) > 0) {
    if (Date.now() > deadline) throw new Error(`${page.url()} was still loading after ${timeoutMs} ms`);
    await page.waitForTimeout(50);
  }
}

/** Follows one of the console's navigation links (a client-side route: the in-memory session stays). */
export async function navigate(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { level: 1 }).waitFor();
  await settled(page);
}

/** The page's heading. */
export async function heading(page: Page): Promise<string> {
  return ((await page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim();
}

/** axe-core's serious and critical violations on the page, one line each: rule, impact, nodes, help. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated over the debugging protocol, which the page's content security policy does not govern
  // (`addScriptTag` would insert an inline script, which the console's CSP rightly refuses).
  if (!(await page.evaluate('typeof window.axe === "object"'))) {
    await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  }
  const result = await page.evaluate<{
    passes: number;
    violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
  }>(`window.axe.run(document).then((r) => ({
    passes: r.passes.length,
    violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })),
  }))`);
  // axe looked at something: an empty list is then a finding, not a run that checked nothing.
  if (result.passes === 0) throw new Error(`axe-core passed no rule on ${page.url()}: it checked nothing`);
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}, ${v.help}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(' ')}`);
}

/** How far the page is wider than its viewport (0: no sideways scrolling). */
export async function sidewaysOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })',
  );
}

/** Writes the page's screenshot to `test-output/console/<name>.png`; resolves with the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Runs `act` and resolves with the status of the first API answer to `method` on a path matching `path`. */
export async function answerTo(page: Page, method: string, path: RegExp, act: () => Promise<unknown>) {
  // The body is read as soon as the answer arrives, inside the wait: read later, Chromium may already have let go of
  // it (the page consumed it and re-rendered), and the read fails.
  let body: unknown;
  const [response] = await Promise.all([
    page.waitForResponse(async (r) => {
      if (r.request().method() !== method || !path.test(new URL(r.url()).pathname)) return false;
      try {
        body = JSON.parse(await r.text());
      } catch (error) {
        body = { unreadable: (error as Error).message };
      }
      return true;
    }),
    act(),
  ]);
  return { status: response.status(), body };
}
