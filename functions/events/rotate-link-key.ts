import { linkKeyRotationDeps } from '../composition/deps';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { LINK_KEY_ROTATION_STEPS, linkKeyRotationStep } from '../use-cases/link-key-rotation';

const deps = linkKeyRotationDeps();

/** What Secrets Manager invokes a rotation function with (`RotationToken` is not needed: the function writes itself). */
const event = z.object({
  Step: z.enum(LINK_KEY_ROTATION_STEPS),
  SecretId: z.string().check(z.minLength(1), z.maxLength(2048)),
  ClientRequestToken: z.string().check(z.minLength(32), z.maxLength(64), z.regex(/^[A-Za-z0-9-]+$/)),
});

/**
 * The rotation function of the link-signing key (Secrets Manager's schedule, or `RotateSecret`). Each invocation runs
 * one step; a thrown error fails the step and Secrets Manager records the rotation as failed (the current key stays
 * `AWSCURRENT`). A secret other than `LINK_SIGNING_SECRET_ID` is refused. The outcome names the step and the version,
 * never the key.
 */
export const handler = taskHandler(event, async (parsed) => {
  const outcome = await linkKeyRotationStep(deps, parsed);
  logger.info('link-signing key rotation step', { ...outcome });
  return outcome;
});
