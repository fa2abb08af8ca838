/**
 * The web console in a real browser (Debian's Chromium), end to end on the local runtime: a member signs in and
 * requests a token, an approver approves it from *Pending approvals*, the member sees it `ISSUED` with its secret
 * name and rotates it, an admin revokes it and reads its audit timeline; another member cannot see it; an access
 * token about to expire (or refused) signs the person in again on the same page; signing out leaves no token
 * behind. Every page visited has no serious or critical axe-core violation and no sideways scrolling, at 375 px, at
 * 200 % zoom and on a desktop; the console's answers carry its security headers and the browser reports no CSP
 * violation. A screenshot of each main page is written to `test-output/console/` for review.
 */
import type { Page } from 'playwright-core';
import { LocalRuntime, SEED } from '../../local/driver';
import {
  answerTo,
  type ConsoleBrowser,
  heading,
  launchConsoleBrowser,
  navigate,
  type Person,
  screenshot,
  seriousViolations,
  settled,
  sidewaysOverflow,
  signIn,
  signInAtProvider,
} from './support/console';

jest.setTimeout(60_000);

const TOKEN_NAME = 'console-ci';
const SECRET_NAME = `token-warden.jenkins-bot.${TOKEN_NAME}`;

let rt: LocalRuntime;
let browser: ConsoleBrowser;
let alice: Person;
let admin: Person;
/** The request and token the journey makes, once the tests that make them have run. */
const made: { requestId?: string; tokenId?: string } = {};

beforeAll(async () => {
  rt = await LocalRuntime.start('console');
  browser = await launchConsoleBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await rt?.dispose();
});

/**
 * What every page visited gets: it finished loading, has no serious or critical axe-core violation, fits the
 * viewport without sideways scrolling; and, given a name, its screenshot.
 */
async function check(page: Page, name?: string): Promise<void> {
  await settled(page);
  const where = `${name ?? (await heading(page))} (${page.url()})`;
  const violations = await seriousViolations(page);
  expect({ page: where, violations }).toEqual({ page: where, violations: [] });
  const { scrollWidth, innerWidth } = await sidewaysOverflow(page);
  const sideways = scrollWidth > innerWidth ? `${scrollWidth} px wide in ${innerWidth} px` : 'none';
  expect({ page: where, sideways }).toEqual({ page: where, sideways: 'none' });
  if (name) await screenshot(page, name);
}

function requireMade(key: 'requestId' | 'tokenId'): string {
  const value = made[key];
  if (!value) throw new Error(`no ${key}: an earlier test of this file failed`);
  return value;
}

/** The request form, filled for the seeded service account. */
async function fillRequestForm(page: Page, fields: { name: string; lifetimeDays: string; justification: string }) {
  const form = page.getByRole('form', { name: 'Request a token' });
  await form.getByLabel('Service account').selectOption('jenkins-bot');
  await form.getByLabel('Token name').fill(fields.name);
  const scopes = form.getByRole('group', { name: 'Scopes' });
  await scopes.getByRole('checkbox', { name: 'read:jira-work', exact: true }).check();
  await scopes.getByRole('checkbox', { name: 'read:jira-user', exact: true }).check();
  await form.getByLabel('Lifetime (days)').fill(fields.lifetimeDays);
  await form.getByLabel('Justification').fill(fields.justification);
  return form;
}

/** Alice's requests as the API lists them. */
async function requestsOfAlice(): Promise<{ requestId: string; name: string }[]> {
  const answer = await rt.api('GET', '/token-requests', { token: await rt.memberToken(SEED.alice) });
  expect(answer.status).toBe(200);
  return (answer.json as { items: { requestId: string; name: string }[] }).items;
}

