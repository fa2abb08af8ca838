import { atlassian, auditLog, mailer, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { runInventory } from '../use-cases/inventory';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
};

/** The periodic inventory (EventBridge Scheduler, daily). */
export const handler = taskHandler(async () => {
  const report = await runInventory(deps);
  logger.info('inventory finished', { findings: report.findings.length, tokensListed: report.tokensListed });
  return { generatedAt: report.generatedAt, findings: report.findings.length };
});
