/** The email planners of requests, approvals, uploads and tokens: who is told what, from which event. */
import type { LifecycleEventDetail } from '../../../../functions/domain/lifecycle-event';
import { verifyApprovalLink, verifyUploadLink } from '../../../../functions/domain/links';
import { uploadIdFor } from '../../../../functions/domain/naming';
import type {
  ApprovalRecord,
  AuditEvent,
  MintRecord,
  StoredRequest,
  UploadRecord,
} from '../../../../functions/domain/records';
import { EMAIL_PLANNERS } from '../../../../functions/use-cases/notices';
import { policy } from '../../../support/harness';
import {
  approvalRecord,
  KEY,
  noticeContext,
  REQUEST_ID,
  type Stored,
  storedRequest,
  storedToken,
  TOKEN_ID,
} from './fixtures';

const NOW = new Date('2026-12-01T12:00:00Z');
const [APPROVER1, APPROVER2] = policy.serviceAccounts[0]!.approvers as [string, string];
const ADMIN = policy.notifications.adminEmails[0]!;

const request = (over: Partial<StoredRequest> = {}) => storedRequest('2026-12-01T00:00:00Z', over);
const approval = (over: Partial<ApprovalRecord> = {}) =>
  approvalRecord(APPROVER1, { createdAt: '2026-12-01T00:00:00Z', expiresAt: '2026-12-04T00:00:00Z' }, over);
const token = storedToken;
const context = (stored: Stored) => noticeContext(stored, NOW);

function event(name: AuditEvent, over: Partial<LifecycleEventDetail> = {}): LifecycleEventDetail {
  return {
    eventId: `${REQUEST_ID}:${name}#x`,
    event: name,
    correlationId: REQUEST_ID,
    requestId: REQUEST_ID,
    actor: 'token-warden',
    at: NOW.toISOString().replace('.000', ''),
    ...over,
  };
}

async function plan(stored: Stored, e: LifecycleEventDetail) {
  const planner = EMAIL_PLANNERS[e.event];
  if (!planner) return [];
  return (await planner(context(stored), e)).map((p) => ({ to: p.to, ...p.email }));
}

