import middy from '@middy/core';
import { verifyDeps } from '../composition/issuance-deps';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { verifyToken } from '../use-cases/issuance';

const deps = verifyDeps();
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(1)),
});

/** Task `Verify token`. */
export const handler = middy(async (event: unknown) => verifyToken(deps, parseTaskInput(input, event)));
