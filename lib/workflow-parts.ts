/**
 * The pieces every Token Warden workflow is built from: the transient-error retry policy, the house-style Lambda
 * task, and the state machine with its log group and cdk-nag acknowledgements.
 */
import { type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  type IChainable,
  JitterType,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  type TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/**
 * Errors worth retrying, by name. Everything else (validation, policy, Atlassian refusals) goes straight to the
 * failure path: retrying it cannot succeed.
 */
export const TRANSIENT_ERRORS = [
  'AtlassianTransientError',
  'AtlassianMalformedResponseError',
  'AwsTransientError',
  'PolicyMovePendingError',
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