/** The one line of a text body that holds a URL. */
const linkOf = (text: string) => {
  const lines = text.split('\n').filter((l) => /^https?:\/\//.test(l));
  expect(lines).toHaveLength(1);
  return new URL(lines[0]!);
};

describe('Email planners: requests and approvals', () => {
  const asked = (over: Record<string, string> = {}) =>
    event('APPROVAL_REQUESTED', {
      details: { approvalId: approval().approvalId, approver: APPROVER1, subject: 'request', ...over },
    });

  it("emails an open approval's approver their own link, which verifies for them and nobody else", async () => {
    const [mail, ...more] = await plan({ requests: [request()], approvals: [approval()] }, asked());

    expect(more).toEqual([]);
    expect(mail).toMatchObject({ to: APPROVER1, subject: expect.stringContaining('Approval needed: jenkins-bot') });
    const link = linkOf(mail!.text);
    expect(link.origin + link.pathname).toBe(`https://api.example.com/approvals/${approval().approvalId}`);
    const sig = link.searchParams.get('sig')!;
    expect(verifyApprovalLink(KEY, approval().approvalId, APPROVER1, sig)).toEqual({
      valid: true,
      expiresAt: new Date('2026-12-04T00:00:00Z'),
    });
    expect(verifyApprovalLink(KEY, approval().approvalId, APPROVER2, sig)).toEqual({ valid: false });
    expect(mail!.html).toContain(`/approvals/${approval().approvalId}?sig=`);
  });

  it('signs the same link every time the event is planned', async () => {
    const stored = { requests: [request()], approvals: [approval()] };
    const [first] = await plan(stored, asked());
    const [second] = await plan(stored, asked());
    expect(linkOf(second!.text).href).toBe(linkOf(first!.text).href);
  });

  it.each([
    ['decided', { approvals: [approval({ status: 'DECIDED', decision: 'APPROVED' })], requests: [request()] }],
    ['closed', { approvals: [approval({ status: 'CLOSED' })], requests: [request()] }],
    ['past its expiry', { approvals: [approval({ expiresAt: '2026-12-01T11:59:59Z' })], requests: [request()] }],
    ['gone', { requests: [request()] }],
    ['for a request no longer pending', { approvals: [approval()], requests: [request({ status: 'REJECTED' })] }],
  ])('sends nothing for an approval %s', async (_what, stored) => {
    expect(await plan(stored as Stored, asked())).toEqual([]);
  });

  it.each([
    ['REJECTED', 'REJECTED', 'was rejected'],
    ['CANCELLED', 'CANCELLED', 'was cancelled'],
    ['EXPIRED', 'APPROVAL_EXPIRED', 'expired before enough approvals arrived'],
    ['ISSUANCE_FAILED', 'AtlassianTransientError', 'issuing the token failed'],
  ] as const)('tells the requester and every approver how the request ended (%s)', async (name, reason, what) => {
    const mails = await plan({ requests: [request()] }, event(name, { details: { reason } }));

    expect(mails.map((m) => m.to)).toEqual(['alice@example.com', APPROVER1, APPROVER2]);
    expect(mails[0]!.text).toContain(what);
    expect(mails[0]!.text).toContain(`Reason: ${reason}`);
    expect(mails.every((m) => !/https?:\/\//.test(m.text))).toBe(true);
  });

  it("tells the requester the secret's name and expiry when the token is issued", async () => {
    const issued = event('ISSUED', {
      tokenId: TOKEN_ID,
      details: { secretName: 'token-warden.jenkins-bot.ci-main', expiresAt: '2026-12-31T00:00:00Z', generation: 1 },
    });
    const mails = await plan({ requests: [request()] }, issued);

    expect(mails.map((m) => m.to)).toEqual(['alice@example.com', APPROVER1, APPROVER2]);
    expect(mails[0]!.text).toContain('Secret: token-warden.jenkins-bot.ci-main');
    expect(mails[0]!.text).toContain('Expires: 2026-12-31T00:00:00Z');
  });

  it('sends nothing to an approver the policy of now no longer lets decide (their link would answer 403)', async () => {
    const removed = {
      ...policy,
      serviceAccounts: [{ ...policy.serviceAccounts[0]!, approvers: [APPROVER2] }, ...policy.serviceAccounts.slice(1)],
    };
    const planner = EMAIL_PLANNERS.APPROVAL_REQUESTED!;
    const stored = { requests: [request()], approvals: [approval()] };
    expect(await planner({ ...context(stored), policy: removed }, asked())).toEqual([]);
    expect(await planner(context(stored), asked())).toHaveLength(1);
  });

  it('does not email again a link its step emailed before the notifier sent them, but reminds of it', async () => {
    const stored = { requests: [request()], approvals: [approval({ emailedAt: '2026-12-01T00:00:01Z' })] };
    const reminder = event('APPROVAL_REMINDER', {
      details: { approvalId: approval().approvalId, approver: APPROVER1, subject: 'request', hours: 24 },
    });
    expect(await plan(stored, asked())).toEqual([]);
    expect((await plan(stored, reminder)).map((m) => m.subject)).toEqual([
      expect.stringMatching(/^Reminder: Approval needed/),
    ]);
  });

  it("sends nothing for an approver's own rejection or the member's own cancel: the workflow's closing event tells", async () => {
    const byApprover = event('REJECTED', { actor: APPROVER1, details: { outcome: 'REJECTED' } });
    const byMember = event('CANCELLED', { actor: 'alice@example.com' });
    expect(await plan({ requests: [request()] }, byApprover)).toEqual([]);
    expect(await plan({ requests: [request()] }, byMember)).toEqual([]);
  });

  it('sends nothing about a request that is gone', async () => {
    expect(await plan({}, event('EXPIRED', { details: { reason: 'APPROVAL_EXPIRED' } }))).toEqual([]);
  });
});

describe('Email planners: upload requests (manual issuance)', () => {
  const uploadId = uploadIdFor(TOKEN_ID, 1, 1, ADMIN);
  const upload = (over: Partial<UploadRecord> = {}): UploadRecord => ({
    uploadId,
    tokenId: TOKEN_ID,
    generation: 1,
    round: 1,
    requestId: REQUEST_ID,
    admin: ADMIN,
    expiresAt: '2026-12-04T00:00:00Z',
    status: 'OPEN',
    csrfHashes: [],
    createdAt: '2026-12-01T00:00:00Z',
    ...over,
  });
  const mint = (state: MintRecord['state']) =>
    ({
      tokenId: TOKEN_ID,
      generation: 1,
      requestId: REQUEST_ID,
      label: `token-warden:${TOKEN_ID}:g1`,
      versionId: 'v1',
      state,
      expiresAt: '2026-12-31T00:00:00Z',
    }) satisfies MintRecord;
  const requested = event('UPLOAD_REQUESTED', {
    tokenId: TOKEN_ID,
    details: { uploadId, admin: ADMIN, generation: 1 },
  });

  it('emails the admin the instructions and their own upload link', async () => {
    const [mail, ...more] = await plan(
      { requests: [request()], mints: [mint('AWAITING_UPLOAD')], uploads: [upload()] },
      requested,
    );

    expect(more).toEqual([]);
    expect(mail!.to).toBe(ADMIN);
    expect(mail!.subject).toBe('Action needed: create an Atlassian token for jenkins-bot "ci-main"');
    expect(mail!.text).toContain(`Label (exactly): token-warden:${TOKEN_ID}:g1`);
    const link = linkOf(mail!.text);
    expect(link.pathname).toBe(`/uploads/${uploadId}`);
    expect(verifyUploadLink(KEY, uploadId, ADMIN, link.searchParams.get('sig')!)).toMatchObject({ valid: true });
    expect(verifyApprovalLink(KEY, uploadId, ADMIN, link.searchParams.get('sig')!)).toEqual({ valid: false });
  });

  it.each([
    ['used', { uploads: [upload({ status: 'USED' })], mints: [mint('AWAITING_UPLOAD')] }],
    ['expired', { uploads: [upload({ expiresAt: '2026-12-01T11:00:00Z' })], mints: [mint('AWAITING_UPLOAD')] }],
    ['no longer awaited', { uploads: [upload()], mints: [mint('DISCARDED')] }],
    [
      'emailed by its step before',
      { uploads: [upload({ emailedAt: '2026-12-01T00:00:01Z' })], mints: [mint('AWAITING_UPLOAD')] },
    ],
  ])('sends nothing for an upload link %s', async (_what, stored) => {
    expect(await plan({ requests: [request()], ...(stored as Stored) }, requested)).toEqual([]);
  });
});

describe('Email planners: tokens', () => {
  const about = (name: AuditEvent, details: Record<string, string | number>, actor = 'token-warden') =>
    event(name, { tokenId: TOKEN_ID, actor, details });

  it('tells the owner a rotation finished, with the generation the event names', async () => {
    const mails = await plan({ tokens: [token()] }, about('ROTATED', { generation: 2 }));
    expect(mails.map((m) => [m.to, m.subject])).toEqual([
      ['alice@example.com', 'Token rotated: jenkins-bot "ci-main"'],
    ]);
    expect(mails[0]!.text).toContain('rotated to generation 2');
  });

  it('tells the owner and the admins a rotation failed, with its error code', async () => {
    const mails = await plan(
      { tokens: [token()] },
      about('ROTATION_FAILED', { generation: 3, attempt: 1, code: 'AtlassianTransientError' }),
    );
    expect(mails.map((m) => m.to)).toEqual(['alice@example.com', ADMIN]);
    expect(mails[0]!.text).toContain('to generation 3 failed: AtlassianTransientError');
  });

  it('tells the owner who revoked the token and why', async () => {
    const mails = await plan(
      { tokens: [token({ status: 'REVOKED' })] },
      about('REVOKED', { reason: 'leaked in a build log', generation: 2 }, ADMIN),
    );
    expect(mails.map((m) => m.to)).toEqual(['alice@example.com']);
    expect(mails[0]!.text).toContain(`was revoked by ${ADMIN}`);
    expect(mails[0]!.text).toContain('Reason: leaked in a build log');
  });

  it('tells the owner and the admins the token expired', async () => {
    const mails = await plan(
      { tokens: [token({ status: 'EXPIRED' })] },
      about('TOKEN_EXPIRED', { expiresAt: '2026-12-01T00:00:00Z', generation: 2 }),
    );
    expect(mails.map((m) => m.to)).toEqual(['alice@example.com', ADMIN]);
    expect(mails[0]!.subject).toBe('Token expired: jenkins-bot "ci-main"');
  });

  it('sends nothing about a token that is gone', async () => {
    expect(await plan({}, about('ROTATED', { generation: 2 }))).toEqual([]);
  });

  it("lists the inventory's findings to the admins; delivered after a later run, the count and where to look", async () => {
    const findings = [{ kind: 'UNKNOWN_TOKEN', serviceAccount: 'jenkins-bot', label: 'x', detail: 'not recorded' }];
    const drift = event('DRIFT_DETECTED', {
      requestId: 'inventory',
      correlationId: 'inventory',
      details: { findings: 1 },
    });
    const current = await plan({ drift: { generatedAt: drift.at, findings } }, drift);
    const replaced = await plan({ drift: { generatedAt: '2026-12-02T00:00:00Z', findings: [] } }, drift);

    expect(current.map((m) => [m.to, m.subject])).toEqual([[ADMIN, 'Token inventory: 1 finding(s)']]);
    expect(current[0]!.text).toContain('- UNKNOWN_TOKEN jenkins-bot x: not recorded');
    expect(replaced.map((m) => [m.to, m.subject])).toEqual([[ADMIN, 'Token inventory: 1 finding(s)']]);
    expect(replaced[0]!.text).toContain('A later inventory has replaced this report');
  });

  it('warns the admins of the org key expiry, or that it has expired', async () => {
    const key = (daysLeft: number) =>
      event('ORG_KEY_EXPIRING', {
        requestId: 'org-key',
        correlationId: 'org-key',
        details: { expiresAt: '2026-12-10T00:00:00Z', daysLeft },
      });
    const [soon] = await plan({}, key(9));
    const [gone] = await plan({}, key(-1));
    expect(soon).toMatchObject({ to: ADMIN, subject: 'Atlassian organization API key expires in 9 day(s)' });
    expect(gone).toMatchObject({ to: ADMIN, subject: 'Atlassian organization API key has expired' });
  });
});
