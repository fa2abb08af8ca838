import middy from '@middy/core';
import { auditLog, mailer, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { recordRotationFailure } from '../use-cases/rotation';

const deps = { store: recordStore(), audit: auditLog(), mailer: mailer(), clock: systemClock, policy: loadPolicy() };
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(2)),
  attempt: z.int().check(z.minimum(1)),
  error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
});

/** Task `Record rotation failure`. */
export const handler = middy(async (event: unknown) => recordRotationFailure(deps, parseTaskInput(input, event)));
