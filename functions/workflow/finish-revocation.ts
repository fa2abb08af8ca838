import middy from '@middy/core';
import { finishRevocation } from '../app/revoke';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { atlassian, auditLog, recordStore, rotationSchedules, rotationStopper, tokenVault } from '../shared/deps';
import { loadPolicy } from '../shared/policy-loader';
import { parseTaskInput } from '../shared/task';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  vault: tokenVault(),
  schedules: rotationSchedules(),
  stopRotation: rotationStopper(),
  clock: systemClock,
  policy: loadPolicy(),
};
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  final: z.optional(z.boolean()),
});

/** Tasks `Finish revocation` and `Final sweep` of the revocation workflow. */
export const handler = middy(async (event: unknown) => finishRevocation(deps, parseTaskInput(input, event)));
