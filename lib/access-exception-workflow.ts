import { Duration, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  Errors,
  Fail,
  IntegrationPattern,
  JsonPath,
  type StateMachine,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { invoke, retryTransient, workflowStateMachine } from './workflow-parts';

/** Properties of {@link AccessExceptionWorkflow}. */
export interface AccessExceptionWorkflowProps {
  /** `functions/workflow/request-approval.ts`: the token requests' approval step, for an exception. */
  readonly requestApproval: IFunction;
  /** `functions/workflow/access-exception.ts`: grant, revert, close, and record a failed move back. */
  readonly exceptionStep: IFunction;
  /** How long approvers have: the `Request approval` task's timeout. */
  readonly approvalExpiryHours: number;
  /**
   * How long to wait before moving a member back again after a move back failed.
   * @default Duration.minutes(15)
   */
  readonly moveBackRetryWait?: Duration;
  /** Key that encrypts the workflow's log group. */
  readonly encryptionKey: IKey;
  /**
   * Retention of the workflow's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /** @default - `<stack name>-access-exception` */
  readonly stateMachineName?: string;
}

/**
 * The access-exception workflow (Standard, JSONPath, Lambda tasks only): input `{exceptionId}`, execution name =
 * the exception id; an early end runs it again as `<exceptionId>-end` with `{exceptionId, end: true}`.
 *
 * - `Request approval` (`.waitForTaskToken`, the token requests' step) waits for the quorum or a reject;
 *   `States.Timeout` → `Expire the exception`; `Approved?` otherwise → `Close the exception`.
 * - `Move into the allow policy` (moved, polled, confirmed; `ACTIVE`), then `Wait until the exception ends`
 *   (`$.endsAt`), then `Move back into the block policy` (`ENDED`, the member's tokens handled per the mode).
 * - A move in that fails after its retries moves the member back and fails (`FAILED`); if that move back fails too,
 *   `Record the failed exception` marks it `FAILED`, whose record asks the admins to check the member's policy by
 *   hand. A move back that fails after its retries is recorded for the admins, waits `moveBackRetryWait` and tries
 *   again, until it succeeds or the execution
 *   reaches Step Functions' history limit (weeks of failures), when it fails and the alarm fires: a member must never
 *   stay in the allow policy silently. The `ExceptionFailed` count has its own alarm on the admins' topic.
 * - Any other failure of `Request approval` after its retries closes the exception `FAILED` (`Fail the exception`).
 */
export class AccessExceptionWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly stateMachineName: string;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: AccessExceptionWorkflowProps) {
    super(scope, id);
    this.stateMachineName = props.stateMachineName ?? `${Stack.of(this).stackName}-access-exception`;
    const exceptionId = JsonPath.stringAt('$.exceptionId');
    const step = props.exceptionStep;

    const requestApproval = retryTransient(
      new LambdaInvoke(this, 'Request approval', {
        lambdaFunction: props.requestApproval,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({ exceptionId, taskToken: JsonPath.taskToken }),
        taskTimeout: Timeout.duration(Duration.hours(props.approvalExpiryHours)),
        resultPath: '$.approval',
        retryOnServiceExceptions: false,
      }),
    );
    const expire = invoke(
      this,
      'Expire the exception',
      step,
      TaskInput.fromObject({ action: 'close', exceptionId, outcome: 'EXPIRED' }),
      'discard',
    );
    const closeRejected = invoke(
      this,
      'Close the exception',
      step,
      TaskInput.fromObject({ action: 'close', exceptionId, outcome: JsonPath.stringAt('$.approval.outcome') }),
      'discard',
    );

    const failed = new Fail(this, 'Exception failed', {
      error: 'AccessExceptionFailed',
      cause:
        'The member could not be moved into the allow policy (see the exception: FAILED, and the admins were told).',
    });
    const recordFailure = invoke(
      this,
      'Record the failed exception',
      step,
      TaskInput.fromObject({ action: 'fail', exceptionId, error: JsonPath.stringAt('$.error.Error') }),
      'discard',
    ).next(failed);
    const revertFailedGrant = invoke(
      this,
      'Move back after a failed move',
      step,
      TaskInput.fromObject({ action: 'revert', exceptionId, failed: true }),
      'discard',
    );
    // Moving back failed too (e.g. Admin Control refuses the key): FAILED, the admins told, the execution failed.
    revertFailedGrant.addCatch(recordFailure, { errors: [Errors.ALL], resultPath: '$.error' });
    revertFailedGrant.next(failed);

    const grant = invoke(
      this,
      'Move into the allow policy',
      step,
      TaskInput.fromObject({ action: 'grant', exceptionId }),
      'replace',
    );
    grant.addCatch(revertFailedGrant, { errors: [Errors.ALL], resultPath: '$.error' });

    const moveBack = invoke(
      this,
      'Move back into the block policy',
      step,
      TaskInput.fromObject({ action: 'revert', exceptionId }),
      'discard',
    );
    const moveBackFailed = invoke(
      this,
      'Tell the admins the move back failed',
      step,
      TaskInput.fromObject({
        action: 'move-back-failed',
        exceptionId,
        error: JsonPath.stringAt('$.error.Error'),
      }),
      'discard',
    );
    const waitBeforeMovingBack = new Wait(this, 'Wait before moving back again', {
      time: WaitTime.duration(props.moveBackRetryWait ?? Duration.minutes(15)),
    }).next(moveBack);
    moveBackFailed.next(waitBeforeMovingBack);
    // Telling the admins must never stop the retries of the move back.
    moveBackFailed.addCatch(waitBeforeMovingBack, { errors: [Errors.ALL], resultPath: '$.tellError' });
    moveBack.addCatch(moveBackFailed, { errors: [Errors.ALL], resultPath: '$.error' });
    const ended = new Succeed(this, 'Exception over');
    moveBack.next(ended);

    requestApproval.addCatch(expire, { errors: [Errors.TIMEOUT], resultPath: '$.error' });
    // Any other failure of the approval step after its retries: FAILED (nobody was moved), the member's place freed.
    const failApproval = invoke(
      this,
      'Fail the exception',
      step,
      TaskInput.fromObject({ action: 'close', exceptionId, outcome: 'FAILED' }),
      'discard',
    ).next(
      new Fail(this, 'Approval failed', {
        error: 'AccessExceptionApprovalFailed',
        cause: 'The approval step failed after its retries; nobody was moved.',
      }),
    );
    requestApproval.addCatch(failApproval, { errors: [Errors.ALL], resultPath: '$.error' });
    const approval = requestApproval.next(
      new Choice(this, 'Approved?')
        .when(
          Condition.stringEquals('$.approval.outcome', 'APPROVED'),
          grant.next(
            new Wait(this, 'Wait until the exception ends', { time: WaitTime.timestampPath('$.endsAt') }).next(
              moveBack,
            ),
          ),
        )
        .otherwise(closeRejected.next(new Succeed(this, 'Not granted'))),
    );
    expire.next(new Succeed(this, 'Expired'));

    const definition = new Choice(this, 'Ending early?')
      .when(Condition.and(Condition.isPresent('$.end'), Condition.booleanEquals('$.end', true)), moveBack)
      .otherwise(approval);

    const { stateMachine, logGroup } = workflowStateMachine(this, {
      stateMachineName: this.stateMachineName,
      comment: 'Token Warden access exception: approval, a time-boxed move into the allow policy, and back',
      definition,
      functions: [props.requestApproval, step],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;
  }
}
