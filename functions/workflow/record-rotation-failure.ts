import { auditLog, recordStore } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { attempt, caughtError, rotatedGeneration, tokenId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { recordRotationFailure } from '../use-cases/rotation';

const deps = { store: recordStore(), audit: auditLog(), clock: systemClock, policy: loadPolicy() };
const input = z.object({
  tokenId,
  generation: rotatedGeneration,
  attempt,
  error: z.optional(caughtError),
});

/** Task `Record rotation failure`. */
export const handler = taskHandler(input, (parsed) => recordRotationFailure(deps, parsed));
