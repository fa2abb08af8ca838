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
  type IStateMachine,
  JsonPath,
  StateMachine,
  Succeed,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { MintingChain, type MintingChainFunctions } from './minting-chain';
import { invoke, retryTransient, workflowStateMachine } from './workflow-parts';

/** Functions of the issuance workflow. */
export interface IssuanceWorkflowFunctions extends MintingChainFunctions {
  readonly requestApproval: IFunction;
  readonly closeRequest: IFunction;
}

/** Properties of {@link IssuanceWorkflow}. */
export interface IssuanceWorkflowProps {
  readonly functions: IssuanceWorkflowFunctions;
  /**
   * How long approvers have: the `Request approval` task's timeout; also how long admins have to upload a manually
   * created token (`Wait for token upload`).
   */
  readonly approvalExpiryHours: number;
  /** Key that encrypts the workflow's log group. */
  readonly encryptionKey: IKey;
  /**
   * Retention of the workflow's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Name of the state machine. It is explicit so that a function the workflow invokes can be granted
   * `SendTaskSuccess` on it by ARN without a reference cycle.
   * @default - `<stack name>-issuance`
   */
  readonly stateMachineName?: string;
}

/**
 * The issuance workflow (Standard, JSONPath): input `{requestId}`, execution name = requestId.
 *
 * - `Request approval` (`.waitForTaskToken`, event `{requestId, taskToken}`) waits for
 *   `SendTaskSuccess({outcome})`, stored at `$.approval`; `States.Timeout` → `Expire request`; any other error
 *   left after retries → `Fail request`.
 * - `Approved?`: `$.approval.outcome == "APPROVED"` → the {@link MintingChain} (`Mint token` gets `{requestId}`;
 *   a manually issued account waits for an admin's upload) → `Token issued`; otherwise `Close rejected request` (event `{requestId, outcome}`, outcome `REJECTED` or
 *   `CANCELLED`).
 * - `Expire request` gets `{requestId, outcome: "EXPIRED"}`; `Fail request` gets
 *   `{requestId, outcome: "FAILED", error}` and then the execution fails (`Issuance failed`).
 */
export class IssuanceWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  /**
   * The same state machine, known by its name-derived ARN only: grant functions the workflow itself invokes
   * through this one (a reference to {@link stateMachine} from them would be a dependency cycle).
   */
  readonly stateMachineByName: IStateMachine;
  readonly minting: MintingChain;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: IssuanceWorkflowProps) {
    super(scope, id);
    const { requestApproval, closeRequest } = props.functions;
    const stack = Stack.of(this);
    const stateMachineName = props.stateMachineName ?? `${stack.stackName}-issuance`;
    const requestId = JsonPath.stringAt('$.requestId');

    const requestApprovalTask = retryTransient(
      new LambdaInvoke(this, 'Request approval', {
        lambdaFunction: requestApproval,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({ requestId, taskToken: JsonPath.taskToken }),
        taskTimeout: Timeout.duration(Duration.hours(props.approvalExpiryHours)),
        resultPath: '$.approval',
        retryOnServiceExceptions: false,
      }),
    );
    const expire = invoke(
      this,
      'Expire request',
      closeRequest,
      TaskInput.fromObject({ requestId, outcome: 'EXPIRED' }),
      'replace',
    );
    const closeRejected = invoke(
      this,
      'Close rejected request',
      closeRequest,
      TaskInput.fromObject({ requestId, outcome: JsonPath.stringAt('$.approval.outcome') }),
      'replace',
    );
    const failRequest = invoke(
      this,
      'Fail request',
      closeRequest,
      TaskInput.fromObject({ requestId, outcome: 'FAILED', error: JsonPath.objectAt('$.error') }),
      'replace',
    ).next(new Fail(this, 'Issuance failed', { error: 'IssuanceFailed', cause: 'The token could not be issued.' }));

    this.minting = new MintingChain(this, 'Minting', {
      functions: props.functions,
      mintInput: TaskInput.fromObject({ requestId }),
      uploadExpiryHours: props.approvalExpiryHours,
    }).onFailure(failRequest);

    requestApprovalTask.addCatch(expire, { errors: [Errors.TIMEOUT], resultPath: '$.error' });
    requestApprovalTask.addCatch(failRequest, { errors: [Errors.ALL], resultPath: '$.error' });

    const definition = requestApprovalTask.next(
      new Choice(this, 'Approved?')
        .when(
          Condition.stringEquals('$.approval.outcome', 'APPROVED'),
          this.minting.next(new Succeed(this, 'Token issued')),
        )
        .otherwise(closeRejected),
    );

    const { stateMachine, logGroup } = workflowStateMachine(this, {
      stateMachineName,
      comment: 'Token Warden issuance: approval, then mint, verify and promote',
      definition,
      functions: Object.values(props.functions),
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.stateMachine = stateMachine;
    this.logGroup = logGroup;
    this.stateMachineByName = StateMachine.fromStateMachineName(this, 'ByName', stateMachineName);
  }
}
