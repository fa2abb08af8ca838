/** The email planners of reminders: the approver's own link again, and what to do about a token that will not renew. */
import type { LifecycleEventDetail } from '../../../../functions/domain/lifecycle-event';
import type { Policy } from '../../../../functions/domain/policy';
import type { ApprovalRecord, AuditEvent, StoredRequest, StoredToken } from '../../../../functions/domain/records';
import { EMAIL_PLANNERS } from '../../../../functions/use-cases/notices';
import { policy } from '../../../support/harness';
import {
  approvalRecord,
  noticeContext,
  REQUEST_ID,
  type Stored,
  storedRequest,
  storedToken,
  TOKEN_ID,
} from './fixtures';

const NOW = new Date('2026-12-01T12:00:00Z');
const APPROVER = policy.serviceAccounts[0]!.approvers[0]!;
const ADMIN = policy.notifications.adminEmails[0]!;
const manual: Policy = {
  ...policy,
  serviceAccounts: policy.serviceAccounts.map((a) => ({ ...a, issuance: 'manual' as const })),
};

const request = (over: Partial<StoredRequest> = {}) => storedRequest('2026-11-30T00:00:00Z', over);
const approval = (over: Partial<ApprovalRecord> = {}) =>
  approvalRecord(APPROVER, { createdAt: '2026-11-30T00:00:00Z', expiresAt: '2026-12-03T00:00:00Z' }, over);

/** A token three and a half days before its expiry, whose rotation to generation 3 failed. */
const token = (over: Partial<StoredToken> = {}) =>
  storedToken({
    expiresAt: '2026-12-05T00:00:00Z',
    nextRotationAt: '2026-11-28T00:00:00Z',
    lastRotationError: { code: 'AtlassianUnavailable', message: 'x', at: '2026-11-30T00:00:00Z' },
    createdAt: '2026-11-05T00:00:00Z',
    ...over,
  });

const context = (stored: Stored, current: Policy) => noticeContext(stored, NOW, current);

function event(name: AuditEvent, details: LifecycleEventDetail['details']): LifecycleEventDetail {
  return {
    eventId: `${REQUEST_ID}:${name}#x`,
    event: name,
    correlationId: REQUEST_ID,
    requestId: REQUEST_ID,
    ...(name === 'EXPIRY_REMINDER' ? { tokenId: TOKEN_ID } : {}),
    actor: 'token-warden',
    at: NOW.toISOString().replace('.000', ''),
    ...(details ? { details } : {}),
  };
}

async function plan(stored: Stored, e: LifecycleEventDetail, current: Policy = policy) {
  const planner = EMAIL_PLANNERS[e.event];
  if (!planner) throw new Error(`no planner for ${e.event}`);
  return (await planner(context(stored, current), e)).map((p) => ({ to: p.to, ...p.email }));
}

const linkOf = (text: string) => text.split('\n').filter((l) => /^https?:\/\//.test(l));

describe('Email planners: APPROVAL_REMINDER', () => {
  const reminder = (details: LifecycleEventDetail['details'] = { approvalId: approval().approvalId, hours: 24 }) =>
    event('APPROVAL_REMINDER', { approver: APPROVER, subject: 'request', ...details });

  it('emails the approver the link of the first email, said to be a reminder', async () => {
    // Prepare
    const stored = { requests: [request()], approvals: [approval()] };
    const first = event('APPROVAL_REQUESTED', { approvalId: approval().approvalId, approver: APPROVER });
    // Act
    const [asked] = await plan(stored, first);
    const reminded = await plan(stored, reminder());
    // Assess
    expect(reminded).toHaveLength(1);
    expect(reminded[0]).toMatchObject({ to: APPROVER, subject: `Reminder: ${asked?.subject}` });
    expect(reminded[0]?.text).toMatch(/^Reminder: this has waited 24 hours for your decision\./);
    expect(linkOf(reminded[0]?.text ?? '')).toEqual(linkOf(asked?.text ?? ''));
    expect(linkOf(reminded[0]?.text ?? '')).toHaveLength(1);
  });

  it('plans nothing once the approval is decided or the request no longer pending, nor without its details', async () => {
    // Prepare
    const decided = { requests: [request()], approvals: [approval({ status: 'DECIDED', decision: 'APPROVED' })] };
    const issued = { requests: [request({ status: 'ISSUED' })], approvals: [approval()] };
    const open = { requests: [request()], approvals: [approval()] };
    // Act
    const planned = await Promise.all([
      plan(decided, reminder()),
      plan(issued, reminder()),
      plan(open, reminder({ approvalId: approval().approvalId })),
      plan(open, reminder({ hours: 24 })),
    ]);
    // Assess
    expect(planned).toEqual([[], [], [], []]);
  });
});

describe('Email planners: EXPIRY_REMINDER', () => {
  const reminder = (generation = 2) =>
    event('EXPIRY_REMINDER', { days: 3, expiresAt: token().expiresAt, generation, why: 'rotation-failing' });

  it('tells owner and admins that the rotations fail and what to check', async () => {
    // Prepare
    const stored = { tokens: [token()] };
    // Act
    const planned = await plan(stored, reminder());
    // Assess
    expect(planned.map((p) => p.to)).toEqual(['alice@example.com', ADMIN]);
    expect(planned[0]?.subject).toBe('Action needed: token expires in 3 day(s): jenkins-bot "ci-main"');
    expect(planned[0]?.text).toContain(
      `Token ${TOKEN_ID} (token-warden.jenkins-bot.ci-main) expires at 2026-12-05T00:00:00Z`,
    );
    expect(planned[0]?.text).toContain('Its last rotation failed (AtlassianUnavailable at 2026-11-30T00:00:00Z)');
    expect(planned[0]?.text).not.toMatch(/https?:\/\//);
  });

  it('tells a manually issued token’s owner and admins to upload, or that the upload round ended without a token', async () => {
    // Prepare
    const waiting = token({
      status: 'ROTATING',
      lastRotationError: undefined,
      rotation: { generation: 3, attempt: 1, startedAt: '2026-11-30T00:00:00Z' },
    });
    // Act
    const [upload] = await plan({ tokens: [waiting] }, reminder(), manual);
    const [ended] = await plan({ tokens: [token()] }, reminder(), manual);
    // Assess
    expect(upload?.text).toContain('Its rotation waits for an admin to upload the new token');
    expect(ended?.text).toContain('Its last upload round ended without a new token (AtlassianUnavailable');
  });

  it('plans nothing once the token rotated, is revoked or expired, or is on track again', async () => {
    // Prepare
    const rotated = { tokens: [token({ generation: 3 })] };
    const revoked = { tokens: [token({ status: 'REVOKED' })] };
    const expired = { tokens: [token({ status: 'EXPIRED' })] };
    const onTrack = { tokens: [token({ lastRotationError: undefined })] };
    // Act
    const planned = await Promise.all([
      plan(rotated, reminder()),
      plan(revoked, reminder()),
      plan(expired, reminder()),
      plan(onTrack, reminder()),
      plan({ tokens: [] }, reminder()),
    ]);
    // Assess
    expect(planned).toEqual([[], [], [], [], []]);
  });
});
