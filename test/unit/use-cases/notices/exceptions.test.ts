import type { StoredException } from '../../../../functions/domain/access-exceptions';
import type { LifecycleEventDetail } from '../../../../functions/domain/lifecycle-event';
import type { Policy } from '../../../../functions/domain/policy';
import type { AuditEvent } from '../../../../functions/domain/records';
import { EMAIL_PLANNERS } from '../../../../functions/use-cases/notices';
import { exceptionPlanners } from '../../../../functions/use-cases/notices/exceptions';
import type { NoticeContext, NoticeReads } from '../../../../functions/use-cases/notify-email';

const ID = 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const MEMBER = 'alice@example.com';
const APPROVERS = ['security@example.com', 'approver1@example.com'];
const ADMINS = ['admin@example.com', 'ops@example.com'];

function exception(over: Partial<StoredException> = {}): StoredException {
  return {
    exceptionId: ID,
    status: 'ACTIVE',
    member: MEMBER,
    days: 7,
    justification: 'The nightly Jenkins job still runs on my token',
    createdAt: '2026-12-01T00:00:00Z',
    approvalsRequired: 1,
    approvals: [],
    startsAt: '2026-12-01T01:00:00Z',
    endsAt: '2026-12-08T01:00:00Z',
    version: 3,
    correlationId: ID,
    approvers: APPROVERS,
    bodyHash: 'h',
    updatedAt: '2026-12-01T01:00:00Z',
    ...over,
  };
}

function event(name: AuditEvent, details: Record<string, string | number> = {}): LifecycleEventDetail {
  return {
    eventId: `${ID}:${name}#x`,
    event: name,
    correlationId: ID,
    requestId: ID,
    actor: 'token-warden',
    at: '2026-12-01T01:00:00Z',
    details: { exceptionId: ID, member: MEMBER, days: 7, ...details },
  };
}

/** A context whose store holds `stored` (or nothing) and nothing else. */
function context(stored: StoredException | undefined): NoticeContext {
  const unused = async () => {
    throw new Error('not read by exception planners');
  };
  const store: NoticeReads = {
    getException: async (id) => (stored && id === stored.exceptionId ? stored : undefined),
    getRequest: unused,
    getApproval: unused,
    getToken: unused,
    getMint: unused,
    getUpload: unused,
    getPersonalToken: unused,
    getPersonalTokens: unused,
    getDriftReport: unused,
  };
  return {
    store,
    policy: { notifications: { adminEmails: ADMINS } } as unknown as Policy,
    clock: { now: () => new Date('2026-12-01T01:00:00Z') },
    consoleUrl: 'https://console.example.com/console/',
    linkBaseUrl: 'https://api.example.com',
    linkKey: async () => Buffer.alloc(32, 1),
  };
}

async function plan(stored: StoredException | undefined, e: LifecycleEventDetail) {
  const planner = EMAIL_PLANNERS[e.event];
  if (!planner) throw new Error(`no planner for ${e.event}`);
  return (await planner(context(stored), e)).map((p) => ({ to: p.to, subject: p.email.subject, text: p.email.text }));
}

const subjectFor = (what: string) => `Access exception for ${MEMBER} ${what}`;

