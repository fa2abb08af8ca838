/**
 * Approver sign-in (`approverSignIn: true`), end to end: the local runtime runs a policy that requires it, an
 * approver opens the emailed link in a real browser, signs in at the local identity provider (authorization code
 * with PKCE) and decides; someone signed in as another person cannot.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime, type RequestView, requestBody, SEED } from '../../local/driver';
import { launchBrowser } from './support/tools';

jest.setTimeout(180_000);

let rt: LocalRuntime;
let alice: string;
const policyFile = join(tmpdir(), `token-warden-e2e-sign-in-policy-${process.pid}.yaml`);

beforeAll(async () => {
  const shipped = readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8');
  writeFileSync(policyFile, `${shipped}\napproverSignIn: true\n`);
  rt = await LocalRuntime.start('sign-in', { policy: policyFile });
  alice = await rt.memberToken(SEED.alice);
}, 240_000);

afterAll(async () => {
  await rt?.dispose();
  rmSync(policyFile, { force: true });
});

async function pending(name: string): Promise<{ requestId: string; link: string }> {
  const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody(name) });
  expect(created.status).toBe(202);
  const { requestId } = created.json as RequestView;
  const links = await rt.waitForApprovalLinks(requestId, 2);
  const mine = links.find((l) => l.to === SEED.approver1);
  if (!mine) throw new Error('no link for approver1');
  return { requestId, link: mine.link };
}

describe('approver sign-in through the identity provider', () => {
  it('a mail scanner opening the link is sent to sign in and decides nothing', async () => {
    const { requestId, link } = await pending('sign-in-scanner');
    const opened = await rt.http(link);
    expect(opened.status).toBe(302);
    const location = new URL(opened.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${rt.urls.api}/local/oidc/authorize`);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(opened.text).not.toContain('name="csrf"');
    // Following it shows the provider's form; still nothing decided.
    const form = await rt.http(location.toString());
    expect(form.status).toBe(200);
    expect(form.text).toContain('name="email"');
    // A POST without a form issued after sign-in is refused.
    const sig = new URL(link).searchParams.get('sig') ?? '';
    const forged = await rt.http(`${rt.urls.api}${new URL(link).pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ decision: 'approve', sig, csrf: 'made-up' }).toString(),
    });
    expect(forged.status).toBe(403);
    expect((await rt.request(alice, requestId)).status).toBe('PENDING_APPROVAL');
  });

  it('the approver signs in in a real browser and approves; the token is issued', async () => {
    const { requestId, link } = await pending('sign-in-browser');
    const browser = await launchBrowser();
    // Chromium reports what a page's Content-Security-Policy blocks (a redirect, a form post) as console errors.
    const blocked: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) blocked.push(m.text());
      });
      await page.goto(link);
      // The link went to the identity provider's sign-in form, pre-filled with the approver's email.
      expect(new URL(page.url()).pathname).toBe('/local/oidc/authorize');
      await expect(page.locator('#email').inputValue()).resolves.toBe(SEED.approver1);
      await page.screenshot({ path: join(rt.dataDir, 'sign-in-form.png'), fullPage: true });
      await Promise.all([page.waitForURL(/\/approvals\/sign-in\/callback/), page.locator('#sign-in').click()]);
      rt.received.push(await page.content());
      await expect(page.locator('h1').textContent()).resolves.toBe('Approve token request?');
      await expect(page.locator('#message').textContent()).resolves.toBe(`You are signed in as ${SEED.approver1}.`);
      await expect(page.locator('body').textContent()).resolves.toContain(SEED.alice);
      // The browser binding is gone once used.
      const cookies = await browser.context.cookies(rt.urls.api);
      expect(cookies.filter((c) => c.name.startsWith('tw_sign_in_'))).toEqual([]);
      await page.screenshot({ path: join(rt.dataDir, 'sign-in-approval-page.png'), fullPage: true });

      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/approvals/')),
        page.getByRole('button', { name: 'Approve' }).click(),
      ]);
      expect(response.status()).toBe(200);
      await page.waitForLoadState();
      await expect(page.locator('h1').textContent()).resolves.toBe('Decision recorded');
    } finally {
      await browser.close();
    }
    expect(blocked).toEqual([]);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    expect(issued.approvals).toEqual([expect.objectContaining({ approver: SEED.approver1, decision: 'APPROVED' })]);
    const audit = await rt.api('GET', `/audit?requestId=${requestId}`, { token: await rt.memberToken(SEED.admin) });
    expect(JSON.stringify(audit.json)).toContain('"signedIn":true');
  });

  it('someone signed in as another approver is refused with the same link, and nothing is recorded', async () => {
    const { requestId, link } = await pending('sign-in-impostor');
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(link);
      await page.locator('#email').fill(SEED.approver2);
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.url().includes('/approvals/sign-in/callback')),
        page.locator('#sign-in').click(),
      ]);
      expect(answer.status()).toBe(403);
      await page.waitForLoadState();
      await expect(page.locator('h1').textContent()).resolves.toBe('Signed in as someone else');
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      await page.screenshot({ path: join(rt.dataDir, 'sign-in-impostor.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    const view = await rt.request(alice, requestId);
    expect(view.status).toBe('PENDING_APPROVAL');
    expect(view.approvals).toEqual([]);
  });
});
