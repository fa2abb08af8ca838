/**
 * Emails about reminders: undecided approvers at each pendingApprovalHours mark, owners and admins at each expiryDays
 * mark. The sweep records the marks; what is sent is decided again here from the records as they are now, so a
 * reminder delivered late says nothing once the approval was decided or the token rotated.
 */
import { findServiceAccount } from '../../domain/policy';
import { daysLeft, expiryRisk } from '../../domain/reminders';
import { expiryReminderEmail } from '../../domain/token-messages';
import type { EmailPlanners } from '../notify-email';
import { approvalEmail } from './requests';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);

export const reminderPlanners: EmailPlanners = {
  /** The approver's approval email again, the same signed link, prefixed as a reminder; none once it is decided. */
  async APPROVAL_REMINDER(ctx, event) {
    const approvalId = text(event.details?.approvalId);
    const hours = count(event.details?.hours);
    if (approvalId === undefined || hours === undefined) return [];
    const planned = await approvalEmail(ctx, approvalId, { hours });
    return planned ? [planned] : [];
  },
  /**
   * To the owner and the admins, what to do: none when the token rotated meanwhile (its generation moved on), is no
   * longer `ACTIVE` or `ROTATING`, or is on track again.
   */
  async EXPIRY_REMINDER(ctx, event) {
    const generation = count(event.details?.generation);
    if (!event.tokenId || generation === undefined) return [];
    const token = await ctx.store.getToken(event.tokenId);
    if (!token || token.generation !== generation) return [];
    const manual = findServiceAccount(ctx.policy, token.serviceAccount)?.issuance === 'manual';
    // Told as it stands when sent: a failed rotation may have been retried, and be waiting for an upload, since.
    const why = expiryRisk(token, manual);
    if (!why) return [];
    const email = expiryReminderEmail(token, { daysLeft: daysLeft(token.expiresAt, ctx.clock.now()), why, manual });
    return [token.owner, ...ctx.policy.notifications.adminEmails].map((to) => ({ to, email }));
  },
};
