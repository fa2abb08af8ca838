import type { CfnResource } from 'aws-cdk-lib';
import { resolveValue } from '../../lib/synth/resolve-template';
import {
  ENTRIES,
  functionId,
  list,
  logicalId,
  type Statement,
  type Synthesized,
  synth,
  type TemplateJson,
} from './support/synth';

describe('RotationSchedules', () => {
  let s: Synthesized;
  let roleId: string;
  let groupId: string;

  beforeAll(() => {
    s = synth();
    roleId = logicalId(s, s.stack.schedules.role.node.defaultChild as CfnResource);
    groupId = logicalId(s, s.stack.schedules.group);
  });

  /** Statements of the identity policies attached to the scheduler role, intrinsics resolved. */
  function roleStatements(): Statement[] {
    return Object.values(s.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .filter((r) => (r.Properties.Roles as TemplateJson[]).some((role) => role.Ref === roleId))
      .flatMap((r) => resolveValue(r.Properties.PolicyDocument.Statement, s.resolve) as unknown as Statement[]);
  }

  it('creates the schedule group <stack>-rotations', () => {
    s.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'TokenWarden-rotations' });
    s.template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
  });

  it('runs the daily sweep and the daily inventory once a day and the approval reminders hourly, on time, as the scheduler role', () => {
    // The personal-token scan's schedule starts its own workflow (test/infra/personal-token-scan.test.ts).
    const schedules = Object.values(s.template.findResources('AWS::Scheduler::Schedule')).filter(
      (r) => r.Properties.Name !== 'TokenWarden-daily-personal-token-scan',
    );
    expect(schedules.map((r) => r.Properties)).toEqual([
      {
        Name: 'TokenWarden-daily-sweep',
        GroupName: { Ref: groupId },
        Description: expect.any(String),
        ScheduleExpression: 'rate(1 day)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [functionId(s, ENTRIES.sweep), 'Arn'] },
          RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Input: '{}',
        },
      },
      {
        Name: 'TokenWarden-approval-reminders',
        GroupName: { Ref: groupId },
        Description: expect.any(String),
        ScheduleExpression: 'rate(1 hour)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [functionId(s, ENTRIES.sweep), 'Arn'] },
          RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Input: '{"action":"approval-reminders"}',
        },
      },
      {
        Name: 'TokenWarden-daily-inventory',
        GroupName: { Ref: groupId },
        Description: expect.any(String),
        ScheduleExpression: 'rate(1 day)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: { 'Fn::GetAtt': [functionId(s, ENTRIES.inventory), 'Arn'] },
          RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Input: '{}',
        },
      },
    ]);
  });

  it('lets only EventBridge Scheduler assume the role, only for the rotation group of this account', () => {
    const role = s.json.Resources[roleId];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(resolveValue(role?.Properties.AssumeRolePolicyDocument.Statement, s.resolve)).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: {
            'aws:SourceAccount': '000000000000',
            'aws:SourceArn': 'arn:aws:scheduler:us-east-1:000000000000:schedule-group/TokenWarden-rotations',
          },
        },
      },
    ]);
  });

  it('lets the role start the rotation workflow and invoke the sweep and the inventory, nothing else', () => {
    expect(roleStatements()).toEqual([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-rotation',
      },
      {
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: [
          `arn:aws:lambda:us-east-1:000000000000:function:${functionId(s, ENTRIES.sweep)}`,
          `arn:aws:lambda:us-east-1:000000000000:function:${functionId(s, ENTRIES.inventory)}`,
        ],
      },
    ]);
    const actions = roleStatements().flatMap((st) => list(st.Action));
    expect(actions).not.toContain('iam:PassRole');
  });

  it('outputs the rotation state machine, the event bus and the schedule group', () => {
    s.template.hasOutput('RotationStateMachineArn', {
      Value: { Ref: logicalId(s, s.stack.rotation.stateMachine.node.defaultChild as CfnResource) },
    });
    s.template.hasOutput('EventBusName', {
      Value: { Ref: logicalId(s, s.stack.events.node.defaultChild as CfnResource) },
    });
    s.template.hasOutput('ScheduleGroupName', { Value: { Ref: groupId } });
  });

  it('names the bus, the group, the sweep and the approval reminders after the stack', () => {
    const other = synth({ stackName: 'Warden2' });
    other.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'Warden2-events' });
    other.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'Warden2-rotations' });
    other.template.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'Warden2-daily-sweep' });
    other.template.hasResourceProperties('AWS::Scheduler::Schedule', { Name: 'Warden2-approval-reminders' });
    other.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'Warden2-rotation' });
  });
});
