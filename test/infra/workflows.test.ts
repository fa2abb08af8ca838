import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { MINTING_STATES, type Synthesized, stateMachineDefinition, synth, type TemplateJson } from './support/synth';

const TRANSIENT = [
  'AtlassianTransientError',
  'AtlassianMalformedResponseError',
  'AwsTransientError',
  'PolicyMovePendingError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

describe.each(['TokenWarden-issuance', 'TokenWarden-rotation'])('state machine %s', (name) => {
  let s: Synthesized;
  let asl: { StartAt: string; States: Record<string, TemplateJson>; QueryLanguage?: string };

  beforeAll(() => {
    s = synth();
    asl = stateMachineDefinition(s, name);
  });

  it('is Standard, with X-Ray tracing and ERROR logs without execution data to an encrypted log group', () => {
    s.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: name,
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ERROR',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
    });
  });

  it('passes asl-validator once CDK tokens are resolved', () => {
    const result = aslValidator(structuredClone(asl) as never);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses JSONPath only: no JSONata, no Assign, no variables', () => {
    expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    for (const [stateName, st] of Object.entries(asl.States)) {
      expect({ stateName, queryLanguage: st.QueryLanguage ?? 'JSONPath' }).toEqual({
        stateName,
        queryLanguage: 'JSONPath',
      });
      expect({ stateName, assign: st.Assign, arguments: st.Arguments, output: st.Output }).toEqual({ stateName });
    }
    expect(JSON.stringify(asl)).not.toMatch(/\{%|\$states/);
  });

  it('makes every Task a Lambda invoke through the optimized integration, retrying transient errors only', () => {
    const tasks = Object.entries(asl.States).filter(([, st]) => st.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(MINTING_STATES.length);
    for (const [stateName, st] of tasks) {
      expect({ stateName, resource: st.Resource }).toEqual({
        stateName,
        resource: expect.stringMatching(/^arn:aws:states:::lambda:invoke(\.waitForTaskToken)?$/),
      });
      expect(st.Parameters.FunctionName).toMatch(/^arn:aws:lambda:us-east-1:000000000000:function:/);
      expect({ stateName, retry: st.Retry }).toEqual({
        stateName,
        retry: [
          {
            ErrorEquals: TRANSIENT,
            IntervalSeconds: 2,
            MaxAttempts: 6,
            BackoffRate: 2,
            MaxDelaySeconds: 60,
            JitterStrategy: 'FULL',
          },
        ],
      });
    }
  });

  it('contains the shared minting chain, wired the same way', () => {
    for (const stateName of MINTING_STATES) expect(Object.keys(asl.States)).toContain(stateName);
    expect(asl.States['Mint token']).toMatchObject({ ResultPath: '$.minted', Next: 'Uploaded by an admin?' });
    expect(asl.States['Uploaded by an admin?']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.minted.manual', BooleanEquals: true, Next: 'Wait for token upload' }],
      Default: 'Verify token',
    });
    expect(asl.States['Wait for token upload']).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 72 * 3600,
      Parameters: {
        Payload: {
          'tokenId.$': '$.minted.tokenId',
          'generation.$': '$.minted.generation',
          'requestId.$': '$.minted.requestId',
          'taskToken.$': '$$.Task.Token',
        },
      },
      ResultPath: null,
      Next: 'Verify token',
    });
    expect(asl.States['Verify token']).toMatchObject({
      Parameters: { 'Payload.$': '$.minted' },
      ResultPath: null,
      Next: 'Promote token',
    });
    expect(asl.States['Promote token']).toMatchObject({ Parameters: { 'Payload.$': '$.minted' }, ResultPath: null });
    expect(asl.States['Discard staged token']).toMatchObject({ Parameters: { 'Payload.$': '$' }, ResultPath: null });
    for (const stateName of ['Mint token', 'Wait for token upload', 'Verify token', 'Promote token']) {
      expect({ stateName, catch: asl.States[stateName].Catch }).toEqual({
        stateName,
        catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Discard staged token' }],
      });
    }
  });
});
