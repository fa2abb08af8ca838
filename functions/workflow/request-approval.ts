import { envVar, readConfig } from '../composition/config';
import { auditLog, linkAndSealKey, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { cryptoRandom } from '../composition/random';
import { EXCEPTION_ID } from '../domain/access-exceptions';
import { requestId, taskToken } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { type ApprovalDeps, requestApproval } from '../use-cases/approvals';

const config = readConfig({ APPROVAL_BASE_URL: envVar.url });
const deps: ApprovalDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  random: cryptoRandom,
  policy: loadPolicy(),
  linkAndSealKey,
  approvalBaseUrl: config.APPROVAL_BASE_URL,
  log: logger,
};

const input = z.union([
  z.object({ requestId, taskToken }),
  z.object({ exceptionId: z.string().check(z.regex(EXCEPTION_ID)), taskToken }),
]);

/** Task `Request approval` (`.waitForTaskToken`) of the issuance and the access-exception workflows. */
export const handler = taskHandler(input, (parsed) => requestApproval(deps, parsed));
