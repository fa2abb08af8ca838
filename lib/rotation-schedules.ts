import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSchedule, CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import type { RotationScheduleTarget } from './warden-function';

/** Properties of {@link RotationSchedules}. */
export interface RotationSchedulesProps {
  /**
   * Name of the rotation state machine the schedules start. A name, not a reference: promote-token (which the
   * workflow invokes) passes the scheduler role, so the role must not depend on the state machine resource.
   */
  readonly stateMachineName: string;
  /** The daily sweep function. */
  readonly sweep: IFunction;
  /** The periodic inventory function (drift between records and Atlassian). */
  readonly inventory: IFunction;
  /**
   * Name of the schedule group.
   * @default - `<stack name>-rotations`
   */
  readonly groupName?: string;
  /**
   * Name of the daily sweep schedule.
   * @default - `<stack name>-daily-sweep`
   */
  readonly sweepScheduleName?: string;
  /**
   * When the sweep runs.
   * @default 'rate(1 day)'
   */
  readonly sweepExpression?: string;
  /**
   * When the sweep records the reminders of approvals waiting for a decision (`notifications.reminders
   * .pendingApprovalHours` are hours, so the daily sweep alone could remind up to a day late).
   * @default 'rate(1 hour)'
   */
  readonly approvalRemindersExpression?: string;
}

/**
 * EventBridge Scheduler for rotation: the schedule group that holds the one-time `rotate-<tokenId>` schedules
 * (created at run time by promote-token, deleted on revoke), the role every schedule in it runs as, and the
 * recurring daily sweep, the safety net for a schedule that was missed, failed or lost, and the hourly approval
 * reminders (the sweep function, asked for those alone).
 *
 * The group is deliberately not retained like the tables: its schedules are derived data. Were they lost, the sweep
 * still finds every due token through the records table's `byDue` index and starts its rotation.
 */
export class RotationSchedules extends Construct implements RotationScheduleTarget {
  readonly group: CfnScheduleGroup;
  readonly groupName: string;
  /** Role assumed by EventBridge Scheduler (only from this account's schedule group). */
  readonly role: Role;
  /** Name-derived ARN of the rotation state machine. */
  readonly stateMachineArn: string;
  readonly sweepSchedule: CfnSchedule;
  /** The hourly approval reminders: the sweep function with `{"action":"approval-reminders"}`. */
  readonly approvalRemindersSchedule: CfnSchedule;
  /** The daily inventory. */
  readonly inventorySchedule: CfnSchedule;

  constructor(scope: Construct, id: string, props: RotationSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.groupName = props.groupName ?? `${stack.stackName}-rotations`;
    this.group = new CfnScheduleGroup(this, 'Group', { name: this.groupName });
    this.stateMachineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: props.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.role = new Role(this, 'Role', {
      description: 'Token Warden: EventBridge Scheduler starts rotations and the daily sweep',
      // Confused-deputy guard: Scheduler may use the role only for schedules of this account's rotation group.
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.group.attrArn },
        },
      }),
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachineArn] }),
    );
    // Scheduler invokes the unqualified functions: no `:*` for versions and aliases.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [props.sweep.functionArn, props.inventory.functionArn],
      }),
    );

    this.sweepSchedule = new CfnSchedule(this, 'DailySweep', {
      name: props.sweepScheduleName ?? `${stack.stackName}-daily-sweep`,
      groupName: this.group.ref,
      description: 'Token Warden: daily sweep (due rotations, expiries, revocations left after grace)',
      scheduleExpression: props.sweepExpression ?? 'rate(1 day)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: { arn: props.sweep.functionArn, roleArn: this.role.roleArn, input: '{}' },
    });
    this.approvalRemindersSchedule = new CfnSchedule(this, 'ApprovalReminders', {
      name: `${stack.stackName}-approval-reminders`,
      groupName: this.group.ref,
      description: 'Token Warden: reminders of approvals waiting for a decision (pendingApprovalHours marks)',
      scheduleExpression: props.approvalRemindersExpression ?? 'rate(1 hour)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: props.sweep.functionArn,
        roleArn: this.role.roleArn,
        input: JSON.stringify({ action: 'approval-reminders' }),
      },
    });
    this.inventorySchedule = new CfnSchedule(this, 'DailyInventory', {
      name: `${stack.stackName}-daily-inventory`,
      groupName: this.group.ref,
      description: "Token Warden: daily inventory of the service accounts' tokens at Atlassian (drift report)",
      scheduleExpression: 'rate(1 day)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: { arn: props.inventory.functionArn, roleArn: this.role.roleArn, input: '{}' },
    });
  }
}
