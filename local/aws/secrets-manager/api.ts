/**
 * Local AWS Secrets Manager (awsJson1.1, `X-Amz-Target: secretsmanager.<Operation>`), built to the behaviour the
 * Secrets Manager API reference documents: staging labels (`AWSCURRENT`/`AWSPREVIOUS`/`AWSPENDING` and custom
 * ones, each on at most one version), `ClientRequestToken` idempotency, recovery windows evaluated against the
 * simulated clock, `SecretId` as name, full ARN or partial ARN, rotation by a Lambda function (`RotateSecret`, its
 * four steps, `CancelRotateSecret`), and AWS's error codes.
 *
 * The secrets persist to one JSON file (this is the local secret store, as AWS's own storage is): it holds the
 * secret values, so it is written owner-only, and no value ever appears in an error message.
 *
 * Where the API reference is silent (exact wording of some messages, a few edge cases), the choice made is
 * commented where the code makes it.
 */
import { randomBytes } from 'node:crypto';
import {
  AwsError,
  type AwsRequest,
  type AwsResponse,
  type AwsService,
  jsonError,
  jsonOk,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
} from '../protocol';
import { deleteResourcePolicy, deleteSecret, getResourcePolicy, putResourcePolicy, restoreSecret } from './lifecycle';
import { describeSecret, listSecrets, listSecretVersionIds, tagResource } from './metadata';
import {
  cancelRotateSecret,
  type RotationFailure,
  type RotationInvoker,
  RotationRunner,
  rotateSecret,
} from './rotation';
import { SecretStore } from './store';
import { createSecret, getSecretValue, putSecretValue, updateSecretVersionStage } from './values';
import { type Body, parseBody } from './wire';

/** Constructor options of {@link LocalSecretsManager}. */
export interface LocalSecretsManagerOptions {
  /** The simulated clock: creation dates, recovery windows and last-access dates follow it. */
  now: () => Date;
  /** JSON file the secrets persist to (written on every change); in memory only when absent. */
  file?: string;
  /** @default `us-east-1` */
  region?: string;
  /** @default `000000000000` */
  account?: string;
  /** Random bytes for ARN suffixes and generated version ids. @default `crypto.randomBytes` */
  random?: (size: number) => Buffer;
  /**
   * Invokes a rotation function for one step (the runtime's Lambda runner); a rejection is a failed step. Without
   * it, `RotateSecret` refuses every function with `AccessDeniedException`, as AWS does for a function it may not
   * invoke. @default none
   */
  invokeRotation?: RotationInvoker;
  /**
   * Whether Secrets Manager may invoke `functionArn` to rotate the secret `secretArn` (the function exists and its
   * policy lets `secretsmanager.amazonaws.com` invoke it for that secret). @default every function, once
   * `invokeRotation` is set
   */
  canInvokeRotation?: (functionArn: string, secretArn: string) => boolean;
  /** Registers a rotation's steps with the simulated clock, so advancing it waits for them. @default no tracking */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /** Told when a rotation stopped at a failed step. @default a line on stderr naming the secret and the step */
  onRotationFailure?: (failure: RotationFailure) => void;
}

/** The operations this emulator answers; any other `secretsmanager.*` target gets `UnknownOperationException`. */
export const SECRETS_MANAGER_OPERATIONS = [
  'CancelRotateSecret',
  'CreateSecret',
  'DeleteResourcePolicy',
  'DeleteSecret',
  'DescribeSecret',
  'GetResourcePolicy',
  'GetSecretValue',
  'ListSecretVersionIds',
  'ListSecrets',
  'PutResourcePolicy',
  'PutSecretValue',
  'RestoreSecret',
  'RotateSecret',
  'TagResource',
  'UpdateSecretVersionStage',
] as const;

export type SecretsManagerOperation = (typeof SECRETS_MANAGER_OPERATIONS)[number];

const TARGET_PREFIX = 'secretsmanager.';

type Operation = (store: SecretStore, body: Body, rotations: RotationRunner) => unknown;

const HANDLERS: Record<SecretsManagerOperation, Operation> = {
  CancelRotateSecret: cancelRotateSecret,
  CreateSecret: createSecret,
  DeleteResourcePolicy: deleteResourcePolicy,
  DeleteSecret: deleteSecret,
  DescribeSecret: describeSecret,
  GetResourcePolicy: getResourcePolicy,
  GetSecretValue: getSecretValue,
  ListSecretVersionIds: listSecretVersionIds,
  ListSecrets: listSecrets,
  PutResourcePolicy: putResourcePolicy,
  PutSecretValue: putSecretValue,
  RestoreSecret: restoreSecret,
  RotateSecret: rotateSecret,
  TagResource: tagResource,
  UpdateSecretVersionStage: updateSecretVersionStage,
};

/**
 * The Secrets Manager emulator behind the local AWS endpoint.
 *
 * Deletion is evaluated lazily: a secret whose recovery window has ended (by the simulated clock) is removed
 * before the next request is answered. Rotation (`rotation.ts`) invokes the rotation function through
 * `invokeRotation`, after `RotateSecret` has answered.
 */
export class LocalSecretsManager implements AwsService {
  readonly name = 'secretsmanager';
  /** The operations `handle()` emulates (the edge checks them at start-up). */
  readonly operations: readonly string[] = SECRETS_MANAGER_OPERATIONS;
  private readonly store: SecretStore;
  private readonly rotations: RotationRunner;

  constructor(options: LocalSecretsManagerOptions) {
    this.store = new SecretStore({
      now: options.now,
      file: options.file,
      region: options.region ?? LOCAL_REGION,
      account: options.account ?? LOCAL_ACCOUNT,
      random: options.random ?? randomBytes,
    });
    this.rotations = new RotationRunner(this.store, {
      invoke: options.invokeRotation,
      canInvoke: options.canInvokeRotation,
      track: options.track,
      onFailure: options.onRotationFailure,
    });
  }

  /** Resolves once no rotation is running its steps (rotations run after `RotateSecret` has answered). */
  rotationsSettled(): Promise<void> {
    return this.rotations.settled();
  }

  matches(req: AwsRequest): boolean {
    return req.target?.startsWith(TARGET_PREFIX) === true;
  }

  operation(req: AwsRequest): string {
    return req.target?.startsWith(TARGET_PREFIX) ? req.target.slice(TARGET_PREFIX.length) : (req.target ?? '');
  }

  /** Answers one request; AWS-shaped errors become awsJson error responses, anything else is thrown. */
  async handle(req: AwsRequest): Promise<AwsResponse> {
    const operation = this.operation(req);
    try {
      const handler = isOperation(operation) ? HANDLERS[operation] : undefined;
      if (!handler) {
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation || '(none)'} is not supported by the local endpoint`,
        );
      }
      const body = parseBody(req.body);
      this.store.purgeExpired();
      return jsonOk(handler(this.store, body, this.rotations));
    } catch (error) {
      if (error instanceof AwsError) return jsonError(error);
      throw error;
    }
  }
}

function isOperation(name: string): name is SecretsManagerOperation {
  return (SECRETS_MANAGER_OPERATIONS as readonly string[]).includes(name);
}
