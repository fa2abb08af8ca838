/**
 * Emails about access exceptions: how one stands, to its member (and, once it is over, its approvers), and the
 * failed moves the admins must check by hand. Each planner reads the exception the event names (its `requestId`)
 * and sends nothing once it is gone or no longer in the status the event left it in. The approval request itself is
 * `APPROVAL_REQUESTED`'s (./requests).
 */
import {
  EXCEPTION_TOKEN_OUTCOMES,
  type ExceptionTokensHandled,
  type StoredException,
  toExceptionRepresentation,
} from '../../domain/access-exceptions';
import {
  type ExceptionOutcome,
  exceptionFailedAdminEmail,
  exceptionStatusEmail,
  moveBackFailedEmail,
} from '../../domain/exception-messages';
import type { LifecycleEventDetail } from '../../domain/lifecycle-event';
import type { RenderedEmail } from '../../domain/notice';
import type { EmailPlanners, NoticeContext, PlannedEmail } from '../notify-email';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);

const exceptionOf = (ctx: NoticeContext, event: LifecycleEventDetail) => ctx.store.getException(event.requestId);

const to = (recipients: readonly string[], email: RenderedEmail): PlannedEmail[] =>
  recipients.map((recipient) => ({ to: recipient, email }));

/** The member and every approver: how an exception ended concerns them all. */
const everyone = (e: StoredException) => [e.member, ...e.approvers];

const statusEmail = (e: StoredException, outcome: ExceptionOutcome) =>
  exceptionStatusEmail(toExceptionRepresentation(e), outcome);

/** `EXCEPTION_ENDED`'s `tokens` and `revokedTokens`; an event without them says the tokens were handled. */
function tokensOf(details: LifecycleEventDetail['details']): ExceptionTokensHandled {
  const outcome = EXCEPTION_TOKEN_OUTCOMES.find((o) => o === details?.tokens) ?? 'HANDLED_BEFORE';
  const revoked = count(details?.revokedTokens);
  return outcome === 'REVOKED' ? { outcome, revoked: revoked ?? 0 } : { outcome };
}

export const exceptionPlanners: EmailPlanners = {
  async EXCEPTION_ACTIVATED(ctx, event) {
    const e = await exceptionOf(ctx, event);
    // Ended meanwhile: its end's email is the one that still holds.
    if (e?.status !== 'ACTIVE') return [];
    const endsAt = text(event.details?.endsAt) ?? e.endsAt;
    return endsAt ? to([e.member], statusEmail(e, { kind: 'ACTIVATED', endsAt })) : [];
  },
  async EXCEPTION_ENDED(ctx, event) {
    const e = await exceptionOf(ctx, event);
    if (e?.status !== 'ENDED') return [];
    const reason = text(event.details?.reason) ?? e.reason ?? 'DAYS_OVER';
    return to(everyone(e), statusEmail(e, { kind: 'ENDED', reason, tokens: tokensOf(event.details) }));
  },
  // An approver's reject closes the exception at once (the workflow only tidies up after it): its one record.
  /** Sent from the workflow's closing record (actor `token-warden`), never from the approver's decision itself. */
  async EXCEPTION_REJECTED(ctx, event) {
    if (event.actor !== 'token-warden' || event.details?.outcome !== 'REJECTED') return [];
    const e = await exceptionOf(ctx, event);
    if (e?.status !== 'REJECTED' || e.reason !== 'REJECTED_BY_APPROVER') return [];
    return to(everyone(e), statusEmail(e, { kind: 'REJECTED' }));
  },
  /** Sent from the workflow's closing record (actor `token-warden`), never from the member's cancel itself. */
  async EXCEPTION_CANCELLED(ctx, event) {
    if (event.actor !== 'token-warden') return [];
    const e = await exceptionOf(ctx, event);
    if (e?.status !== 'REJECTED' || e.reason !== 'CANCELLED') return [];
    return to(everyone(e), statusEmail(e, { kind: 'CANCELLED' }));
  },
  async EXCEPTION_EXPIRED(ctx, event) {
    const e = await exceptionOf(ctx, event);
    if (e?.status !== 'EXPIRED') return [];
    return to(everyone(e), statusEmail(e, { kind: 'EXPIRED' }));
  },
  /**
   * A failed move back (`MOVE_BACK_FAILED`, one event per failure) to the admins while it is retried. A failed move
   * in: with `error`, the move back after it failed too, so the admins are asked to check the member's policy and
   * the member is told; without, the member is back and the member and approvers are told. Any other reason closed
   * it before a decision.
   */
  async EXCEPTION_FAILED(ctx, event) {
    const e = await exceptionOf(ctx, event);
    if (!e) return [];
    const admins = ctx.policy.notifications.adminEmails;
    const reason = text(event.details?.reason);
    const error = text(event.details?.error);
    if (reason === 'MOVE_BACK_FAILED') {
      const failures = count(event.details?.failures) ?? e.moveBackFailures ?? 1;
      return to(admins, moveBackFailedEmail(e, failures, error ?? 'unknown'));
    }
    if (e.status !== 'FAILED') return [];
    if (reason !== 'MOVE_FAILED') return to(everyone(e), statusEmail(e, { kind: 'APPROVAL_FAILED' }));
    const toMember = statusEmail(e, { kind: 'MOVE_FAILED' });
    if (error === undefined) return to(everyone(e), toMember);
    return [...to(admins, exceptionFailedAdminEmail(e, error)), ...to([e.member], toMember)];
  },
};
