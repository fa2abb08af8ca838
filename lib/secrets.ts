import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnRotationSchedule, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { LINK_KEY_ROTATION_DAYS } from '../functions/domain/links';

/** Properties of {@link WardenSecrets}. */
export interface WardenSecretsProps {
  /** Key that encrypts the link-signing key. */
  readonly encryptionKey: IKey;
  /** Name of the existing secret that holds the Atlassian organization API key (created by an admin). */
  readonly orgApiKeySecretName: string;
  /**
   * Name of the link-signing key secret.
   * @default - `<stack name>/link-signing-key`
   */
  readonly linkSigningKeyName?: string;
  /**
   * What happens to the link-signing key when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Token Warden's own secrets (token secrets are created at run time by the minting function). */
export class WardenSecrets extends Construct {
  /** HMAC key of approval links: 64 random alphanumeric characters generated at deploy time. */
  readonly linkSigningKey: Secret;
  /** The Atlassian organization API key, imported by name: admins create and renew it outside the stack. */
  readonly orgApiKey: ISecret;

  constructor(scope: Construct, id: string, props: WardenSecretsProps) {
    super(scope, id);
    this.linkSigningKey = new Secret(this, 'LinkSigningKey', {
      secretName: props.linkSigningKeyName,
      description: 'Token Warden: HMAC key that signs approval links',
      encryptionKey: props.encryptionKey,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.orgApiKey = Secret.fromSecretNameV2(this, 'OrgApiKey', props.orgApiKeySecretName);
  }

  /**
   * Has Secrets Manager rotate the link-signing key with `rotationFunction` every {@link LINK_KEY_ROTATION_DAYS}
   * days. Links and sealed task tokens verify with the `AWSCURRENT` or the `AWSPREVIOUS` key, and the interval is
   * longer than anything signed or sealed lives, so a rotation invalidates nothing still valid. Secrets Manager may
   * invoke the function for this secret only, on behalf of this account.
   */
  rotateLinkSigningKeyWith(rotationFunction: IFunction): CfnRotationSchedule {
    const stack = Stack.of(this);
    rotationFunction.addPermission('SecretsManagerRotation', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: stack.account,
      sourceArn: this.linkSigningKey.secretArn,
    });
    const schedule = new CfnRotationSchedule(this, 'LinkSigningKeyRotation', {
      secretId: this.linkSigningKey.secretArn,
      rotationLambdaArn: rotationFunction.functionArn,
      rotationRules: { automaticallyAfterDays: LINK_KEY_ROTATION_DAYS },
    });
    // Secrets Manager checks that it may invoke the function when the schedule is created.
    schedule.node.addDependency(rotationFunction.permissionsNode.findChild('SecretsManagerRotation'));
    return schedule;
  }
}
