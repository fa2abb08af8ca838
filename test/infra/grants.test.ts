import type { CfnResource } from 'aws-cdk-lib';
import {
  actionsOf,
  ENTRIES,
  list,
  logicalId,
  type Statement,
  type Synthesized,
  statementsOf,
  synth,
} from './support/synth';

const ALL = Object.values(ENTRIES);
const TOKEN_SECRETS = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden.*';
const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/** Entries whose role allows `action` (on any resource). */
function holders(s: Synthesized, action: string): string[] {
  return ALL.filter((entry) => actionsOf(s, entry).has(action));
}

/** Statements of `entry` granting `action`. */
function grantsOf(s: Synthesized, entry: string, action: string): Statement[] {
  return statementsOf(s, entry).filter((st) => list(st.Action).includes(action));
}

describe('least-privilege grants', () => {
  let s: Synthesized;
  let recordsArn: string;
  let auditArn: string;
  let keyArn: string;

  beforeAll(() => {
    s = synth();
    const id = (c: { node: { defaultChild?: unknown } }) => logicalId(s, c.node.defaultChild as CfnResource);
    recordsArn = `arn:aws:dynamodb:us-east-1:000000000000:table/${id(s.stack.store.records)}`;
    auditArn = `arn:aws:dynamodb:us-east-1:000000000000:table/${id(s.stack.store.audit)}`;
    keyArn = `arn:aws:kms:us-east-1:000000000000:key/${id(s.stack.store.key)}`;
  });

  it('gives health nothing but logs and tracing', () => {
    expect([...actionsOf(s, ENTRIES.health)].sort()).toEqual([...LOGS, ...XRAY].sort());
  });

  it('lets only the functions that write records write the records table', () => {
    const writers = ALL.filter((entry) =>
      grantsOf(s, entry, 'dynamodb:PutItem').some((st) => list(st.Resource).includes(recordsArn)),
    );
    expect(writers.sort()).toEqual(ALL.filter((e) => e !== ENTRIES.tokens && e !== ENTRIES.health).sort());
    const tokens = actionsOf(s, ENTRIES.tokens);
    expect([...tokens].filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    const [read] = grantsOf(s, ENTRIES.tokens, 'dynamodb:Query');
    expect(list(read?.Resource).sort()).toEqual(
      [recordsArn, ...['byDue', 'byKind', 'byOwner'].map((index) => `${recordsArn}/index/${index}`)].sort(),
    );
  });

  it('never grants a table action on a wildcard or on an index wildcard', () => {
    for (const entry of ALL) {
      for (const st of statementsOf(s, entry).filter((st) => list(st.Action).some((a) => a.startsWith('dynamodb:')))) {
        for (const resource of list(st.Resource))
          expect({ entry, resource }).toEqual({ entry, resource: expect.not.stringContaining('*') });
        expect(list(st.Action)).not.toContain('dynamodb:Scan');
        expect(list(st.Action)).not.toContain('dynamodb:DeleteTable');
      }
    }
  });

  it('keeps the audit table append-only', () => {
    for (const entry of ALL) {
      const onAudit = statementsOf(s, entry)
        .filter((st) => list(st.Resource).includes(auditArn))
        .flatMap((st) => list(st.Action));
      expect({ entry, onAudit: [...new Set(onAudit)] }).toEqual({
        entry,
        onAudit: onAudit.length ? ['dynamodb:PutItem'] : [],
      });
    }
    const appenders = ALL.filter((entry) => statementsOf(s, entry).some((st) => list(st.Resource).includes(auditArn)));
    expect(appenders.sort()).toEqual(
      [
        ENTRIES.tokenRequests,
        ENTRIES.approvals,
        ENTRIES.requestApproval,
        ENTRIES.closeRequest,
        ENTRIES.promoteToken,
      ].sort(),
    );
  });

  it('uses the table key only through DynamoDB', () => {
    for (const entry of ALL) {
      for (const st of statementsOf(s, entry).filter((st) => list(st.Action).includes('kms:Encrypt'))) {
        expect({ entry, resource: st.Resource, condition: st.Condition }).toEqual({
          entry,
          resource: keyArn,
          condition: { StringEquals: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } },
        });
      }
    }
    expect(actionsOf(s, ENTRIES.tokens)).not.toContain('kms:Encrypt');
  });

  it('lets only mint-token create token secrets, put values or set their readers', () => {
    for (const action of [
      'secretsmanager:CreateSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:PutResourcePolicy',
      'secretsmanager:RestoreSecret',
      'secretsmanager:TagResource',
    ]) {
      expect({ action, holders: holders(s, action) }).toEqual({ action, holders: [ENTRIES.mintToken] });
    }
    expect(grantsOf(s, ENTRIES.mintToken, 'secretsmanager:PutResourcePolicy')).toEqual([
      expect.objectContaining({
        Resource: TOKEN_SECRETS,
        Condition: { Bool: { 'secretsmanager:BlockPublicPolicy': 'true' } },
      }),
    ]);
    expect(grantsOf(s, ENTRIES.mintToken, 'secretsmanager:CreateSecret')[0]?.Resource).toBe(TOKEN_SECRETS);
  });

  it('lets only verify-token read token values, and only discard-token schedule their deletion', () => {
    const readers = ALL.filter((entry) =>
      grantsOf(s, entry, 'secretsmanager:GetSecretValue').some((st) => list(st.Resource).includes(TOKEN_SECRETS)),
    );
    expect(readers).toEqual([ENTRIES.verifyToken]);
    expect(holders(s, 'secretsmanager:DeleteSecret')).toEqual([ENTRIES.discardToken]);
    expect(holders(s, 'secretsmanager:UpdateSecretVersionStage').sort()).toEqual(
      [ENTRIES.promoteToken, ENTRIES.discardToken].sort(),
    );
  });

  it('bounds the key use of token secrets to Secrets Manager and token-warden.* secrets', () => {
    const keyGrants = ALL.flatMap((entry) =>
      grantsOf(s, entry, 'kms:Decrypt')
        .filter((st) => st.Condition?.StringEquals?.['kms:ViaService'] === 'secretsmanager.us-east-1.amazonaws.com')
        .filter((st) => st.Condition?.StringLike?.['kms:EncryptionContext:SecretARN'] === TOKEN_SECRETS)
        .map((st) => ({ entry, actions: list(st.Action).sort(), resource: st.Resource })),
    );
    expect(keyGrants).toEqual([
      { entry: ENTRIES.mintToken, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resource: keyArn },
      { entry: ENTRIES.verifyToken, actions: ['kms:Decrypt'], resource: keyArn },
    ]);
  });

  it('lets only the functions that resume a waiting workflow send task results', () => {
    expect(holders(s, 'states:SendTaskSuccess').sort()).toEqual(
      [ENTRIES.tokenRequests, ENTRIES.approvals, ENTRIES.requestApproval].sort(),
    );
    const machineArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-issuance';
    for (const entry of holders(s, 'states:SendTaskSuccess')) {
      for (const st of grantsOf(s, entry, 'states:SendTaskSuccess'))
        expect({ entry, resource: st.Resource }).toEqual({ entry, resource: machineArn });
    }
    expect(holders(s, 'states:StartExecution')).toEqual([ENTRIES.tokenRequests]);
  });

  it('reads the link-signing key only where links are signed or task tokens sealed', () => {
    const linkKey = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key';
    const readers = ALL.filter((entry) =>
      grantsOf(s, entry, 'secretsmanager:GetSecretValue').some((st) => list(st.Resource).includes(linkKey)),
    );
    expect(readers.sort()).toEqual([ENTRIES.tokenRequests, ENTRIES.approvals, ENTRIES.requestApproval].sort());
  });

  it('reads the Atlassian organization key only in the functions that call Atlassian', () => {
    const orgKey = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden/atlassian-org-api-key-??????';
    const readers = ALL.filter((entry) =>
      grantsOf(s, entry, 'secretsmanager:GetSecretValue').some((st) => list(st.Resource).includes(orgKey)),
    );
    expect(readers.sort()).toEqual([ENTRIES.mintToken, ENTRIES.verifyToken, ENTRIES.discardToken].sort());
  });

  it('sends mail only from the configured address', () => {
    expect(holders(s, 'ses:SendEmail').sort()).toEqual(
      [ENTRIES.approvals, ENTRIES.requestApproval, ENTRIES.closeRequest, ENTRIES.promoteToken].sort(),
    );
    for (const entry of holders(s, 'ses:SendEmail')) {
      expect(grantsOf(s, entry, 'ses:SendEmail')).toEqual([
        {
          Effect: 'Allow',
          Action: 'ses:SendEmail',
          Resource: [
            'arn:aws:ses:us-east-1:000000000000:identity/token-warden@example.com',
            'arn:aws:ses:us-east-1:000000000000:identity/example.com',
          ],
          Condition: { StringEquals: { 'ses:FromAddress': 'token-warden@example.com' } },
        },
      ]);
    }
  });

  it('grants no action wildcard to any function', () => {
    for (const entry of ALL) {
      for (const action of actionsOf(s, entry))
        expect({ entry, action }).toEqual({ entry, action: expect.not.stringContaining('*') });
    }
  });
});
