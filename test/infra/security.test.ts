/**
 * Security properties of the whole template, beyond cdk-nag: no wildcard actions, no resource outside this stack's
 * account and region (except where AWS itself has no resource-level permissions, each named with its reason), and
 * every store of data encrypted with the stack's customer key.
 */
import { secretNameFor } from '../../functions/domain/naming';
import { resolveValue } from '../../lib/synth/resolve-template';
import { defaultPolicy, type Synthesized, synth, type TemplateJson, writePolicy } from './support/synth';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: unknown;
  Principal?: unknown;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Actions AWS offers without resource-level permissions, so `Resource: *` is the only form; with the reason. */
const RESOURCE_STAR_ALLOWED: Record<string, string> = {
  'xray:PutTraceSegments': 'X-Ray has no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingRules': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions',
  'logs:CreateLogDelivery': 'Step Functions log delivery: CloudWatch Logs vended-log actions take no resource',
  'logs:GetLogDelivery': 'Step Functions log delivery',
  'logs:UpdateLogDelivery': 'Step Functions log delivery',
  'logs:DeleteLogDelivery': 'Step Functions log delivery',
  'logs:ListLogDeliveries': 'Step Functions log delivery',
  'logs:PutResourcePolicy': 'Step Functions log delivery',
  'logs:DescribeResourcePolicies': 'Step Functions log delivery',
  'logs:DescribeLogGroups': 'Step Functions log delivery',
};

let s: Synthesized;
beforeAll(() => {
  s = synth();
});

