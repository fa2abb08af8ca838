/**
 * End to end: access exceptions against the real local runtime, on a copy of the shipped policy in `revoke` mode.
 * A member asks for days of personal-token use, the exception approver decides on the emailed page in Chromium,
 * and Token Warden moves the member into the fake Atlassian's allow policy for those days and back again; the
 * member's personal tokens (created through the fake's test controls, as in id.atlassian.com) work only in between
 * and are revoked when the exception ends. A rejected or expired exception moves nobody; an early end moves the
 * member back at once. The approval page is also checked at phone and desktop widths, with axe-core.
 *
 * The personal-token values are the member's, not Token Warden's: they are read straight from `fetch` and kept out
 * of `rt.received`, where the final scan looks for them.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import type { Page } from 'playwright-core';
import { parseDocument } from 'yaml';
import { type HttpAnswer, LocalRuntime, SEED, waitFor } from '../../local/driver';
import { awsClientConfig, collectArtifacts, findSecretValues, type SecretValue, scanForLeaks } from './support/leaks';
import { launchBrowser } from './support/tools';

// The runtime synthesizes its own app for the revoke-mode policy before the first test.
jest.setTimeout(180_000);

const DAY = 86_400_000;
const APPROVER = 'security@example.com';
const BLOCK = 'policy-block';
const ALLOW = 'policy-allow';
const EXCEPTION_ID = /^exc_[a-z2-7]{26}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** An access exception as the API represents it. */
interface ExceptionView {
  exceptionId: string;
  status: 'PENDING_APPROVAL' | 'APPROVED' | 'ACTIVE' | 'ENDED' | 'REJECTED' | 'EXPIRED' | 'FAILED';
  member: string;
  days: number;
  justification: string;
  createdAt: string;
  approvalsRequired: number;
  approvals: { approver: string; decision: string; decidedAt: string }[];
  startsAt?: string;
  endsAt?: string;
  endedAt?: string;
  reason?: string;
}

/** A token a member created in id.atlassian.com (the fake's control), with its value. */
interface MemberToken {
  id: string;
  token: string;
  email: string;
}

const revokePolicy = join(tmpdir(), `token-warden-e2e-access-exceptions-policy-${process.pid}.yaml`);

/** The shipped policy with personal tokens in revoke mode; its exception settings as shipped. */
function writeRevokePolicy(): void {
  const doc = parseDocument(readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8'));
  // What the scenarios rely on, as the shipped file has it.
  expect(doc.getIn(['approvalExpiryHours'])).toBe(72);
  expect(doc.getIn(['organization', 'authPolicies', 'blockPolicyId'])).toBe(BLOCK);
  expect(doc.getIn(['organization', 'authPolicies', 'allowPolicyId'])).toBe(ALLOW);
  expect((doc.toJS() as { personalTokens?: { exceptions?: unknown } }).personalTokens?.exceptions).toEqual({
    approvers: [APPROVER],
    approvalsRequired: 1,
    maxDays: 30,
  });
  expect(doc.getIn(['personalTokens', 'mode'])).toBe('report');
  doc.setIn(['personalTokens', 'mode'], 'revoke');
  writeFileSync(revokePolicy, doc.toString());
}

let rt: LocalRuntime;

beforeAll(async () => {
  writeRevokePolicy();
  rt = await LocalRuntime.start('access-exceptions', { policy: revokePolicy });
});

afterAll(async () => {
  await rt?.dispose();
  rmSync(revokePolicy, { force: true });
});

/** Bearer tokens per email (the test is far shorter than their hour). */
const bearers = new Map<string, string>();
async function as(email: string): Promise<string> {
  const cached = bearers.get(email);
  if (cached) return cached;
  const token = await rt.memberToken(email);
  bearers.set(email, token);
  return token;
}

function refusal(answer: HttpAnswer) {
  const error = (answer.json as { error?: { code?: string; field?: string } } | undefined)?.error;
  return { status: answer.status, code: error?.code };
}

async function ask(email: string, days: number, justification: string, key?: string): Promise<ExceptionView> {
  const answer = await rt.api('POST', '/access-exceptions', {
    token: await as(email),
    body: { days, justification },
    ...(key ? { headers: { 'idempotency-key': key } } : {}),
  });
  expect({ email, status: answer.status }).toEqual({ email, status: 202 });
  return answer.json as ExceptionView;
}

async function exceptionOf(email: string, id: string): Promise<ExceptionView> {
  const answer = await rt.api('GET', `/access-exceptions/${id}`, { token: await as(email) });
  if (answer.status !== 200) throw new Error(`GET /access-exceptions/${id} answered ${answer.status}`);
  return answer.json as ExceptionView;
}

/** Polls until the exception reaches `status` (the policy move takes a moment of wall time at the fake). */
async function waitForException(email: string, id: string, status: ExceptionView['status']): Promise<ExceptionView> {
  let last = '';
  return waitFor(
    async () => {
      const view = await exceptionOf(email, id);
      last = `${view.status}${view.reason ? ` (${view.reason})` : ''}`;
      return view.status === status ? view : undefined;
    },
    30_000,
    `${id} to become ${status}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last status ${last}`);
  });
}

