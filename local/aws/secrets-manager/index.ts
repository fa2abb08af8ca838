/**
 * Local AWS Secrets Manager (awsJson1.1, `X-Amz-Target: secretsmanager.<Operation>`):
 *
 * - `api.ts` — the service on the local endpoint and the operations it answers;
 * - `store.ts` — the secrets, their file, and the transactions that change them;
 * - `versions.ts` — versions, staging labels and values;
 * - `values.ts`, `metadata.ts`, `lifecycle.ts` — the operations, by what they touch;
 * - `rotation.ts` — rotation by a Lambda function: `RotateSecret`, its four steps, `CancelRotateSecret`;
 * - `wire.ts` — request parsing and validation in AWS's shapes.
 */
export {
  LocalSecretsManager,
  type LocalSecretsManagerOptions,
  SECRETS_MANAGER_OPERATIONS,
  type SecretsManagerOperation,
} from './api';
export {
  ROTATION_STEPS,
  type RotationEvent,
  type RotationFailure,
  type RotationInvoker,
  type RotationStep,
} from './rotation';
