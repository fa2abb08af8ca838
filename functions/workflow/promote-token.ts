import { promoteDeps } from '../composition/issuance-deps';
import { generation, tokenId } from '../domain/ids';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { promoteToken } from '../use-cases/promote';

const deps = promoteDeps();
const input = z.object({
  tokenId,
  generation,
});

/** Task `Promote token`. */
export const handler = taskHandler(input, (parsed) => promoteToken(deps, parsed));
