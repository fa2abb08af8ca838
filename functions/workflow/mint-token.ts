import middy from '@middy/core';
import { mintToken } from '../app/issuance';
import * as z from '../domain/schema';
import { mintDeps } from '../shared/issuance-deps';
import { parseTaskInput } from '../shared/task';

const deps = mintDeps();
const input = z.union([
  z.strictObject({ requestId: z.string().check(z.regex(/^req_[a-z2-7]{26}$/)) }),
  z.strictObject({ tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)), generation: z.int().check(z.minimum(1)) }),
]);

/** Task `Mint token`: returns ids only, never the token. */
export const handler = middy(async (event: unknown) => mintToken(deps, parseTaskInput(input, event)));
