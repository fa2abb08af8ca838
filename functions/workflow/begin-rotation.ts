import middy from '@middy/core';
import * as z from 'zod';
import { beginRotation } from '../app/rotation';
import { systemClock } from '../domain/ports';
import { recordStore } from '../shared/deps';
import { parseTaskInput } from '../shared/task';

const deps = { store: recordStore(), clock: systemClock };
export const rotationInput = z.object({
  tokenId: z.string().regex(/^tok_[a-z2-7]{26}$/),
  generation: z.number().int().min(2),
  attempt: z.number().int().min(1),
});

/** Task `Begin rotation`. */
export const handler = middy(async (event: unknown) => beginRotation(deps, parseTaskInput(rotationInput, event)));
