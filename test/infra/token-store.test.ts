import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { defaultPolicy, logicalId, type Synthesized, synth, type TemplateJson, writePolicy } from './support/synth';

describe('TokenStore and secrets', () => {
  let s: Synthesized;
  let keyRef: { 'Fn::GetAtt': [string, string] };

  beforeAll(() => {
    s = synth();
    keyRef = { 'Fn::GetAtt': [logicalId(s, s.stack.store.key.node.defaultChild as CfnResource), 'Arn'] };
  });

  it('creates a customer managed key with rotation, kept when the stack goes', () => {
    s.template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keeps records in pk/sk with the byOwner, byKind and byDue indexes, encrypted with the key, PITR on', () => {
    const attributes = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'kind', 'kindSk', 'duePk', 'dueSk'];
    s.template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith(attributes.map((name) => ({ AttributeName: name, AttributeType: 'S' }))),
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          ['byOwner', 'gsi1pk', 'gsi1sk'],
          ['byKind', 'kind', 'kindSk'],
          ['byDue', 'duePk', 'dueSk'],
        ].map(([IndexName, hash, range]) => ({
          IndexName,
          KeySchema: [
            { AttributeName: hash, KeyType: 'HASH' },
            { AttributeName: range, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyRef },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keeps the audit trail in correlationId/sk, encrypted with the key, PITR on', () => {
    s.template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [
          { AttributeName: 'correlationId', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyRef },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        GlobalSecondaryIndexes: Match.absent(),
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('generates the link-signing key: 64 alphanumeric characters, encrypted with the key, retained', () => {
    s.template.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        Name: 'TokenWarden/link-signing-key',
        KmsKeyId: keyRef,
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      },
      DeletionPolicy: 'Retain',
    });
    // The org API key is created by an admin and only referenced.
    expect(Object.keys(s.template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(1);
  });

  it('gives each service account’s consumers decrypt through Secrets Manager, for that account’s secrets only', () => {
    const policy = defaultPolicy();
    const [account] = policy.serviceAccounts;
    policy.serviceAccounts.push(
      {
        ...account,
        alias: 'deploy-bot',
        allowedConsumers: ['arn:aws:iam::111111111111:role/deployer', 'arn:aws:iam::000000000000:role/jenkins'],
        defaultConsumers: [],
      },
      { ...account, alias: 'quiet-bot', allowedConsumers: [], defaultConsumers: [] },
    );
    const other = synth({ policy: writePolicy(policy) });
    const key = Object.values(other.template.findResources('AWS::KMS::Key'))[0];
    const statements = key?.Properties.KeyPolicy.Statement as TemplateJson[];
    const consumers = statements.filter((st) => String(st.Sid).startsWith('TokenSecretConsumers'));
    const readersOf = (alias: string, principals: string | string[]) => ({
      Sid: `TokenSecretConsumers-${alias}`,
      Effect: 'Allow',
      Principal: { AWS: principals },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        },
        StringLike: {
          'kms:EncryptionContext:SecretARN': {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':secretsmanager:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                `:secret:token-warden.${alias}.*`,
              ],
            ],
          },
        },
      },
    });
    // One statement per service account with consumers, in policy order; quiet-bot allows none and gets none.
    expect(consumers).toEqual([
      readersOf('jenkins-bot', 'arn:aws:iam::000000000000:role/jenkins'),
      readersOf('deploy-bot', ['arn:aws:iam::000000000000:role/jenkins', 'arn:aws:iam::111111111111:role/deployer']),
    ]);
  });

  it('names no consumer in the key policy when the policy allows none', () => {
    const policy = defaultPolicy();
    for (const account of policy.serviceAccounts) {
      account.allowedConsumers = [];
      account.defaultConsumers = [];
    }
    const other = synth({ policy: writePolicy(policy) });
    const key = Object.values(other.template.findResources('AWS::KMS::Key'))[0];
    const sids = ((key?.Properties.KeyPolicy.Statement ?? []) as { Sid?: string }[]).map((st) => st.Sid ?? '');
    expect(sids.filter((sid) => sid.startsWith('TokenSecretConsumers'))).toEqual([]);
  });

  it('lets CloudWatch Logs use the key for log groups of this account and region only', () => {
    const key = Object.values(s.template.findResources('AWS::KMS::Key'))[0];
    const logs = ((key?.Properties.KeyPolicy.Statement ?? []) as TemplateJson[]).find(
      (st) => st.Sid === 'CloudWatchLogs',
    );
    expect(logs?.Principal).toEqual({
      Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
    });
    expect(logs?.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toBeDefined();
  });

  it('outputs the table names and the secret names', () => {
    s.template.hasOutput('RecordsTableName', {
      Value: { Ref: logicalId(s, s.stack.store.records.node.defaultChild as CfnResource) },
    });
    s.template.hasOutput('AuditTableName', {
      Value: { Ref: logicalId(s, s.stack.store.audit.node.defaultChild as CfnResource) },
    });
    s.template.hasOutput('OrgApiKeySecretName', { Value: 'token-warden/atlassian-org-api-key' });
    s.template.hasOutput('LinkSigningSecretName', { Value: Match.anyValue() });
  });
});
