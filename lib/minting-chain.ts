import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
  Errors,
  type IChainable,
  type INextable,
  IntegrationPattern,
  JsonPath,
  type State,
  StateMachineFragment,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { invoke, retryTransient } from './workflow-parts';

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
