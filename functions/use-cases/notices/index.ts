/** Every event's email planner: the one table the notifier sends mail from. */
import type { EmailPlanners } from '../notify-email';
import { exceptionPlanners } from './exceptions';
import { personalTokenPlanners } from './personal-tokens';
import { reminderPlanners } from './reminders';
import { requestPlanners } from './requests';
import { tokenPlanners } from './tokens';

const areas = [requestPlanners, tokenPlanners, personalTokenPlanners, exceptionPlanners, reminderPlanners];

/** The planners of every area; an event planned by two areas is a mistake, refused at load. */
export const EMAIL_PLANNERS: EmailPlanners = areas.reduce<EmailPlanners>((all, area) => {
  for (const [event, planner] of Object.entries(area)) {
    if (event in all) throw new Error(`two email planners for ${event}`);
    Object.assign(all, { [event]: planner });
  }
  return all;
}, {});
