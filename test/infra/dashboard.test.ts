import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { logicalId, type Synthesized, synth, type TemplateJson, wardenFunctions } from './support/synth';

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][]; alarms?: string[] };
}

/** The dashboard body as JSON, each CloudFormation token inside it replaced by `<token>`. */
function dashboardBody(s: Synthesized): { widgets: Widget[] } {
  const dashboards = Object.values(s.template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body: TemplateJson = dashboards[0]?.Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : '<token>')).join(''));
}

/** `namespace/name` of each metric a widget graphs (a math expression's own entry has no name). */
function metricNames(widget: Widget | undefined): string[] {
  return (widget?.properties.metrics ?? [])
    .filter((m) => typeof m[0] === 'string' && typeof m[1] === 'string')
    .map((m) => `${m[0]}/${m[1]}`);
}

describe('WardenDashboard', () => {
  let s: Synthesized;
  let widgets: Widget[];
  let topicRef: { Ref: string };
  const byTitle = (title: string) => widgets.find((w) => w.properties.title === title);

  beforeAll(() => {
    s = synth();
    widgets = dashboardBody(s).widgets;
    topicRef = { Ref: logicalId(s, s.stack.notifications.topic.node.defaultChild as CfnResource) };
  });

  it('graphs every lifecycle count of the audit trail, by service', () => {
    // Assess
    expect(metricNames(byTitle('Requests and approvals'))).toEqual(
      ['Requested', 'Approved', 'Rejected', 'Cancelled', 'Expired'].map((n) => `TokenWarden/${n}`),
    );
    expect(metricNames(byTitle('Issuance'))).toEqual(
      ['Issued', 'TokenUploaded', 'IssuanceFailed'].map((n) => `TokenWarden/${n}`),
    );
    expect(metricNames(byTitle('Rotation'))).toEqual(['TokenWarden/Rotated', 'TokenWarden/RotationFailed']);
    expect(metricNames(byTitle('Revocation, expiry and drift'))).toEqual(
      ['Revoked', 'RevocationCompleted', 'TokenExpired', 'DriftDetected'].map((n) => `TokenWarden/${n}`),
    );
    expect(byTitle('Issuance')?.properties.metrics?.[0]).toEqual([
      'TokenWarden',
      'Issued',
      'service',
      'token-warden',
      expect.objectContaining({ stat: 'Sum' }),
    ]);
  });

  it('graphs Atlassian 429s and retries per route template, and the limiter wait', () => {
    // Assess
    const routes = (title: string) => (byTitle(title)?.properties.metrics ?? []).map((m) => `${m[1]} ${m[3]}`);
    expect(routes('Atlassian 429s by route')).toContain(
      'AtlassianRateLimited POST /users/{accountId}/manage/api-tokens',
    );
    expect(routes('Atlassian 429s by route')).toHaveLength(11);
    expect(routes('Atlassian retries by route')).toContain('AtlassianRetries GET /ex/jira/{cloudId}/rest/api/3/myself');
    expect(metricNames(byTitle('Shared Atlassian limiter: wait per call (ms)'))).toEqual([
      'TokenWarden/AtlassianLimiterWait',
      'TokenWarden/AtlassianLimiterWait',
      'TokenWarden/AtlassianLimiterWait',
    ]);
  });

  it("graphs the notifier's refused and dropped messages, its dead-lettered events and its queue's oldest message", () => {
    // Assess
    expect(metricNames(byTitle('Chat notifications'))).toEqual([
      'TokenWarden/ChatMessagesRejected',
      'TokenWarden/NotifierEventsDropped',
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/SQS/ApproximateAgeOfOldestMessage',
    ]);
  });

  it("graphs the metrics the existing alarms watch: executions of each workflow and every function's errors", () => {
    // Assess
    const executions = metricNames(byTitle('Workflow executions failed, timed out, aborted or throttled'));
    expect(executions.filter((n) => n === 'AWS/States/ExecutionsFailed')).toHaveLength(5);
    expect(executions.filter((n) => n === 'AWS/States/ExecutionsTimedOut')).toHaveLength(5);
    expect(executions.filter((n) => n === 'AWS/States/ExecutionsAborted')).toHaveLength(5);
    expect(executions.filter((n) => n === 'AWS/States/ExecutionThrottled')).toHaveLength(5);
    const labels = (byTitle('Workflow executions failed, timed out, aborted or throttled')?.properties.metrics ?? [])
      .map((m) => (m.at(-1) as { label?: string } | undefined)?.label)
      .filter((label) => label?.startsWith('AccessException '));
    expect(labels).toEqual(['failed', 'timed out', 'aborted', 'throttled'].map((what) => `AccessException ${what}`));
    expect(metricNames(byTitle('Function errors'))).toEqual(wardenFunctions(s).map(() => 'AWS/Lambda/Errors'));
  });

  it('shows the state of every alarm', () => {
    // Assess
    const alarms = widgets.find((w) => w.type === 'alarm' || w.properties.title === 'Alarms');
    expect(alarms?.properties.alarms).toHaveLength(s.stack.notifications.alarms.length);
    expect(Object.keys(s.template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(
      s.stack.notifications.alarms.length,
    );
  });

  it.each([
    ['RotationFailed', 'a token rotation failed'],
    ['IssuanceFailed', 'a token issuance failed'],
    ['ExceptionFailed', 'moving a member back into the block policy failed'],
  ])('alarms the admin topic on the first %s count', (metric, description) => {
    // Assess
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          MetricStat: {
            Metric: {
              Namespace: 'TokenWarden',
              MetricName: metric,
              Dimensions: [{ Name: 'service', Value: 'token-warden' }],
            },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: true,
        }),
      ],
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
      AlarmDescription: Match.stringLikeRegexp(description),
    });
  });

  it('alarms the admin topic on a sustained Atlassian 429 rate, counted over every route', () => {
    // Assess
    const alarm = Object.values(s.template.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmDescription).includes('429'),
    );
    expect(alarm?.Properties).toMatchObject({
      Threshold: 10,
      EvaluationPeriods: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
    });
    // The total the functions count beside the per-route ones: no sum over routes (an alarm's math takes ten).
    expect(alarm?.Properties.Metrics).toEqual([
      expect.objectContaining({
        MetricStat: expect.objectContaining({
          Metric: {
            Namespace: 'TokenWarden',
            MetricName: 'AtlassianRateLimited',
            Dimensions: [{ Name: 'service', Value: 'token-warden' }],
          },
          Stat: 'Sum',
        }),
      }),
    ]);
  });

  it('reads the namespace and service the functions emit under', () => {
    // Assess
    for (const fn of wardenFunctions(s)) {
      const env =
        s.json.Resources[logicalId(s, fn.function.node.defaultChild as CfnResource)]?.Properties.Environment.Variables;
      expect(env).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'TokenWarden',
        POWERTOOLS_SERVICE_NAME: 'token-warden',
      });
    }
  });
});
