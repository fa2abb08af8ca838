/** Emails about reminders: undecided approvers at each pendingApprovalHours mark, owners and admins at each expiryDays mark. */
import type { EmailPlanners } from '../notify-email';

export const reminderPlanners: EmailPlanners = {};
