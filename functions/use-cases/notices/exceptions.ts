/** Emails about access exceptions: outcomes to the member and approvers, failures to the admins. */
import type { EmailPlanners } from '../notify-email';

export const exceptionPlanners: EmailPlanners = {};
