import middy from '@middy/core';
import * as z from 'zod';
import { recordRotationFailure } from '../app/rotation';
import { systemClock } from '../domain/ports';
import { auditLog, mailer, recordStore } from '../shared/deps';
import { loadPolicy } from '../shared/policy-loader';
import { parseTaskInput } from '../shared/task';

const deps = { store: recordStore(), audit: auditLog(), mailer: mailer(), clock: systemClock, policy: loadPolicy() };
const input = z.object({
  tokenId: z.string().regex(/^tok_[a-z2-7]{26}$/),
  generation: z.number().int().min(2),
  attempt: z.number().int().min(1),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

/** Task `Record rotation failure`. */
export const handler = middy(async (event: unknown) => recordRotationFailure(deps, parseTaskInput(input, event)));