describe('Planners: access exceptions', () => {
  it('plans every EXCEPTION_* event that sends mail, from the one planner table', () => {
    // Act
    const planned = Object.keys(exceptionPlanners).sort();
    // Assess
    expect(planned).toEqual([
      'EXCEPTION_ACTIVATED',
      'EXCEPTION_CANCELLED',
      'EXCEPTION_ENDED',
      'EXCEPTION_EXPIRED',
      'EXCEPTION_FAILED',
      'EXCEPTION_REJECTED',
    ]);
    for (const name of planned) expect(EMAIL_PLANNERS[name as AuditEvent]).toBe(exceptionPlanners[name as AuditEvent]);
  });

  describe('the member and the approvers', () => {
    it.each<[string, AuditEvent, Record<string, string | number>, Partial<StoredException>, string[], string]>([
      [
        'an activation, to the member only',
        'EXCEPTION_ACTIVATED',
        { endsAt: '2026-12-08T01:00:00Z', policyId: 'policy-allow' },
        {},
        [MEMBER],
        'is active until 2026-12-08T01:00:00Z',
      ],
      [
        'an end, with what became of the tokens',
        'EXCEPTION_ENDED',
        { reason: 'ENDED_EARLY', tokens: 'REVOKED', revokedTokens: 2 },
        { status: 'ENDED', reason: 'ENDED_EARLY' },
        [MEMBER, ...APPROVERS],
        'ended (ENDED_EARLY); 2 personal token(s) of theirs revoked',
      ],
      [
        'an approver’s reject',
        'EXCEPTION_REJECTED',
        { outcome: 'REJECTED' },
        { status: 'REJECTED', reason: 'REJECTED_BY_APPROVER' },
        [MEMBER, ...APPROVERS],
        'was rejected',
      ],
      [
        'a cancellation',
        'EXCEPTION_CANCELLED',
        {},
        { status: 'REJECTED', reason: 'CANCELLED' },
        [MEMBER, ...APPROVERS],
        'was cancelled',
      ],
      [
        'an expiry',
        'EXCEPTION_EXPIRED',
        {},
        { status: 'EXPIRED', reason: 'APPROVAL_EXPIRED' },
        [MEMBER, ...APPROVERS],
        'expired before enough approvals arrived',
      ],
      [
        'a failed approval step',
        'EXCEPTION_FAILED',
        { reason: 'APPROVAL_FAILED' },
        { status: 'FAILED', reason: 'APPROVAL_FAILED' },
        [MEMBER, ...APPROVERS],
        'failed before a decision could be recorded (nobody was moved)',
      ],
      [
        'a failed move in, the member moved back',
        'EXCEPTION_FAILED',
        { reason: 'MOVE_FAILED' },
        { status: 'FAILED', reason: 'MOVE_FAILED' },
        [MEMBER, ...APPROVERS],
        'failed: the member could not be moved into the allow policy',
      ],
    ])('tells %s', async (_what, name, details, over, recipients, what) => {
      // Act
      const planned = await plan(exception(over), event(name, details));
      // Assess
      expect(planned.map((p) => p.to)).toEqual(recipients);
      expect(new Set(planned.map((p) => p.subject))).toEqual(new Set([subjectFor(what)]));
      expect(planned[0]?.text).toContain(ID);
    });

    it('tells an end without its token details as handled, and each token outcome in its words', async () => {
      // Prepare
      const ended = exception({ status: 'ENDED', reason: 'DAYS_OVER' });
      // Act
      const subjects = [];
      for (const tokens of [undefined, 'REOPENED', 'KEPT', 'LIVE_EXCEPTION', 'SOMETHING_ELSE']) {
        const [first] = await plan(ended, event('EXCEPTION_ENDED', tokens ? { reason: 'DAYS_OVER', tokens } : {}));
        subjects.push(first?.subject);
      }
      // Assess
      expect(subjects).toEqual([
        subjectFor('ended (DAYS_OVER); their personal tokens were handled when it ended'),
        subjectFor('ended (DAYS_OVER); their personal tokens are governed again by the policy'),
        subjectFor('ended (DAYS_OVER); their personal tokens are kept (the member is exempt)'),
        subjectFor('ended (DAYS_OVER); their personal tokens are governed by their live exception'),
        subjectFor('ended (DAYS_OVER); their personal tokens were handled when it ended'),
      ]);
    });
  });

  describe('the admins', () => {
    it('tells each failed move back, with its count and error', async () => {
      // Act
      const planned = await plan(
        exception({ moveBackFailures: 2 }),
        event('EXCEPTION_FAILED', { reason: 'MOVE_BACK_FAILED', failures: 2, error: 'AtlassianTransientError' }),
      );
      // Assess
      expect(planned.map((p) => p.to)).toEqual(ADMINS);
      expect(planned[0]?.subject).toBe(`Action needed: ${MEMBER} could not be moved back into the block policy`);
      expect(planned[0]?.text).toContain('(2 time(s); AtlassianTransientError)');
    });

    it('a failed move in whose move back failed too: the admins check the policy, the member is told', async () => {
      // Act
      const planned = await plan(
        exception({ status: 'FAILED', reason: 'MOVE_FAILED' }),
        event('EXCEPTION_FAILED', { reason: 'MOVE_FAILED', error: 'PolicyMoveFailedError' }),
      );
      // Assess
      expect(planned.map((p) => [p.to, p.subject])).toEqual([
        ...ADMINS.map((to) => [
          to,
          `Action needed: the access exception of ${MEMBER} failed; check their authentication policy`,
        ]),
        [MEMBER, subjectFor('failed: the member could not be moved into the allow policy')],
      ]);
      expect(planned[0]?.text).toContain('afterwards (PolicyMoveFailedError)');
    });
  });

  describe('nothing to tell', () => {
    it.each<[AuditEvent, Record<string, string | number>]>([
      ['EXCEPTION_ACTIVATED', { endsAt: '2026-12-08T01:00:00Z' }],
      ['EXCEPTION_ENDED', { reason: 'DAYS_OVER', tokens: 'REOPENED' }],
      ['EXCEPTION_REJECTED', { outcome: 'REJECTED' }],
      ['EXCEPTION_CANCELLED', {}],
      ['EXCEPTION_EXPIRED', {}],
      ['EXCEPTION_FAILED', { reason: 'MOVE_BACK_FAILED', failures: 1, error: 'X' }],
      ['EXCEPTION_FAILED', { reason: 'MOVE_FAILED', error: 'X' }],
    ])('%s %j of an exception that is gone sends nothing', async (name, details) => {
      // Act, Assess
      expect(await plan(undefined, event(name, details))).toEqual([]);
    });

    it.each<[string, AuditEvent, Record<string, string | number>, Partial<StoredException>]>([
      ['an activation of an exception ended meanwhile', 'EXCEPTION_ACTIVATED', {}, { status: 'ENDED' }],
      ['an approval (not the rejecting one)', 'EXCEPTION_REJECTED', { outcome: 'PENDING' }, { status: 'REJECTED' }],
      [
        'a reject of an exception the member cancelled',
        'EXCEPTION_REJECTED',
        { outcome: 'REJECTED' },
        { status: 'REJECTED', reason: 'CANCELLED' },
      ],
      ['a cancel of an exception not cancelled', 'EXCEPTION_CANCELLED', {}, { status: 'PENDING_APPROVAL' }],
      ['an end of an exception not ended', 'EXCEPTION_ENDED', { reason: 'DAYS_OVER' }, { status: 'ACTIVE' }],
      ['an expiry of an exception not expired', 'EXCEPTION_EXPIRED', {}, { status: 'APPROVED' }],
      ['a failure of an exception not failed', 'EXCEPTION_FAILED', { reason: 'MOVE_FAILED' }, { status: 'ACTIVE' }],
    ])('%s sends nothing', async (_what, name, details, over) => {
      // Act, Assess
      expect(await plan(exception(over), event(name, details))).toEqual([]);
    });

    it.each<[string, AuditEvent, Record<string, string | number>, Partial<StoredException>]>([
      ["the approver's own rejection", 'EXCEPTION_REJECTED', { outcome: 'REJECTED' }, { status: 'REJECTED' }],
      ["the member's own cancel", 'EXCEPTION_CANCELLED', {}, { status: 'REJECTED', reason: 'CANCELLED' }],
    ])('%s sends nothing: the workflow closing the exception tells', async (_what, name, details, over) => {
      // Act, Assess
      expect(await plan(exception(over), { ...event(name, details), actor: 'security@example.com' })).toEqual([]);
    });

    it('sends nothing for the events no email belongs to', () => {
      // Act, Assess
      for (const name of ['EXCEPTION_REQUESTED', 'EXCEPTION_APPROVED', 'EXCEPTION_END_REQUESTED'] as const) {
        expect({ name, planner: EMAIL_PLANNERS[name] }).toEqual({ name, planner: undefined });
      }
    });
  });
});
