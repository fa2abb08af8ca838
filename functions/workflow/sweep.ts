import { envVar, readConfig } from '../composition/config';
import {
  atlassian,
  auditLog,
  mailer,
  recordStore,
  rotationStateMachineArn,
  tokenVault,
  workflows,
} from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { ORG_KEY_EXPIRY_TAG, sweep } from '../use-cases/sweep';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
  rotationStateMachineArn: rotationStateMachineArn(),
  atlassian: atlassian(),
  vault: tokenVault(),
  orgKeyExpiry: async () => {
    const secretId = readConfig({ ORG_API_KEY_SECRET_ID: envVar.name }).ORG_API_KEY_SECRET_ID;
    const tag = (await tokenVault().describe(secretId))?.Tags?.find((t) => t.Key === ORG_KEY_EXPIRY_TAG)?.Value;
    const at = tag ? Date.parse(tag) : Number.NaN;
    return Number.isNaN(at) ? undefined : new Date(at);
  },
};

/** The daily sweep (EventBridge Scheduler, `rate(1 day)`): the safety net for lost schedules and failed rotations. */
export const handler = taskHandler(async () => {
  const report = await sweep(deps);
  logger.info('sweep finished', { ...report });
  return report;
});
