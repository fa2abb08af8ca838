import { secretRotationDeps } from '../composition/issuance-deps';
import * as z from '../domain/schema';
import { taskHandler } from '../edge/task';
import { rotationStep, SECRET_ROTATION_STEPS } from '../use-cases/secret-rotation';

const deps = secretRotationDeps();

/** What Secrets Manager invokes a rotation function with (`RotationToken` is not needed: the function writes itself). */
const event = z.object({
  Step: z.enum(SECRET_ROTATION_STEPS),
  SecretId: z.string().check(z.minLength(1), z.maxLength(2048)),
  ClientRequestToken: z.string().check(z.minLength(32), z.maxLength(64), z.regex(/^[A-Za-z0-9-]+$/)),
});

/**
 * The rotation function of token secrets (`RotateSecret`: the console's "Rotate secret immediately", the AWS CLI,
 * Secrets Manager's schedule). Each invocation runs one step; a thrown error fails the step, and Secrets Manager
 * records the rotation as failed (the current token stays `AWSCURRENT` and working).
 */
export const handler = taskHandler(event, (parsed) => rotationStep(deps, parsed));
