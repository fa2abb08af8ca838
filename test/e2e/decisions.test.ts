/**
 * End to end: the ways a request ends without a token (rejected, cancelled, expired), who is asked to approve,
 * the simulated clock's control route, and what the HTTP API refuses — against the real local runtime.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  csrfOf,
  freePort,
  LocalRuntime,
  linkLines,
  type RequestView,
  requestBody,
  runMain,
  SEED,
  waitFor,
} from '../../local/driver';
import { scanForLeaks } from './support/leaks';

jest.setTimeout(300_000);

let rt: LocalRuntime;
let alice: string;

beforeAll(async () => {
  rt = await LocalRuntime.start('decisions');
  alice = await rt.memberToken(SEED.alice);
});

afterAll(async () => {
  await rt?.dispose();
});

async function submit(token: string, name: string): Promise<RequestView> {
  const created = await rt.api('POST', '/token-requests', { token, body: requestBody(name) });
  expect(created.status).toBe(202);
  return created.json as RequestView;
}

/** The outcome emails (those without a link) about a request, once `count` have arrived. */
async function outcomeEmails(requestId: string, count: number) {
  return waitFor(
    async () => {
      const mails = (await rt.emailsAbout(requestId)).filter((e) => linkLines(e.body.text ?? '').length === 0);
      return mails.length >= count ? mails : undefined;
    },
    30_000,
    `${count} outcome emails about ${requestId}`,
  );
}

describe('Requests that end without a token', () => {
  it('rejects the request when an approver presses Reject, and tells the requester and both approvers', async () => {
    const { requestId } = await submit(alice, 'ci-reject');
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const one = links.find((l) => l.to === SEED.approver1)!;

    const { answer } = await rt.decide(one.link, 'reject');
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Your rejection was recorded');

    const rejected = await rt.waitForStatus(alice, requestId, 'REJECTED');
    expect(rejected.reason).toEqual(expect.any(String));
    expect(rejected.reason).not.toBe('CANCELLED');
    expect(rejected.approvals).toEqual([expect.objectContaining({ approver: SEED.approver1, decision: 'REJECTED' })]);
    expect(rejected).not.toHaveProperty('tokenId');
    expect(rejected).not.toHaveProperty('secretArn');

    const mails = await outcomeEmails(requestId, 3);
    expect(mails.map((e) => e.destination.to).sort()).toEqual([[SEED.alice], [SEED.approver1], [SEED.approver2]]);
    for (const mail of mails) expect(mail.subject).toMatch(/rejected/i);
    // Nothing was minted for it.
    const fake = await rt.fakeTokens();
    expect(fake.filter((t) => t.label.includes(requestId.replace(/^req_/, '')))).toEqual([]);
  });

  it('cancels a pending request for its requester, after which the emailed links answer 409', async () => {
    const { requestId } = await submit(alice, 'ci-cancel');
    const links = await rt.waitForApprovalLinks(requestId, 2);
    // An approver who opened the page before the cancel holds a form that must no longer decide.
    const held = csrfOf((await rt.openLink(links[0]!.link)).text);
    expect(held).toBeTruthy();

    const cancelled = await rt.api('POST', `/token-requests/${requestId}/cancel`, { token: alice });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ requestId, status: 'REJECTED', reason: 'CANCELLED' });
    const seen = await rt.request(alice, requestId);
    expect(seen).toMatchObject({ status: 'REJECTED', reason: 'CANCELLED' });

    // The workflow closes the request (and its approvals) and tells everyone.
    const mails = await outcomeEmails(requestId, 3);
    expect(mails.map((e) => e.destination.to).sort()).toEqual([[SEED.alice], [SEED.approver1], [SEED.approver2]]);
    for (const { link } of links) {
      const page = await rt.openLink(link);
      expect(page.status).toBe(409);
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(csrfOf(page.text)).toBeUndefined();
    }
    expect((await rt.postDecision(links[0]!.link, { decision: 'approve', csrf: held! })).status).toBe(409);
    expect(await rt.request(alice, requestId)).toMatchObject({ status: 'REJECTED', reason: 'CANCELLED' });
    const again = await rt.api('POST', `/token-requests/${requestId}/cancel`, { token: alice });
    expect([again.status, again.json]).toEqual([409, { error: expect.objectContaining({ code: 'CONFLICT' }) }]);

    // The name is free again once the request is closed.
    await waitFor(
      async () =>
        (await rt.api('POST', '/token-requests', { token: alice, body: requestBody('ci-cancel') })).status === 202,
      30_000,
      'the name ci-cancel to be released',
    );
  });

  it('asks only the other approver when an approver requests a token', async () => {
    const approver1 = await rt.memberToken(SEED.approver1);
    const { requestId, approvalsRequired } = await submit(approver1, 'ci-self');
    expect(approvalsRequired).toBe(1);
    // Approval emails go out in the policy's approver order, so once approver2's has arrived, approver1's would have.
    const links = await rt.waitForApprovalLinks(requestId, 1);
    expect(links.map((l) => l.to)).toEqual([SEED.approver2]);
    const toApprover1 = (await rt.emails()).filter(
      (e) => e.destination.to.includes(SEED.approver1) && (e.body.text ?? '').includes(requestId),
    );
    expect(toApprover1).toEqual([]);

    const { answer } = await rt.decide(links[0]!.link, 'approve');
    expect(answer.status).toBe(200);
    await rt.waitForStatus(approver1, requestId, 'ISSUED');
  });

  it('compares emails lower-cased: a differently cased approver is still not asked about their own request', async () => {
    const shouting = await rt.memberToken('Approver1@EXAMPLE.com');
    const request = await submit(shouting, 'ci-self-case');
    expect(request.requester).toBe(SEED.approver1);
    const links = await rt.waitForApprovalLinks(request.requestId, 1);
    expect(links.map((l) => l.to)).toEqual([SEED.approver2]);
    // And the same person, cased as the directory has them, sees the request as theirs.
    const approver1 = await rt.memberToken(SEED.approver1);
    expect((await rt.request(approver1, request.requestId)).requestId).toBe(request.requestId);
  });
});

