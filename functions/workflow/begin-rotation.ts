import middy from '@middy/core';
import { recordStore } from '../composition/deps';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { beginRotation } from '../use-cases/rotation';

const deps = { store: recordStore(), clock: systemClock };
export const rotationInput = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(2)),
  attempt: z.int().check(z.minimum(1)),
});

/** Task `Begin rotation`. */
export const handler = middy(async (event: unknown) => beginRotation(deps, parseTaskInput(rotationInput, event)));
