import { envVar, readConfig } from '../composition/config';
import { linkAndSealKey, mailer, recordStore, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { generation, requestId, taskToken, tokenId } from '../domain/ids';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { type RequestUploadDeps, requestUpload } from '../use-cases/uploads';

const config = readConfig({ APPROVAL_BASE_URL: envVar.url });
const deps: RequestUploadDeps = {
  store: recordStore(),
  workflows: workflows(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
  linkAndSealKey,
  approvalBaseUrl: config.APPROVAL_BASE_URL,
};

const input = z.strictObject({
  tokenId,
  generation,
  requestId,
  taskToken,
});

/** Task `Wait for token upload` (`.waitForTaskToken`): asks the admins for a manually created token. */
export const handler = taskHandler(input, (parsed) => requestUpload(deps, parsed));
