/**
 * Reminders against the records and audit tables: the sweep records `APPROVAL_REMINDER` and `EXPIRY_REMINDER` once
 * per mark, however often it runs, and the notifier's planners (run inline on every appended record) turn them into
 * the emails: the approver's own link again, and what owner and admins should do about a token that will not renew
 * itself. The sweep itself sends nothing.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import type { AuditLog } from '../../../functions/adapters/aws/audit-log';
import type { Workflows } from '../../../functions/adapters/aws/workflow';
import { cryptoRandom } from '../../../functions/composition/random';
import type { Caller } from '../../../functions/domain/model';
import type { Policy } from '../../../functions/domain/policy';
import type { AuditRecord } from '../../../functions/domain/records';
import {
  type ApprovalDeps,
  decideApproval,
  requestApproval,
  showApproval,
} from '../../../functions/use-cases/approvals';
import { createTokenRequest } from '../../../functions/use-cases/requests';
import { recordRotationFailure } from '../../../functions/use-cases/rotation';
import { policyApprovers, remindApprovers, type SweepDeps, sweep } from '../../../functions/use-cases/sweep';
import { policy, useHarness } from '../../support/harness';
import { INLINE_LINK_KEY, notifyingAudit } from '../../support/inline-notifier';

const ses = mockClient(SESv2Client);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const started: string[] = [];
const workflows = {
  start: async (_arn: string, name: string) => {
    started.push(name);
    return `arn:execution:${name}`;
  },
  succeed: async () => true,
  stop: async () => {},
} as unknown as Workflows;

const h = useHarness(ses, () => {
  started.length = 0;
});

/** The shipped policy with the reminders (and anything else) given. */
const withPolicy = (over: Partial<Policy> & { reminders?: Partial<Policy['notifications']['reminders']> }): Policy => {
  const { reminders, ...rest } = over;
  return {
    ...policy,
    ...rest,
    notifications: { ...policy.notifications, reminders: { ...policy.notifications.reminders, ...reminders } },
  };
};

/** Both jenkins-bot approvers must approve, so one decision leaves the request pending. */
const twoApprovals = (reminders?: Partial<Policy['notifications']['reminders']>) =>
  withPolicy({
    serviceAccounts: policy.serviceAccounts.map((a) => ({ ...a, approvalsRequired: 2 })),
    ...(reminders ? { reminders } : {}),
  });

/** jenkins-bot issued manually: each rotation waits for an admin's upload. */
const manual = withPolicy({
  serviceAccounts: policy.serviceAccounts.map((a) => ({ ...a, issuance: 'manual' as const })),
});

/** An audit trail whose appends the planners tell at once under `current` (the policy the notifier runs with). */
const auditUnder = (current: Policy): AuditLog =>
  notifyingAudit(h.dynamo.doc, h.dynamo.auditTableName, () => ({
    store: h.deps.store,
    mailer: h.deps.mailer,
    clock: h.clock,
    policy: current,
  }));

const sweepDeps = (current: Policy, audit: AuditLog = auditUnder(current)): SweepDeps => ({
  store: h.deps.store,
  audit,
  workflows,
  clock: h.clock,
  policy: current,
  rotationStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:rot',
  atlassian: h.deps.atlassian,
  vault: h.deps.vault,
});

const approvalDeps = (current: Policy): ApprovalDeps => ({
  store: h.deps.store,
  audit: auditUnder(current),
  workflows,
  clock: h.clock,
  random: cryptoRandom,
  policy: current,
  linkAndSealKey: async () => ({ current: INLINE_LINK_KEY }),
  approvalBaseUrl: 'https://api.example.com',
  log: { warn: () => {} },
});

interface Sent {
  to: string;
  subject: string;
  text: string;
  link?: string;
}

function sent(): Sent[] {
  return ses.commandCalls(SendEmailCommand).map((c) => {
    const input = c.args[0].input;
    const text = input.Content?.Simple?.Body?.Text?.Data ?? '';
    const link = text.split('\n').find((l) => l.startsWith('https://'));
    return {
      to: input.Destination?.ToAddresses?.[0] ?? '',
      subject: input.Content?.Simple?.Subject?.Data ?? '',
      text,
      ...(link ? { link } : {}),
    };
  });
}

const member = (email: string): Caller => ({ email, isAdmin: false });
const recordsOf = async (correlationId: string, event: AuditRecord['event']) =>
  (await h.deps.audit.list(correlationId)).filter((r) => r.event === event);