/** The approval link emailed for the exception: one, to the exception approver. */
async function approvalLink(id: string): Promise<string> {
  const links = await rt.waitForApprovalLinks(id, 1);
  expect(links.map((l) => l.to)).toEqual([APPROVER]);
  return links[0]!.link;
}

/**
 * The outcome emails about the exception (subject "Access exception for …") as `[to, subject]`, sorted, once there
 * are `count`: the notifier sends them from the exception's events a moment after the step that recorded them.
 */
async function outcomeEmails(id: string, count: number): Promise<[string, string][]> {
  const told = await waitFor(
    async () => {
      const mails = (await rt.emailsAbout(id)).filter((m) => m.subject.startsWith('Access exception for'));
      return mails.length >= count ? mails : undefined;
    },
    30_000,
    `${count} outcome email(s) about ${id}`,
  );
  return told.map((m): [string, string] => [m.destination.to.join(','), m.subject]).sort();
}

/** The policies the member is in at the fake Atlassian. */
async function policiesOf(email: string): Promise<string[]> {
  const answer = await rt.http(`${rt.urls.atlassian}/__control/policies`);
  expect(answer.status).toBe(200);
  return (answer.json as { policyId: string; members: { email: string }[] }[])
    .filter((p) => p.members.some((m) => m.email === email))
    .map((p) => p.policyId);
}

/** Everyone in the allow policy. */
async function allowMembers(): Promise<string[]> {
  const answer = await rt.http(`${rt.urls.atlassian}/__control/policies`);
  const policies = answer.json as { policyId: string; members: { email: string }[] }[];
  return (policies.find((p) => p.policyId === ALLOW)?.members ?? []).map((m) => m.email).sort();
}

/**
 * A member creates a token (`POST /__control/personal-tokens`). Read with `fetch`: a 201 holds the value, which the
 * member, not Token Warden, received; any other answer is kept for the secret scan like every other response.
 */
async function createToken(email: string, label: string): Promise<{ status: number; created?: MemberToken }> {
  const res = await fetch(`${rt.urls.atlassian}/__control/personal-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, label }),
  });
  const text = await res.text();
  if (res.status !== 201) {
    rt.received.push(text);
    return { status: res.status };
  }
  const { id, token } = JSON.parse(text) as { id: string; token: string };
  expect(typeof id).toBe('string');
  expect(token.length).toBeGreaterThanOrEqual(20);
  return { status: 201, created: { id, token, email } };
}

/** `GET /rest/api/3/myself` at the site with the member's Basic credential. */
async function memberMyself(member: MemberToken): Promise<number> {
  const basic = Buffer.from(`${member.email}:${member.token}`).toString('base64');
  return (await rt.http(`${rt.urls.atlassian}/rest/api/3/myself`, { headers: { authorization: `Basic ${basic}` } }))
    .status;
}

const MOVES = ['Move into the allow policy', 'Move back into the block policy', 'Move back after a failed move'];

/** The states the exception's workflow execution (named after the exception) has entered so far, in order. */
async function statesEntered(exceptionId: string): Promise<string[]> {
  const sfn = new SFNClient(awsClientConfig(rt));
  try {
    for (const machine of (await sfn.send(new ListStateMachinesCommand({}))).stateMachines ?? []) {
      const executions = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: machine.stateMachineArn, maxResults: 1000 }),
      );
      const execution = executions.executions?.find((e) => e.name === exceptionId);
      if (!execution) continue;
      const history = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn: execution.executionArn, maxResults: 1000 }),
      );
      return (history.events ?? []).flatMap((e) =>
        e.stateEnteredEventDetails?.name ? [e.stateEnteredEventDetails.name] : [],
      );
    }
    throw new Error(`no workflow execution named ${exceptionId}`);
  } finally {
    sfn.destroy();
  }
}

async function fakeStatus(id: string): Promise<string | undefined> {
  return (await rt.fakeTokens()).find((t) => t.id === id)?.status;
}

/** axe-core's serious and critical violations on the page, as `rule: count of nodes`. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the debugging protocol, which the page's content security policy does not govern.
  await page.evaluate(readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  // The page's globals, typed here: the project compiles without the DOM library.
  const checked = await page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as {
      axe: { run: (context: unknown) => Promise<{ violations: unknown[] }> };
      document: unknown;
    };
    const results = await axe.run(document);
    return {
      passes: (results as unknown as { passes: unknown[] }).passes.length,
      violations: results.violations as { id: string; impact: string | null; nodes: unknown[] }[],
    };
  });
  // axe checked something: an empty list below is a finding, not a run that looked at nothing.
  expect(checked.passes).toBeGreaterThan(0);
  return checked.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.length}`);
}

