import { atlassian, auditLog, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { EXCEPTION_ID } from '../domain/access-exceptions';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import {
  closeException,
  type ExceptionStepDeps,
  failException,
  grantException,
  recordMoveBackFailure,
  revertException,
} from '../use-cases/access-exceptions';

const deps: ExceptionStepDeps = {
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  clock: systemClock,
  policy: loadPolicy(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  log: logger,
};

const exceptionId = z.string().check(z.regex(EXCEPTION_ID));
const input = z.discriminatedUnion('action', [
  z.object({ action: z.literal('grant'), exceptionId }),
  z.object({ action: z.literal('revert'), exceptionId, failed: z.optional(z.boolean()) }),
  z.object({
    action: z.literal('close'),
    exceptionId,
    outcome: z.enum(['REJECTED', 'CANCELLED', 'EXPIRED', 'FAILED']),
  }),
  z.object({ action: z.literal('move-back-failed'), exceptionId, error: z.optional(z.string()) }),
  z.object({ action: z.literal('fail'), exceptionId, error: z.optional(z.string()) }),
]);

/**
 * Tasks of the access-exception workflow: `Move into the allow policy` (grant), `Move back into the block policy`
 * (revert), `Close the exception` (close), `Tell the admins the move back failed` (move-back-failed) and
 * `Record the failed exception` (fail).
 */
export const handler = taskHandler(input, async (parsed) => {
  switch (parsed.action) {
    case 'grant':
      return grantException(deps, parsed);
    case 'revert':
      return revertException(deps, parsed);
    case 'close':
      return closeException(deps, parsed);
    case 'move-back-failed':
      return recordMoveBackFailure(deps, parsed);
    case 'fail':
      return failException(deps, parsed);
  }
});
