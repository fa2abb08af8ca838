/**
 * End to end: a member asks for a token, an approver approves from the emailed link (over HTTP, and in a real
 * browser), the workflow issues the token into Secrets Manager, and CI reads it — against the real local runtime.
 */
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { csrfOf, LocalRuntime, linkLines, type RequestView, requestBody, SEED, waitFor } from '../../local/driver';
import { awsClientConfig, scanForLeaks } from './support/leaks';
import { launchBrowser, runAws } from './support/tools';

jest.setTimeout(300_000);

let rt: LocalRuntime;
let alice: string;

beforeAll(async () => {
  rt = await LocalRuntime.start('issuance');
  alice = await rt.memberToken(SEED.alice);
});

afterAll(async () => {
  await rt?.dispose();
});

/** Submits a request as alice and returns its representation (asserting the 202). */
async function submit(name: string): Promise<RequestView> {
  const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody(name) });
  expect(created.status).toBe(202);
  return created.json as RequestView;
}

/** Request, approve over HTTP, wait for ISSUED. */
async function issue(name: string): Promise<RequestView> {
  const { requestId } = await submit(name);
  const [first] = await rt.waitForApprovalLinks(requestId, 2);
  const { answer } = await rt.decide(first!.link, 'approve');
  expect(answer.status).toBe(200);
  return rt.waitForStatus(alice, requestId, 'ISSUED');
}

/** The status of the issuance execution of a request (its name is the requestId). */
async function executionStatus(requestId: string): Promise<string | undefined> {
  const sfn = new SFNClient(awsClientConfig(rt));
  try {
    for (const machine of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
      const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn }));
      const found = page.executions?.find((e) => e.name === requestId);
      if (found) return found.status;
    }
    return undefined;
  } finally {
    sfn.destroy();
  }
}

async function readSecret(secretId: string): Promise<string> {
  const sm = new SecretsManagerClient(awsClientConfig(rt));
  try {
    const { SecretString } = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString) throw new Error(`${secretId} has no string value`);
    return SecretString;
  } finally {
    sm.destroy();
  }
}

/** `GET /myself` at the fake Atlassian with the service account's Basic credential. */
async function myself(token: string) {
  return rt.http(`${rt.urls.atlassian}/ex/jira/${SEED.cloudId}/rest/api/3/myself`, {
    headers: { authorization: `Basic ${Buffer.from(`${SEED.serviceAccountEmail}:${token}`).toString('base64')}` },
  });
}

