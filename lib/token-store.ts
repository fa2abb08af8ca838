import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { ArnPrincipal, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Global secondary indexes of the records table (docs/architecture.md). */
export const RECORD_INDEXES = {
  byOwner: { partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  byKind: { partitionKey: 'kind', sortKey: 'kindSk' },
  byDue: { partitionKey: 'duePk', sortKey: 'dueSk' },
} as const;

/** Secrets holding issued tokens are named `token-warden.<alias>.<name>`. */
export const TOKEN_SECRET_NAME_PREFIX = 'token-warden.';

/** The roles allowed to read the token secrets of one service account. */
export interface TokenSecretConsumers {
  /** The service account's alias: its secrets are `token-warden.<alias>.<name>`. */
  readonly alias: string;
  /** IAM role ARNs (the account's `allowedConsumers`). */
  readonly consumers: readonly string[];
}

/** Properties of {@link TokenStore}. */
export interface TokenStoreProps {
  /**
   * The IAM roles that may read each service account's token secrets: the policy's `allowedConsumers` by alias.
   * Each account's roles get `kms:Decrypt` on the key only through Secrets Manager and only for secrets named
   * `token-warden.<alias>.*` in this account and region (one key policy statement per account).
   * @default - no consumer can decrypt
   */
  readonly secretConsumers?: readonly TokenSecretConsumers[];
  /**
   * What happens to the key and tables when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Token Warden's stateful core: the customer managed key that encrypts everything it stores, the records table
 * (requests, approvals, tokens, name locks) and the append-only audit table.
 */
export class TokenStore extends Construct {
  /** Customer managed key (rotated yearly) for tables, token secrets, log groups and the alarm topic. */
  readonly key: Key;
  /** Records table: `pk`/`sk` with the {@link RECORD_INDEXES}. */
  readonly records: Table;
  /** Audit table: `correlationId`/`sk`, written with conditional puts only. */
  readonly audit: Table;
  /** ARNs of the records table's indexes, for grants that name each index instead of `index/*`. */
  readonly recordIndexArns: string[];

  constructor(scope: Construct, id: string, props: TokenStoreProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = new Key(this, 'Key', {
      description: 'Token Warden: tables, token secrets, logs and notifications',
      enableKeyRotation: true,
      removalPolicy,
    });
    // Log groups (function, workflow and access logs) are encrypted with this key; CloudWatch Logs needs to use
    // it, bounded to log groups of this account and region.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogs',
        principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    // Alarms publish to the encrypted notification topic.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    // CI roles read token secrets through Secrets Manager; they never get the key for anything else. Secrets
    // Manager decrypts with the encryption context `SecretARN` = the secret's ARN, so each service account's
    // consumers are bounded to its own name prefix: a role allowed for one account cannot decrypt another's
    // secrets even where a secret's resource policy or an identity policy would let it call GetSecretValue.
    // Aliases hold no dots, so `token-warden.<alias>.*` matches no other alias's secrets.
    for (const { alias, consumers } of props.secretConsumers ?? []) {
      const principals = [...new Set(consumers)].sort();
      if (principals.length === 0) continue;
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: `TokenSecretConsumers-${alias}`,
          principals: principals.map((arn) => new ArnPrincipal(arn)),
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` },
            StringLike: {
              'kms:EncryptionContext:SecretARN': stack.formatArn({
                service: 'secretsmanager',
                resource: 'secret',
                resourceName: `${TOKEN_SECRET_NAME_PREFIX}${alias}.*`,
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            },
          },
        }),
      );
    }
    this.records = new Table(this, 'Records', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    for (const [indexName, keys] of Object.entries(RECORD_INDEXES)) {
      this.records.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: keys.partitionKey, type: AttributeType.STRING },
        sortKey: { name: keys.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
    this.recordIndexArns = Object.keys(RECORD_INDEXES).map((name) => `${this.records.tableArn}/index/${name}`);

    this.audit = new Table(this, 'Audit', {
      partitionKey: { name: 'correlationId', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
  }
}
