/** The access-exception domain: the body's rules, who may approve, quorum and reject, the lifecycle, the view. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  activate,
  applyExceptionDecision,
  canSeeException,
  close,
  EXCEPTION_STATUSES,
  eligibleExceptionApprovers,
  end,
  LIVE_EXCEPTION_STATUSES,
  newException,
  parseCreateExceptionBody,
  type StoredException,
  toExceptionRepresentation,
} from '../../../functions/domain/access-exceptions';
import type { PersonalTokenPolicy, Policy } from '../../../functions/domain/policy';
import { parsePolicy } from '../../../functions/domain/policy-text';

const policy = parsePolicy(readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
const NOW = new Date('2031-06-01T12:00:00Z');
const DAY = 24 * 3600 * 1000;
const JUSTIFICATION = 'The nightly Jenkins job still runs on my token';

/** The repo policy with other exception settings. */
function withExceptions(over: Partial<NonNullable<PersonalTokenPolicy['exceptions']>>): Policy {
  const personal = policy.personalTokens as PersonalTokenPolicy;
  return {
    ...policy,
    personalTokens: {
      ...personal,
      exceptions: { ...(personal.exceptions as NonNullable<PersonalTokenPolicy['exceptions']>), ...over },
    },
  };
}

/** A pending exception of alice under `p`. */
function pending(p: Policy = policy, member = 'alice@example.com'): StoredException {
  return newException({
    exceptionId: 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    body: { days: 7, justification: JUSTIFICATION },
    bodyHash: 'hash',
    member,
    policy: p,
    now: NOW,
  });
}

