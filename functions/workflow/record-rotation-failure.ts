import middy from '@middy/core';
import { recordRotationFailure } from '../app/rotation';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { auditLog, mailer, recordStore } from '../shared/deps';
import { loadPolicy } from '../shared/policy-loader';
import { parseTaskInput } from '../shared/task';

const deps = { store: recordStore(), audit: auditLog(), mailer: mailer(), clock: systemClock, policy: loadPolicy() };
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(2)),
  attempt: z.int().check(z.minimum(1)),
  error: z.optional(z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) })),
});

/** Task `Record rotation failure`. */
export const handler = middy(async (event: unknown) => recordRotationFailure(deps, parseTaskInput(input, event)));
