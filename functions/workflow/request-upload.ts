import middy from '@middy/core';
import { envVar, readConfig } from '../composition/config';
import { mailer, recordStore, signingKey, workflows } from '../composition/deps';
import { loadPolicy } from '../composition/policy-loader';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { parseTaskInput } from '../edge/task';
import { type RequestUploadDeps, requestUpload } from '../use-cases/uploads';

const config = readConfig({ APPROVAL_BASE_URL: envVar.url });
const deps: RequestUploadDeps = {
  store: recordStore(),
  workflows: workflows(),
  mailer: mailer(),
  clock: systemClock,
  policy: loadPolicy(),
  signingKey,
  approvalBaseUrl: config.APPROVAL_BASE_URL,
};

const input = z.strictObject({
  tokenId: z.string().check(z.regex(/^tok_[a-z2-7]{26}$/)),
  generation: z.int().check(z.minimum(1)),
  requestId: z.string().check(z.regex(/^req_[a-z2-7]{26}$/)),
  taskToken: z.string().check(z.minLength(1), z.maxLength(8192)),
});

/** Task `Wait for token upload` (`.waitForTaskToken`): asks the admins for a manually created token. */
export const handler = middy(async (event: unknown) => {
  const parsed = parseTaskInput(input, event);
  logger.appendKeys({ correlationId: parsed.requestId, tokenId: parsed.tokenId, generation: parsed.generation });
  return requestUpload(deps, parsed);
});
