import middy from '@middy/core';
import { promoteToken } from '../app/issuance';
import * as z from '../domain/schema';
import { promoteDeps } from '../shared/issuance-deps';
import { parseTaskInput } from '../shared/task';

const deps = promoteDeps();
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(1)),
});

/** Task `Promote token`. */
export const handler = middy(async (event: unknown) => promoteToken(deps, parseTaskInput(input, event)));
