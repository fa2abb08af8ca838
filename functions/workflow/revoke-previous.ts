import { atlassian, auditLog, mailer, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { rotatedGeneration, tokenId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { revokePreviousGenerations } from '../use-cases/rotation';

const deps = {
  store: recordStore(),
  audit: auditLog(),
  atlassian: atlassian(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
};
const input = z.object({
  tokenId,
  generation: rotatedGeneration,
});

/** Task `Revoke previous token` (after the grace period). */
export const handler = taskHandler(input, (parsed) => revokePreviousGenerations(deps, parsed));
