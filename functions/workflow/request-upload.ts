import middy from '@middy/core';
import { type RequestUploadDeps, requestUpload } from '../app/uploads';
import { systemClock } from '../domain/ports';
import * as z from '../domain/schema';
import { envVar, readConfig } from '../shared/config';
import { mailer, recordStore, signingKey, workflows } from '../shared/deps';
import { logger } from '../shared/logger';
import { loadPolicy } from '../shared/policy-loader';
import { parseTaskInput } from '../shared/task';

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
