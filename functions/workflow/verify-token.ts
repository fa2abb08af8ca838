import { verifyDeps } from '../composition/issuance-deps';
import { generation, tokenId } from '../domain/ids';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { verifyToken } from '../use-cases/issuance';

const deps = verifyDeps();
const input = z.object({
  tokenId,
  generation,
});

/** Task `Verify token`. */
export const handler = taskHandler(input, (parsed) => verifyToken(deps, parsed));
