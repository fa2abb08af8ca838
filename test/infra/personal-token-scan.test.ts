import aslValidator from 'asl-validator';
import { type Synthesized, stateMachineDefinition, synth, type TemplateJson } from './support/synth';

const NAME = 'TokenWarden-personal-token-scan';

describe('PersonalTokenScan', () => {
  let s: Synthesized;
  let asl: { StartAt: string; States: Record<string, TemplateJson> };

  beforeAll(() => {
    s = synth();
    asl = stateMachineDefinition(s, NAME) as typeof asl;
  });

  it('is a Standard state machine with tracing and ERROR logs, valid ASL once tokens are resolved', () => {
    // Assess
    s.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: NAME,
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    });
    const result = aslValidator(structuredClone(asl) as never);
    expect(result.errorsText('\n')).toBe('');
  });

  it('begins, scans, waits and lists again while the listing is incomplete, and gives up on a failed step', () => {
    // Assess
    expect(asl.StartAt).toBe('Begin scan');
    expect(asl.States['Begin scan']).toMatchObject({ Next: 'Another scan running?', OutputPath: '$.Payload' });
    expect(asl.States['Another scan running?']).toMatchObject({
      Choices: [{ Variable: '$.skipped', BooleanEquals: true, Next: 'Skipped' }],
      Default: 'Scan personal tokens',
    });
    expect(asl.States['Scan personal tokens']).toMatchObject({
      Parameters: { Payload: { action: 'scan', 'scanId.$': '$.scanId' } },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Give up the scan', ResultPath: '$.error' }],
      Next: 'Listing incomplete?',
    });
    expect(asl.States['Listing incomplete?']).toMatchObject({
      Choices: [{ Variable: '$.retry', BooleanEquals: true, Next: 'Wait before listing again' }],
      Default: 'Scanned',
    });
    expect(asl.States['Wait before listing again']).toMatchObject({ Seconds: 600, Next: 'Scan personal tokens' });
    expect(asl.States['Give up the scan']).toMatchObject({
      Parameters: { Payload: { action: 'abandon', 'scanId.$': '$.scanId', 'error.$': '$.error.Error' } },
      Next: 'Scan failed',
    });
    expect(asl.States['Scan failed']).toMatchObject({ Type: 'Fail', Error: 'PersonalTokenScanFailed' });
  });

  it('runs daily from the rotations group, starting the workflow with {"action":"begin"} as its own role', () => {
    // Assess
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'TokenWarden-daily-personal-token-scan',
      ScheduleExpression: 'rate(1 day)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Input: '{"action":"begin"}' },
    });
    const roles = s.template.findResources('AWS::IAM::Role', {
      Properties: { Description: 'Token Warden: EventBridge Scheduler starts the daily personal-token scan' },
    });
    const [role] = Object.values(roles);
    expect(role?.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals).toEqual({
      'aws:SourceAccount': { Ref: 'AWS::AccountId' },
      'aws:SourceArn': { 'Fn::GetAtt': [expect.stringMatching(/^SchedulesGroup/), 'Arn'] },
    });
    const policies = Object.values(s.template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(Object.keys(roles)[0] ?? '-'),
    );
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: { Ref: expect.stringMatching(/^PersonalTokenScan/) },
      },
    ]);
  });

  it('gives the scan function 15 minutes and 512 MB', () => {
    // Assess
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Token Warden: personal-token scan',
      Timeout: 900,
      MemorySize: 512,
    });
  });
});
