import middy from '@middy/core';
import { atlassian, auditLog, mailer, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { retirePreviousGenerations } from '../use-cases/rotation';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
};
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(2)),
});

/** Task `Revoke previous token` (after the grace period). */
export const handler = middy(async (event: unknown) => retirePreviousGenerations(deps, parseTaskInput(input, event)));
