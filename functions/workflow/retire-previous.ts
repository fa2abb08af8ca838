import middy from '@middy/core';
import { retirePreviousGenerations } from '../app/rotation';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { atlassian, auditLog, mailer, recordStore } from '../shared/deps';
import { loadPolicy } from '../shared/policy-loader';
import { parseTaskInput } from '../shared/task';

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