/** The page fits `width` without sideways scrolling, and both buttons are wholly on screen. */
async function fitsWidth(page: Page, width: number) {
  const scrollWidth = await page.evaluate(
    () =>
      (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
        .scrollWidth,
  );
  const boxes = await Promise.all(
    ['Approve', 'Reject'].map((name) => page.getByRole('button', { name, exact: true }).boundingBox()),
  );
  return {
    sideways: scrollWidth > width,
    buttonsOnScreen: boxes.every((b) => b !== null && b.x >= 0 && b.x + b.width <= width && b.height > 0),
  };
}

const secrets: SecretValue[] = [];
function keepSecret(member: MemberToken, label: string): void {
  secrets.push({ label, value: member.token });
  secrets.push({ label: `${label} (Basic)`, value: Buffer.from(`${member.email}:${member.token}`).toString('base64') });
}

const ALICE_WHY = 'The nightly Jira export script runs on my own token until its service account is ready';
let aliceException: ExceptionView;
let aliceToken: MemberToken;

describe('An approved access exception', () => {
  it('starts blocked: alice is in the block policy and cannot create a personal token', async () => {
    expect(await policiesOf(SEED.alice)).toEqual([BLOCK]);
    expect(await allowMembers()).toEqual([]);
    expect((await createToken(SEED.alice, 'before the exception')).status).toBe(403);
  });

  it('is asked for by alice, once per Idempotency-Key, and emailed to the exception approver only', async () => {
    const key = `alice-export-${process.pid}`;
    const created = await ask(SEED.alice, 3, ALICE_WHY, key);
    expect(created).toEqual({
      exceptionId: expect.stringMatching(EXCEPTION_ID),
      status: 'PENDING_APPROVAL',
      member: SEED.alice,
      days: 3,
      justification: ALICE_WHY,
      createdAt: expect.stringMatching(ISO),
      approvalsRequired: 1,
      approvals: [],
    });
    const replayed = await ask(SEED.alice, 3, ALICE_WHY, key);
    expect(replayed).toEqual(created);
    aliceException = created;

    await approvalLink(created.exceptionId);
    const mails = await rt.emailsAbout(created.exceptionId);
    expect(mails.map((m) => [m.destination.to, m.subject])).toEqual([
      [[APPROVER], 'Approval needed: access exception for alice@example.com (3 days of personal API tokens)'],
    ]);
    const listed = await rt.api('GET', '/access-exceptions', { token: await as(SEED.alice) });
    expect(listed.status).toBe(200);
    expect((listed.json as { items: ExceptionView[] }).items.map((e) => e.exceptionId)).toEqual([created.exceptionId]);
    // Another member neither sees it nor may cancel it.
    const bob = await as(SEED.bob);
    expect((await rt.api('GET', `/access-exceptions/${created.exceptionId}`, { token: bob })).status).toBe(404);
    expect((await rt.api('POST', `/access-exceptions/${created.exceptionId}/cancel`, { token: bob })).status).toBe(404);
  });

  it('shows the approver a page that fits a phone and a desktop, has no serious axe violations, and approves', async () => {
    const { exceptionId } = aliceException;
    const link = await approvalLink(exceptionId);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 375, height: 812 });
      const opened = await page.goto(link);
      expect(opened?.status()).toBe(200);
      rt.received.push(await page.content());
      await expect(page.locator('h1').textContent()).resolves.toBe('Approve access exception?');
      const body = (await page.locator('body').textContent()) ?? '';
      for (const shown of [exceptionId, SEED.alice, '3 days', ALICE_WHY, 'What it allows', 'PENDING_APPROVAL']) {
        expect({ shown, onPage: body.includes(shown) }).toEqual({ shown, onPage: true });
      }
      expect(body).toMatch(/allows personal API tokens for 3 days/);
      // Opening the page decided nothing.
      expect((await exceptionOf(SEED.alice, exceptionId)).status).toBe('PENDING_APPROVAL');

      expect(await fitsWidth(page, 375)).toEqual({ sideways: false, buttonsOnScreen: true });
      await page.screenshot({ path: join(rt.dataDir, 'exception-approval-375.png'), fullPage: true });
      expect(await seriousViolations(page)).toEqual([]);

      await page.setViewportSize({ width: 1280, height: 800 });
      expect(await fitsWidth(page, 1280)).toEqual({ sideways: false, buttonsOnScreen: true });
      await page.screenshot({ path: join(rt.dataDir, 'exception-approval-1280.png'), fullPage: true });
      expect(await seriousViolations(page)).toEqual([]);

      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/approvals/')),
        page.getByRole('button', { name: 'Approve', exact: true }).click(),
      ]);
      expect(response.status()).toBe(200);
      await page.waitForLoadState();
      rt.received.push(await page.content());
      await expect(page.locator('h1').textContent()).resolves.toBe('Decision recorded');
      await expect(page.locator('#message').textContent()).resolves.toBe(
        'Your approval was recorded. The exception is approved and the member is being moved into the allow policy.',
      );
    } finally {
      await browser.close();
    }

    const active = await waitForException(SEED.alice, exceptionId, 'ACTIVE');
    expect(active.approvals).toEqual([{ approver: APPROVER, decision: 'APPROVED', decidedAt: expect.any(String) }]);
    expect(active.startsAt).toMatch(ISO);
    expect(Date.parse(active.endsAt!) - Date.parse(active.startsAt!)).toBe(3 * DAY);
    expect(active).not.toHaveProperty('endedAt');
    expect(await statesEntered(exceptionId)).toContain('Move into the allow policy');
    aliceException = active;
  });

  it('moves alice into the allow policy: she can create a personal token and use it on /myself', async () => {
    expect(await policiesOf(SEED.alice)).toEqual([ALLOW]);
    expect(await allowMembers()).toEqual([SEED.alice]);
    const created = await createToken(SEED.alice, 'alice jira export');
    expect(created.status).toBe(201);
    aliceToken = created.created!;
    keepSecret(aliceToken, 'personal token of alice');
    expect(await memberMyself(aliceToken)).toBe(200);
    expect(await fakeStatus(aliceToken.id)).toBe('ACTIVE');
  });

  it('refuses alice a second live exception with 409, and refuses to cancel an active one', async () => {
    const alice = await as(SEED.alice);
    const second = await rt.api('POST', '/access-exceptions', {
      token: alice,
      body: { days: 5, justification: 'A second exception while the first is active' },
    });
    expect(refusal(second)).toEqual({ status: 409, code: 'CONFLICT' });
    expect(second.text).toContain(aliceException.exceptionId);
    const cancel = await rt.api('POST', `/access-exceptions/${aliceException.exceptionId}/cancel`, { token: alice });
    expect(refusal(cancel)).toEqual({ status: 409, code: 'CONFLICT' });
    const listed = await rt.api('GET', '/access-exceptions', { token: alice });
    expect((listed.json as { items: ExceptionView[] }).items.map((e) => [e.exceptionId, e.status])).toEqual([
      [aliceException.exceptionId, 'ACTIVE'],
    ]);
    expect(await policiesOf(SEED.alice)).toEqual([ALLOW]);
  });
});