/** Alice's request, its approvers asked under `current`; each approver's emailed link. */
async function pendingRequest(name: string, current: Policy) {
  const created = await createTokenRequest(
    {
      ...approvalDeps(current),
      store: h.deps.store,
      issuanceStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Iss',
    },
    member('alice@example.com'),
    { serviceAccount: 'jenkins-bot', name, scopes: ['read:jira-work'], lifetimeDays: 30, justification: 'tests' },
    undefined,
  );
  await requestApproval(approvalDeps(current), { requestId: created.requestId, taskToken: `task-${name}` });
  const links = new Map(sent().map((e) => [e.to, e.link ?? '']));
  ses.resetHistory();
  return { requestId: created.requestId, links };
}

/** The approver decides on their emailed page. */
async function decide(current: Policy, link: string, decision: 'approve' | 'reject') {
  const url = new URL(link);
  const approvalId = url.pathname.split('/').pop() ?? '';
  const sig = url.searchParams.get('sig') ?? '';
  const page = await showApproval(approvalDeps(current), approvalId, sig);
  const csrf = 'form' in page.model && page.model.form ? page.model.form.csrf : '';
  const answer = await decideApproval(approvalDeps(current), approvalId, new URLSearchParams({ decision, sig, csrf }));
  expect(answer.status).toBe(200);
}