describe('HTTP API access', () => {
  const unauthorized = { message: 'Unauthorized' };

  it('refuses a missing, garbage, expired, not-yet-valid, wrong-audience or wrong-issuer token with 401', async () => {
    const tokens = {
      none: undefined,
      garbage: 'not-a-jwt',
      expired: await rt.memberToken(SEED.alice, { expiresInSeconds: -60 }),
      notYetValid: await rt.memberToken(SEED.alice, { notBeforeSeconds: 3600 }),
      wrongAudience: await rt.memberToken(SEED.alice, { audience: 'someone-else' }),
      wrongIssuer: await rt.memberToken(SEED.alice, { issuer: 'https://issuer.example.com' }),
    };
    const answers: Record<string, [number, unknown]> = {};
    for (const [kind, token] of Object.entries(tokens)) {
      const answer = await rt.api('GET', '/token-requests', token === undefined ? {} : { token });
      answers[kind] = [answer.status, answer.json];
    }
    expect(answers).toEqual({
      none: [401, unauthorized],
      garbage: [401, unauthorized],
      expired: [401, unauthorized],
      notYetValid: [401, unauthorized],
      wrongAudience: [401, unauthorized],
      wrongIssuer: [401, unauthorized],
    });
    // The same member with a good token gets through: the refusals above are about the token.
    expect((await rt.api('GET', '/token-requests', { token: alice })).status).toBe(200);
  });

  it('refuses a token whose claims were altered after signing', async () => {
    const [header, payload, signature] = alice.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['token-warden-admins'] })).toString('base64url');
    const answer = await rt.api('GET', '/token-requests', { token: `${header}.${forged}.${signature}` });
    expect([answer.status, answer.json]).toEqual([401, unauthorized]);
  });

  it("lets an admin read any member's request", async () => {
    const { requestId } = await submit(alice, 'ci-admin-view');
    const admin = await rt.memberToken(SEED.admin);
    const read = await rt.api('GET', `/token-requests/${requestId}`, { token: admin });
    expect([read.status, (read.json as RequestView).requester]).toEqual([200, SEED.alice]);
    const list = await rt.api('GET', '/token-requests?limit=100', { token: admin });
    expect((list.json as { items: RequestView[] }).items.map((r) => r.requestId)).toContain(requestId);
    // A differently cased sign-in of the requester is the same member.
    const casedAlice = await rt.memberToken('ALICE@example.com');
    expect((await rt.api('GET', `/token-requests/${requestId}`, { token: casedAlice })).status).toBe(200);
  });

  it('makes an admin only of a group named exactly token-warden-admins, whatever a group name holds around it', async () => {
    const { requestId } = await submit(alice, 'ci-admin-groups');
    const groupLists = [
      ['x token-warden-admins'],
      ['devs,token-warden-admins'],
      ['"token-warden-admins"'],
      ['[token-warden-admins]'],
      ['x\ttoken-warden-admins'],
      ['x\ntoken-warden-admins'],
      ['token-warden-admins '],
      ['Token-Warden-Admins'],
      ['token-warden-admins'],
      ['devs', 'token-warden-admins'],
      ['x token-warden-admins', 'token-warden-admins'],
    ];
    const answers: Record<string, [number, number]> = {};
    for (const groups of groupLists) {
      const token = await rt.memberToken('carol@example.com', { groups });
      const audit = await rt.api('GET', `/audit?requestId=${requestId}`, { token });
      const read = await rt.api('GET', `/token-requests/${requestId}`, { token });
      answers[JSON.stringify(groups)] = [audit.status, read.status];
    }
    const member: [number, number] = [403, 404];
    const admin: [number, number] = [200, 200];
    expect(answers).toEqual({
      '["x token-warden-admins"]': member,
      '["devs,token-warden-admins"]': member,
      '["\\"token-warden-admins\\""]': member,
      '["[token-warden-admins]"]': member,
      '["x\\ttoken-warden-admins"]': member,
      '["x\\ntoken-warden-admins"]': member,
      '["token-warden-admins "]': member,
      '["Token-Warden-Admins"]': member,
      '["token-warden-admins"]': admin,
      '["devs","token-warden-admins"]': admin,
      '["x token-warden-admins","token-warden-admins"]': admin,
    });
  });

  it('refuses (401) an email claim that is not plain ASCII, so a look-alike of a member reads and cancels nothing', async () => {
    const kate = await rt.memberToken('kate@example.com');
    const { requestId } = await submit(kate, 'ci-kate');
    // KELVIN SIGN lower-cases to k; the fullwidth k folds to k under NFKC.
    for (const email of ['\u212Aate@example.com', '\uff4bate@example.com']) {
      const token = await rt.memberToken(email);
      const read = await rt.api('GET', `/token-requests/${requestId}`, { token });
      const list = await rt.api('GET', '/token-requests', { token });
      const cancel = await rt.api('POST', `/token-requests/${requestId}/cancel`, { token });
      expect([read.status, read.json, list.status, cancel.status]).toEqual([
        401,
        { error: { code: 'UNAUTHORIZED', message: expect.stringContaining('plain ASCII'), field: 'authorization' } },
        401,
        401,
      ]);
    }
    const still = await rt.api('GET', `/token-requests/${requestId}`, { token: kate });
    expect([still.status, (still.json as RequestView).status]).toEqual([200, 'PENDING_APPROVAL']);
  });

  it('answers an unmatched route with 404 {"message":"Not Found"}, with or without a token', async () => {
    for (const opts of [{}, { token: alice }]) {
      for (const [method, path] of [
        ['GET', '/nothing-here'],
        ['DELETE', '/token-requests'],
        ['GET', '/local/nothing-here'],
      ] as const) {
        const answer = await rt.api(method, path, opts);
        expect({ method, path, status: answer.status, body: answer.json }).toEqual({
          method,
          path,
          status: 404,
          body: { message: 'Not Found' },
        });
      }
    }
  });

  it("hides another member's request (404) and leaves it out of their list", async () => {
    const { requestId } = await submit(alice, 'ci-private');
    const bob = await rt.memberToken(SEED.bob);
    const read = await rt.api('GET', `/token-requests/${requestId}`, { token: bob });
    expect(read.status).toBe(404);
    expect(read.json).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const cancel = await rt.api('POST', `/token-requests/${requestId}/cancel`, { token: bob });
    expect(cancel.status).toBe(404);
    const list = await rt.api('GET', '/token-requests', { token: bob });
    expect(list.status).toBe(200);
    expect((list.json as { items: RequestView[] }).items.map((r) => r.requestId)).not.toContain(requestId);
    expect((await rt.request(alice, requestId)).status).toBe('PENDING_APPROVAL');
  });

  it('answers GET /health without authentication', async () => {
    const health = await rt.api('GET', '/health');
    expect([health.status, health.json]).toEqual([200, { status: 'ok' }]);
  });
});

