import {
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretVault, TokenSecretSpec } from '../../use-cases/ports';
import { aws } from './errors';

/**
 * The secrets that hold issued tokens. A secret's value is the raw token (what the Jenkins credentials provider
 * expects); generations are secret versions moved through `AWSPENDING` → `AWSCURRENT` → `AWSPREVIOUS`.
 */
export class TokenVault implements SecretVault {
  constructor(private readonly sm: SecretsManagerClient = new SecretsManagerClient({})) {}

  async describe(secretId: string): Promise<DescribeSecretCommandOutput | undefined> {
    try {
      return await aws('SecretsManager.DescribeSecret', () =>
        this.sm.send(new DescribeSecretCommand({ SecretId: secretId })),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  /** Creates the secret (no value yet) or brings back one scheduled for deletion; applies tags and readers. */
  async ensureSecret(spec: TokenSecretSpec): Promise<string> {
    let current = await this.describe(spec.name);
    if (current?.DeletedDate) {
      await aws('SecretsManager.RestoreSecret', () => this.sm.send(new RestoreSecretCommand({ SecretId: spec.name })));
      current = await this.describe(spec.name);
    }
    if (!current) {
      try {
        await aws('SecretsManager.CreateSecret', () =>
          this.sm.send(
            new CreateSecretCommand({
              Name: spec.name,
              KmsKeyId: spec.kmsKeyId,
              Description: spec.description,
              Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
            }),
          ),
        );
      } catch (error) {
        // A concurrent attempt created it first: same secret, carry on.
        if (!(error instanceof Error && error.name === 'ResourceExistsException')) throw error;
      }
      current = await this.describe(spec.name);
    } else {
      await aws('SecretsManager.TagResource', () =>
        this.sm.send(
          new TagResourceCommand({
            SecretId: spec.name,
            Tags: Object.entries(spec.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      );
    }
    const arn = current?.ARN;
    if (!arn) throw new Error(`secret ${spec.name} has no ARN`);
    await this.setReaders(arn, spec.consumers);
    return arn;
  }

  async setReaders(secretId: string, consumers: string[]): Promise<void> {
    if (consumers.length === 0) {
      await this.removeReaders(secretId);
      return;
    }
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TokenWardenConsumers',
          Effect: 'Allow',
          Principal: { AWS: [...consumers].sort() },
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: '*',
        },
      ],
    };
    await aws('SecretsManager.PutResourcePolicy', () =>
      this.sm.send(
        new PutResourcePolicyCommand({
          SecretId: secretId,
          ResourcePolicy: JSON.stringify(policy),
          BlockPublicPolicy: true,
        }),
      ),
    );
  }

  async removeReaders(secretId: string): Promise<void> {
    await aws('SecretsManager.DeleteResourcePolicy', () =>
      this.sm.send(new DeleteResourcePolicyCommand({ SecretId: secretId })),
    );
  }

  /** Stores a new generation as `AWSPENDING`; the deterministic `versionId` makes a retry a no-op. */
  async stage(secretId: string, versionId: string, value: string): Promise<void> {
    await aws('SecretsManager.PutSecretValue', () =>
      this.sm.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: versionId,
          SecretString: value,
          VersionStages: ['AWSPENDING'],
        }),
      ),
    );
  }

  /** Whether `versionId` exists in the secret. */
  async hasVersion(secretId: string, versionId: string): Promise<boolean> {
    const described = await this.describe(secretId);
    return Boolean(described?.VersionIdsToStages && versionId in described.VersionIdsToStages);
  }

  async read(secretId: string, versionId: string): Promise<string> {
    const out = await aws('SecretsManager.GetSecretValue', () =>
      this.sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId })),
    );
    if (typeof out.SecretString !== 'string') throw new Error(`secret version ${versionId} holds no string`);
    return out.SecretString;
  }

  /** Makes `versionId` current (the old current becomes `AWSPREVIOUS`) and drops its `AWSPENDING` label. */
  async promote(secretId: string, versionId: string): Promise<{ previousVersionId?: string }> {
    const described = await this.describe(secretId);
    const stages = described?.VersionIdsToStages ?? {};
    const current = Object.entries(stages).find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
    if (current !== versionId) {
      await aws('SecretsManager.UpdateSecretVersionStage', () =>
        this.sm.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            ...(current ? { RemoveFromVersionId: current } : {}),
          }),
        ),
      );
    }
    await this.dropPending(secretId, versionId);
    return current && current !== versionId ? { previousVersionId: current } : {};
  }

  /** Schedules deletion with a 7-day recovery window (so `GetSecretValue` fails at once). */
  async scheduleDeletion(secretId: string): Promise<void> {
    const described = await this.describe(secretId);
    if (!described || described.DeletedDate) return;
    await aws('SecretsManager.DeleteSecret', () =>
      this.sm.send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 })),
    );
  }

  /** Removes `AWSPENDING` from `versionId` if it carries it. */
  async dropPending(secretId: string, versionId: string): Promise<void> {
    const described = await this.describe(secretId);
    if (!described?.VersionIdsToStages?.[versionId]?.includes('AWSPENDING')) return;
    await aws('SecretsManager.UpdateSecretVersionStage', () =>
      this.sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: versionId,
        }),
      ),
    );
  }

  /**
   * Configures rotation by `functionArn` every `automaticallyAfterDays` days without rotating now. Secrets Manager
   * then invokes the function's `testSecret` step once, on a pending copy of the current value.
   */
  async configureRotation(secretId: string, functionArn: string, automaticallyAfterDays: number): Promise<void> {
    await aws('SecretsManager.RotateSecret', () =>
      this.sm.send(
        new RotateSecretCommand({
          SecretId: secretId,
          RotationLambdaARN: functionArn,
          RotationRules: { AutomaticallyAfterDays: automaticallyAfterDays },
          RotateImmediately: false,
        }),
      ),
    );
  }
}
