import type { CfnResource } from 'aws-cdk-lib';
import { ENTRIES, functionId, logicalId, type Synthesized, synth } from './support/synth';

describe('Notifications', () => {
  let s: Synthesized;
  let topicRef: { Ref: string };

  beforeAll(() => {
    s = synth();
    topicRef = { Ref: logicalId(s, s.stack.notifications.topic.node.defaultChild as CfnResource) };
  });

  it('encrypts the admin topic with the key and subscribes every admin email', () => {
    const keyId = logicalId(s, s.stack.store.key.node.defaultChild as CfnResource);
    s.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const subscriptions = Object.values(s.template.findResources('AWS::SNS::Subscription')).map((r) => r.Properties);
    expect(subscriptions).toEqual([{ Protocol: 'email', Endpoint: 'admin@example.com', TopicArn: topicRef }]);
  });

  it.each(['issuance', 'rotation'] as const)(
    'alarms on failed, timed-out, throttled and aborted %s executions',
    (name) => {
      const machine = logicalId(s, s.stack[name].stateMachine.node.defaultChild as CfnResource);
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionThrottled', 'ExecutionsAborted']) {
        s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/States',
          MetricName: metric,
          Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [topicRef],
        });
      }
    },
  );

  it.each(Object.values(ENTRIES))('alarms on errors of %s', (entry) => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(s, entry) } }],
      Threshold: 1,
      AlarmActions: [topicRef],
      TreatMissingData: 'notBreaching',
    });
  });

  it('outputs the state machine ARN and the alarm topic', () => {
    s.template.hasOutput('IssuanceStateMachineArn', {
      Value: { Ref: logicalId(s, s.stack.issuance.stateMachine.node.defaultChild as CfnResource) },
    });
    s.template.hasOutput('AlarmTopicArn', { Value: topicRef });
  });
});
