/** Emails about members' personal tokens: owners' notices and revocations, the admins' scan digest and cap alert. */
import type { EmailPlanners } from '../notify-email';

export const personalTokenPlanners: EmailPlanners = {};
