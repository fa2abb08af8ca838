import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import {
  actionsOf,
  defaultPolicy,
  ENTRIES,
  environmentOf,
  functionId,
  list,
  logicalId,
  type Synthesized,
  statementsOf,
  synth,
  writePolicy,
} from './support/synth';

const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const LINK_KEY = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key';
const MARKER_WRITES = ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-??????`;

describe('Notifier', () => {
  let s: Synthesized;
  let queueId: string;
  let dlqId: string;
  let queueArn: string;

  beforeAll(() => {
    s = synth();
    queueId = logicalId(s, s.stack.notifier.queue.node.defaultChild as CfnResource);
    dlqId = logicalId(s, s.stack.notifier.deadLetterQueue.node.defaultChild as CfnResource);
    queueArn = `arn:aws:sqs:us-east-1:000000000000:${queueId}`;
  });

  it('queues events with SQS-managed encryption, a visibility timeout six times the function timeout, and a dead-letter queue after ten receives', () => {
    // Assess
    const timeout = s.json.Resources[functionId(s, ENTRIES.notifier)]?.Properties.Timeout as number;
    expect(timeout).toBe(60);
    expect(s.json.Resources[queueId]?.Properties).toEqual({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: timeout * 6,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 },
    });
    expect(s.json.Resources[dlqId]?.Properties).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it.each(['queue', 'deadLetterQueue'] as const)('refuses requests to the %s that do not use TLS', (which) => {
    // Prepare
    const id = logicalId(s, s.stack.notifier[which].node.defaultChild as CfnResource);

    // Assess
    s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('routes every token-warden event on the lifecycle bus to the queue, with a retry policy and the dead-letter queue', () => {
    // Assess
    const busId = logicalId(s, s.stack.events.node.defaultChild as CfnResource);
    const rules = Object.values(s.template.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      EventBusName: { Ref: busId },
      EventPattern: { source: ['token-warden'] },
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 24 * 3600 },
        },
      ],
    });
    // EventBridge may send to both queues, and only for this rule.
    const ruleId = logicalId(s, s.stack.notifier.rule.node.defaultChild as CfnResource);
    for (const id of [queueId, dlqId]) {
      const policies = Object.values(s.template.findResources('AWS::SQS::QueuePolicy')).filter(
        (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: id }]),
      );
      const sends = policies
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[])
        .filter((st) => st.Effect === 'Allow');
      expect({ id, sends }).toEqual({
        id,
        sends: [
          expect.objectContaining({
            Action: id === dlqId ? 'sqs:SendMessage' : expect.arrayContaining(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
          }),
        ],
      });
    }
  });

  it('polls the queue into the notifier ten messages at a time, with partial batch responses', () => {
    // Assess
    const mappings = Object.values(s.template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings.map((m) => m.Properties)).toEqual([
      {
        FunctionName: { Ref: functionId(s, ENTRIES.notifier) },
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        BatchSize: 10,
        ScalingConfig: { MaximumConcurrency: 5 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    ]);
  });

  it("gives the notifier reads of the records table, writes to its NOTE# markers, its queue, the link key, the channels' secrets and mail, nothing else", () => {
    // Assess
    const actions = [...actionsOf(s, ENTRIES.notifier)].filter((a) => !a.startsWith('kms:'));
    expect(actions.sort()).toEqual(
      [
        ...LOGS,
        ...XRAY,
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        ...MARKER_WRITES,
        ...CONSUME,
        'secretsmanager:GetSecretValue',
        'secretsmanager:DescribeSecret',
        'ses:SendEmail',
      ].sort(),
    );
    // It signs approval and upload links: the link key, read only.
    expect(statementsOf(s, ENTRIES.notifier).filter((st) => list(st.Resource).includes(LINK_KEY))).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: LINK_KEY,
      },
    ]);
    for (const st of statementsOf(s, ENTRIES.notifier).filter((st) =>
      list(st.Action).some((a) => a.startsWith('sqs:')),
    )) {
      expect(st.Resource).toBe(queueArn);
    }
    const recordsId = logicalId(s, s.stack.store.records.node.defaultChild as CfnResource);
    const recordsArn = `arn:aws:dynamodb:us-east-1:000000000000:table/${recordsId}`;
    const onTable = statementsOf(s, ENTRIES.notifier).filter((st) =>
      list(st.Action).some((a) => a.startsWith('dynamodb:')),
    );
    expect(onTable.map((st) => ({ ...st, Action: list(st.Action).sort() }))).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
        Resource: recordsArn,
        Condition: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': ['REQ#*', 'APV#*', 'UPL#*', 'TOK#*', 'EXC#*', 'PT#*', 'INVENTORY', 'NOTE#*'],
          },
        },
      },
      {
        Effect: 'Allow',
        Action: MARKER_WRITES,
        Resource: recordsArn,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['NOTE#*'] } },
      },
    ]);
    expect(environmentOf(s, ENTRIES.notifier)).toMatchObject({ TABLE_NAME: recordsId });
  });

  it("reads exactly the policy channels' webhook secrets, and none without a channel", () => {
    // Prepare
    const policy = defaultPolicy();
    policy.notifications.chat = [
      { kind: 'slack', webhookSecretName: 'token-warden/chat/slack-security', events: ['ISSUED'] },
      { kind: 'teams', webhookSecretName: 'token-warden/chat/teams-ops' },
      { kind: 'slack', webhookSecretName: 'token-warden/chat/slack-security', events: ['REVOKED'] },
    ];
    const none = defaultPolicy();
    delete none.notifications.chat;

    // Act
    const withChat = synth({ policy: writePolicy(policy) });
    const withoutChat = synth({ policy: writePolicy(none) });

    // Assess
    const chatReads = (synthesized: typeof s) =>
      statementsOf(synthesized, ENTRIES.notifier).filter(
        (st) => list(st.Action).includes('secretsmanager:GetSecretValue') && !list(st.Resource).includes(LINK_KEY),
      );
    const reads = chatReads(withChat);
    expect(reads).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: [secretArn('token-warden/chat/slack-security'), secretArn('token-warden/chat/teams-ops')],
      },
    ]);
    expect(reads.flatMap((st) => list(st.Action))).not.toContain('secretsmanager:DescribeSecret');
    expect(chatReads(withoutChat)).toEqual([]);
    expect(chatReads(s).flatMap((st) => list(st.Resource))).toEqual([secretArn('token-warden/chat/slack-security')]);
  });

  it('tells the notifier its queue and the console', () => {
    // Assess
    const apiId = logicalId(s, s.stack.api.api.node.defaultChild as CfnResource);
    expect(environmentOf(s, ENTRIES.notifier)).toMatchObject({
      QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/000000000000/${queueId}`,
      CONSOLE_URL: `https://${apiId}.execute-api.us-east-1.amazonaws.com/console/`,
    });
  });

  it('alarms the admin topic on any dead-lettered event, any chat message refused for good and any dropped message', () => {
    // Prepare
    const topicRef = { Ref: logicalId(s, s.stack.notifications.topic.node.defaultChild as CfnResource) };
    const common = {
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
    };

    // Assess
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      Namespace: 'TokenWarden',
      MetricName: 'ChatMessagesRejected',
      Dimensions: [{ Name: 'service', Value: 'token-warden' }],
      Statistic: 'Sum',
      Period: 300,
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...common,
      Namespace: 'TokenWarden',
      MetricName: 'NotifierEventsDropped',
      Dimensions: [{ Name: 'service', Value: 'token-warden' }],
      Statistic: 'Sum',
      Period: 300,
      AlarmDescription: Match.stringLikeRegexp('held no lifecycle event and was dropped'),
    });
  });
});
