import { Duration, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  Errors,
  Fail,
  type IStateMachine,
  JsonPath,
  StateMachine,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { MintingChain, type MintingChainFunctions } from './minting-chain';
import { invoke, workflowStateMachine } from './workflow-parts';

/** Functions of the rotation workflow. */
export interface RotationWorkflowFunctions extends MintingChainFunctions {
  readonly beginRotation: IFunction;
  readonly revokePrevious: IFunction;
  readonly recordRotationFailure: IFunction;
}

/** Properties of {@link RotationWorkflow}. */
export interface RotationWorkflowProps {
  readonly functions: RotationWorkflowFunctions;
  /**
   * How long the previous token stays valid after the new one is promoted (the policy's `gracePeriodHours`), so CI
   * jobs that read the secret just before promotion finish with the token they hold.
   */
  readonly gracePeriodHours: number;
  /**
   * How long admins have to upload the next token of a manually issued account (the policy's
   * `approvalExpiryHours`): the `Wait for token upload` task's timeout.
   */
  readonly uploadExpiryHours: number;
  /** Key that encrypts the workflow's log group. */
  readonly encryptionKey: IKey;
  /**
   * Retention of the workflow's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Name of the state machine. It is explicit so that functions the workflow invokes (promote-token schedules the
   * next rotation) and the scheduler role can name it by ARN without a reference cycle.
   * @default - `<stack name>-rotation`
   */
  readonly stateMachineName?: string;
}

/**
 * The rotation workflow (Standard, JSONPath): input `{tokenId, generation, attempt}` — `generation` is the one to
 * mint — with execution name `<tokenId>-g<generation>-a<attempt>`, chosen by whoever starts it (a one-time
 * schedule, the daily sweep, `POST /tokens/{tokenId}/rotate`), so a second start of the same attempt is refused.
 *
 * - `Retire only?`: an input with `retire: true` (execution `<tokenId>-g<generation>-retire`, started by the
 *   Secrets Manager rotation function's `finishSecret` once it promoted `generation`) goes straight to
 *   `Wait grace period to retire` and `Revoke previous token`; any other input begins a rotation.
 * - `Begin rotation` (event `{tokenId, generation, attempt}`) takes or confirms the token's rotation lock; its result
 *   `{tokenId, generation, attempt, proceed, reason?}` becomes the state.
 * - `Proceed?`: `$.proceed == true` → the {@link MintingChain} (`Mint token` gets `{tokenId, generation}`; a
 *   manually issued account asks the admins for the next token's upload instead of minting); otherwise
 *   `Nothing to rotate`.
 * - After promotion, `Wait grace period` (`gracePeriodHours`), then `Revoke previous token` (event
 *   `{tokenId, generation}`) → `Rotated`. If revocation still fails after retries the execution fails
 *   (`Previous token not revoked`): the alarm fires and the daily sweep retries the revocation.
 * - A minting failure goes through `Discard staged token` to `Record rotation failure` (event
 *   `{tokenId, generation, attempt, error}`) and then fails (`Rotation failed`); the current token stays in place.
 */
export class RotationWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  /**
   * The same state machine, known by its name-derived ARN only: grant functions the workflow itself invokes (and
   * roles they pass) through this one — a reference to {@link stateMachine} from them would be a dependency cycle.
   */
  readonly stateMachineByName: IStateMachine;
  /** The state machine's physical name. */
  readonly stateMachineName: string;
  readonly minting: MintingChain;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RotationWorkflowProps) {
    super(scope, id);
    const { beginRotation, revokePrevious, recordRotationFailure } = props.functions;
    this.stateMachineName = props.stateMachineName ?? `${Stack.of(this).stackName}-rotation`;
    const tokenId = JsonPath.stringAt('$.tokenId');
    const generation = JsonPath.numberAt('$.generation');
    const attempt = JsonPath.numberAt('$.attempt');

    const begin = invoke(
      this,
      'Begin rotation',
      beginRotation,
      TaskInput.fromObject({ tokenId, generation, attempt }),
      'replace',
    );
    const recordFailure = invoke(
      this,
      'Record rotation failure',
      recordRotationFailure,
      TaskInput.fromObject({ tokenId, generation, attempt, error: JsonPath.objectAt('$.error') }),
      'discard',
    ).next(new Fail(this, 'Rotation failed', { error: 'RotationFailed', cause: 'The token could not be rotated.' }));

    this.minting = new MintingChain(this, 'Minting', {
      functions: props.functions,
      mintInput: TaskInput.fromObject({ tokenId, generation }),
      uploadExpiryHours: props.uploadExpiryHours,
    }).onFailure(recordFailure);

    const revokePreviousStep = invoke(
      this,
      'Revoke previous token',
      revokePrevious,
      TaskInput.fromObject({ tokenId, generation }),
      'discard',
    );
    revokePreviousStep.addCatch(
      new Fail(this, 'Previous token not revoked', {
        error: 'PreviousTokenNotRevoked',
        cause: 'The new token is current, but an older one could not be revoked; the daily sweep retries.',
      }),
      { errors: [Errors.ALL], resultPath: '$.error' },
    );

    // A rotation Secrets Manager ran (its finishSecret step starts `<tokenId>-g<N>-retire` with `retire: true`) has
    // promoted generation N already: only the previous generations' retirement after the grace period is left.
    const retireOnly = new Choice(this, 'Retire only?')
      .when(
        Condition.and(Condition.isPresent('$.retire'), Condition.booleanEquals('$.retire', true)),
        new Wait(this, 'Wait grace period to retire', {
          time: WaitTime.duration(Duration.hours(props.gracePeriodHours)),
        }).next(revokePreviousStep),
      )
      .otherwise(begin);

    begin.next(
      new Choice(this, 'Proceed?')
        .when(
          Condition.booleanEquals('$.proceed', true),
          this.minting
            .next(
              new Wait(this, 'Wait grace period', {
                time: WaitTime.duration(Duration.hours(props.gracePeriodHours)),
              }),
            )
            .next(revokePreviousStep)
            .next(new Succeed(this, 'Rotated')),
        )
        .otherwise(new Succeed(this, 'Nothing to rotate')),
    );

    const { stateMachine, logGroup } = workflowStateMachine(this, {
      stateMachineName: this.stateMachineName,
      comment: 'Token Warden rotation: mint, verify and promote a new generation, then revoke the old one after grace',
      definition: retireOnly,
      functions: Object.values(props.functions),
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;
    this.stateMachineByName = StateMachine.fromStateMachineName(this, 'ByName', this.stateMachineName);
  }
}
