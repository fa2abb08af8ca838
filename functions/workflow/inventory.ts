import { atlassianStepDeps } from '../composition/deps';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { runInventory } from '../use-cases/inventory';

const deps = atlassianStepDeps();

/** The periodic inventory (EventBridge Scheduler, daily). */
export const handler = taskHandler(async () => {
  const report = await runInventory(deps);
  logger.info('inventory finished', { findings: report.findings.length, tokensListed: report.tokensListed });
  return { generatedAt: report.generatedAt, findings: report.findings.length };
});
