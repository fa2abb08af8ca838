import { type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  type IChainable,
  type INextable,
  IntegrationPattern,
  type IStateMachine,
  JitterType,
  JsonPath,
  LogLevel,
  type State,
  StateMachine,
  StateMachineFragment,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';

/**
 * Errors worth retrying, by name. Everything else (validation, policy, Atlassian refusals) goes straight to the
 * failure path: retrying it cannot succeed.
 */
export const TRANSIENT_ERRORS = [
  'AtlassianTransientError',
  'AtlassianMalformedResponseError',
  'AwsTransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Retries `task` on {@link TRANSIENT_ERRORS}: six attempts after the first, 2 s doubling to at most 60 s, with full
 * jitter (at most about two minutes of waiting in all).
 */
export function retryTransient(task: LambdaInvoke): LambdaInvoke {
  task.addRetry({
    errors: [...TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    maxDelay: Duration.seconds(60),
    jitterStrategy: JitterType.FULL,
  });
  return task;
}

/**
 * What a Lambda task does with the function's return value: `replace` makes it the state (`OutputPath:
 * "$.Payload"`), `discard` drops it so the state passes through unchanged (`ResultPath: null`).
 */
export type TaskResult = 'replace' | 'discard';

/**
 * A Lambda task in the house style: `arn:aws:states:::lambda:invoke`, the result handled per {@link TaskResult},
 * and Lambda service errors retried by {@link retryTransient} instead of CDK's default retrier.
 */
export function invoke(
  scope: Construct,
  stateName: string,
  fn: IFunction,
  payload: TaskInput,
  result: TaskResult,
): LambdaInvoke {
  return retryTransient(
    new LambdaInvoke(scope, stateName, {
      lambdaFunction: fn,
      payload,
      ...(result === 'replace' ? { outputPath: '$.Payload' } : { resultPath: JsonPath.DISCARD }),
      retryOnServiceExceptions: false,
    }),
  );
}

/** Properties of {@link workflowStateMachine}. */
export interface WorkflowStateMachineProps {
  /** Physical name (explicit, so functions can be granted access by name-derived ARN). */
  readonly stateMachineName: string;
  /** The definition's `Comment`. */
  readonly comment: string;
  /** Start of the definition. */
  readonly definition: IChainable;
  /** Every function the definition invokes (their invoke grants are acknowledged by name). */
  readonly functions: readonly IFunction[];
  /** Key that encrypts the log group. */
  readonly encryptionKey: IKey;
  /**
   * Retention of the log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A state machine in the house style, created as `StateMachine` (and its log group as `Logs`) in `scope`: Standard,
 * X-Ray tracing, logs at ERROR without execution data in a log group encrypted with the key, and the cdk-nag
 * findings that follow from that acknowledged with their reasons.
 */
export function workflowStateMachine(
  scope: Construct,
  props: WorkflowStateMachineProps,
): { stateMachine: StateMachine; logGroup: LogGroup } {
  const stack = Stack.of(scope);
  const logGroup = new LogGroup(scope, 'Logs', {
    retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
    encryptionKey: props.encryptionKey,
  });
  const stateMachine = new StateMachine(scope, 'StateMachine', {
    stateMachineName: props.stateMachineName,
    comment: props.comment,
    stateMachineType: StateMachineType.STANDARD,
    definitionBody: DefinitionBody.fromChainable(props.definition),
    tracingEnabled: true,
    logs: { destination: logGroup, level: LogLevel.ERROR, includeExecutionData: false },
  });
  const invokeGrants = props.functions.flatMap((fn) => {
    const cfn = fn.node.defaultChild as CfnResource | undefined;
    return cfn ? [`AwsSolutions-IAM5[Resource::<${stack.resolve(cfn.logicalId)}.Arn>:*]`] : [];
  });
  Validations.of(stateMachine).acknowledge(
    {
      id: 'AwsSolutions-SF1',
      reason:
        'The workflow logs at ERROR level without execution data by design: states carry ids only, failures are ' +
        'what operators act on, and success paths are visible through X-Ray and the CloudWatch metrics.',
    },
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:*LogDelivery, logs:DescribeResourcePolicies, ...) and X-Ray actions ' +
        'have no resource-level permissions.',
    },
    ...[...new Set(invokeGrants)].map((id) => ({
      id,
      reason: 'CDK grants lambda:InvokeFunction on each workflow function and its versions and aliases (ARN:*).',
    })),
  );
  return { stateMachine, logGroup };
}

/** Functions of the minting chain. */
export interface MintingChainFunctions {
  readonly mintToken: IFunction;
  /** Asks the admins to create and upload a token (manual issuance); resumed by the upload page. */
  readonly requestUpload: IFunction;
  readonly verifyToken: IFunction;
  readonly promoteToken: IFunction;
  readonly discardToken: IFunction;
}

/** Properties of {@link MintingChain}. */
export interface MintingChainProps {
  readonly functions: MintingChainFunctions;
  /**
   * Event of `Mint token`.
   * @default - the whole state (`$`)
   */
  readonly mintInput?: TaskInput;
  /**
   * How long an admin has to upload a manually created token: the `Wait for token upload` task's timeout (the
   * policy's `approvalExpiryHours`, which also bounds the upload links).
   */
  readonly uploadExpiryHours: number;
}

/**
 * `Mint token` → `Verify token` → `Promote token`, shared by issuance and rotation. Mint's return value (the ids
 * of what it staged: `{requestId, tokenId, generation, versionId, manual}`) is added to the state at `$.minted`, so
 * what the workflow carried before (rotation's `attempt`) survives; Verify and Promote receive `$.minted` and their
 * own results are dropped.
 *
 * Manual issuance: when Mint says `manual: true` (nothing minted; the service account's tokens are created by an
 * admin), `Uploaded by an admin?` routes to `Wait for token upload` (`.waitForTaskToken` on `request-upload` with
 * `{tokenId, generation, requestId, taskToken}`, timing out after `uploadExpiryHours`); the upload page resumes it
 * with `{}`, which is dropped, and the chain goes on to `Verify token`.
 *
 * Any error left after retries (a timed-out wait included) goes, with the whole state and `error: {Error, Cause}`
 * added, to `Discard staged token` (which reads `requestId`, or `tokenId` and `generation`, from the top level); its
 * result is dropped too so that its input (and the error) reaches whatever {@link MintingChain.onFailure} chains
 * after it.
 */
export class MintingChain extends StateMachineFragment {
  readonly startState: State;
  readonly endStates: INextable[];
  readonly mint: LambdaInvoke;
  readonly uploaded: Choice;
  readonly waitForUpload: LambdaInvoke;
  readonly verify: LambdaInvoke;
  readonly promote: LambdaInvoke;
  readonly discard: LambdaInvoke;

  constructor(scope: Construct, id: string, props: MintingChainProps) {
    super(scope, id);
    const { mintToken, requestUpload, verifyToken, promoteToken, discardToken } = props.functions;
    const whole = TaskInput.fromJsonPathAt('$');
    const minted = TaskInput.fromJsonPathAt('$.minted');
    this.mint = retryTransient(
      new LambdaInvoke(this, 'Mint token', {
        lambdaFunction: mintToken,
        payload: props.mintInput ?? whole,
        // The ids are picked one by one: whatever else the function might return never enters the workflow state.
        resultSelector: {
          requestId: JsonPath.stringAt('$.Payload.requestId'),
          tokenId: JsonPath.stringAt('$.Payload.tokenId'),
          generation: JsonPath.numberAt('$.Payload.generation'),
          versionId: JsonPath.stringAt('$.Payload.versionId'),
          manual: JsonPath.stringAt('$.Payload.manual'),
        },
        resultPath: '$.minted',
        retryOnServiceExceptions: false,
      }),
    );
    this.waitForUpload = retryTransient(
      new LambdaInvoke(this, 'Wait for token upload', {
        lambdaFunction: requestUpload,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({
          tokenId: JsonPath.stringAt('$.minted.tokenId'),
          generation: JsonPath.numberAt('$.minted.generation'),
          requestId: JsonPath.stringAt('$.minted.requestId'),
          taskToken: JsonPath.taskToken,
        }),
        taskTimeout: Timeout.duration(Duration.hours(props.uploadExpiryHours)),
        resultPath: JsonPath.DISCARD,
        retryOnServiceExceptions: false,
      }),
    );
    this.verify = invoke(this, 'Verify token', verifyToken, minted, 'discard');
    this.promote = invoke(this, 'Promote token', promoteToken, minted, 'discard');
    this.discard = invoke(this, 'Discard staged token', discardToken, whole, 'discard');
    for (const step of [this.mint, this.waitForUpload, this.verify, this.promote]) {
      step.addCatch(this.discard, { errors: [Errors.ALL], resultPath: '$.error' });
    }
    this.uploaded = new Choice(this, 'Uploaded by an admin?')
      .when(Condition.booleanEquals('$.minted.manual', true), this.waitForUpload.next(this.verify))
      .otherwise(this.verify);
    this.mint.next(this.uploaded);
    this.verify.next(this.promote);
    this.startState = this.mint;
    this.endStates = [this.promote];
  }

  /**
   * Continues the failure path after `Discard staged token` with `next`; a failed discard (after its retries)
   * continues there too, with `discardError` added, so the request is still closed.
   */
  onFailure(next: IChainable): this {
    this.discard.addCatch(next, { errors: [Errors.ALL], resultPath: '$.discardError' });
    this.discard.next(next);
    return this;
  }
}

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
