import { mintDeps } from '../composition/issuance-deps';
import { generation, requestId, tokenId } from '../domain/ids';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { mintToken } from '../use-cases/issuance';

const deps = mintDeps();
const input = z.union([z.strictObject({ requestId }), z.strictObject({ tokenId, generation })]);

/** Task `Mint token`: returns ids only, never the token. */
export const handler = taskHandler(input, (parsed) => mintToken(deps, parsed));