describe('the web console', () => {
  it('a member signs in from the signed-out page and requests a token, which waits for approval', async () => {
    // Prepare
    alice = await browser.person(SEED.alice);
    await alice.page.goto(`${rt.urls.api}/`);
    expect(new URL(alice.page.url()).pathname).toBe('/console/');
    await alice.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await check(alice.page, 'signed-out');

    // Act
    await alice.page.getByRole('button', { name: 'Sign in' }).click();
    await signInAtProvider(alice.page, SEED.alice);
    await check(alice.page, 'home');
    await navigate(alice.page, 'Request a token');
    await check(alice.page, 'request-form');
    const form = await fillRequestForm(alice.page, {
      name: TOKEN_NAME,
      lifetimeDays: '30',
      justification: 'Jenkins pipeline console-ci reads Jira issues',
    });
    const created = await answerTo(alice.page, 'POST', /^\/token-requests$/, () =>
      form.getByRole('button', { name: 'Request token' }).click(),
    );

    // Assess
    expect(created.status).toBe(202);
    const { requestId } = created.body as { requestId: string };
    made.requestId = requestId;
    await alice.page.getByText('PENDING_APPROVAL', { exact: true }).first().waitFor();
    expect(new URL(alice.page.url()).pathname).toBe(`/console/requests/${requestId}`);
    expect(await heading(alice.page)).toBe(`Token request ${TOKEN_NAME}`);
    await check(alice.page, 'request-pending');
    expect((await rt.request(await rt.memberToken(SEED.alice), requestId)).status).toBe('PENDING_APPROVAL');
  });

  it("a lifetime the policy refuses shows the API's error next to Lifetime (days) and creates nothing", async () => {
    // Prepare
    const page = alice.page;
    await navigate(page, 'Request a token');
    const before = await requestsOfAlice();

    // Act: at most 90 days is the form's own bound; 5 days passes it, and the API refuses it (not above the
    // rotation lead time of 7 days).
    const form = await fillRequestForm(page, {
      name: 'console-too-short',
      lifetimeDays: '5',
      justification: 'a lifetime the policy refuses',
    });
    const navigations: string[] = [];
    const onNavigation = (frame: { url(): string; parentFrame(): unknown }) => {
      if (!frame.parentFrame()) navigations.push(frame.url());
    };
    page.on('framenavigated', onNavigation);
    const refused = await answerTo(page, 'POST', /^\/token-requests$/, () =>
      form.getByRole('button', { name: 'Request token' }).click(),
    );
    // The same body straight to the API: what the page must show (the browser may drop a body it has consumed).
    const direct = await rt.api('POST', '/token-requests', {
      token: await rt.memberToken(SEED.alice),
      body: {
        serviceAccount: 'jenkins-bot',
        name: 'console-too-short',
        scopes: ['read:jira-work', 'read:jira-user'],
        lifetimeDays: 5,
        justification: 'a lifetime the policy refuses',
        consumers: ['arn:aws:iam::000000000000:role/jenkins'],
      },
    });

    // Assess
    expect(refused.status).toBe(400);
    expect(direct.status).toBe(400);
    expect(direct.json).toMatchObject({ error: { code: expect.any(String), field: 'lifetimeDays' } });
    const apiError = (direct.json as { error: { field: string; message: string } }).error;
    // A client-side route changes the URL without loading a document; the form's page never loads another.
    expect({ navigations, at: new URL(page.url()).pathname }).toEqual({ navigations: [], at: '/console/request' });
    page.off('framenavigated', onNavigation);
    const lifetime = form.getByLabel('Lifetime (days)');
    await page.locator('#lifetimeDays-error').waitFor();
    expect(await lifetime.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await lifetime.getAttribute('aria-describedby')) ?? '';
    const messages = await Promise.all(
      describedBy.split(/\s+/).map((id) => page.locator(`[id="${id}"]`).textContent()),
    );
    expect(messages.join(' ')).toContain(apiError.message);
    expect(await page.getByText(apiError.message).isVisible()).toBe(true);
    await check(page, 'request-form-error');

    // Act: above the account's maximum the browser keeps the form from being sent at all.
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === 'POST') posts.push(r.url());
    };
    page.on('request', onRequest);
    await lifetime.fill('120');
    await form.getByRole('button', { name: 'Request token' }).click();
    const rangeOverflow = await lifetime.evaluate(
      (input) => (input as unknown as { validity: { rangeOverflow: boolean } }).validity.rangeOverflow,
    );
    await page.waitForTimeout(300);
    page.off('request', onRequest);

    // Assess
    expect(rangeOverflow).toBe(true);
    expect(posts).toEqual([]);
    expect(await requestsOfAlice()).toEqual(before);
  });

  it('the approvers sign in, open the request from Pending approvals and approve it', async () => {
    // Prepare: as many of the account's approvers as it requires (policy/policy.yaml).
    const requestId = requireMade('requestId');
    const { approvalsRequired } = await rt.request(await rt.memberToken(SEED.alice), requestId);
    const approvers = [SEED.approver1, SEED.approver2].slice(0, approvalsRequired);
    expect(approvers).toHaveLength(approvalsRequired);

    for (const [i, email] of approvers.entries()) {
      const approver = await browser.person(email);
      const page = approver.page;
      const last = i === approvers.length - 1;
      await signIn(approver, rt.urls.api);

      // Act
      await navigate(page, 'Pending approvals');
      if (i === 0) await check(page, 'pending-approvals');
      await page
        .getByRole('link', { name: `Review token request ${TOKEN_NAME} by ${SEED.alice}`, exact: true })
        .click();
      await page.getByRole('button', { name: 'Approve' }).waitFor();
      expect(await heading(page)).toBe('Review approval');
      if (i === 0) await check(page, 'review');
      const decided = await answerTo(page, 'POST', /^\/approvals\/[^/]+\/decision$/, () =>
        page.getByRole('button', { name: 'Approve' }).click(),
      );

      // Assess
      expect(decided.status).toBe(200);
      await page.getByText(last ? 'You approved. The token request is now' : 'You approved.').waitFor();
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      if (last) await check(page, 'review-decided');
      await approver.context.close();
    }
    const issued = await rt.waitForStatus(await rt.memberToken(SEED.alice), requestId, 'ISSUED');
    expect(issued.approvals).toEqual(
      approvers.map((approver) => expect.objectContaining({ approver, decision: 'APPROVED' })),
    );
    made.tokenId = issued.tokenId;
  });

  it('the member sees the request ISSUED with its secret name, and Rotate now starts a rotation', async () => {
    // Prepare
    const requestId = requireMade('requestId');
    const tokenId = requireMade('tokenId');
    const page = alice.page;

    // Act
    await navigate(page, 'My requests');
    await check(page, 'my-requests');
    await page.getByRole('table', { name: 'My requests' }).getByRole('link', { name: TOKEN_NAME }).click();
    await page.getByText('ISSUED', { exact: true }).first().waitFor();

    // Assess
    expect(new URL(page.url()).pathname).toBe(`/console/requests/${requestId}`);
    expect(await page.getByText(SECRET_NAME, { exact: true }).count()).toBeGreaterThan(0);
    await check(page, 'request');

    // Act
    await navigate(page, 'My tokens');
    await check(page, 'my-tokens');
    await page.getByRole('table', { name: 'My tokens' }).getByRole('link', { name: TOKEN_NAME }).click();
    await page.getByRole('button', { name: 'Rotate now' }).waitFor();

    // Assess
    expect(new URL(page.url()).pathname).toBe(`/console/tokens/${tokenId}`);
    expect(await heading(page)).toBe(`Token ${TOKEN_NAME}`);
    await page.getByText('ACTIVE', { exact: true }).first().waitFor();
    expect(await page.getByText(SECRET_NAME, { exact: true }).count()).toBeGreaterThan(0);
    expect(await page.getByText(`--secret-id ${SECRET_NAME}`, { exact: false }).count()).toBe(1);
    // Admin-only parts are not shown to a member.
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await check(page, 'token');

    // Act
    const rotated = await answerTo(page, 'POST', new RegExp(`^/tokens/${tokenId}/rotate$`), () =>
      page.getByRole('button', { name: 'Rotate now' }).click(),
    );

    // Assess: accepted, and the page follows the rotation to the next generation.
    expect(rotated.status).toBe(202);
    await page.locator('dt:text-is("Generation") + dd:text-is("2")').waitFor({ timeout: 30_000 });
    await page.getByText('ACTIVE', { exact: true }).first().waitFor();
    await check(page, 'token-rotated');
  });

  it('an admin finds the token in All tokens, revokes it with a reason and sees its audit timeline', async () => {
    // Prepare
    const tokenId = requireMade('tokenId');
    admin = await browser.person(SEED.admin);
    await signIn(admin, rt.urls.api);
    const page = admin.page;

    // Act
    await navigate(page, 'All tokens');
    await check(page, 'all-tokens');
    await page.getByRole('table', { name: 'Tokens' }).getByRole('link', { name: TOKEN_NAME }).click();
    await page.getByRole('heading', { name: 'Audit timeline' }).waitFor();
    await check(page, 'token-admin');
    await page.getByRole('button', { name: 'Revoke', exact: true }).click();
    const confirm = page.getByRole('form', { name: 'Confirm revoking the token' });
    await confirm.getByLabel('Reason').fill('Pipeline retired');
    await check(page, 'token-revoke-confirm');
    const revoked = await answerTo(page, 'POST', new RegExp(`^/tokens/${tokenId}/revoke$`), () =>
      confirm.getByRole('button', { name: 'Confirm revoke' }).click(),
    );

    // Assess
    expect(revoked.status).toBe(200);
    await page.getByText('The token is revoked.').waitFor();
    await page.getByText('REVOKED', { exact: true }).first().waitFor();
    const timeline = page.getByRole('region', { name: 'Audit timeline' }).getByRole('listitem');
    await page.getByRole('region', { name: 'Audit timeline' }).getByText('Pipeline retired').waitFor();
    const entries = await timeline.allTextContents();
    expect(entries.length).toBeGreaterThanOrEqual(3);
    expect(entries.some((e) => e.includes(SEED.admin))).toBe(true);
    await check(page, 'token-revoked');
    const after = await rt.api('GET', `/tokens/${tokenId}`, { token: await rt.memberToken(SEED.admin) });
    expect((after.json as { status: string }).status).toBe('REVOKED');
  });

  it("a member opening another member's token is told it is not found, as the API says", async () => {
    // Prepare
    const tokenId = requireMade('tokenId');
    const bob = await browser.person(SEED.bob);

    // Act: the link is opened signed out; sign-in comes back to it.
    const [answer] = await Promise.all([
      bob.page.waitForResponse((r) => new URL(r.url()).pathname === `/tokens/${tokenId}`),
      signIn(bob, rt.urls.api, `/console/tokens/${tokenId}`),
    ]);

    // Assess
    expect(answer.status()).toBe(404);
    expect(new URL(bob.page.url()).pathname).toBe(`/console/tokens/${tokenId}`);
    const alert = bob.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Not found: .*not yours to see/);
    expect(await bob.page.getByText(SECRET_NAME).count()).toBe(0);
    await check(bob.page, 'token-not-found');
    await bob.context.close();
  });

  it('an access token about to expire signs the member in again and comes back to the same page', async () => {
    // Prepare: the provider's authorization-code tokens live an hour (local/oidc.ts); the browser's clock is moved
    // to 20 s before the end, inside the console's margin, while the token is still valid at the API (so the ID
    // token of the next sign-in is too).
    const member = await browser.person(SEED.alice);
    await member.context.clock.install();
    await signIn(member, rt.urls.api);
    await navigate(member.page, 'My tokens');
    await member.page.clock.fastForward(3_600_000 - 20_000);

    // Act
    await member.page
      .getByRole('navigation', { name: 'Console' })
      .getByRole('link', { name: 'My requests', exact: true })
      .click();
    await signInAtProvider(member.page, SEED.alice);

    // Assess
    expect(new URL(member.page.url()).pathname).toBe('/console/requests');
    await member.page.getByRole('heading', { level: 1, name: 'My requests' }).waitFor();
    await settled(member.page);
    expect(await member.page.getByRole('link', { name: TOKEN_NAME }).count()).toBe(1);

    // Act: the API refuses the token (401, as the authorizer does once it expired there), past the first seconds
    // after a sign-in (a token refused at once would be refused again: that one is shown, below).
    await member.page.clock.fastForward(20_000);
    let refused = 0;
    await member.page.route(
      (url) => url.pathname === '/tokens',
      async (route) => {
        if (refused++ === 0) {
          await route.fulfill({ status: 401, contentType: 'application/json', body: '{"message":"Unauthorized"}' });
        } else await route.continue();
      },
    );
    await member.page
      .getByRole('navigation', { name: 'Console' })
      .getByRole('link', { name: 'My tokens', exact: true })
      .click();
    await signInAtProvider(member.page, SEED.alice);

    // Assess
    expect(new URL(member.page.url()).pathname).toBe('/console/tokens');
    await member.page.getByRole('heading', { level: 1, name: 'My tokens' }).waitFor();
    await settled(member.page);
    expect(refused).toBe(2);
    expect(await member.page.getByRole('link', { name: TOKEN_NAME }).count()).toBe(1);

    // Act: a token refused right after its sign-in is not sent round again (no loop): the refusal is shown.
    await member.page.unroute((url) => url.pathname === '/tokens');
    await member.page.route(
      (url) => url.pathname === '/token-requests',
      (route) => route.fulfill({ status: 401, contentType: 'application/json', body: '{"message":"Unauthorized"}' }),
    );
    await member.page
      .getByRole('navigation', { name: 'Console' })
      .getByRole('link', { name: 'My requests', exact: true })
      .click();

    // Assess
    await member.page.getByRole('alert').waitFor();
    expect(await member.page.getByRole('alert').textContent()).toContain('Unauthorized');
    expect(new URL(member.page.url()).pathname).toBe('/console/requests');
    await member.context.close();
  });

  it('the main pages fit 375 px, 200 % zoom (640 px) and a desktop without sideways scrolling', async () => {
    // Prepare
    const requestId = requireMade('requestId');
    const tokenId = requireMade('tokenId');
    const widths = [375, 640, 1280];
    const visits: { who: Person; name: string; open: (page: Page) => Promise<void> }[] = [
      { who: alice, name: 'request-form', open: (p) => navigate(p, 'Request a token') },
      { who: alice, name: 'my-requests', open: (p) => navigate(p, 'My requests') },
      {
        who: alice,
        name: 'request',
        open: async (p) => {
          await navigate(p, 'My requests');
          await p.getByRole('link', { name: TOKEN_NAME }).click();
          await p.waitForURL((u) => u.pathname === `/console/requests/${requestId}`);
        },
      },
      { who: alice, name: 'my-tokens', open: (p) => navigate(p, 'My tokens') },
      { who: alice, name: 'pending-approvals', open: (p) => navigate(p, 'Pending approvals') },
      { who: admin, name: 'all-tokens', open: (p) => navigate(p, 'All tokens') },
      {
        who: admin,
        name: 'token',
        open: async (p) => {
          await navigate(p, 'All tokens');
          await p.getByRole('link', { name: TOKEN_NAME }).click();
          await p.waitForURL((u) => u.pathname === `/console/tokens/${tokenId}`);
          await p.getByRole('heading', { name: 'Audit timeline' }).waitFor();
        },
      },
      { who: admin, name: 'all-requests', open: (p) => navigate(p, 'All requests') },
      { who: admin, name: 'inventory', open: (p) => navigate(p, 'Inventory') },
      { who: alice, name: 'my-personal-tokens', open: (p) => navigate(p, 'My personal tokens') },
      { who: alice, name: 'my-exceptions', open: (p) => navigate(p, 'Exceptions') },
      {
        who: alice,
        name: 'request-exception',
        open: async (p) => {
          await navigate(p, 'Exceptions');
          await p.getByRole('main').getByRole('link', { name: 'Request an exception' }).click();
          await p.getByRole('heading', { level: 1, name: 'Request an exception' }).waitFor();
        },
      },
      { who: admin, name: 'all-exceptions', open: (p) => navigate(p, 'All exceptions') },
      {
        who: alice,
        name: 'home',
        open: async (p) => {
          await p.getByRole('banner').getByRole('link', { name: 'Token Warden' }).click();
          await p.getByRole('heading', { level: 1, name: 'Token Warden' }).waitFor();
        },
      },
    ];

    // Act
    const overflowing: string[] = [];
    for (const visit of visits) {
      const page = visit.who.page;
      await page.setViewportSize({ width: 1280, height: 900 });
      await visit.open(page);
      await settled(page);
      for (const width of widths) {
        await page.setViewportSize({ width, height: 900 });
        const { scrollWidth, innerWidth } = await sidewaysOverflow(page);
        if (scrollWidth > innerWidth) overflowing.push(`${visit.name} at ${width} px: ${scrollWidth} > ${innerWidth}`);
        if (width !== 1280) await screenshot(page, `${visit.name}.${width}`);
      }
      // The narrowest layout is a page of its own for axe too (contrast and target size change with it).
      await page.setViewportSize({ width: 375, height: 900 });
      const violations = await seriousViolations(page);
      expect({ page: `${visit.name} at 375 px`, violations }).toEqual({
        page: `${visit.name} at 375 px`,
        violations: [],
      });
      await page.setViewportSize({ width: 1280, height: 900 });
      if (
        ['all-requests', 'inventory', 'my-personal-tokens', 'request-exception', 'all-exceptions'].includes(visit.name)
      ) {
        await check(page, visit.name);
      }
    }

    // Assess
    expect(overflowing).toEqual([]);
  });

  it('signing out returns to the signed-out page and leaves the access token nowhere', async () => {
    // Prepare
    const page = alice.page;

    // Act
    await page.getByRole('button', { name: 'Sign out' }).click();

    // Assess
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByText('You are signed out.').waitFor();
    expect(await page.getByText(`Signed in as ${SEED.alice}`).count()).toBe(0);
    await check(page, 'signed-out-after');
    const tokens = [...browser.observed.bearerTokens];
    expect(tokens.length).toBeGreaterThan(0);
    const kept = await page.evaluate<{ localStorage: number; cookie: string; sessionStorage: string }>(
      `({ localStorage: localStorage.length, cookie: document.cookie,
          sessionStorage: JSON.stringify(Object.entries(sessionStorage)) })`,
    );
    expect(kept.localStorage).toBe(0);
    for (const token of tokens) {
      expect(kept.cookie.includes(token)).toBe(false);
      expect(kept.sessionStorage.includes(token)).toBe(false);
    }
    const cookies = JSON.stringify(await alice.context.cookies());
    expect(tokens.filter((token) => cookies.includes(token))).toEqual([]);
    const urls = browser.observed.requestUrls;
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((url) => tokens.some((token) => url.includes(token)))).toEqual([]);
    expect(urls.filter((url) => /[?&#](access_token|id_token)=/.test(url))).toEqual([]);
    // Nothing signed in is left: the next call asks for a sign-in, and the API is not called.
    const calls: string[] = [];
    page.on('request', (r) => {
      if (r.headers().authorization) calls.push(r.url());
    });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/local/oidc/authorize');
    expect(calls).toEqual([]);
  });

  it('serves the console with its security headers, and the browser reported no CSP violation on the journey', async () => {
    // Prepare
    const index = await rt.http(`${rt.urls.api}/console/`);
    const deep = await rt.http(`${rt.urls.api}/console/tokens/some-token`);
    const root = await rt.http(`${rt.urls.api}/`);
    const assets = [...index.text.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    const assetAnswers = await Promise.all(assets.map((path) => rt.http(`${rt.urls.api}${path}`)));

    // Assess
    expect(index.status).toBe(200);
    expect(deep.status).toBe(200);
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toMatch(/\/console\/$/);
    expect(index.headers.get('cache-control')).toBe('no-store');
    expect(assets.length).toBe(2);
    for (const answer of assetAnswers) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toContain('immutable');
    }
    const answers = [
      { url: '/console/', headers: Object.fromEntries(index.headers) },
      { url: '/console/tokens/some-token', headers: Object.fromEntries(deep.headers) },
      { url: '/', headers: Object.fromEntries(root.headers) },
      ...assetAnswers.map((a, i) => ({ url: assets[i] ?? '', headers: Object.fromEntries(a.headers) })),
      ...browser.observed.consoleResponses,
    ];
    expect(browser.observed.consoleResponses.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const { url, headers } of answers) {
      const csp = headers['content-security-policy'] ?? '';
      const directives = new Map(
        csp
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .filter((d) => d[0])
          .map(([name, ...values]) => [name as string, values]),
      );
      if (!directives.get('default-src')?.includes("'self'")) problems.push(`${url}: default-src is not 'self'`);
      if (directives.get('frame-ancestors')?.join(' ') !== "'none'") problems.push(`${url}: frame-ancestors`);
      if (/'unsafe-(inline|eval)'/.test(csp)) problems.push(`${url}: allows unsafe-inline or unsafe-eval`);
      if (headers['x-content-type-options'] !== 'nosniff') problems.push(`${url}: no nosniff`);
      if (headers['referrer-policy'] !== 'no-referrer') problems.push(`${url}: referrer-policy`);
    }
    expect(problems).toEqual([]);
    expect(browser.observed.cspViolations).toEqual([]);
    // The refusals the journey provoked (404, 401, 400) are the only errors the pages logged.
    expect(
      browser.observed.consoleErrors.filter(
        (e) => !/Failed to load resource: the server responded with a status of (400|401|404)/.test(e),
      ),
    ).toEqual([]);
  });
});
