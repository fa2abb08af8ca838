import middy from '@middy/core';
import { discardDeps } from '../composition/issuance-deps';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { discardToken } from '../use-cases/issuance';

const deps = discardDeps();
const input = z.object({
  requestId: z.optional(z.string().check(z.regex(/^req_[a-z2-7]{26}$/))),
  tokenId: z.optional(z.string().check(z.regex(/^tok_[a-z2-7]{26}$/))),
  generation: z.optional(z.int().check(z.minimum(1))),
  error: z.optional(z.unknown()),
});

/** Task `Discard staged token` (the Catch path of the minting steps). */
export const handler = middy(async (event: unknown) => {
  const { error: _error, ...target } = parseTaskInput(input, event);
  return discardToken(deps, target);
});
