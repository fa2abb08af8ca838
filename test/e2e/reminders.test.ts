/**
 * End to end: reminders through the real local runtime on the simulated clock, on a copy of the shipped policy where
 * jenkins-bot needs both approvers and is issued manually (an admin creates each token in the fake Atlassian and
 * uploads it), with the default reminders (`pendingApprovalHours: [24]`, `expiryDays: [14, 3]`).
 *
 * - An approver who has not decided 24 hours after being asked gets one reminder, with the link of the first email;
 *   the one who decided gets none, and later hours add none.
 * - A manually issued token nearing expiry, its rotation waiting for an upload nobody makes, brings owner and admins
 *   one reminder at each mark, however many sweeps and hourly runs pass.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import {
  csrfOf,
  LocalRuntime,
  linkLines,
  type RequestView,
  requestBody,
  SEED,
  type StoredEmail,
  waitFor,
} from '../../local/driver';
import { scanForLeaks } from './support/leaks';
import type { AuditView, TokenView } from './support/rotation';

// The runtime synthesizes its own app for this policy before the first test; the expiry scenario moves a month.
jest.setTimeout(900_000);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const policyFile = join(tmpdir(), `token-warden-e2e-reminders-policy-${process.pid}.yaml`);
let atlassianId = '';

/** The shipped policy with jenkins-bot needing both approvers and issued manually; reminders as defaulted. */
function writePolicy(): void {
  const doc = parseDocument(readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8'));
  // What the scenarios rely on, as the shipped file has it.
  expect(doc.getIn(['approvalExpiryHours'])).toBe(72);
  expect(doc.getIn(['rotationLeadDays'])).toBe(7);
  expect(doc.getIn(['notifications', 'reminders'])).toBeUndefined();
  expect(doc.getIn(['serviceAccounts', 0, 'approvers'])?.toString()).toContain(SEED.approver2);
  doc.setIn(['serviceAccounts', 0, 'approvalsRequired'], 2);
  doc.setIn(['serviceAccounts', 0, 'issuance'], 'manual');
  atlassianId = String(doc.getIn(['serviceAccounts', 0, 'atlassianId']));
  writeFileSync(policyFile, doc.toString());
}

let rt: LocalRuntime;

beforeAll(async () => {
  writePolicy();
  rt = await LocalRuntime.start('reminders', { policy: policyFile });
});

afterAll(async () => {
  await rt?.dispose();
  rmSync(policyFile, { force: true });
});

/** Bearer tokens per email, minted again before their (wall-clock) hour runs out. */
const bearers = new Map<string, { token: string; mintedAt: number }>();
async function as(email: string): Promise<string> {
  const cached = bearers.get(email);
  if (cached && Date.now() - cached.mintedAt < 30 * 60_000) return cached.token;
  const token = await rt.memberToken(email);
  bearers.set(email, { token, mintedAt: Date.now() });
  return token;
}

/** Moves the simulated clock and expects the work it started to have settled. */
async function advance(by: { days: number } | { hours: number }): Promise<void> {
  const answer = await rt.advance(by);
  expect({ by, settled: answer.settled }).toEqual({ by, settled: true });
}

async function now(): Promise<number> {
  return Date.parse(((await rt.api('GET', '/local/clock')).json as { now: string }).now);
}

/** Alice asks for a 30-day token named `name`; resolves once both approvers were emailed their links. */
async function requestToken(name: string) {
  const created = await rt.api('POST', '/token-requests', { token: await as(SEED.alice), body: requestBody(name) });
  expect(created.status).toBe(202);
  const { requestId } = created.json as RequestView;
  const links = await rt.waitForApprovalLinks(requestId, 2);
  const linkOf = (approver: string) => links.find((l) => l.to === approver)?.link ?? '';
  return { requestId, linkOf };
}

const isReminder = (e: StoredEmail) => e.subject.startsWith('Reminder: ');

describe('approval reminders', () => {
  it('reminds the approver who has not decided once, 24 hours on, with the link of the first email', async () => {
    // Prepare
    const { requestId, linkOf } = await requestToken('rem-approval');
    const first = linkOf(SEED.approver2);
    expect(first).toMatch(/\/approvals\/apv_[a-z2-7]+\?sig=/);
    const { answer } = await rt.decide(linkOf(SEED.approver1), 'approve');
    expect(answer.status).toBe(200);
    expect((await rt.request(await as(SEED.alice), requestId)).status).toBe('PENDING_APPROVAL');
    await advance({ hours: 23 });
    expect((await rt.emailsAbout(requestId)).filter(isReminder)).toEqual([]);

    // Act: past the mark, then a day of hourly runs more.
    await advance({ hours: 2 });
    const reminded = await waitFor(
      async () => {
        const found = (await rt.emailsAbout(requestId)).filter(isReminder);
        return found.length > 0 ? found : undefined;
      },
      30_000,
      `the reminder for ${requestId}`,
    );
    await advance({ hours: 24 });

    // Assess
    const reminders = (await rt.emailsAbout(requestId)).filter(isReminder);
    expect(reminded).toHaveLength(1);
    expect(reminders.map((e) => e.destination.to)).toEqual([[SEED.approver2]]);
    expect(reminders[0]?.body.text).toContain('Reminder: this has waited 24 hours for your decision.');
    expect(linkLines(reminders[0]?.body.text ?? '')).toEqual([first]);
    // The link is still the approver's, single use: it decides, and the request goes on.
    const { answer: decided } = await rt.decide(first, 'approve');
    expect(decided.status).toBe(200);
    const audit = await rt.api('GET', `/audit?requestId=${requestId}`, { token: await as(SEED.admin) });
    expect(audit.status).toBe(200);
    const items = (audit.json as { items: AuditView[] }).items;
    const recorded = items.filter((r) => r.event === 'APPROVAL_REMINDER');
    expect(recorded).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ approver: SEED.approver2, hours: 24 }) }),
    ]);
    // Within the hour after the mark (the hourly run), not whenever the daily sweep comes by.
    const asked = items.find((r) => r.event === 'APPROVAL_REQUESTED' && r.details?.approver === SEED.approver2);
    const late = Date.parse(recorded[0]?.at ?? '') - Date.parse(asked?.at ?? '');
    expect(late).toBeGreaterThanOrEqual(24 * HOUR);
    expect(late).toBeLessThanOrEqual(25 * HOUR);
    expect(JSON.stringify(recorded)).not.toContain('sig=');
  });
});

