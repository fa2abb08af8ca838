import { auditLog, linkAndSealKey, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { generation, requestId, taskToken, tokenId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { type RequestUploadDeps, requestUpload } from '../use-cases/uploads';

const deps: RequestUploadDeps = {
  store: recordStore(),
  audit: auditLog(),
  workflows: workflows(),
  clock: systemClock,
  policy: loadPolicy(),
  linkAndSealKey,
};

const input = z.strictObject({
  tokenId,
  generation,
  requestId,
  taskToken,
});

/** Task `Wait for token upload` (`.waitForTaskToken`): asks the admins for a manually created token. */
export const handler = taskHandler(input, (parsed) => requestUpload(deps, parsed));
