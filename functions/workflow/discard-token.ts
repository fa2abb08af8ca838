import { discardDeps } from '../composition/issuance-deps';
import { generation, requestId, tokenId } from '../domain/ids';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { discardToken } from '../use-cases/issuance';

const deps = discardDeps();
const input = z.object({
  requestId: z.optional(requestId),
  tokenId: z.optional(tokenId),
  generation: z.optional(generation),
  error: z.optional(z.unknown()),
});

/** Task `Discard staged token` (the Catch path of the minting steps). */
export const handler = taskHandler(input, ({ error: _error, ...target }) => discardToken(deps, target));
