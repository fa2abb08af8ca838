import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnSchedule, type CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import {
  Choice,
  Condition,
  Errors,
  Fail,
  JsonPath,
  type StateMachine,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { invoke, workflowStateMachine } from './workflow-parts';

/** Properties of {@link PersonalTokenScan}. */
export interface PersonalTokenScanProps {
  /** `functions/workflow/personal-token-scan.ts`: begin, scan and give up a scan. */
  readonly scanFunction: IFunction;
  /** The schedule group the daily scan schedule joins. */
  readonly scheduleGroup: CfnScheduleGroup;
  /**
   * When the scan runs on its own.
   * @default 'rate(1 day)'
   */
  readonly scheduleExpression?: string;
  /**
   * How long to wait before listing again after a listing stopped part-way.
   * @default Duration.minutes(10)
   */
  readonly retryWait?: Duration;
  /** Key that encrypts the workflow's log group. */
  readonly encryptionKey: IKey;
  /**
   * Retention of the workflow's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /** @default - `<stack name>-personal-token-scan` */
  readonly stateMachineName?: string;
}

/**
 * The scan of members' personal tokens (Standard, JSONPath), started daily by its schedule (input
 * `{"action":"begin"}`) or by `POST /inventory/scan` (execution name = the scan id, input `{scanId}`).
 *
 * - `Begin scan` takes the scan lock for a scheduled run (`skipped` when another scan holds it) or passes the API's
 *   scan through.
 * - `Scan personal tokens` is one listing attempt of the whole org (up to 15 minutes); when the listing stopped
 *   part-way it answers `retry: true`, and `Wait before listing again` (`retryWait`) loops back to it. The function
 *   itself gives up after its last attempt (`INCOMPLETE`).
 * - A step that fails after its retries goes to `Give up the scan`, which records the scan `INCOMPLETE` and releases
 *   the lock, then `Scan failed` (the alarm fires).
 */
export class PersonalTokenScan extends Construct {
  readonly stateMachine: StateMachine;
  readonly stateMachineName: string;
  readonly logGroup: LogGroup;
  readonly schedule: CfnSchedule;
  /** Role the daily schedule starts the workflow with. */
  readonly scheduleRole: Role;

  constructor(scope: Construct, id: string, props: PersonalTokenScanProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.stateMachineName = props.stateMachineName ?? `${stack.stackName}-personal-token-scan`;
    const fn = props.scanFunction;

    const failed = new Fail(this, 'Scan failed', {
      error: 'PersonalTokenScanFailed',
      cause: 'The scan stopped; nothing it did not see was changed. The next scheduled scan starts afresh.',
    });
    const giveUp = invoke(
      this,
      'Give up the scan',
      fn,
      TaskInput.fromObject({
        action: 'abandon',
        scanId: JsonPath.stringAt('$.scanId'),
        error: JsonPath.stringAt('$.error.Error'),
      }),
      'discard',
    ).next(failed);

    const scan = invoke(
      this,
      'Scan personal tokens',
      fn,
      TaskInput.fromObject({ action: 'scan', scanId: JsonPath.stringAt('$.scanId') }),
      'replace',
    );
    scan.addCatch(giveUp, { errors: [Errors.ALL], resultPath: '$.error' });
    const begin = invoke(
      this,
      'Begin scan',
      fn,
      // The whole input: the schedule's `{action: "begin"}` carries no scan id, the API's `{action, scanId}` does.
      TaskInput.fromJsonPathAt('$'),
      'replace',
    );
    begin.addCatch(failed, { errors: [Errors.ALL], resultPath: '$.error' });

    const waitAndRetry = new Wait(this, 'Wait before listing again', {
      time: WaitTime.duration(props.retryWait ?? Duration.minutes(10)),
    }).next(scan);
    const definition = begin.next(
      new Choice(this, 'Another scan running?')
        .when(Condition.booleanEquals('$.skipped', true), new Succeed(this, 'Skipped'))
        .otherwise(
          scan.next(
            new Choice(this, 'Listing incomplete?')
              .when(Condition.booleanEquals('$.retry', true), waitAndRetry)
              .otherwise(new Succeed(this, 'Scanned')),
          ),
        ),
    );

    const { stateMachine, logGroup } = workflowStateMachine(this, {
      stateMachineName: this.stateMachineName,
      comment: "Token Warden personal-token scan: list the org's members' tokens and act per the policy's mode",
      definition,
      functions: [fn],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;

    this.scheduleRole = new Role(this, 'ScheduleRole', {
      description: 'Token Warden: EventBridge Scheduler starts the daily personal-token scan',
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': props.scheduleGroup.attrArn },
        },
      }),
    });
    this.scheduleRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachine.stateMachineArn] }),
    );
    this.schedule = new CfnSchedule(this, 'DailyScan', {
      name: `${stack.stackName}-daily-personal-token-scan`,
      groupName: props.scheduleGroup.ref,
      description: "Token Warden: daily scan of the org's members' personal API tokens",
      scheduleExpression: props.scheduleExpression ?? 'rate(1 day)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: stateMachine.stateMachineArn,
        roleArn: this.scheduleRole.roleArn,
        input: JSON.stringify({ action: 'begin' }),
      },
    });
  }
}
