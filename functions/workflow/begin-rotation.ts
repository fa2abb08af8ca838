import middy from '@middy/core';
import { beginRotation } from '../app/rotation';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { recordStore } from '../shared/deps';
import { parseTaskInput } from '../shared/task';

const deps = { store: recordStore(), clock: systemClock };
export const rotationInput = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(2)),
  attempt: z.int().check(z.minimum(1)),
});

/** Task `Begin rotation`. */
export const handler = middy(async (event: unknown) => beginRotation(deps, parseTaskInput(rotationInput, event)));
