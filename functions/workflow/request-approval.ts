import middy from '@middy/core';
import { type ApprovalDeps, requestApproval } from '../app/approvals';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { envVar, readConfig } from '../shared/config';
import { auditLog, mailer, recordStore, signingKey, workflows } from '../shared/deps';
import { logger } from '../shared/logger';
import { loadPolicy } from '../shared/policy-loader';
import { cryptoRandom } from '../shared/random';
import { parseTaskInput } from '../shared/task';

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
