/**
 * Email texts about access exceptions: what became of one, for the member and its approvers, and what the admins must
 * check by hand when moving the member failed. Pure: no I/O. Each value is kept on one line with its URLs unlinked
 * (./text), so these emails carry no link.
 */
import type { AccessExceptionRepresentation, ExceptionTokensHandled } from './access-exceptions';
import { exceptionOutcomeEmail } from './messages';
import type { RenderedEmail } from './notice';
import { inlineForEmail } from './text';
import { plainEmail } from './token-messages';

/** How an exception stands, as its member and approvers are told. */
export type ExceptionOutcome =
  | { kind: 'ACTIVATED'; endsAt: string }
  | { kind: 'ENDED'; reason: string; tokens: ExceptionTokensHandled }
  | { kind: 'REJECTED' }
  | { kind: 'CANCELLED' }
  | { kind: 'EXPIRED' }
  /** Closed before a decision could be recorded: nobody was moved. */
  | { kind: 'APPROVAL_FAILED' }
  /** The member could not be moved into the allow policy. */
  | { kind: 'MOVE_FAILED' };

/** What happened to the member's tokens, as the end's email says it. */
export function tokensHandledText(tokens: ExceptionTokensHandled): string {
  switch (tokens.outcome) {
    case 'REOPENED':
      return 'their personal tokens are governed again by the policy';
    case 'KEPT':
      return 'their personal tokens are kept (the member is exempt)';
    case 'REVOKED':
      return `${tokens.revoked ?? 0} personal token(s) of theirs revoked`;
    case 'LIVE_EXCEPTION':
      return 'their personal tokens are governed by their live exception';
    case 'HANDLED_BEFORE':
      return 'their personal tokens were handled when it ended';
  }
}

/** The words after "Access exception for <member>" in an outcome's subject. */
export function exceptionOutcomeText(outcome: ExceptionOutcome): string {
  switch (outcome.kind) {
    case 'ACTIVATED':
      return `is active until ${outcome.endsAt}`;
    case 'ENDED':
      return `ended (${outcome.reason}); ${tokensHandledText(outcome.tokens)}`;
    case 'REJECTED':
      return 'was rejected';
    case 'CANCELLED':
      return 'was cancelled';
    case 'EXPIRED':
      return 'expired before enough approvals arrived';
    case 'APPROVAL_FAILED':
      return 'failed before a decision could be recorded (nobody was moved)';
    case 'MOVE_FAILED':
      return 'failed: the member could not be moved into the allow policy';
  }
}

/** To the member and the approvers: how the exception stands now. */
export function exceptionStatusEmail(e: AccessExceptionRepresentation, outcome: ExceptionOutcome): RenderedEmail {
  return exceptionOutcomeEmail(e, exceptionOutcomeText(outcome));
}

/**
 * To the admins, after each failed move back: the member is still in the allow policy and may create and use
 * personal tokens until a retry succeeds.
 */
export function moveBackFailedEmail(
  e: Pick<AccessExceptionRepresentation, 'exceptionId' | 'member'>,
  failures: number,
  error: string,
): RenderedEmail {
  const member = inlineForEmail(e.member);
  return plainEmail(`Action needed: ${member} could not be moved back into the block policy`, [
    `The access exception ${e.exceptionId} of ${member} is over, but moving them back into the`,
    `authentication policy that blocks API tokens failed (${failures} time(s); ${inlineForEmail(error)}).`,
    'Token Warden keeps retrying. Until it succeeds the member can still create and use personal API tokens:',
    'move them by hand in admin.atlassian.com if this persists.',
  ]);
}

/**
 * To the admins: the move into the allow policy failed and so did the move back after it, so which policy the member
 * is in is not known.
 */
export function exceptionFailedAdminEmail(
  e: Pick<AccessExceptionRepresentation, 'exceptionId' | 'member'>,
  error: string,
): RenderedEmail {
  const member = inlineForEmail(e.member);
  return plainEmail(`Action needed: the access exception of ${member} failed; check their authentication policy`, [
    `Token Warden could not move ${member} into the allow policy, nor back into the block policy`,
    `afterwards (${inlineForEmail(error)}). Check in admin.atlassian.com which authentication policy they`,
    `are in (exception ${e.exceptionId}).`,
  ]);
}