describe('Exceptions that move nobody, and an early end', () => {
  it('rejects bob’s exception when the approver presses Reject; bob stays blocked', async () => {
    const bob = await ask(SEED.bob, 2, 'Bob wants to try the Jira REST API from his laptop');
    const link = await approvalLink(bob.exceptionId);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      expect((await page.goto(link))?.status()).toBe(200);
      rt.received.push(await page.content());
      await expect(page.locator('h1').textContent()).resolves.toBe('Approve access exception?');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/approvals/')),
        page.getByRole('button', { name: 'Reject', exact: true }).click(),
      ]);
      expect(response.status()).toBe(200);
      await page.waitForLoadState();
      rt.received.push(await page.content());
      await expect(page.locator('#message').textContent()).resolves.toBe(
        'Your rejection was recorded. The exception is rejected.',
      );
    } finally {
      await browser.close();
    }
    const rejected = await waitForException(SEED.bob, bob.exceptionId, 'REJECTED');
    expect(rejected).toMatchObject({
      reason: 'REJECTED_BY_APPROVER',
      approvals: [{ approver: APPROVER, decision: 'REJECTED' }],
    });
    expect(rejected).not.toHaveProperty('startsAt');
    // Not moved in and back either: the workflow never reached a move.
    const states = await statesEntered(bob.exceptionId);
    expect(states).toContain('Close the exception');
    expect(states.filter((name) => MOVES.includes(name))).toEqual([]);
    expect(await outcomeEmails(bob.exceptionId, 2)).toEqual([
      [SEED.bob, `Access exception for ${SEED.bob} was rejected`],
      [APPROVER, `Access exception for ${SEED.bob} was rejected`],
    ]);
    expect(await policiesOf(SEED.bob)).toEqual([BLOCK]);
    expect(await allowMembers()).toEqual([SEED.alice]);
    expect((await createToken(SEED.bob, 'after the rejection')).status).toBe(403);
    // The emailed link decides nothing more.
    expect((await rt.openLink(link)).status).toBe(409);
  });

  it('ends approver1’s exception early on POST …/end: ENDED_EARLY, moved back, the token made meanwhile revoked', async () => {
    const mine = await ask(SEED.approver1, 10, 'Debugging a Jira automation rule that needs my own token');
    const { answer } = await rt.decide(await approvalLink(mine.exceptionId), 'approve');
    expect(answer.status).toBe(200);
    const active = await waitForException(SEED.approver1, mine.exceptionId, 'ACTIVE');
    expect(Date.parse(active.endsAt!) - Date.parse(active.startsAt!)).toBe(10 * DAY);
    expect(await policiesOf(SEED.approver1)).toEqual([ALLOW]);
    const created = await createToken(SEED.approver1, 'automation debugging');
    expect(created.status).toBe(201);
    const token = created.created!;
    keepSecret(token, 'personal token of approver1');
    expect(await memberMyself(token)).toBe(200);

    const ended = await rt.api('POST', `/access-exceptions/${mine.exceptionId}/end`, {
      token: await as(SEED.approver1),
    });
    expect(ended.status).toBe(202);
    expect(ended.json).toMatchObject({ exceptionId: mine.exceptionId, status: expect.stringMatching(/ACTIVE|ENDED/) });

    const done = await waitForException(SEED.approver1, mine.exceptionId, 'ENDED');
    expect(done).toMatchObject({ reason: 'ENDED_EARLY', endedAt: expect.stringMatching(ISO) });
    // Ended at once, long before its ten days were over.
    expect(Date.parse(done.endedAt!)).toBeLessThan(Date.parse(done.endsAt!) - 9 * DAY);
    expect(await policiesOf(SEED.approver1)).toEqual([BLOCK]);
    expect(await allowMembers()).toEqual([SEED.alice]);
    // The move back ran in the early end's own execution, not at the end of the ten days.
    expect(await statesEntered(`${mine.exceptionId}-end`)).toContain('Move back into the block policy');
    expect(await statesEntered(mine.exceptionId)).not.toContain('Move back into the block policy');
    await waitFor(async () => (await fakeStatus(token.id)) === 'REVOKED', 30_000, 'approver1’s token to be revoked');
    expect(await memberMyself(token)).toBe(401);
    // Told by the notifier: the activation to the member, the end (with the tokens revoked) to member and approver.
    const told = await outcomeEmails(mine.exceptionId, 3);
    const endSubject = told.find(([to]) => to === APPROVER)?.[1];
    expect(endSubject).toMatch(
      new RegExp(
        `^Access exception for ${SEED.approver1} ended \\(ENDED_EARLY\\); [1-9]\\d* personal token\\(s\\) of theirs revoked$`,
      ),
    );
    expect(told).toEqual(
      [
        [APPROVER, endSubject],
        [SEED.approver1, endSubject],
        [SEED.approver1, `Access exception for ${SEED.approver1} is active until ${active.endsAt}`],
      ].sort(),
    );
    expect((await createToken(SEED.approver1, 'after the end')).status).toBe(403);
    const again = await rt.api('POST', `/access-exceptions/${mine.exceptionId}/end`, {
      token: await as(SEED.approver1),
    });
    expect(refusal(again)).toEqual({ status: 409, code: 'CONFLICT' });
    // Alice's own exception runs on.
    expect((await exceptionOf(SEED.alice, aliceException.exceptionId)).status).toBe('ACTIVE');
  });
});

