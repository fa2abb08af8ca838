import { atlassianStepDeps } from '../composition/deps';
import { rotatedGeneration, tokenId } from '../domain/ids';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { revokePreviousGenerations } from '../use-cases/rotation';

const deps = atlassianStepDeps();
const input = z.object({
  tokenId,
  generation: rotatedGeneration,
});

/** Task `Revoke previous token` (after the grace period). */
export const handler = taskHandler(input, (parsed) => revokePreviousGenerations(deps, parsed));
