import middy from '@middy/core';
import { envVar, readConfig } from '../composition/config';
import { auditLog, mailer, recordStore, signingKey, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { cryptoRandom } from '../composition/random';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { parseTaskInput } from '../edge/task';
import { type ApprovalDeps, requestApproval } from '../use-cases/approvals';

const config = readConfig({ APPROVAL_BASE_URL: envVar.url });
const deps: ApprovalDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  mailer: mailer(),
  clock: systemClock,
  random: cryptoRandom,
  policy: loadPolicy(),
  signingKey,
  approvalBaseUrl: config.APPROVAL_BASE_URL,
};

const input = z.object({
  requestId: z.string().check(z.regex(/^req_[a-z2-7]{26}$/)),
  taskToken: z.string().check(z.minLength(1), z.maxLength(8192)),
});

/** Task `Request approval` (`.waitForTaskToken`). */
export const handler = middy(async (event: unknown) => {
  const parsed = parseTaskInput(input, event);
  logger.appendKeys({ correlationId: parsed.requestId });
  return requestApproval(deps, parsed);
});
