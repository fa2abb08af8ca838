import type { CfnResource } from 'aws-cdk-lib';
import { resolveValue } from '../../lib/synth/resolve-template';
import {
  actionsOf,
  ENTRIES,
  environmentOf,
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
const ROTATION = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-rotation';
const ISSUANCE = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-issuance';
const REVOCATION = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-revocation';
const SCAN = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-personal-token-scan';
const EXCEPTION = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-access-exception';
const LINK_KEY = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key';
const ORG_KEY = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden/atlassian-org-api-key-??????';
const RESPOND = ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'];
const TABLE_WRITE = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
const ROTATE_SCHEDULES = 'arn:aws:scheduler:us-east-1:000000000000:schedule/TokenWarden-rotations/rotate-*';
const EVENT_BUS = 'arn:aws:events:us-east-1:000000000000:event-bus/TokenWarden-events';
/** Functions that append to the audit trail (and so publish lifecycle events). */
const APPENDERS = [
  ENTRIES.tokenRequests,
  ENTRIES.tokens,
  ENTRIES.approvals,
  ENTRIES.uploads,
  ENTRIES.requestApproval,
  ENTRIES.requestUpload,
  ENTRIES.closeRequest,
  ENTRIES.promoteToken,
  ENTRIES.revokePrevious,
  ENTRIES.recordRotationFailure,
  ENTRIES.finishRevocation,
  ENTRIES.sweep,
  ENTRIES.inventory,
  ENTRIES.personalTokens,
  ENTRIES.personalTokenScan,
  ENTRIES.accessExceptions,
  ENTRIES.accessExceptionStep,
  ENTRIES.console,
  ENTRIES.secretRotation,
];

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

  it("gives the console's assets nothing but logs and tracing", () => {
    expect([...actionsOf(s, ENTRIES.consoleAssets)].sort()).toEqual([...LOGS, ...XRAY].sort());
  });

  it('lets only the functions that write records write the records table', () => {
    const writers = ALL.filter((entry) =>
      grantsOf(s, entry, 'dynamodb:PutItem').some((st) => list(st.Resource).includes(recordsArn)),
    );
    expect(writers.sort()).toEqual(
      ALL.filter(
        (e) =>
          e !== ENTRIES.admin && e !== ENTRIES.health && e !== ENTRIES.consoleAssets && e !== ENTRIES.linkKeyRotation,
      ).sort(),
    );
    const admin = actionsOf(s, ENTRIES.admin);
    expect([...admin].filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    const read = grantsOf(s, ENTRIES.admin, 'dynamodb:Query').find((st) => list(st.Resource).includes(recordsArn));
    expect(list(read?.Resource).sort()).toEqual(
      [recordsArn, ...['byDue', 'byKind', 'byOwner'].map((index) => `${recordsArn}/index/${index}`)].sort(),
    );
  });

  it('lets the sweep query the byDue and byOwner indexes only: due tokens and open approvals, never a scan', () => {
    const onRecords = grantsOf(s, ENTRIES.sweep, 'dynamodb:Query').filter((st) =>
      list(st.Resource).includes(recordsArn),
    );
    expect(onRecords.map((st) => list(st.Resource).sort())).toEqual([
      [recordsArn, `${recordsArn}/index/byDue`, `${recordsArn}/index/byOwner`],
    ]);
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

  it('keeps the audit table append-only, readable by the admin routes alone', () => {
    for (const entry of ALL) {
      const onAudit = statementsOf(s, entry)
        .filter((st) => list(st.Resource).includes(auditArn))
        .flatMap((st) => list(st.Action));
      const expected = entry === ENTRIES.admin ? ['dynamodb:Query'] : onAudit.length ? ['dynamodb:PutItem'] : [];
      expect({ entry, onAudit: [...new Set(onAudit)] }).toEqual({ entry, onAudit: expected });
    }
    const appenders = ALL.filter((entry) =>
      grantsOf(s, entry, 'dynamodb:PutItem').some((st) => list(st.Resource).includes(auditArn)),
    );
    expect(appenders.sort()).toEqual([...APPENDERS].sort());
  });

  it('lets every audit appender, and no one else, put events on the lifecycle bus only', () => {
    expect(holders(s, 'events:PutEvents').sort()).toEqual([...APPENDERS].sort());
    for (const entry of holders(s, 'events:PutEvents')) {
      expect({ entry, grants: grantsOf(s, entry, 'events:PutEvents') }).toEqual({
        entry,
        grants: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: EVENT_BUS }],
      });
    }
    s.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'TokenWarden-events' });
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
    expect(actionsOf(s, ENTRIES.admin)).not.toContain('kms:Encrypt');
  });

  it('lets only mint-token create token secrets, only it and the rotation function set their readers, and only they and the upload page put values', () => {
    const tokenSecretWriters = (action: string) =>
      ALL.filter((entry) => grantsOf(s, entry, action).some((st) => list(st.Resource).includes(TOKEN_SECRETS)));
    expect(tokenSecretWriters('secretsmanager:PutSecretValue').sort()).toEqual(
      [ENTRIES.mintToken, ENTRIES.uploads, ENTRIES.secretRotation].sort(),
    );
    // The link-signing key's rotation function writes that secret, and no other.
    expect(holders(s, 'secretsmanager:PutSecretValue').sort()).toEqual(
      [ENTRIES.mintToken, ENTRIES.uploads, ENTRIES.secretRotation, ENTRIES.linkKeyRotation].sort(),
    );
    for (const entry of tokenSecretWriters('secretsmanager:PutSecretValue')) {
      for (const st of grantsOf(s, entry, 'secretsmanager:PutSecretValue'))
        expect({ entry, resource: st.Resource }).toEqual({ entry, resource: TOKEN_SECRETS });
    }
    for (const action of [
      'secretsmanager:CreateSecret',
      'secretsmanager:RestoreSecret',
      'secretsmanager:TagResource',
    ]) {
      expect({ action, holders: holders(s, action) }).toEqual({ action, holders: [ENTRIES.mintToken] });
    }
    // A rotation narrows the secret's readers to what the policy allows now, never making it public.
    expect(holders(s, 'secretsmanager:PutResourcePolicy').sort()).toEqual(
      [ENTRIES.mintToken, ENTRIES.secretRotation].sort(),
    );
    for (const entry of [ENTRIES.mintToken, ENTRIES.secretRotation]) {
      expect(grantsOf(s, entry, 'secretsmanager:PutResourcePolicy')).toEqual([
        expect.objectContaining({
          Resource: TOKEN_SECRETS,
          Condition: { Bool: { 'secretsmanager:BlockPublicPolicy': 'true' } },
        }),
      ]);
    }
    expect(grantsOf(s, ENTRIES.mintToken, 'secretsmanager:CreateSecret')[0]?.Resource).toBe(TOKEN_SECRETS);
  });

  it('lets only verify-token and the rotation function read token values, and only discard-token, revocation and expiry schedule their deletion', () => {
    const readers = ALL.filter((entry) =>
      grantsOf(s, entry, 'secretsmanager:GetSecretValue').some((st) => list(st.Resource).includes(TOKEN_SECRETS)),
    );
    expect(readers.sort()).toEqual([ENTRIES.verifyToken, ENTRIES.secretRotation].sort());
    expect(holders(s, 'secretsmanager:DeleteSecret').sort()).toEqual(
      [ENTRIES.tokens, ENTRIES.discardToken, ENTRIES.finishRevocation, ENTRIES.sweep].sort(),
    );
    expect(holders(s, 'secretsmanager:UpdateSecretVersionStage').sort()).toEqual(
      [
        ENTRIES.promoteToken,
        ENTRIES.discardToken,
        ENTRIES.uploads,
        ENTRIES.secretRotation,
        ENTRIES.linkKeyRotation,
      ].sort(),
    );
    // Minting drops the readers of a restored secret (and a rotation's, when the policy allows none now); revoke, its
    // workflow and expiry (the sweep) remove every reader.
    expect(holders(s, 'secretsmanager:DeleteResourcePolicy').sort()).toEqual(
      [ENTRIES.mintToken, ENTRIES.tokens, ENTRIES.finishRevocation, ENTRIES.sweep, ENTRIES.secretRotation].sort(),
    );
    for (const entry of [ENTRIES.tokens, ENTRIES.finishRevocation, ENTRIES.sweep]) {
      expect(grantsOf(s, entry, 'secretsmanager:DeleteSecret')).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'secretsmanager:DeleteResourcePolicy',
            'secretsmanager:DeleteSecret',
            'secretsmanager:DescribeSecret',
          ],
          Resource: TOKEN_SECRETS,
        },
      ]);
    }
  });

  it('bounds the key use of token secrets to Secrets Manager and token-warden.* secrets', () => {
    const keyGrants = ALL.flatMap((entry) =>
      grantsOf(s, entry, 'kms:Decrypt')
        .filter((st) => st.Condition?.StringEquals?.['kms:ViaService'] === 'secretsmanager.us-east-1.amazonaws.com')
        .filter((st) => st.Condition?.StringLike?.['kms:EncryptionContext:SecretARN'] === TOKEN_SECRETS)
        .map((st) => ({ entry, actions: list(st.Action).sort(), resource: st.Resource })),
    );
    expect(keyGrants).toEqual([
      { entry: ENTRIES.uploads, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resource: keyArn },
      { entry: ENTRIES.mintToken, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resource: keyArn },
      { entry: ENTRIES.verifyToken, actions: ['kms:Decrypt'], resource: keyArn },
      { entry: ENTRIES.secretRotation, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resource: keyArn },
    ]);
  });

  it('lets only the functions that resume a waiting workflow send task results', () => {
    expect(holders(s, 'states:SendTaskSuccess').sort()).toEqual(
      [
        ENTRIES.tokenRequests,
        ENTRIES.approvals,
        ENTRIES.requestApproval,
        ENTRIES.requestUpload,
        ENTRIES.uploads,
        ENTRIES.accessExceptions,
        ENTRIES.console,
      ].sort(),
    );
    // Approvals are awaited by issuance and by the exception workflow (decided from the link or the console); an
    // upload by either token workflow (first issuance or rotation); a cancelled exception resumes its own workflow
    // only.
    const expected: Record<string, string[]> = {
      [ENTRIES.tokenRequests]: [ISSUANCE],
      [ENTRIES.approvals]: [ISSUANCE, EXCEPTION],
      [ENTRIES.requestApproval]: [ISSUANCE, EXCEPTION],
      [ENTRIES.requestUpload]: [ISSUANCE, ROTATION],
      [ENTRIES.uploads]: [ISSUANCE, ROTATION],
      [ENTRIES.accessExceptions]: [EXCEPTION],
      [ENTRIES.console]: [ISSUANCE, EXCEPTION],
    };
    for (const entry of holders(s, 'states:SendTaskSuccess')) {
      const resources = grantsOf(s, entry, 'states:SendTaskSuccess').flatMap((st) => list(st.Resource));
      expect({ entry, resources: resources.sort() }).toEqual({ entry, resources: expected[entry]?.sort() });
    }
  });

  it('gives the access-exception routes exactly the table, audit, the link key, starting and resuming their workflow', () => {
    const actions = [...actionsOf(s, ENTRIES.accessExceptions)].filter((a) => !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        ...LOGS,
        ...XRAY,
        ...TABLE_WRITE,
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'states:StartExecution',
        ...RESPOND,
      ].sort(),
    );
    // The link key only (cancel unseals the approval task token): never the org key, never a token value.
    expect(
      grantsOf(s, ENTRIES.accessExceptions, 'secretsmanager:GetSecretValue').flatMap((st) => list(st.Resource)),
    ).toEqual([LINK_KEY]);
    expect(grantsOf(s, ENTRIES.accessExceptions, 'states:StartExecution')).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: EXCEPTION },
    ]);
  });

  it('gives the console routes exactly the table, audit, the link key and resuming the workflows, nothing else', () => {
    const actions = [...actionsOf(s, ENTRIES.console)].filter((a) => !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        ...LOGS,
        ...XRAY,
        ...TABLE_WRITE,
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        ...RESPOND,
      ].sort(),
    );
    // The link key only (a decision unseals the waiting workflow's task token): never the org key or a token value.
    expect(grantsOf(s, ENTRIES.console, 'secretsmanager:GetSecretValue').flatMap((st) => list(st.Resource))).toEqual([
      LINK_KEY,
    ]);
    expect(grantsOf(s, ENTRIES.console, 'states:StartExecution')).toEqual([]);
  });

  it('gives the access-exception steps exactly the table, audit and the org key, and no workflow access or mail', () => {
    const actions = [...actionsOf(s, ENTRIES.accessExceptionStep)].filter((a) => !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        ...LOGS,
        ...XRAY,
        ...TABLE_WRITE,
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    // The org key moves members between policies and revokes their tokens; the link key is not needed here.
    expect(
      grantsOf(s, ENTRIES.accessExceptionStep, 'secretsmanager:GetSecretValue').flatMap((st) => list(st.Resource)),
    ).toEqual([ORG_KEY]);
    // Its table key use is DynamoDB's only; nothing of token secrets.
    for (const st of statementsOf(s, ENTRIES.accessExceptionStep).filter((st) =>
      list(st.Action).some((a) => a.startsWith('kms:')),
    )) {
      expect(st).toMatchObject({
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } },
      });
    }
  });

  it('gives request-upload exactly the table, audit, the link key and task responses, and no mail', () => {
    const linkKey = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key';
    const actions = [...actionsOf(s, ENTRIES.requestUpload)].filter((a) => !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        ...LOGS,
        ...XRAY,
        ...TABLE_WRITE,
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ].sort(),
    );
    expect(
      grantsOf(s, ENTRIES.requestUpload, 'secretsmanager:GetSecretValue').flatMap((st) => list(st.Resource)),
    ).toEqual([linkKey]);
  });

  it('gives the upload page exactly the table, audit, the link and org keys, staging of token secrets and task responses', () => {
    const actions = [...actionsOf(s, ENTRIES.uploads)].filter((a) => !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        ...LOGS,
        ...XRAY,
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'events:PutEvents',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'states:SendTaskFailure',
        'states:SendTaskHeartbeat',
        'states:SendTaskSuccess',
      ].sort(),
    );
    // It reads the link and org keys, never a token value.
    expect(
      grantsOf(s, ENTRIES.uploads, 'secretsmanager:GetSecretValue').flatMap((st) => list(st.Resource)),
    ).not.toContain(TOKEN_SECRETS);
    expect(grantsOf(s, ENTRIES.uploads, 'secretsmanager:PutSecretValue')).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        Resource: TOKEN_SECRETS,
      },
    ]);
    expect(actionsOf(s, ENTRIES.uploads)).not.toContain('ses:SendEmail');
  });

  it('starts issuance from the request routes, rotation from the token routes and the sweep, revocation from revoke, scans from the personal-token routes, exceptions from their routes', () => {
    const starts = ALL.flatMap((entry) =>
      grantsOf(s, entry, 'states:StartExecution').map((st) => ({ entry, resource: st.Resource })),
    );
    expect(starts.sort((a, b) => a.entry.localeCompare(b.entry))).toEqual(
      [
        { entry: ENTRIES.tokenRequests, resource: ISSUANCE },
        { entry: ENTRIES.tokens, resource: ROTATION },
        { entry: ENTRIES.tokens, resource: REVOCATION },
        { entry: ENTRIES.sweep, resource: ROTATION },
        { entry: ENTRIES.secretRotation, resource: ROTATION },
        { entry: ENTRIES.personalTokens, resource: SCAN },
        { entry: ENTRIES.accessExceptions, resource: EXCEPTION },
      ].sort((a, b) => a.entry.localeCompare(b.entry)),
    );
  });

  it('lets only revoke (and its workflow) stop executions, and only those of the rotation workflow', () => {
    expect(holders(s, 'states:StopExecution').sort()).toEqual([ENTRIES.tokens, ENTRIES.finishRevocation].sort());
    for (const entry of [ENTRIES.tokens, ENTRIES.finishRevocation]) {
      expect(grantsOf(s, entry, 'states:StopExecution')).toEqual([
        {
          Effect: 'Allow',
          Action: 'states:StopExecution',
          Resource: 'arn:aws:states:us-east-1:000000000000:execution:TokenWarden-rotation:*',
        },
      ]);
    }
  });

  it('lets only promotion (the workflow step, the rotation function) create or move rotation schedules, and only revoke (and its workflow) delete them', () => {
    const promoters = [ENTRIES.promoteToken, ENTRIES.secretRotation].sort();
    expect(holders(s, 'scheduler:CreateSchedule').sort()).toEqual(promoters);
    expect(holders(s, 'scheduler:UpdateSchedule').sort()).toEqual(promoters);
    expect(holders(s, 'scheduler:DeleteSchedule').sort()).toEqual([ENTRIES.tokens, ENTRIES.finishRevocation].sort());
    expect(grantsOf(s, ENTRIES.promoteToken, 'scheduler:CreateSchedule')).toEqual([
      {
        Effect: 'Allow',
        Action: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule'],
        Resource: ROTATE_SCHEDULES,
      },
    ]);
    expect(grantsOf(s, ENTRIES.tokens, 'scheduler:DeleteSchedule')).toEqual([
      { Effect: 'Allow', Action: 'scheduler:DeleteSchedule', Resource: ROTATE_SCHEDULES },
    ]);
    for (const entry of ALL) {
      for (const action of [...actionsOf(s, entry)].filter((a) => a.startsWith('scheduler:')))
        expect({ entry, action }).toEqual({
          entry,
          action: expect.stringMatching(/^scheduler:(Create|Update|Delete)Schedule$/),
        });
    }
  });

  it('lets only promotion pass the scheduler role, and only to EventBridge Scheduler', () => {
    const schedulerRole = `arn:aws:iam::000000000000:role/${logicalId(s, s.stack.schedules.role.node.defaultChild as CfnResource)}`;
    expect(holders(s, 'iam:PassRole').sort()).toEqual([ENTRIES.promoteToken, ENTRIES.secretRotation].sort());
    for (const entry of [ENTRIES.promoteToken, ENTRIES.secretRotation]) {
      expect(grantsOf(s, entry, 'iam:PassRole')).toEqual([
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: schedulerRole,
          Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        },
      ]);
    }
  });

  it('lets only promote-token configure rotation of token secrets, with the rotation function only', () => {
    const rotationFunction = `arn:aws:lambda:us-east-1:000000000000:function:${logicalId(s, s.stack.functions.secretRotation.function.node.defaultChild as CfnResource)}`;
    expect(holders(s, 'secretsmanager:RotateSecret')).toEqual([ENTRIES.promoteToken]);
    expect(grantsOf(s, ENTRIES.promoteToken, 'secretsmanager:RotateSecret')).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'],
        Resource: TOKEN_SECRETS,
      },
    ]);
    // RotateSecret asks its caller for the right to invoke the rotation function.
    expect(holders(s, 'lambda:InvokeFunction')).toEqual([ENTRIES.promoteToken]);
    expect(grantsOf(s, ENTRIES.promoteToken, 'lambda:InvokeFunction')).toEqual([
      { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: rotationFunction },
    ]);
    expect(environmentOf(s, ENTRIES.promoteToken).SECRET_ROTATION_FUNCTION_ARN).toBe(rotationFunction);
  });

  it('lets Secrets Manager invoke the two rotation functions, each for its own secrets in this account only', () => {
    const permissions = Object.values(s.json.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'secretsmanager.amazonaws.com')
      .map((r) => resolveValue(r, s.resolve));
    expect(permissions).toEqual([
      {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: `arn:aws:lambda:us-east-1:000000000000:function:${logicalId(s, s.stack.functions.secretRotation.function.node.defaultChild as CfnResource)}`,
          Principal: 'secretsmanager.amazonaws.com',
          SourceAccount: '000000000000',
          SourceArn: TOKEN_SECRETS,
        },
      },
      {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: `arn:aws:lambda:us-east-1:000000000000:function:${logicalId(s, s.stack.functions.linkKeyRotation.function.node.defaultChild as CfnResource)}`,
          Principal: 'secretsmanager.amazonaws.com',
          SourceAccount: '000000000000',
          SourceArn: LINK_KEY,
        },
      },
    ]);
  });

  it('gives the link-signing key’s rotation function that secret alone: read, store a version, move AWSCURRENT', () => {
    const onSecrets = statementsOf(s, ENTRIES.linkKeyRotation).filter((st) =>
      list(st.Action).some((a) => a.startsWith('secretsmanager:')),
    );
    expect(onSecrets.flatMap((st) => list(st.Resource))).toEqual(onSecrets.map(() => LINK_KEY));
    expect(onSecrets.flatMap((st) => list(st.Action)).sort()).toEqual(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].sort(),
    );
    expect([...actionsOf(s, ENTRIES.linkKeyRotation)].filter((a) => !a.startsWith('secretsmanager:')).sort()).toEqual(
      [...LOGS, ...XRAY, 'kms:GenerateDataKey'].sort(),
    );
    for (const st of grantsOf(s, ENTRIES.linkKeyRotation, 'kms:GenerateDataKey')) {
      expect(st.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } });
    }
  });

  it('gives the rotation function exactly what the minting steps of a rotation use, and starts only the rotation workflow', () => {
    const actions = [...actionsOf(s, ENTRIES.secretRotation)].sort();
    expect(actions).toEqual(
      [
        ...LOGS,
        ...XRAY,
        ...TABLE_WRITE,
        'dynamodb:PutItem',
        'events:PutEvents',
        // The table key (through DynamoDB), and the secrets' key (through Secrets Manager).
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:Encrypt',
        'kms:GenerateDataKey',
        'kms:GenerateDataKeyWithoutPlaintext',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'iam:PassRole',
        'scheduler:CreateSchedule',
        'scheduler:UpdateSchedule',
        'secretsmanager:DeleteResourcePolicy',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutResourcePolicy',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'states:StartExecution',
      ]
        .filter((a, i, all) => all.indexOf(a) === i)
        .sort(),
    );
    expect(
      grantsOf(s, ENTRIES.secretRotation, 'secretsmanager:GetSecretValue')
        .map((st) => st.Resource)
        .sort(),
    ).toEqual([ORG_KEY, TOKEN_SECRETS].sort());
  });

  it('reads the link-signing key only where links are signed or task tokens sealed', () => {
    const linkKey = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key';
    const readers = ALL.filter((entry) =>
      grantsOf(s, entry, 'secretsmanager:GetSecretValue').some((st) => list(st.Resource).includes(linkKey)),
    );
    expect(readers.sort()).toEqual(
      [
        ENTRIES.notifier,
        ENTRIES.linkKeyRotation,
        ENTRIES.tokenRequests,
        ENTRIES.approvals,
        ENTRIES.requestApproval,
        ENTRIES.requestUpload,
        ENTRIES.uploads,
        ENTRIES.accessExceptions,
        ENTRIES.console,
      ].sort(),
    );
  });

  it('reads the Atlassian organization key only in the functions that call Atlassian', () => {
    const orgKey = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden/atlassian-org-api-key-??????';
    const readers = ALL.filter((entry) =>
      grantsOf(s, entry, 'secretsmanager:GetSecretValue').some((st) => list(st.Resource).includes(orgKey)),
    );
    expect(readers.sort()).toEqual(
      [
        ENTRIES.mintToken,
        ENTRIES.verifyToken,
        ENTRIES.discardToken,
        ENTRIES.tokens,
        ENTRIES.uploads,
        ENTRIES.revokePrevious,
        ENTRIES.finishRevocation,
        ENTRIES.sweep,
        ENTRIES.inventory,
        ENTRIES.personalTokens,
        ENTRIES.personalTokenScan,
        ENTRIES.accessExceptionStep,
        ENTRIES.secretRotation,
      ].sort(),
    );
  });

  it('sends mail only from the notifier, and only from the configured address', () => {
    expect(holders(s, 'ses:SendEmail')).toEqual([ENTRIES.notifier]);
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