describe('Token issuance through the local runtime', () => {
  it('answers GET /health without authentication', async () => {
    const health = await rt.api('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
  });

  it('issues a token once an approver approves from the emailed link, and the token works at Atlassian', async () => {
    // Prepare / Act: the member asks.
    const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody('ci-main') });
    expect(created.status).toBe(202);
    const request = created.json as RequestView;
    expect(request).toMatchObject({ status: 'PENDING_APPROVAL', requester: SEED.alice, approvalsRequired: 1 });
    expect(request).not.toHaveProperty('tokenId');
    expect(request).not.toHaveProperty('secretArn');

    // One email per eligible approver, one recipient each, the link bare on its own line.
    const links = await rt.waitForApprovalLinks(request.requestId, 2);
    expect(links.map((l) => l.to).sort()).toEqual([SEED.approver1, SEED.approver2]);
    for (const { email, link } of links) {
      expect(email.destination.to).toHaveLength(1);
      expect(linkLines(email.body.text ?? '')).toEqual([link]);
      expect(link.startsWith(`${rt.urls.api}/approvals/`)).toBe(true);
      expect(new URL(link).searchParams.get('sig')).toBeTruthy();
    }
    const first = links.find((l) => l.to === SEED.approver1)!;

    // Opening the link shows the request and decides nothing (mail scanners pre-open links).
    const page = await rt.openLink(first.link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).toContain(SEED.alice);
    expect(page.text).toContain('jenkins-bot');
    expect(page.text).toContain('read:jira-user');
    expect(page.text).toContain('30 days');
    expect(page.text).toContain('Jenkins pipeline ci-main reads Jira issues');
    const csrf = csrfOf(page.text);
    expect(csrf).toBeTruthy();
    const untouched = await rt.request(alice, request.requestId);
    expect(untouched.status).toBe('PENDING_APPROVAL');
    expect(untouched.approvals).toEqual([]);

    // Pressing Approve posts the form.
    const decided = await rt.postDecision(first.link, { decision: 'approve', csrf: csrf! });
    expect(decided.status).toBe(200);
    expect(decided.headers.get('referrer-policy')).toBe('no-referrer');
    expect(decided.headers.get('cache-control')).toBe('no-store');
    expect(decided.text).toContain('Decision recorded');

    // Assess: the workflow issues the token.
    const issued = await rt.waitForStatus(alice, request.requestId, 'ISSUED');
    expect(issued).toMatchObject({
      secretName: 'token-warden.jenkins-bot.ci-main',
      approvals: [{ approver: SEED.approver1, decision: 'APPROVED' }],
    });
    expect(issued.tokenId).toMatch(/^\S+$/);
    expect(issued.secretArn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden\.jenkins-bot\.ci-main-/,
    );
    expect(issued.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    // The secret holds a token the fake Atlassian accepts for the service account.
    const value = await readSecret(issued.secretName!);
    expect((await myself(value)).status).toBe(200);
    expect((await myself(`${value}x`)).status).toBe(401);

    const token = await rt.api('GET', `/tokens/${issued.tokenId}`, { token: alice });
    expect(token.status).toBe(200);
    expect(token.json).toMatchObject({
      tokenId: issued.tokenId,
      requestId: request.requestId,
      status: 'ACTIVE',
      generation: 1,
      owner: SEED.alice,
      secretName: issued.secretName,
      secretArn: issued.secretArn,
    });

    const fake = (await rt.fakeTokens()).filter((t) => t.label.startsWith(`token-warden:${issued.tokenId}:`));
    expect(fake.map((t) => [t.label, t.status])).toEqual([[`token-warden:${issued.tokenId}:g1`, 'ACTIVE']]);
    // The lifetime asked for (30 days from issuance; the clock was not moved) is the one Atlassian enforces.
    const now = Date.parse(((await rt.api('GET', '/local/clock')).json as { now: string }).now);
    expect(Math.abs(Date.parse(issued.expiresAt!) - (now + 30 * 86_400_000))).toBeLessThan(5 * 60_000);
    expect(Date.parse(fake[0]!.expiry)).toBe(Date.parse(issued.expiresAt!));

    // The functions counted the request, the approval and the issuance: EMF lines, read back by the local runtime.
    const counted = async (name: string) =>
      ((await rt.api('GET', `/local/metrics?name=${name}`)).json as { metrics: { value: number }[] }).metrics.reduce(
        (sum, m) => sum + m.value,
        0,
      );
    expect(await counted('Requested')).toBeGreaterThanOrEqual(1);
    expect(await counted('Approved')).toBeGreaterThanOrEqual(1);
    expect(await counted('Issued')).toBeGreaterThanOrEqual(1);

    // The requester hears about it, with the secret's name.
    const toAlice = await waitFor(
      async () => {
        const all = (await rt.emailsAbout(request.requestId)).filter((e) => e.destination.to.includes(SEED.alice));
        return all.length > 0 ? all : undefined;
      },
      30_000,
      'the ISSUED email to the requester',
    );
    expect(toAlice.map((e) => e.subject)).toEqual([expect.stringMatching(/issued/i)]);
    expect(toAlice[0]!.body.text).toContain('token-warden.jenkins-bot.ci-main');
    // Every approver is told the outcome too, and only the two approval emails carried links.
    const outcomes = await waitFor(
      async () => {
        const all = (await rt.emailsAbout(request.requestId)).filter((e) => linkLines(e.body.text ?? '').length === 0);
        return all.length >= 3 ? all : undefined;
      },
      30_000,
      'the outcome emails',
    );
    expect(outcomes.map((e) => e.destination.to).sort()).toEqual([[SEED.alice], [SEED.approver1], [SEED.approver2]]);
    expect(await rt.approvalLinks(request.requestId)).toHaveLength(2);
  });

  it('refuses a used link and, once the request is decided, the other approver’s link', async () => {
    const { requestId } = await submit('ci-used-link');
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const one = links.find((l) => l.to === SEED.approver1)!;
    const two = links.find((l) => l.to === SEED.approver2)!;
    // The second approver opened the page before the first decided, so they hold a valid form.
    const twoCsrf = csrfOf((await rt.openLink(two.link)).text);
    expect(twoCsrf).toBeTruthy();
    const onePage = await rt.openLink(one.link);
    const oneCsrf = csrfOf(onePage.text)!;

    expect((await rt.postDecision(one.link, { decision: 'approve', csrf: oneCsrf })).status).toBe(200);
    const again = await rt.postDecision(one.link, { decision: 'approve', csrf: oneCsrf });
    expect(again.status).toBe(409);
    expect(again.headers.get('referrer-policy')).toBe('no-referrer');
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(csrfOf(again.text)).toBeUndefined();

    const late = await rt.postDecision(two.link, { decision: 'reject', csrf: twoCsrf! });
    expect(late.status).toBe(409);
    const lateGet = await rt.openLink(two.link);
    expect(lateGet.status).toBe(409);
    expect(csrfOf(lateGet.text)).toBeUndefined();

    // The late reject changed nothing.
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    expect(issued.approvals).toEqual([expect.objectContaining({ approver: SEED.approver1, decision: 'APPROVED' })]);
  });

  it('refuses a decision without the page’s csrf value or with a tampered signature', async () => {
    const { requestId } = await submit('ci-forged');
    const [link] = await rt.waitForApprovalLinks(requestId, 2);
    const url = new URL(link!.link);
    const sig = url.searchParams.get('sig')!;
    // A character well inside the MAC: the last one may carry only padding bits.
    const at = sig.length - 10;
    const forged = `${sig.slice(0, at)}${sig[at] === 'Q' ? 'R' : 'Q'}${sig.slice(at + 1)}`;
    const tampered = `${url.origin}${url.pathname}?sig=${encodeURIComponent(forged)}`;
    const unknownId = `${url.origin}/approvals/apv_${'a'.repeat(26)}?sig=${encodeURIComponent(sig)}`;
    for (const bad of [tampered, `${url.origin}${url.pathname}`, unknownId]) {
      const page = await rt.openLink(bad);
      expect({ bad, status: page.status, form: csrfOf(page.text) }).toEqual({ bad, status: 403, form: undefined });
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('cache-control')).toBe('no-store');
    }
    const csrf = csrfOf((await rt.openLink(link!.link)).text)!;
    expect((await rt.postDecision(link!.link, { decision: 'approve' })).status).toBe(403);
    expect((await rt.postDecision(link!.link, { decision: 'approve', csrf: `${csrf}x` })).status).toBe(403);
    expect((await rt.postDecision(link!.link, { decision: 'approve', csrf, sig: forged })).status).toBe(403);
    expect((await rt.request(alice, requestId)).status).toBe('PENDING_APPROVAL');
    // The genuine form still works afterwards.
    expect((await rt.postDecision(link!.link, { decision: 'approve', csrf })).status).toBe(200);
    await rt.waitForStatus(alice, requestId, 'ISSUED');
  });

  it('lets CI read the issued token with the AWS CLI', async () => {
    const issued = await issue('ci-cli');
    const cli = await runAws(rt.urls.aws, [
      'secretsmanager',
      'get-secret-value',
      '--secret-id',
      'token-warden.jenkins-bot.ci-cli',
      '--query',
      'SecretString',
      '--output',
      'text',
    ]);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
    const value = cli.stdout.trim();
    expect(value).toBe(await readSecret(issued.secretArn!));
    expect((await myself(value)).status).toBe(200);

    // The Jenkins credentials provider reads the type and username from the tags.
    const described = await runAws(rt.urls.aws, [
      'secretsmanager',
      'describe-secret',
      '--secret-id',
      'token-warden.jenkins-bot.ci-cli',
      '--output',
      'json',
    ]);
    expect(described.code).toBe(0);
    const tags = (JSON.parse(described.stdout) as { Tags?: { Key: string; Value: string }[] }).Tags ?? [];
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: 'jenkins:credentials:type', Value: 'usernamePassword' },
        { Key: 'jenkins:credentials:username', Value: SEED.serviceAccountEmail },
      ]),
    );
  });

  it('approves from the emailed link in a real browser', async () => {
    // Markup in the justification must reach the approver as text, never as markup.
    const justification = 'Jenkins <img src=x onerror="document.title=1"><b id="injected">bold</b>';
    const created = await rt.api('POST', '/token-requests', {
      token: alice,
      body: requestBody('ci-browser', { justification }),
    });
    expect(created.status).toBe(202);
    const { requestId } = created.json as RequestView;
    const [link] = await rt.waitForApprovalLinks(requestId, 2);
    const browser = await launchBrowser();
    // Chromium reports what the pages' Content-Security-Policy blocks (an inline style, a form post) as console errors.
    const blocked: string[] = [];
    try {
      const page = await browser.context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) blocked.push(m.text());
      });
      const opened = await page.goto(link!.link);
      expect(opened?.status()).toBe(200);
      rt.received.push(await page.content());
      await expect(page.locator('h1').textContent()).resolves.toContain('Approve token request?');
      await expect(page.locator('body').textContent()).resolves.toContain(SEED.alice);
      await expect(page.locator('body').textContent()).resolves.toContain(justification);
      expect(await page.locator('img, #injected').count()).toBe(0);
      await page.screenshot({ path: join(rt.dataDir, 'approval-page.png'), fullPage: true });
      expect((await rt.request(alice, requestId)).status).toBe('PENDING_APPROVAL');

      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/approvals/')),
        page.getByRole('button', { name: 'Approve' }).click(),
      ]);
      expect(response.status()).toBe(200);
      await page.waitForLoadState();
      rt.received.push(await page.content());
      await expect(page.locator('h1').textContent()).resolves.toBe('Decision recorded');
      await expect(page.locator('#message').textContent()).resolves.toContain('Your approval was recorded');
      await page.screenshot({ path: join(rt.dataDir, 'approval-recorded.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    expect(blocked).toEqual([]);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    expect(issued.approvals).toEqual([expect.objectContaining({ decision: 'APPROVED' })]);
  });

  it('decides with a link emailed before a restart, minting exactly one token and sending no new approval email', async () => {
    const { requestId } = await submit('ci-restart');
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const mailBefore = (await rt.emails()).length;
    const mintedBefore = (await rt.fakeTokens()).length;

    // Ctrl-C ends the first process cleanly before the second starts.
    expect(await rt.restart()).toEqual({ code: 0, signal: null });

    // The re-driven execution runs `Request approval` again; wait until it has, so a second email would show.
    const calls = async () => (await rt.api('GET', '/local/calls')).json as { calls: { operation: string }[] };
    await waitFor(
      async () => (await calls()).calls.some((c) => /RequestApproval/.test(c.operation)),
      30_000,
      'the re-driven Request approval step',
    );

    const link = links.find((l) => l.to === SEED.approver2)!;
    const { page, answer } = await rt.decide(link.link, 'approve');
    expect(page.status).toBe(200);
    expect(answer.status).toBe(200);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');

    const minted = (await rt.fakeTokens()).filter((t) => t.label.startsWith(`token-warden:${issued.tokenId}:`));
    expect(minted.map((t) => t.status)).toEqual(['ACTIVE']);
    // Nothing finished before the restart was run again: the only new token is this request's.
    expect((await rt.fakeTokens()).length).toBe(mintedBefore + 1);
    expect((await myself(await readSecret(issued.secretName!))).status).toBe(200);
    expect(await rt.approvalLinks(requestId)).toHaveLength(2);
    // Only the outcome emails came after the restart: no approval mail for any request was re-sent.
    const after = (await rt.emails()).slice(mailBefore);
    expect(after.filter((e) => linkLines(e.body.text ?? '').length > 0)).toEqual([]);
  });

  it('mints one token when both approvers press Approve at the same moment', async () => {
    const { requestId } = await submit('ci-race-approve');
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const forms = await Promise.all(
      links.map(async (l) => ({ link: l.link, csrf: csrfOf((await rt.openLink(l.link)).text)! })),
    );
    const answers = await Promise.all(forms.map((f) => rt.postDecision(f.link, { decision: 'approve', csrf: f.csrf })));
    // With one approval required, the first decision decides; the other finds the request decided.
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    expect(issued.approvals).toHaveLength(1);
    const minted = (await rt.fakeTokens()).filter((t) => t.label.startsWith(`token-warden:${issued.tokenId}:`));
    expect(minted.map((t) => t.status)).toEqual(['ACTIVE']);
  });

  it('ends consistently when the requester cancels while an approver approves', async () => {
    const { requestId } = await submit('ci-race-cancel');
    const [link] = await rt.waitForApprovalLinks(requestId, 2);
    const csrf = csrfOf((await rt.openLink(link!.link)).text)!;
    const [approve, cancel] = await Promise.all([
      rt.postDecision(link!.link, { decision: 'approve', csrf }),
      rt.api('POST', `/token-requests/${requestId}/cancel`, { token: alice }),
    ]);
    // The workflow has finished whatever the race started before anything is counted.
    await waitFor(
      async () => {
        const status = await executionStatus(requestId);
        return status !== undefined && status !== 'RUNNING';
      },
      30_000,
      `${requestId}'s execution to end`,
    );
    const final = await rt.request(alice, requestId);
    const minted = (await rt.fakeTokens()).filter((t) => t.label.includes(requestId.replace(/^req_/, '')));
    if (final.status === 'ISSUED') {
      expect([approve.status, cancel.status, minted.map((t) => t.status)]).toEqual([200, 409, ['ACTIVE']]);
    } else {
      expect([approve.status, cancel.status, final.status, final.reason, minted]).toEqual([
        409,
        200,
        'REJECTED',
        'CANCELLED',
        [],
      ]);
    }
    expect(await executionStatus(requestId)).toBe('SUCCEEDED');
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no token value, and no task token outside Step Functions history, in anything the run produced', async () => {
    const report = await scanForLeaks(rt);
    const tokens = report.secrets.filter((s) => s.label.startsWith('token-warden.jenkins-bot.'));
    // ci-main, ci-used-link, ci-forged, ci-cli, ci-browser, ci-restart, ci-race-approve.
    expect(tokens.length).toBeGreaterThanOrEqual(7);
    for (const { value } of report.secrets) expect(value.length).toBeGreaterThanOrEqual(20);
    // The scan saw the things that matter, not an empty world.
    expect(report.sources).toEqual(
      expect.arrayContaining([
        'data dir: runtime-output.log',
        expect.stringMatching(/^GetExecutionHistory /),
        expect.stringMatching(/^Scan /),
        'GET mail /store',
        'GET /local/events',
        'GET /local/calls',
        'GET /local/metrics',
        expect.stringMatching(/^response #/),
      ]),
    );
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);
  });
});
