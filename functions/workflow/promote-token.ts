import middy from '@middy/core';
import { promoteDeps } from '../composition/issuance-deps';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { promoteToken } from '../use-cases/issuance';

const deps = promoteDeps();
const input = z.object({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(1)),
});

/** Task `Promote token`. */
export const handler = middy(async (event: unknown) => promoteToken(deps, parseTaskInput(input, event)));
