import middy from '@middy/core';
import * as z from 'zod';
import { discardToken } from '../app/issuance';
import { issuanceDeps } from '../shared/issuance-deps';
import { parseTaskInput } from '../shared/task';

const deps = issuanceDeps();
const input = z.object({
  requestId: z
    .string()
    .regex(/^req_[a-z2-7]{26}$/)
    .optional(),
  tokenId: z
    .string()
    .regex(/^tok_[a-z2-7]{26}$/)
    .optional(),
  generation: z.number().int().min(1).optional(),
  error: z.unknown().optional(),
});

/** Task `Discard staged token` (the Catch path of the minting steps). */
export const handler = middy(async (event: unknown) => {
  const { error: _error, ...target } = parseTaskInput(input, event);
  return discardToken(deps, target);
});
