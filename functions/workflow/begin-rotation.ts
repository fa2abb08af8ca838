import { recordStore } from '../composition/deps';
import { attempt, rotatedGeneration, tokenId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { beginRotation } from '../use-cases/rotation';

const deps = { store: recordStore(), clock: systemClock };
export const rotationInput = z.object({
  tokenId,
  generation: rotatedGeneration,
  attempt,
});

/** Task `Begin rotation`. */
export const handler = taskHandler(rotationInput, (input) => beginRotation(deps, input));
