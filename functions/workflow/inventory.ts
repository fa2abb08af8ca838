import middy from '@middy/core';
import { runInventory } from '../app/inventory';
import { systemClock } from '../domain/ports';
import { atlassian, auditLog, mailer, recordStore } from '../shared/deps';
import { logger } from '../shared/logger';
import { loadPolicy } from '../shared/policy-loader';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
};

/** The periodic inventory (EventBridge Scheduler, daily). */
export const handler = middy(async () => {
  const report = await runInventory(deps);
  logger.info('inventory finished', { findings: report.findings.length, tokensListed: report.tokensListed });
  return { generatedAt: report.generatedAt, findings: report.findings.length };
});
