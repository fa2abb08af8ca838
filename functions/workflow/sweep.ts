import { envVar, readConfig } from '../composition/config';
import { atlassian, auditLog, recordStore, rotationStateMachineArn, tokenVault, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { ORG_KEY_EXPIRY_TAG, remindApprovers, sweep } from '../use-cases/sweep';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
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

/**
 * What a schedule asks for: nothing (`{}`, the daily sweep), or `approval-reminders` (the hourly schedule: only the
 * reminders of approvals waiting for a decision, whose marks are hours).
 */
export const sweepInput = z.object({ action: z.optional(z.enum(['approval-reminders'])) });

/**
 * The daily sweep (EventBridge Scheduler, `rate(1 day)`): the safety net for lost schedules and failed rotations, and
 * the reminders; and, hourly, the approval reminders alone.
 */
export const handler = taskHandler(sweepInput, async (input) => {
  if (input.action === 'approval-reminders') {
    const report = await remindApprovers(deps);
    logger.info('approval reminders recorded', { ...report });
    return report;
  }
  const report = await sweep(deps);
  logger.info('sweep finished', { ...report });
  return report;
});