describe('The end of the approved days', () => {
  it('moves alice back after 3 days: blocked again, cannot create a token, and hers is revoked', async () => {
    // Before the days are over nothing has changed.
    expect(await memberMyself(aliceToken)).toBe(200);

    expect((await rt.advance({ days: 3 })).settled).toBe(true);

    const ended = await waitForException(SEED.alice, aliceException.exceptionId, 'ENDED');
    expect(ended).toMatchObject({
      reason: 'DAYS_OVER',
      startsAt: aliceException.startsAt,
      endsAt: aliceException.endsAt,
    });
    expect(Date.parse(ended.endedAt!)).toBeGreaterThanOrEqual(Date.parse(ended.endsAt!));
    expect(await policiesOf(SEED.alice)).toEqual([BLOCK]);
    expect(await allowMembers()).toEqual([]);
    expect((await statesEntered(aliceException.exceptionId)).filter((name) => MOVES.includes(name))).toEqual([
      'Move into the allow policy',
      'Move back into the block policy',
    ]);
    expect((await createToken(SEED.alice, 'after the exception')).status).toBe(403);
    await waitFor(async () => (await fakeStatus(aliceToken.id)) === 'REVOKED', 30_000, 'alice’s token to be revoked');
    expect(await memberMyself(aliceToken)).toBe(401);
  });

  it('expires an exception nobody decided within approvalExpiryHours, and moves nobody', async () => {
    const admin = await ask(SEED.admin, 1, 'Checking the admin API by hand for one day');
    const link = await approvalLink(admin.exceptionId);

    expect((await rt.advance({ hours: 73 })).settled).toBe(true);

    const expired = await waitForException(SEED.admin, admin.exceptionId, 'EXPIRED');
    expect(expired).toMatchObject({ reason: 'APPROVAL_EXPIRED', approvals: [] });
    expect(expired).not.toHaveProperty('startsAt');
    const states = await statesEntered(admin.exceptionId);
    expect(states).toContain('Expire the exception');
    expect(states.filter((name) => MOVES.includes(name))).toEqual([]);
    expect(await policiesOf(SEED.admin)).toEqual([BLOCK]);
    expect(await allowMembers()).toEqual([]);
    expect((await createToken(SEED.admin, 'after the expiry')).status).toBe(403);
    expect((await rt.openLink(link)).status).toBe(409);
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no personal or governed token value in anything the run produced', async () => {
    const report = await scanForLeaks(rt);
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);

    // The personal tokens' values are not Secrets Manager's: looked for by value, after checking the detector.
    expect(secrets.map((s) => s.label)).toEqual([
      'personal token of alice',
      'personal token of alice (Basic)',
      'personal token of approver1',
      'personal token of approver1 (Basic)',
    ]);
    const planted = [{ source: 'planted', text: secrets.map((s) => `<${s.value}>`).join(' ') }];
    expect(findSecretValues(planted, secrets)).toHaveLength(secrets.length);
    const artifacts = await collectArtifacts(rt);
    expect(artifacts.map((a) => a.source)).toEqual(
      expect.arrayContaining([
        'data dir: runtime-output.log',
        expect.stringMatching(/^GetExecutionHistory .*exception/i),
        'GET mail /store',
        'GET /local/calls',
        expect.stringMatching(/^response #/),
      ]),
    );
    expect(findSecretValues(artifacts, secrets)).toEqual([]);
  });
});
