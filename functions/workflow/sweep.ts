import middy from '@middy/core';
import { sweep } from '../app/sweep';
import { systemClock } from '../domain/ports';
import { atlassian, auditLog, mailer, recordStore, rotationStateMachineArn, workflows } from '../shared/deps';
import { logger } from '../shared/logger';
import { loadPolicy } from '../shared/policy-loader';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
  rotationStateMachineArn: rotationStateMachineArn(),
  atlassian: atlassian(),
};

/** The daily sweep (EventBridge Scheduler, `rate(1 day)`): the safety net for lost schedules and failed rotations. */
export const handler = middy(async () => {
  const report = await sweep(deps);
  logger.info('sweep finished', { ...report });
  return report;
});