function identityStatements(): { resource: string; statement: Statement }[] {
  return Object.entries(s.json.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::Role')
    .flatMap(([id, r]) => {
      const docs: TemplateJson[] =
        r.Type === 'AWS::IAM::Policy'
          ? [r.Properties.PolicyDocument]
          : (r.Properties.Policies ?? []).map((p: TemplateJson) => p.PolicyDocument);
      return docs.flatMap((doc) =>
        (resolveValue(doc.Statement, s.resolve) as unknown as Statement[]).map((statement) => ({
          resource: id,
          statement,
        })),
      );
    });
}

describe('IAM', () => {
  it('grants no wildcard actions', () => {
    const wild = identityStatements().filter(({ statement }) => list(statement.Action).some((a) => a.includes('*')));
    expect(wild).toEqual([]);
  });

  it('grants nothing outside this stack’s account and region, except actions AWS offers only on *', () => {
    const outside = identityStatements().flatMap(({ resource, statement }) =>
      list(statement.Resource)
        .filter((arn) => {
          if (arn === '*') return !list(statement.Action).every((a) => a in RESOURCE_STAR_ALLOWED);
          // Global services (IAM, Scheduler's universal target, SES identities) are account-scoped or regional.
          const m = /^arn:aws:([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):/.exec(arn);
          if (!m) return true;
          const [, service, region, account] = m;
          if (service === 'iam') return account !== '000000000000' || region !== '';
          return region !== 'us-east-1' || account !== '000000000000';
        })
        .map((arn) => ({ resource, arn, actions: list(statement.Action) })),
    );
    expect(outside).toEqual([]);
  });

  it('uses no NotAction/NotResource allows and no inline principal wildcards', () => {
    const loose = identityStatements().filter(
      ({ statement }) =>
        statement.Effect === 'Allow' && (statement.NotResource !== undefined || 'NotAction' in statement),
    );
    expect(loose).toEqual([]);
  });
});

describe('encryption with the stack’s customer key', () => {
  const keyArn = () => {
    const [id] = Object.entries(s.json.Resources).find(([, r]) => r.Type === 'AWS::KMS::Key') ?? [];
    return { 'Fn::GetAtt': [id, 'Arn'] };
  };

  it('has exactly one customer key, rotated yearly', () => {
    const keys = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::KMS::Key');
    expect(keys).toHaveLength(1);
    expect(keys[0]?.Properties.EnableKeyRotation).toBe(true);
  });

  it('encrypts both tables, every log group, the alarm topic and the link-signing secret with it', () => {
    const byType = (type: string) => Object.values(s.json.Resources).filter((r) => r.Type === type);
    for (const table of byType('AWS::DynamoDB::Table')) {
      expect(table.Properties.SSESpecification).toEqual({ KMSMasterKeyId: keyArn(), SSEEnabled: true, SSEType: 'KMS' });
    }
    const logGroups = byType('AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThan(10);
    for (const group of logGroups) expect(group.Properties.KmsKeyId).toEqual(keyArn());
    for (const topic of byType('AWS::SNS::Topic')) expect(topic.Properties.KmsMasterKeyId).toEqual(keyArn());
    for (const secret of byType('AWS::SecretsManager::Secret')) expect(secret.Properties.KmsKeyId).toEqual(keyArn());
  });

  it('creates token secrets with it: the functions that create secrets are configured with the stack key', () => {
    const creators = Object.values(s.json.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.SECRETS_KMS_KEY_ID,
    );
    expect(creators.length).toBeGreaterThan(0);
    for (const fn of creators) expect(fn.Properties.Environment.Variables.SECRETS_KMS_KEY_ID).toEqual(keyArn());
  });
});

describe('token secret readers in the key policy', () => {
  const JENKINS = 'arn:aws:iam::000000000000:role/jenkins';
  const SHARED = 'arn:aws:iam::000000000000:role/shared-ci';
  const DEPLOYER = 'arn:aws:iam::111111111111:role/deployer';
  const DEPLOY_ONLY = 'arn:aws:iam::000000000000:role/deploy-only';
  // `deploy` is a prefix of `deploy-bot`: their secrets must still be told apart.
  const ALLOWED: Record<string, string[]> = {
    'jenkins-bot': [JENKINS, SHARED],
    'deploy-bot': [DEPLOYER, SHARED],
    deploy: [DEPLOY_ONLY],
    'quiet-bot': [],
  };
  const ROLES = [JENKINS, SHARED, DEPLOYER, DEPLOY_ONLY];
  const VIA_SECRETS_MANAGER = 'secretsmanager.us-east-1.amazonaws.com';
  const secretArn = (alias: string, account = '000000000000', region = 'us-east-1') =>
    `arn:aws:secretsmanager:${region}:${account}:secret:${secretNameFor(alias, 'ci-main')}-AbC123`;

  let keyStatements: TemplateJson[];
  beforeAll(() => {
    const policy = defaultPolicy();
    const [template] = policy.serviceAccounts;
    policy.serviceAccounts = Object.entries(ALLOWED).map(([alias, allowedConsumers]) => ({
      ...template,
      alias,
      allowedConsumers,
      defaultConsumers: allowedConsumers.slice(0, 1),
    }));
    const other = synth({ policy: writePolicy(policy) });
    const key = Object.values(other.json.Resources).find((r) => r.Type === 'AWS::KMS::Key');
    keyStatements = (resolveValue(key?.Properties.KeyPolicy, other.resolve) as TemplateJson).Statement;
  });

  const glob = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  const values = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).map(String);
  /**
   * Whether a statement that names `role` itself lets it call `kms:Decrypt` with this request context. An operator
   * or key this check does not model counts as met, so a statement can only look more permissive than it is.
   */
  function decryptAllowed(role: string, context: Record<string, string>): boolean {
    return keyStatements.some((st) => {
      if (st.Effect !== 'Allow' || !values(st.Principal?.AWS ?? []).includes(role)) return false;
      if (!values(st.Action).some((action) => glob(action).test('kms:Decrypt'))) return false;
      return Object.entries((st.Condition ?? {}) as Record<string, Record<string, unknown>>).every(([op, tests]) =>
        Object.entries(tests).every(([conditionKey, expected]) => {
          const actual = context[conditionKey];
          if (actual === undefined) return !['StringEquals', 'StringLike', 'ArnLike'].includes(op);
          if (op === 'StringEquals') return values(expected).includes(actual);
          if (op === 'StringLike' || op === 'ArnLike') return values(expected).some((p) => glob(p).test(actual));
          return true;
        }),
      );
    });
  }

  it('lets a consumer decrypt, through Secrets Manager, the secrets of exactly the accounts that allow it', () => {
    const outcome = ROLES.map((role) =>
      Object.keys(ALLOWED).filter((alias) =>
        decryptAllowed(role, {
          'kms:ViaService': VIA_SECRETS_MANAGER,
          'kms:EncryptionContext:SecretARN': secretArn(alias),
        }),
      ),
    );
    expect(outcome).toEqual([['jenkins-bot'], ['jenkins-bot', 'deploy-bot'], ['deploy-bot'], ['deploy']]);
  });

  it('gives no consumer the key outside Secrets Manager, nor for secrets of another account or region', () => {
    for (const role of ROLES) {
      for (const alias of Object.keys(ALLOWED)) {
        const arn = secretArn(alias);
        expect(decryptAllowed(role, { 'kms:EncryptionContext:SecretARN': arn })).toBe(false);
        expect(
          decryptAllowed(role, {
            'kms:ViaService': 'ssm.us-east-1.amazonaws.com',
            'kms:EncryptionContext:SecretARN': arn,
          }),
        ).toBe(false);
        for (const elsewhere of [secretArn(alias, '222222222222'), secretArn(alias, '000000000000', 'eu-west-1')]) {
          expect(
            decryptAllowed(role, {
              'kms:ViaService': VIA_SECRETS_MANAGER,
              'kms:EncryptionContext:SecretARN': elsewhere,
            }),
          ).toBe(false);
        }
        // Secrets Manager's own secrets outside the token-warden. names (the link-signing key, say).
        const own = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key-AbC123';
        expect(
          decryptAllowed(role, { 'kms:ViaService': VIA_SECRETS_MANAGER, 'kms:EncryptionContext:SecretARN': own }),
        ).toBe(false);
      }
    }
  });

  it('allows consumers nothing but kms:Decrypt', () => {
    const naming = keyStatements.filter((st) => values(st.Principal?.AWS ?? []).some((p) => ROLES.includes(p)));
    expect(naming.length).toBeGreaterThan(0);
    for (const st of naming) expect(values(st.Action)).toEqual(['kms:Decrypt']);
  });
});

describe('API access logs', () => {
  it('never record the query string (approval signatures) or any header (Authorization)', () => {
    const stages = Object.values(s.json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    const format: string = stages[0]?.Properties.AccessLogSettings.Format;
    expect(format).toContain('$context.requestId');
    expect(format).not.toMatch(/querystring|\$request\.|\$context\.authorizer\.claims|authorization|header/i);
    expect(format).toContain('$context.path');
  });
});