describe('Simulated clock', () => {
  it.each([
    ['{"days":0}', 'zero'],
    ['{"days":1.5}', 'a fraction'],
    ['{"days":-1}', 'a negative number'],
    ['{"days":"1"}', 'a string'],
    ['{"weeks":1}', 'an unknown unit'],
    ['{"days":1,"hours":1}', 'two units'],
    ['{}', 'no unit'],
    ['[1]', 'an array'],
    ['{"days":', 'invalid JSON'],
  ])('refuses to advance by %s (%s) with 400 and does not move', async (body) => {
    const before = Date.parse(((await rt.api('GET', '/local/clock')).json as { now: string }).now);
    const answer = await rt.api('POST', '/local/clock/advance', {
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: { code: 'VALIDATION_ERROR' } });
    const after = Date.parse(((await rt.api('GET', '/local/clock')).json as { now: string }).now);
    // Only wall time passed.
    expect(after - before).toBeLessThan(60_000);
  });
});

describe('Local runtime start-up', () => {
  it('refuses to start, naming the port, when a port is in use', async () => {
    const taken = rt.ports.api;
    const dataDir = mkdtempSync(join(tmpdir(), 'token-warden-e2e-port-'));
    const { code, output } = await runMain([
      '--api-port',
      String(taken),
      '--aws-port',
      String(await freePort()),
      '--atlassian-port',
      String(await freePort()),
      '--mail-port',
      String(await freePort()),
      '--data-dir',
      dataDir,
      '--quiet',
    ]);
    rmSync(dataDir, { recursive: true, force: true });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain(String(taken));
    expect(output).toMatch(/in use/i);
    // The runtime that holds the port is unaffected.
    expect((await rt.api('GET', '/health')).status).toBe(200);
  });
});

