import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

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
    Validations.of(this.linkSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The link-signing key is not rotated automatically: rotating it would invalidate every approval link ' +
        'already emailed and still within its expiry. Rotate it by hand between approval windows if it leaks.',
    });
    this.orgApiKey = Secret.fromSecretNameV2(this, 'OrgApiKey', props.orgApiKeySecretName);
  }
}
