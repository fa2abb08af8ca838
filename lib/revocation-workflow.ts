import { Duration, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
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

/** Properties of {@link RevocationWorkflow}. */
export interface RevocationWorkflowProps {
  /** `functions/workflow/finish-revocation.ts`: one pass of revoking what is left of a revoked token. */
  readonly finishRevocation: IFunction;
  /**
   * How long to wait before the final sweep: longer than any workflow step can run (the longest Lambda timeout of a
   * rotation step), so every mint that was in flight when the token was revoked has either landed or failed.
   * @default Duration.minutes(15) (the Lambda maximum)
   */
  readonly inFlightWait?: Duration;
  /** Key that encrypts the workflow's log group. */
  readonly encryptionKey: IKey;
  /**
   * Retention of the workflow's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /** @default - `<stack name>-revocation` */
  readonly stateMachineName?: string;
}

/**
 * The revocation workflow (Standard, JSONPath): input `{tokenId}`, execution name `<tokenId>-revoke-<round>`, started
 * by `POST /tokens/{tokenId}/revoke` once the record is `REVOKED`.
 *
 * - `Finish revocation` (event `{tokenId}`) closes the secret, stops the token's rotations, deletes its schedule and
 *   revokes live generations at Atlassian within its budget; its result `{tokenId, done, revoked}` becomes the state.
 *   `Revoked everything?` loops back to it until `done`.
 * - `Wait for steps in flight` (`inFlightWait`), then `Final sweep` (event `{tokenId, final: true}`): the same pass
 *   again, which lists the account's tokens and revokes every one labelled `token-warden:<tokenId>:…` (a rotation's
 *   mint that was in flight, or whose response was lost), and records `REVOCATION_COMPLETED`.
 * - A step that still fails after its retries ends the execution (`Revocation incomplete`): the alarm fires; the
 *   record stays `REVOKED` and the secret closed, and repeating the revoke runs another round.
 */
export class RevocationWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly stateMachineName: string;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RevocationWorkflowProps) {
    super(scope, id);
    this.stateMachineName = props.stateMachineName ?? `${Stack.of(this).stackName}-revocation`;
    const tokenId = JsonPath.stringAt('$.tokenId');
    const incomplete = new Fail(this, 'Revocation incomplete', {
      error: 'RevocationIncomplete',
      cause: 'A revoked token may still have a live generation at Atlassian; repeat the revoke to finish it.',
    });
    const withFailure = <T extends ReturnType<typeof invoke>>(task: T): T => {
      task.addCatch(incomplete, { errors: [Errors.ALL], resultPath: '$.error' });
      return task;
    };

    const finish = withFailure(
      invoke(this, 'Finish revocation', props.finishRevocation, TaskInput.fromObject({ tokenId }), 'replace'),
    );
    const finalSweep = withFailure(
      invoke(this, 'Final sweep', props.finishRevocation, TaskInput.fromObject({ tokenId, final: true }), 'replace'),
    );
    const definition = finish.next(
      new Choice(this, 'Revoked everything?')
        .when(
          Condition.booleanEquals('$.done', true),
          new Wait(this, 'Wait for steps in flight', {
            time: WaitTime.duration(props.inFlightWait ?? Duration.minutes(15)),
          })
            .next(finalSweep)
            .next(
              new Choice(this, 'Final sweep done?')
                .when(Condition.booleanEquals('$.done', true), new Succeed(this, 'Revoked'))
                .otherwise(finalSweep),
            ),
        )
        .otherwise(finish),
    );

    const { stateMachine, logGroup } = workflowStateMachine(this, {
      stateMachineName: this.stateMachineName,
      comment: 'Token Warden revocation: finish revoking a revoked token, then sweep once more after steps in flight',
      definition,
      functions: [props.finishRevocation],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;
  }
}
