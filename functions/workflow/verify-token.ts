import middy from '@middy/core';
import { verifyToken } from '../app/issuance';
import * as z from '../domain/schema';
import { verifyDeps } from '../shared/issuance-deps';
import { parseTaskInput } from '../shared/task';

const deps = verifyDeps();
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(1)),
});

/** Task `Verify token`. */
export const handler = middy(async (event: unknown) => verifyToken(deps, parseTaskInput(input, event)));
