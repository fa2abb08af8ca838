import { atlassian, auditLog, recordStore, rotationSchedules, rotationStopper, tokenVault } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { tokenId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
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
  tokenId,
  final: z.optional(z.boolean()),
});

/** Tasks `Finish revocation` and `Final sweep` of the revocation workflow. */
export const handler = taskHandler(input, (parsed) => finishRevocation(deps, parsed));
