import middy from '@middy/core';
import * as z from 'zod';
import { type CloseDeps, closeRequest } from '../app/close-request';
import { systemClock } from '../domain/ports';
import { auditLog, mailer, recordStore } from '../shared/deps';
import { logger } from '../shared/logger';
import { parseTaskInput } from '../shared/task';

const deps: CloseDeps = { store: recordStore(), audit: auditLog(), mailer: mailer(), clock: systemClock };

const input = z.object({
  requestId: z.string().regex(/^req_[a-z2-7]{26}$/),
  outcome: z.enum(['REJECTED', 'CANCELLED', 'EXPIRED', 'FAILED']),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/** Tasks `Close rejected request`, `Expire request`, `Fail request`. */
export const handler = middy(async (event: unknown) => {
  const parsed = parseTaskInput(input, event);
  logger.appendKeys({ correlationId: parsed.requestId });
  return closeRequest(deps, parsed);
});