describe('expiry reminders', () => {
  /** The admin's upload email for `purpose` (the request id, or the token id of a rotation), once it arrived. */
  async function uploadEmail(about: string, count = 1): Promise<StoredEmail> {
    const emails = await waitFor(
      async () => {
        const found = (await rt.emails()).filter(
          (e) => e.destination.to.includes(SEED.admin) && /^Action needed: create an Atlassian token/.test(e.subject),
        );
        const mine = found.filter((e) => (e.body.text ?? '').includes(about));
        return mine.length >= count ? mine : undefined;
      },
      30_000,
      `${count} upload email(s) about ${about}`,
    );
    return emails[count - 1]!;
  }

  /** What the admin does with an upload email: creates the token in the fake Atlassian, then uploads its value. */
  async function uploadAsAdmin(email: StoredEmail, scopes: string[]): Promise<void> {
    const text = email.body.text ?? '';
    const label = /Label \(exactly\)\W+(token-warden:tok_[a-z2-7]+:g\d+)/.exec(text)?.[1];
    const notBefore = /on or after (\S+) \(and not after/.exec(text)?.[1];
    const [link] = linkLines(text).filter((l) => l.includes('/uploads/'));
    expect({ label, notBefore, link }).toEqual({
      label: expect.any(String),
      notBefore: expect.any(String),
      link: expect.any(String),
    });
    const orgKey = readFileSync(join(rt.dataDir, 'atlassian-org-key'), 'utf8').trim();
    const minted = await fetch(`${rt.urls.atlassian}/users/${atlassianId}/manage/api-tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${orgKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label, scopes, expiry: new Date(Date.parse(notBefore!) + HOUR).toISOString() }),
    });
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as { token: string };
    const page = await rt.http(link!);
    expect(page.status).toBe(200);
    const url = new URL(link!);
    const form = new URLSearchParams({ sig: url.searchParams.get('sig') ?? '', csrf: csrfOf(page.text) ?? '', token });
    const uploaded = await rt.http(`${url.origin}${url.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(uploaded.status).toBe(200);
  }

  const expiryReminders = async (tokenId: string) =>
    (await rt.emails()).filter(
      (e) => /^Action needed: token expires in /.test(e.subject) && (e.body.text ?? '').includes(tokenId),
    );

  it('tells owner and admins once at each mark about a manually issued token whose upload never comes', async () => {
    // Prepare: issued by an admin's upload.
    const { requestId, linkOf } = await requestToken('rem-expiry');
    for (const approver of [SEED.approver1, SEED.approver2]) {
      expect((await rt.decide(linkOf(approver), 'approve')).answer.status).toBe(200);
    }
    await uploadAsAdmin(await uploadEmail(requestId), ['read:jira-work', 'read:jira-user']);
    const issued = await rt.waitForStatus(await as(SEED.alice), requestId, 'ISSUED');
    const tokenId = issued.tokenId!;
    const view = await rt.api('GET', `/tokens/${tokenId}`, { token: await as(SEED.alice) });
    const token = view.json as TokenView;
    expect(token).toMatchObject({ status: 'ACTIVE', generation: 1 });
    const expiresAt = Date.parse(token.expiresAt);

    // Act: day by day to a day and a half before expiry; the rotation asks for an upload no admin makes.
    while ((await now()) < expiresAt - 2.5 * DAY) await advance({ days: 1 });
    await advance({ hours: Math.floor((expiresAt - 1.5 * DAY - (await now())) / HOUR) });

    // Assess
    expect((await uploadEmail(tokenId)).subject).toContain('rem-expiry');
    const reminders = await expiryReminders(tokenId);
    expect(reminders.map((e) => e.destination.to[0]).sort()).toEqual([SEED.admin, SEED.admin, SEED.alice, SEED.alice]);
    // One email to each of them per mark: the 14-day mark as soon as the token is at risk (its rotation waits for an
    // upload from 7 days before expiry), the 3-day mark once three days or fewer are left.
    const days = [...new Set(reminders.map((e) => Number(/expires in (\d+) day/.exec(e.subject)?.[1])))];
    expect(days).toHaveLength(2);
    expect(days[0]).toBeGreaterThan(3);
    expect(days[0]).toBeLessThanOrEqual(7);
    expect(days[1]).toBeLessThanOrEqual(3);
    for (const d of days) {
      const told = reminders.filter((e) => e.subject.includes(`expires in ${d} day`)).map((e) => e.destination.to[0]);
      expect(told.sort()).toEqual([SEED.admin, SEED.alice]);
    }
    expect(reminders.every((e) => (e.body.text ?? '').includes('upload'))).toBe(true);
    const audit = await rt.api('GET', `/audit?tokenId=${tokenId}`, { token: await as(SEED.admin) });
    const recorded = (audit.json as { items: AuditView[] }).items.filter((r) => r.event === 'EXPIRY_REMINDER');
    expect(recorded.map((r) => r.details?.days)).toEqual([14, 3]);
    expect(recorded.map((r) => r.details?.generation)).toEqual([1, 1]);

    // Later sweeps and hourly runs: no mark left, nothing more.
    await advance({ hours: 12 });
    expect(await expiryReminders(tokenId)).toHaveLength(4);
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no token value in anything the run produced', async () => {
    // Act
    const report = await scanForLeaks(rt);
    // Assess
    expect(report.secrets.filter((s) => s.label.startsWith('token-warden.jenkins-bot.')).length).toBeGreaterThan(0);
    expect(report.sources).toEqual(expect.arrayContaining(['data dir: runtime-output.log']));
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);
  });
});
