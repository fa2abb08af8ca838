import type { AccessExceptionRepresentation } from '../../../functions/domain/access-exceptions';
import {
  type ExceptionOutcome,
  exceptionFailedAdminEmail,
  exceptionOutcomeText,
  exceptionStatusEmail,
  moveBackFailedEmail,
  tokensHandledText,
} from '../../../functions/domain/exception-messages';

const EXCEPTION: AccessExceptionRepresentation = {
  exceptionId: 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa',
  status: 'ENDED',
  member: 'alice@example.com',
  days: 7,
  justification: 'The nightly Jenkins job still runs on my token',
  createdAt: '2026-12-01T00:00:00Z',
  approvalsRequired: 1,
  approvals: [],
  reason: 'DAYS_OVER',
};

describe('Module: exception-messages', () => {
  describe('Function: exceptionOutcomeText', () => {
    it.each<[ExceptionOutcome, string]>([
      [{ kind: 'ACTIVATED', endsAt: '2026-12-08T00:00:00Z' }, 'is active until 2026-12-08T00:00:00Z'],
      [
        { kind: 'ENDED', reason: 'DAYS_OVER', tokens: { outcome: 'REOPENED' } },
        'ended (DAYS_OVER); their personal tokens are governed again by the policy',
      ],
      [
        { kind: 'ENDED', reason: 'ENDED_EARLY', tokens: { outcome: 'REVOKED', revoked: 2 } },
        'ended (ENDED_EARLY); 2 personal token(s) of theirs revoked',
      ],
      [{ kind: 'REJECTED' }, 'was rejected'],
      [{ kind: 'CANCELLED' }, 'was cancelled'],
      [{ kind: 'EXPIRED' }, 'expired before enough approvals arrived'],
      [{ kind: 'APPROVAL_FAILED' }, 'failed before a decision could be recorded (nobody was moved)'],
      [{ kind: 'MOVE_FAILED' }, 'failed: the member could not be moved into the allow policy'],
    ])('says %j as "%s"', (outcome, expected) => {
      // Act
      const said = exceptionOutcomeText(outcome);
      // Assess
      expect(said).toBe(expected);
    });
  });

  describe('Function: tokensHandledText', () => {
    it.each([
      [{ outcome: 'REOPENED' as const }, 'their personal tokens are governed again by the policy'],
      [{ outcome: 'KEPT' as const }, 'their personal tokens are kept (the member is exempt)'],
      [{ outcome: 'REVOKED' as const, revoked: 0 }, '0 personal token(s) of theirs revoked'],
      [{ outcome: 'LIVE_EXCEPTION' as const }, 'their personal tokens are governed by their live exception'],
      [{ outcome: 'HANDLED_BEFORE' as const }, 'their personal tokens were handled when it ended'],
    ])('says %j as "%s"', (tokens, expected) => {
      // Act, Assess
      expect(tokensHandledText(tokens)).toBe(expected);
    });
  });

  describe('Function: exceptionStatusEmail', () => {
    it('puts the outcome in the subject and the summary, with the exception’s facts and status', () => {
      // Act
      const email = exceptionStatusEmail(EXCEPTION, {
        kind: 'ENDED',
        reason: 'DAYS_OVER',
        tokens: { outcome: 'REVOKED', revoked: 1 },
      });
      // Assess
      expect(email.subject).toBe(
        'Access exception for alice@example.com ended (DAYS_OVER); 1 personal token(s) of theirs revoked',
      );
      expect(email.text).toContain(
        'The access exception exc_aaaaaaaaaaaaaaaaaaaaaaaaaa for alice@example.com ended (DAYS_OVER); 1 personal token(s) of theirs revoked.',
      );
      expect(email.text).toContain('Justification: The nightly Jenkins job still runs on my token');
      expect(email.text).toContain('Status: ENDED');
      expect(email.html).toContain('alice@example.com');
    });
  });

  describe('Function: moveBackFailedEmail', () => {
    it('tells the admins how often the move back failed and why, and what to do if it persists', () => {
      // Act
      const email = moveBackFailedEmail(EXCEPTION, 3, 'AtlassianTransientError');
      // Assess
      expect(email.subject).toBe('Action needed: alice@example.com could not be moved back into the block policy');
      expect(email.text).toBe(
        [
          'The access exception exc_aaaaaaaaaaaaaaaaaaaaaaaaaa of alice@example.com is over, but moving them back into the',
          'authentication policy that blocks API tokens failed (3 time(s); AtlassianTransientError).',
          'Token Warden keeps retrying. Until it succeeds the member can still create and use personal API tokens:',
          'move them by hand in admin.atlassian.com if this persists.',
        ].join('\n'),
      );
      expect(email.html).toBe(`<p>${email.text.split('\n').join('<br>')}</p>`);
    });

    it('keeps an error text on one line, unlinked and escaped', () => {
      // Act
      const email = moveBackFailedEmail(EXCEPTION, 1, 'Bad <b>gateway</b>\nsee https://evil.example.com');
      // Assess
      expect(email.text.split('\n')).toHaveLength(4);
      expect(email.text).not.toContain('https://');
      expect(email.text).toContain('https[:]//evil.example.com');
      expect(email.html).not.toContain('<b>');
      expect(email.html).toContain('&lt;b&gt;');
    });
  });

  describe('Function: exceptionFailedAdminEmail', () => {
    it('asks the admins to check which policy the member is in', () => {
      // Act
      const email = exceptionFailedAdminEmail(EXCEPTION, 'PolicyMoveFailedError');
      // Assess
      expect(email.subject).toBe(
        'Action needed: the access exception of alice@example.com failed; check their authentication policy',
      );
      expect(email.text).toBe(
        [
          'Token Warden could not move alice@example.com into the allow policy, nor back into the block policy',
          'afterwards (PolicyMoveFailedError). Check in admin.atlassian.com which authentication policy they',
          'are in (exception exc_aaaaaaaaaaaaaaaaaaaaaaaaaa).',
        ].join('\n'),
      );
    });
  });
});
