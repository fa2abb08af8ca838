import middy from '@middy/core';
import * as z from 'zod';
import { mintToken } from '../app/issuance';
import { issuanceDeps } from '../shared/issuance-deps';
import { parseTaskInput } from '../shared/task';

const deps = issuanceDeps();
const input = z.union([
  z.object({ requestId: z.string().regex(/^req_[a-z2-7]{26}$/) }).strict(),
  z.object({ tokenId: z.string().regex(/^tok_[a-z2-7]{26}$/), generation: z.number().int().min(1) }).strict(),
]);

/** Task `Mint token`: returns ids only, never the token. */
export const handler = middy(async (event: unknown) => mintToken(deps, parseTaskInput(input, event)));