// Moves the clock 73 hours: every request still pending in this runtime expires, so this runs after the others.
describe('Approval expiry', () => {
  it('expires a request nobody decided within 72 hours; its links then answer 409', async () => {
    const { requestId } = await submit(alice, 'ci-expire');
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const held = csrfOf((await rt.openLink(links[0]!.link)).text);
    expect(held).toBeTruthy();

    const advanced = await rt.advance({ hours: 73 });
    expect(advanced.settled).toBe(true);

    // alice's token still works 73 simulated hours later: JWTs are checked against the wall clock.
    const expired = await rt.waitForStatus(alice, requestId, 'EXPIRED');
    expect(expired.reason).toEqual(expect.any(String));
    expect(expired).not.toHaveProperty('tokenId');
    const mails = await outcomeEmails(requestId, 3);
    expect(mails.map((e) => e.destination.to).sort()).toEqual([[SEED.alice], [SEED.approver1], [SEED.approver2]]);
    for (const mail of mails) expect(mail.subject).toMatch(/expired/i);

    // 409, not 410: the request is already decided (EXPIRED), and the page reports that before the link's own
    // expiry. 410 is for a link past its expiry while its request is still pending — a window the workflow's
    // timeout closes at the same simulated instant.
    for (const { link } of links) {
      const page = await rt.openLink(link);
      expect(page.status).toBe(409);
      expect(csrfOf(page.text)).toBeUndefined();
    }
    expect((await rt.postDecision(links[0]!.link, { decision: 'approve', csrf: held! })).status).toBe(409);
    expect((await rt.request(alice, requestId)).status).toBe('EXPIRED');
  });

  it('leaves no token value, and no task token outside Step Functions history, in anything the run produced', async () => {
    const report = await scanForLeaks(rt);
    expect(report.secrets.some((s) => s.label.startsWith('token-warden.jenkins-bot.ci-self@'))).toBe(true);
    expect(report.sources).toEqual(expect.arrayContaining([expect.stringMatching(/^GetExecutionHistory /)]));
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);
  });
});
