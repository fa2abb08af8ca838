import middy from '@middy/core';
import { atlassian, auditLog, recordStore, rotationSchedules, rotationStopper, tokenVault } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { finishRevocation } from '../use-cases/revoke';

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
