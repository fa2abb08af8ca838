import middy from '@middy/core';
import { auditLog, mailer, recordStore } from '../composition/deps';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { parseTaskInput } from '../edge/task';
import { type CloseDeps, closeRequest } from '../use-cases/close-request';

const deps: CloseDeps = { store: recordStore(), audit: auditLog(), mailer: mailer(), clock: systemClock };

const input = z.object({
  requestId: z.string().check(z.regex(/^req_[a-z2-7]{26}$/)),
  outcome: z.enum(['REJECTED', 'CANCELLED', 'EXPIRED', 'FAILED']),
  error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
});

/** Tasks `Close rejected request`, `Expire request`, `Fail request`. */
export const handler = middy(async (event: unknown) => {
  const parsed = parseTaskInput(input, event);
  logger.appendKeys({ correlationId: parsed.requestId });
  return closeRequest(deps, parsed);
});