describe('Domain: access exceptions', () => {
  describe('parseCreateExceptionBody', () => {
    it('accepts days 1 to maxDays and trims the justification', () => {
      // Prepare
      const raw = { days: 30, justification: `  ${JUSTIFICATION}\n` };
      // Act
      const body = parseCreateExceptionBody(raw, policy);
      // Assess
      expect(body).toEqual({ days: 30, justification: JUSTIFICATION });
      expect(parseCreateExceptionBody({ days: 1, justification: 'x'.repeat(10) }, policy).days).toBe(1);
      expect(parseCreateExceptionBody({ days: 2, justification: 'y'.repeat(1000) }, policy).justification).toHaveLength(
        1000,
      );
      // One line, as a token request's justification (surrounding white space is trimmed first).
      expect(() => parseCreateExceptionBody({ days: 2, justification: 'line one\nline two' }, policy)).toThrow(
        expect.objectContaining({ field: 'justification' }),
      );
    });

    it.each([
      ['a missing days', { justification: JUSTIFICATION }],
      ['days 0', { days: 0, justification: JUSTIFICATION }],
      ['days over maxDays', { days: 31, justification: JUSTIFICATION }],
      ['fractional days', { days: 1.5, justification: JUSTIFICATION }],
      ['days as a string', { days: '7', justification: JUSTIFICATION }],
      ['negative days', { days: -1, justification: JUSTIFICATION }],
    ])('refuses %s naming days', (_what, raw) => {
      // Act
      const act = () => parseCreateExceptionBody(raw, policy);
      // Assess
      expect(act).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR', field: 'days' }));
      expect(act).toThrow(/1 to 30/);
    });

    it.each([
      ['a missing justification', { days: 7 }],
      ['a justification of 9 characters', { days: 7, justification: '123456789' }],
      ['a justification padded to 10 with spaces', { days: 7, justification: '  short   ' }],
      ['a justification of 1001 characters', { days: 7, justification: 'x'.repeat(1001) }],
      ['a justification that is not a string', { days: 7, justification: ['a long enough reason'] }],
      ['a justification with a bell character', { days: 7, justification: 'needs it\u0007 for the build' }],
      ['a justification with a direction override', { days: 7, justification: 'needs it \u202e for the build' }],
    ])('refuses %s naming justification', (_what, raw) => {
      // Act
      const act = () => parseCreateExceptionBody(raw, policy);
      // Assess
      expect(act).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR', field: 'justification' }));
    });

    it('names an unknown property, and refuses a body that is not an object', () => {
      // Act, Assess
      expect(() => parseCreateExceptionBody({ days: 7, justification: JUSTIFICATION, member: 'bob' }, policy)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_ERROR', field: 'member' }),
      );
      for (const raw of [null, [], 'days=7', 7]) {
        expect(() => parseCreateExceptionBody(raw, policy)).toThrow(
          expect.objectContaining({ code: 'VALIDATION_ERROR', field: undefined }),
        );
      }
    });

    it('follows the policy’s maxDays', () => {
      // Prepare
      const short = withExceptions({ maxDays: 5 });
      // Act, Assess
      expect(parseCreateExceptionBody({ days: 5, justification: JUSTIFICATION }, short).days).toBe(5);
      expect(() => parseCreateExceptionBody({ days: 6, justification: JUSTIFICATION }, short)).toThrow(
        expect.objectContaining({ field: 'days', message: 'days must be an integer from 1 to 5' }),
      );
    });

    it('is a conflict while the policy has no exceptions', () => {
      // Prepare
      const off: Policy = { ...policy, personalTokens: { ...(policy.personalTokens as PersonalTokenPolicy) } };
      delete off.personalTokens?.exceptions;
      // Act, Assess
      expect(() => parseCreateExceptionBody({ days: 7, justification: JUSTIFICATION }, off)).toThrow(
        expect.objectContaining({ code: 'CONFLICT' }),
      );
      expect(() => pending(off)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    });
  });

  describe('eligibleExceptionApprovers and newException', () => {
    it('never counts the member among the approvers, whatever the case of their email', () => {
      // Prepare
      const p = withExceptions({ approvers: ['alice@example.com', 'security@example.com'] });
      // Act, Assess
      expect(eligibleExceptionApprovers(p, 'Alice@Example.com')).toEqual(['security@example.com']);
      expect(eligibleExceptionApprovers(p, 'bob@example.com')).toEqual(['alice@example.com', 'security@example.com']);
      expect(pending(p, 'ALICE@example.com')).toMatchObject({
        member: 'alice@example.com',
        approvers: ['security@example.com'],
      });
    });

    it('refuses with POLICY_VIOLATION when the member’s exclusion leaves too few approvers', () => {
      // Prepare
      const p = withExceptions({ approvers: ['alice@example.com', 'security@example.com'], approvalsRequired: 2 });
      // Act, Assess
      expect(() => pending(p)).toThrow(expect.objectContaining({ code: 'POLICY_VIOLATION' }));
      expect(() => pending(p)).toThrow('too few approvers besides you (1 of 2 needed)');
      expect(pending(p, 'bob@example.com').approvers).toHaveLength(2);
      expect(() => pending(withExceptions({ approvers: ['alice@example.com'] }))).toThrow(
        expect.objectContaining({ code: 'POLICY_VIOLATION' }),
      );
    });

    it('starts pending, with no approvals, the quorum of the policy and its id as correlation id', () => {
      // Act
      const e = pending();
      // Assess
      expect(e).toEqual({
        exceptionId: 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa',
        status: 'PENDING_APPROVAL',
        member: 'alice@example.com',
        days: 7,
        justification: JUSTIFICATION,
        createdAt: '2031-06-01T12:00:00Z',
        approvalsRequired: 1,
        approvals: [],
        version: 1,
        correlationId: 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa',
        approvers: ['security@example.com'],
        bodyHash: 'hash',
        updatedAt: '2031-06-01T12:00:00Z',
      });
      expect(LIVE_EXCEPTION_STATUSES).toContain(e.status);
    });
  });

  describe('applyExceptionDecision', () => {
    const two = withExceptions({
      approvers: ['security@example.com', 'approver1@example.com', 'approver2@example.com'],
      approvalsRequired: 2,
    });

    it('approves at the quorum, and not before', () => {
      // Prepare
      const e = pending(two);
      // Act
      const first = applyExceptionDecision(e, 'Security@example.com', 'APPROVED', NOW);
      const second = applyExceptionDecision(first.exception, 'approver1@example.com', 'APPROVED', NOW);
      // Assess
      expect(first.outcome).toBe('PENDING');
      expect(first.exception.status).toBe('PENDING_APPROVAL');
      expect(first.exception.approvals).toEqual([
        { approver: 'security@example.com', decision: 'APPROVED', decidedAt: '2031-06-01T12:00:00Z' },
      ]);
      expect(second.outcome).toBe('APPROVED');
      expect(second.exception.status).toBe('APPROVED');
      expect(second.exception.approvals).toHaveLength(2);
      expect(e.approvals).toEqual([]);
    });

    it('rejects at the first reject, even after an approval', () => {
      // Prepare
      const first = applyExceptionDecision(pending(two), 'security@example.com', 'APPROVED', NOW);
      // Act
      const rejected = applyExceptionDecision(first.exception, 'approver2@example.com', 'REJECTED', NOW);
      // Assess
      expect(rejected.outcome).toBe('REJECTED');
      expect(rejected.exception).toMatchObject({ status: 'REJECTED', reason: 'REJECTED_BY_APPROVER' });
    });

    it('refuses someone who is not an approver, a second decision, and a decided exception', () => {
      // Prepare
      const e = pending(two);
      const first = applyExceptionDecision(e, 'security@example.com', 'APPROVED', NOW).exception;
      const done = applyExceptionDecision(pending(), 'security@example.com', 'APPROVED', NOW).exception;
      // Act, Assess
      expect(() => applyExceptionDecision(e, 'alice@example.com', 'APPROVED', NOW)).toThrow(
        expect.objectContaining({ code: 'FORBIDDEN' }),
      );
      expect(() => applyExceptionDecision(first, 'security@example.com', 'REJECTED', NOW)).toThrow(
        expect.objectContaining({ code: 'CONFLICT' }),
      );
      expect(() => applyExceptionDecision(done, 'security@example.com', 'APPROVED', NOW)).toThrow(
        expect.objectContaining({ code: 'CONFLICT', message: 'exception is APPROVED' }),
      );
    });
  });

  describe('the lifecycle', () => {
    it('activates for the approved days: endsAt = startsAt + days', () => {
      // Prepare
      const approved = applyExceptionDecision(pending(), 'security@example.com', 'APPROVED', NOW).exception;
      const at = new Date(NOW.getTime() + 90_000);
      // Act
      const active = activate(approved, at);
      // Assess
      expect(active).toMatchObject({ status: 'ACTIVE', startsAt: '2031-06-01T12:01:30Z', updatedAt: active.startsAt });
      expect(Date.parse(active.endsAt ?? '') - Date.parse(active.startsAt ?? '')).toBe(7 * DAY);
    });

    it('ends with the time and reason, and closes with a status and reason', () => {
      // Prepare
      const active = activate(pending(), NOW);
      const later = new Date(NOW.getTime() + DAY);
      // Act
      const ended = end(active, 'ENDED_EARLY', later);
      const expired = close(pending(), 'EXPIRED', 'APPROVAL_EXPIRED', later);
      // Assess
      expect(ended).toMatchObject({ status: 'ENDED', reason: 'ENDED_EARLY', endedAt: '2031-06-02T12:00:00Z' });
      expect(ended.startsAt).toBe(active.startsAt);
      expect(expired).toMatchObject({ status: 'EXPIRED', reason: 'APPROVAL_EXPIRED' });
      expect(expired.endedAt).toBeUndefined();
      expect(EXCEPTION_STATUSES.filter((s) => !LIVE_EXCEPTION_STATUSES.includes(s))).toEqual([
        'ENDED',
        'REJECTED',
        'EXPIRED',
        'FAILED',
      ]);
    });

    it('lets the member see their own and admins see all', () => {
      // Prepare
      const e = pending();
      // Act, Assess
      expect(canSeeException({ email: 'alice@example.com', isAdmin: false }, e)).toBe(true);
      expect(canSeeException({ email: 'bob@example.com', isAdmin: false }, e)).toBe(false);
      expect(canSeeException({ email: 'admin@example.com', isAdmin: true }, e)).toBe(true);
    });
  });

  describe('toExceptionRepresentation', () => {
    it('shows the contract’s fields only: no approvers, sealed token, account id or bookkeeping', () => {
      // Prepare
      const stored: StoredException = {
        ...end(
          {
            ...activate(applyExceptionDecision(pending(), 'security@example.com', 'APPROVED', NOW).exception, NOW),
            accountId: 'acc-1',
            taskTokenSealed: 'v1.sealed',
            endRequestedAt: '2031-06-02T00:00:00Z',
            endRequestedBy: 'alice@example.com',
          },
          'ENDED_EARLY',
          new Date(NOW.getTime() + DAY),
        ),
      };
      // Act
      const view = toExceptionRepresentation(stored);
      // Assess
      expect(Object.keys(view).sort()).toEqual(
        [
          'exceptionId',
          'status',
          'member',
          'days',
          'justification',
          'createdAt',
          'approvalsRequired',
          'approvals',
          'startsAt',
          'endsAt',
          'endedAt',
          'reason',
        ].sort(),
      );
      expect(view).toMatchObject({ status: 'ENDED', reason: 'ENDED_EARLY', approvals: [{ decision: 'APPROVED' }] });
      expect(JSON.stringify(view)).not.toMatch(/acc-1|v1\.sealed|hash|approvers/);
      // A copy: changing the view changes nothing stored.
      view.approvals[0]!.decision = 'REJECTED';
      expect(stored.approvals[0]?.decision).toBe('APPROVED');
    });

    it('leaves out what a pending exception does not have yet', () => {
      // Act
      const view = toExceptionRepresentation(pending());
      // Assess
      expect(view).not.toHaveProperty('startsAt');
      expect(view).not.toHaveProperty('endsAt');
      expect(view).not.toHaveProperty('endedAt');
      expect(view).not.toHaveProperty('reason');
    });
  });
});
