import middy from '@middy/core';
import * as z from 'zod';
import { promoteToken } from '../app/issuance';
import { issuanceDeps } from '../shared/issuance-deps';
import { parseTaskInput } from '../shared/task';

const deps = issuanceDeps();
const input = z.object({ tokenId: z.string().regex(/^tok_[a-z2-7]{26}$/), generation: z.number().int().min(1) });

/** Task `Promote token`. */
export const handler = middy(async (event: unknown) => promoteToken(deps, parseTaskInput(input, event)));
