import { auditLog, recordStore } from '../composition/deps';
import { caughtError, requestId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { type CloseDeps, closeRequest } from '../use-cases/close-request';

const deps: CloseDeps = { store: recordStore(), audit: auditLog(), clock: systemClock };

const input = z.object({
  requestId,
  outcome: z.enum(['REJECTED', 'CANCELLED', 'EXPIRED', 'FAILED']),
  error: z.optional(caughtError),
});

/** Tasks `Close rejected request`, `Expire request`, `Fail request`. */
export const handler = taskHandler(input, (parsed) => closeRequest(deps, parsed));