describe('approval reminders', () => {
  // The approvals of earlier tests expire (72 hours): each test sees only its own.
  beforeEach(() => h.clock.advance(4 * DAY));

  it('reminds each undecided approver once at the mark, with the link of the first email; not one who decided', async () => {
    // Prepare
    const current = twoApprovals();
    const { requestId, links } = await pendingRequest('remind-once', current);
    expect([...links.keys()].sort()).toEqual(['approver1@example.com', 'approver2@example.com']);
    h.clock.advance(HOUR);
    await decide(current, links.get('approver1@example.com')!, 'approve');
    h.clock.advance(22 * HOUR);
    const early = await remindApprovers(sweepDeps(current));
    ses.resetHistory();
    h.clock.advance(HOUR + 60_000);
    // Act
    const first = await remindApprovers(sweepDeps(current));
    const again = await remindApprovers(sweepDeps(current));
    await sweep(sweepDeps(current));
    // Assess
    expect(early.reminded).toBe(0);
    expect(first.reminded).toBe(1);
    expect(again.reminded).toBe(1);
    const reminders = await recordsOf(requestId, 'APPROVAL_REMINDER');
    expect(reminders).toEqual([
      expect.objectContaining({
        actor: 'token-warden',
        requestId,
        details: expect.objectContaining({ approver: 'approver2@example.com', subject: 'request', hours: 24 }),
      }),
    ]);
    expect(JSON.stringify(reminders)).not.toContain('sig=');
    const mail = sent();
    expect(mail.map((e) => e.to)).toEqual(['approver2@example.com']);
    expect(mail[0]?.subject).toMatch(/^Reminder: /);
    expect(mail[0]?.text).toContain('Reminder: this has waited 24 hours for your decision.');
    expect(mail[0]?.link).toBe(links.get('approver2@example.com'));
  });

  it('reminds at each mark once, and at only the latest when several passed unseen', async () => {
    // Prepare
    const current = twoApprovals({ pendingApprovalHours: [4, 24, 48] });
    const { requestId } = await pendingRequest('remind-marks', current);
    h.clock.advance(25 * HOUR);
    // Act
    await remindApprovers(sweepDeps(current));
    h.clock.advance(24 * HOUR);
    await remindApprovers(sweepDeps(current));
    await remindApprovers(sweepDeps(current));
    // Assess
    const hours = (await recordsOf(requestId, 'APPROVAL_REMINDER')).map((r) => [r.details?.approver, r.details?.hours]);
    expect(hours.sort()).toEqual([
      ['approver1@example.com', 24],
      ['approver1@example.com', 48],
      ['approver2@example.com', 24],
      ['approver2@example.com', 48],
    ]);
    expect(
      sent()
        .map((e) => e.to)
        .sort(),
    ).toEqual(['approver1@example.com', 'approver1@example.com', 'approver2@example.com', 'approver2@example.com']);
  });

  it('records nothing when the reminder is off', async () => {
    // Prepare
    const off = twoApprovals({ pendingApprovalHours: [] });
    const quiet = await pendingRequest('remind-off', off);
    h.clock.advance(30 * HOUR);
    // Act
    const report = await remindApprovers(sweepDeps(off));
    await sweep(sweepDeps(off));
    // Assess
    expect(report.reminded).toBe(0);
    expect(await recordsOf(quiet.requestId, 'APPROVAL_REMINDER')).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it('records nothing once the request was decided', async () => {
    // Prepare
    const one = withPolicy({});
    const decided = await pendingRequest('remind-decided', one);
    await decide(one, decided.links.get('approver1@example.com')!, 'approve');
    ses.resetHistory();
    h.clock.advance(30 * HOUR);
    // Act
    const report = await remindApprovers(sweepDeps(one));
    // Assess
    expect(report.reminded).toBe(0);
    expect(await recordsOf(decided.requestId, 'APPROVAL_REMINDER')).toEqual([]);
    expect(sent()).toEqual([]);
  });

  it('lists the approvers of every service account and of access exceptions, each once', () => {
    // Prepare
    const current = withPolicy({});
    // Act
    const approvers = policyApprovers(current);
    // Assess
    expect(approvers).toEqual(['approver1@example.com', 'approver2@example.com', 'security@example.com']);
  });
});

describe('expiry reminders', () => {
  /**
   * A token issued now, the clock moved to `days` and a half before its expiry (the half keeps the whole days left
   * the same while the test runs). Tokens of earlier tests expire meanwhile: each test looks at its own token only.
   */
  async function tokenDaysBeforeExpiry(days: number) {
    const issued = await h.deps.store.getToken((await h.issuedToken()).tokenId);
    h.clock.advance(Date.parse(issued!.expiresAt) - (days + 0.5) * DAY - h.clock.now().getTime());
    ses.resetHistory();
    return issued!;
  }

  const about = (tokenId: string) => sent().filter((e) => e.text.includes(tokenId));
  const subjects = (tokenId: string) => about(tokenId).map((e) => [e.to, e.subject]);

  it('tells owner and admins once per mark about a token whose rotations fail, never for one on track', async () => {
    // Prepare
    const current = withPolicy({});
    const token = await tokenDaysBeforeExpiry(6);
    const audit = auditUnder(current);
    // Act: the rotation starts and fails; the next day's sweeps find it failing, then two days before expiry.
    const onTrack = await sweep(sweepDeps(current, audit));
    await recordRotationFailure(
      { ...sweepDeps(current, audit) },
      { tokenId: token.tokenId, generation: 2, attempt: 1, error: { Error: 'AtlassianUnavailable' } },
    );
    ses.resetHistory();
    h.clock.advance(DAY);
    const failing = await sweep(sweepDeps(current, audit));
    await sweep(sweepDeps(current, audit));
    const atFourteen = subjects(token.tokenId);
    ses.resetHistory();
    h.clock.advance(3 * DAY);
    await sweep(sweepDeps(current, audit));
    h.clock.advance(HOUR);
    await sweep(sweepDeps(current, audit));
    // Assess
    expect(onTrack.reminded).toBe(0);
    expect(failing.reminded).toBe(1);
    expect(atFourteen).toEqual([
      ['alice@example.com', `Action needed: token expires in 5 day(s): jenkins-bot "${token.name}"`],
      ['admin@example.com', `Action needed: token expires in 5 day(s): jenkins-bot "${token.name}"`],
    ]);
    expect(subjects(token.tokenId)).toEqual([
      ['alice@example.com', `Action needed: token expires in 2 day(s): jenkins-bot "${token.name}"`],
      ['admin@example.com', `Action needed: token expires in 2 day(s): jenkins-bot "${token.name}"`],
    ]);
    expect(about(token.tokenId)[0]?.text).toContain('Its last rotation failed (AtlassianUnavailable');
    const reminders = await recordsOf(token.correlationId, 'EXPIRY_REMINDER');
    expect(reminders.map((r) => r.details)).toEqual([
      { days: 14, expiresAt: token.expiresAt, generation: 1, why: 'rotation-failing' },
      { days: 3, expiresAt: token.expiresAt, generation: 1, why: 'rotation-failing' },
    ]);
  });

  it('tells owner and admins that a manually issued token waits for an upload', async () => {
    // Prepare
    const token = await tokenDaysBeforeExpiry(5);
    // Act
    const report = await sweep(sweepDeps(manual));
    await sweep(sweepDeps(manual));
    // Assess
    expect(report.reminded).toBe(1);
    expect(started.filter((name) => name.startsWith(token.tokenId))).toEqual([`${token.tokenId}-g2-a1`]);
    expect(about(token.tokenId).map((e) => e.to)).toEqual(['alice@example.com', 'admin@example.com']);
    expect(about(token.tokenId)[0]?.text).toContain('Its rotation waits for an admin to upload the new token');
    expect((await recordsOf(token.correlationId, 'EXPIRY_REMINDER')).map((r) => r.details?.why)).toEqual([
      'awaiting-upload',
    ]);
  });

  it('records nothing when the reminder is off', async () => {
    // Prepare
    const off = withPolicy({ reminders: { expiryDays: [] } });
    const token = await tokenDaysBeforeExpiry(5);
    // Act
    const report = await sweep(sweepDeps({ ...off, serviceAccounts: manual.serviceAccounts }));
    // Assess
    expect(report.reminded).toBe(0);
    expect(started).toContain(`${token.tokenId}-g2-a1`);
    expect(await recordsOf(token.correlationId, 'EXPIRY_REMINDER')).toEqual([]);
    expect(about(token.tokenId)).toEqual([]);
  });
});
