/**
 * Emails about token requests and approvals: each approver's own approval link (built and signed here, from the
 * approval id in `APPROVAL_REQUESTED`), and how a request ended, to its requester and approvers.
 */
import { eligibleExceptionApprovers, toExceptionRepresentation } from '../../domain/access-exceptions';
import type { LifecycleEventDetail } from '../../domain/lifecycle-event';
import { signApprovalLink } from '../../domain/links';
import { approvalRequestEmail, exceptionApprovalEmail, type Outcome, outcomeEmail } from '../../domain/messages';
import { findServiceAccount } from '../../domain/policy';
import type { ApprovalRecord } from '../../domain/records';
import { eligibleApprovers } from '../../domain/requests';
import type { EmailPlanners, NoticeContext, PlannedEmail } from '../notify-email';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const base = (url: string) => url.replace(/\/+$/, '');

/**
 * The email of one open approval, with the approver's signed link: the same link every time (it is a MAC of the
 * approval id, the approver and the expiry), so a reminder carries the link the first email did. None when the
 * approval is decided, closed or expired, or its request or exception is no longer pending.
 */
export async function approvalEmail(
  ctx: NoticeContext,
  approvalId: string,
  reminder?: { hours: number },
): Promise<PlannedEmail | undefined> {
  const approval = await ctx.store.getApproval(approvalId);
  if (approval?.status !== 'OPEN') return undefined;
  // Emailed by the step itself, before the notifier sent the links: a retried step's event sends it no second time.
  if (!reminder && approval.emailedAt) return undefined;
  const expiresAt = new Date(approval.expiresAt);
  if (expiresAt.getTime() <= ctx.clock.now().getTime()) return undefined;
  const link = `${base(ctx.linkBaseUrl)}/approvals/${approval.approvalId}?sig=${encodeURIComponent(
    signApprovalLink(await ctx.linkKey(), approval.approvalId, approval.approver, expiresAt),
  )}`;
  const email = await approvalEmailBody(ctx, approval, link);
  if (!email) return undefined;
  return { to: approval.approver, email: reminder ? asReminder(email, reminder.hours) : email };
}

/**
 * The approver's email, or none when the subject is no longer pending or the policy of now no longer lets this
 * approver decide it (their link would answer 403): as the page and the decision, the current policy decides.
 */
async function approvalEmailBody(ctx: NoticeContext, approval: ApprovalRecord, link: string) {
  const approver = approval.approver.toLowerCase();
  if (approval.subject === 'exception') {
    const exception = await ctx.store.getException(approval.requestId);
    if (exception?.status !== 'PENDING_APPROVAL') return undefined;
    if (!eligibleExceptionApprovers(ctx.policy, exception.member).includes(approver)) return undefined;
    return exceptionApprovalEmail(toExceptionRepresentation(exception), link, approval.expiresAt);
  }
  const request = await ctx.store.getRequest(approval.requestId);
  if (request?.status !== 'PENDING_APPROVAL') return undefined;
  const account = findServiceAccount(ctx.policy, request.serviceAccount);
  if (!account || !eligibleApprovers(account, request.requester).includes(approver)) return undefined;
  return approvalRequestEmail(request, link, approval.expiresAt);
}

/** A reminder says so first: the rest is the approval email as it was. */
function asReminder(email: { subject: string; text: string; html: string }, hours: number) {
  const note = `Reminder: this has waited ${hours} hours for your decision.`;
  return {
    subject: `Reminder: ${email.subject}`,
    text: `${note}\n\n${email.text}`,
    html: `<p>${note}</p>${email.html}`,
  };
}

/** How each closing event ends a request (REJECTED and CANCELLED only as the workflow closes it). */
const OUTCOMES = {
  ISSUED: 'ISSUED',
  ISSUANCE_FAILED: 'FAILED',
  EXPIRED: 'EXPIRED',
  REJECTED: 'REJECTED',
  CANCELLED: 'CANCELLED',
} as const satisfies Record<string, Outcome>;

/**
 * How the request ended, to the requester and every approver. An approver's own `REJECTED` and the member's own
 * `CANCELLED` are not endings yet: the workflow's closing event (actor `token-warden`) is.
 */
async function outcomeEmails(ctx: NoticeContext, event: LifecycleEventDetail): Promise<PlannedEmail[]> {
  const outcome = OUTCOMES[event.event as keyof typeof OUTCOMES];
  if (!outcome || event.actor !== 'token-warden') return [];
  const request = await ctx.store.getRequest(event.requestId);
  if (!request) return [];
  const details = event.details ?? {};
  const email = outcomeEmail(
    request,
    outcome,
    outcome === 'ISSUED'
      ? {
          ...(text(details.secretName) ? { secretName: text(details.secretName) } : {}),
          ...(text(details.expiresAt) ? { expiresAt: text(details.expiresAt) } : {}),
        }
      : { reason: text(details.reason) ?? request.reason ?? outcome },
  );
  return [request.requester, ...request.approvers].map((to) => ({ to, email }));
}

export const requestPlanners: EmailPlanners = {
  async APPROVAL_REQUESTED(ctx, event) {
    const approvalId = text(event.details?.approvalId);
    const planned = approvalId ? await approvalEmail(ctx, approvalId) : undefined;
    return planned ? [planned] : [];
  },
  ISSUED: outcomeEmails,
  ISSUANCE_FAILED: outcomeEmails,
  EXPIRED: outcomeEmails,
  REJECTED: outcomeEmails,
  CANCELLED: outcomeEmails,
};
