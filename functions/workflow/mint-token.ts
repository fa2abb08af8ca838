import middy from '@middy/core';
import { mintDeps } from '../composition/issuance-deps';
import * as z from '../domain/schema';
import { parseTaskInput } from '../edge/task';
import { mintToken } from '../use-cases/issuance';

const deps = mintDeps();
const input = z.union([
  z.strictObject({ requestId: z.string().check(z.regex(/^req_[a-z2-7]{26}$/)) }),
  z.strictObject({ tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)), generation: z.int().check(z.minimum(1)) }),
]);

/** Task `Mint token`: returns ids only, never the token. */
export const handler = middy(async (event: unknown) => mintToken(deps, parseTaskInput(input, event)));
