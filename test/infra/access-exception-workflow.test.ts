import aslValidator from 'asl-validator';
import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { StateMachine as LocalStateMachine } from 'aws-local-stepfunctions';
import { TRANSIENT_ERRORS } from '../../lib/workflow-parts';
import {
  accessExceptionDefinition,
  defaultPolicy,
  ENTRIES,
  functionId,
  list,
  logicalId,
  type Synthesized,
  statementsOfRole,
  synth,
  type TemplateJson,
  writePolicy,
} from './support/synth';

const NAME = 'TokenWarden-access-exception';
const EXCEPTION_ID = 'exc_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const ENDS_AT = '2030-01-08T00:00:00Z';

/** An error as a Lambda reports it: Retry and Catch match on `name`. */
function lambdaError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('AccessExceptionWorkflow', () => {
  let s: Synthesized;
  let asl: { StartAt: string; States: Record<string, TemplateJson>; QueryLanguage?: string };
  const lambdaArn = (entry: string) => `arn:aws:lambda:us-east-1:000000000000:function:${functionId(s, entry)}`;
  const state = (name: string): TemplateJson => {
    const found = asl.States[name];
    if (!found) throw new Error(`no state ${name}`);
    return found;
  };

  beforeAll(() => {
    s = synth();
    asl = accessExceptionDefinition(s) as typeof asl;
  });

  describe('definition', () => {
    it('is Standard, with X-Ray tracing and ERROR logs without execution data to an encrypted log group', () => {
      // Assess
      const logs = logicalId(s, s.stack.accessExceptions.logGroup.node.defaultChild as CfnResource);
      s.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: NAME,
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: {
          Level: 'ERROR',
          IncludeExecutionData: false,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logs, 'Arn'] } } }],
        },
      });
      const keyId = logicalId(s, s.stack.store.key.node.defaultChild as CfnResource);
      expect(s.json.Resources[logs]?.Properties).toMatchObject({
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        RetentionInDays: 90,
      });
    });

    it('passes asl-validator once CDK tokens are resolved, and uses JSONPath only', () => {
      // Act
      const result = aslValidator(structuredClone(asl) as never);

      // Assess
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
      expect(asl.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
      for (const [stateName, st] of Object.entries(asl.States)) {
        expect({ stateName, queryLanguage: st.QueryLanguage, assign: st.Assign, args: st.Arguments }).toEqual({
          stateName,
        });
      }
      expect(JSON.stringify(asl)).not.toMatch(/\{%|\$states/);
    });

    it('has exactly the states of the exception workflow', () => {
      // Assess
      expect(asl.StartAt).toBe('Ending early?');
      expect(Object.keys(asl.States).sort()).toEqual(
        [
          'Ending early?',
          'Request approval',
          'Approved?',
          'Close the exception',
          'Not granted',
          'Expire the exception',
          'Expired',
          'Move into the allow policy',
          'Wait until the exception ends',
          'Move back into the block policy',
          'Exception over',
          'Move back after a failed move',
          'Record the failed exception',
          'Exception failed',
          'Tell the admins the move back failed',
          'Wait before moving back again',
          'Fail the exception',
          'Approval failed',
        ].sort(),
      );
    });

    it('makes every Task a Lambda invoke of the approval step or the exception step, retrying transient errors only', () => {
      // Assess
      const tasks = Object.entries(asl.States).filter(([, st]) => st.Type === 'Task');
      expect(tasks).toHaveLength(9);
      expect(TRANSIENT_ERRORS).toContain('PolicyMovePendingError');
      for (const [stateName, st] of tasks) {
        expect({ stateName, resource: st.Resource, fn: st.Parameters.FunctionName }).toEqual({
          stateName,
          resource:
            stateName === 'Request approval'
              ? 'arn:aws:states:::lambda:invoke.waitForTaskToken'
              : 'arn:aws:states:::lambda:invoke',
          fn: lambdaArn(stateName === 'Request approval' ? ENTRIES.requestApproval : ENTRIES.accessExceptionStep),
        });
        expect({ stateName, retry: st.Retry }).toEqual({
          stateName,
          retry: [
            {
              ErrorEquals: [...TRANSIENT_ERRORS],
              IntervalSeconds: 2,
              MaxAttempts: 6,
              BackoffRate: 2,
              MaxDelaySeconds: 60,
              JitterStrategy: 'FULL',
            },
          ],
        });
      }
      // Only the states above run anything: no Map, Parallel or Pass that could hide another integration.
      expect(new Set(Object.values(asl.States).map((st) => st.Type))).toEqual(
        new Set(['Task', 'Choice', 'Wait', 'Succeed', 'Fail']),
      );
    });

    it('lets the state machine invoke only its two functions', () => {
      // Prepare
      const role = s.stack.accessExceptions.stateMachine.role.node.defaultChild as CfnResource;

      // Act
      const invokes = statementsOfRole(s, logicalId(s, role)).filter((st) =>
        list(st.Action).includes('lambda:InvokeFunction'),
      );

      // Assess
      expect(invokes.flatMap((st) => list(st.Resource)).sort()).toEqual(
        [ENTRIES.requestApproval, ENTRIES.accessExceptionStep]
          .flatMap((e) => [lambdaArn(e), `${lambdaArn(e)}:*`])
          .sort(),
      );
      expect(
        statementsOfRole(s, logicalId(s, role))
          .flatMap((st) => list(st.Action))
          .filter((a) => a.startsWith('states:') || a.startsWith('dynamodb:') || a.startsWith('secretsmanager:')),
      ).toEqual([]);
    });

    it('goes straight to the move back on {exceptionId, end: true}, otherwise asks for approval', () => {
      // Assess
      expect(state('Ending early?')).toEqual({
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.end', IsPresent: true },
              { Variable: '$.end', BooleanEquals: true },
            ],
            Next: 'Move back into the block policy',
          },
        ],
        Default: 'Request approval',
      });
    });

    it('waits for the approvals on a task token for approvalExpiryHours, expiring the exception on States.Timeout', () => {
      // Assess
      expect(state('Request approval')).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        TimeoutSeconds: 72 * 3600,
        ResultPath: '$.approval',
        Parameters: { Payload: { 'exceptionId.$': '$.exceptionId', 'taskToken.$': '$$.Task.Token' } },
        Catch: [
          { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expire the exception' },
          // Any other failure after the retries: FAILED, nobody moved, the member's place freed.
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Fail the exception' },
        ],
        Next: 'Approved?',
      });
      expect(state('Fail the exception')).toMatchObject({
        Parameters: { Payload: { action: 'close', 'exceptionId.$': '$.exceptionId', outcome: 'FAILED' } },
        ResultPath: null,
        Next: 'Approval failed',
      });
      expect(state('Approval failed')).toMatchObject({ Type: 'Fail', Error: 'AccessExceptionApprovalFailed' });
      expect(state('Request approval').HeartbeatSeconds).toBeUndefined();
      expect(state('Expire the exception')).toMatchObject({
        Parameters: { Payload: { action: 'close', 'exceptionId.$': '$.exceptionId', outcome: 'EXPIRED' } },
        ResultPath: null,
        Next: 'Expired',
      });
      expect(state('Expired')).toEqual({ Type: 'Succeed' });
    });

    it('takes the approval timeout from the policy', () => {
      // Prepare
      const policy = defaultPolicy();
      policy.approvalExpiryHours = 5;

      // Act
      const other = accessExceptionDefinition(synth({ policy: writePolicy(policy) }));

      // Assess
      expect(other.States['Request approval'].TimeoutSeconds).toBe(5 * 3600);
    });

    it('moves the member in only on APPROVED, otherwise closes the exception with the outcome', () => {
      // Assess
      expect(state('Approved?')).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.approval.outcome', StringEquals: 'APPROVED', Next: 'Move into the allow policy' }],
        Default: 'Close the exception',
      });
      expect(state('Close the exception')).toMatchObject({
        Parameters: {
          Payload: { action: 'close', 'exceptionId.$': '$.exceptionId', 'outcome.$': '$.approval.outcome' },
        },
        ResultPath: null,
        Next: 'Not granted',
      });
      expect(state('Not granted')).toEqual({ Type: 'Succeed' });
    });

    it('moves the member in, waits until $.endsAt, then moves them back', () => {
      // Assess
      expect(state('Move into the allow policy')).toMatchObject({
        Parameters: { Payload: { action: 'grant', 'exceptionId.$': '$.exceptionId' } },
        OutputPath: '$.Payload',
        Next: 'Wait until the exception ends',
      });
      expect(state('Wait until the exception ends')).toEqual({
        Type: 'Wait',
        TimestampPath: '$.endsAt',
        Next: 'Move back into the block policy',
      });
      expect(state('Move back into the block policy')).toMatchObject({
        Parameters: { Payload: { action: 'revert', 'exceptionId.$': '$.exceptionId' } },
        ResultPath: null,
        Next: 'Exception over',
      });
      expect(state('Exception over')).toEqual({ Type: 'Succeed' });
    });

    it('moves the member back and fails when the move in fails after its retries', () => {
      // Assess
      expect(state('Move into the allow policy').Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Move back after a failed move' },
      ]);
      expect(state('Move back after a failed move')).toMatchObject({
        Parameters: { Payload: { action: 'revert', 'exceptionId.$': '$.exceptionId', failed: true } },
        ResultPath: null,
        Next: 'Exception failed',
      });
      expect(state('Exception failed')).toMatchObject({ Type: 'Fail', Error: 'AccessExceptionFailed' });
    });

    it('records the exception as failed, then fails, when the move back after a failed move in fails too', () => {
      // Assess
      expect(state('Move back after a failed move').Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Record the failed exception' },
      ]);
      expect(state('Record the failed exception')).toMatchObject({
        Parameters: { Payload: { action: 'fail', 'exceptionId.$': '$.exceptionId', 'error.$': '$.error.Error' } },
        ResultPath: null,
        Next: 'Exception failed',
      });
    });

    it('tells the admins of a failed move back, waits 15 minutes and moves back again', () => {
      // Assess
      expect(state('Move back into the block policy').Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Tell the admins the move back failed' },
      ]);
      expect(state('Tell the admins the move back failed')).toMatchObject({
        Parameters: {
          Payload: { action: 'move-back-failed', 'exceptionId.$': '$.exceptionId', 'error.$': '$.error.Error' },
        },
        ResultPath: null,
        Next: 'Wait before moving back again',
        // Telling the admins must never stop the retries of the move back.
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.tellError', Next: 'Wait before moving back again' }],
      });
      expect(state('Wait before moving back again')).toEqual({
        Type: 'Wait',
        Seconds: 900,
        Next: 'Move back into the block policy',
      });
    });

    it('alarms the admin topic on failed, timed-out, throttled and aborted executions, and outputs its ARN', () => {
      // Prepare
      const machine = logicalId(s, s.stack.accessExceptions.stateMachine.node.defaultChild as CfnResource);
      const topic = logicalId(s, s.stack.notifications.topic.node.defaultChild as CfnResource);

      // Assess
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionThrottled', 'ExecutionsAborted']) {
        s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/States',
          MetricName: metric,
          Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          AlarmActions: [{ Ref: topic }],
          AlarmDescription: Match.stringLikeRegexp('^Token Warden AccessException: '),
        });
      }
      for (const entry of [ENTRIES.accessExceptions, ENTRIES.accessExceptionStep]) {
        s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(s, entry) } }],
          AlarmActions: [{ Ref: topic }],
        });
      }
      s.template.hasOutput('AccessExceptionStateMachineArn', { Value: { Ref: machine } });
    });
  });

  describe('execution (aws-local-stepfunctions, every Lambda faked)', () => {
    type Handler = (payload: TemplateJson) => TemplateJson;

    /** Runs the definition on `input` with `handlers` keyed by state name; returns the output and each task's payloads. */
    async function run(input: TemplateJson, handlers: Record<string, Handler>) {
      const calls: Record<string, TemplateJson[]> = {};
      const taskResourceLocalHandlers = Object.fromEntries(
        Object.entries(asl.States)
          .filter(([, st]) => st.Type === 'Task')
          .map(([name, st]) => [
            name,
            async (event: TemplateJson) => {
              calls[name] = [...(calls[name] ?? []), event.Payload];
              const handler = handlers[name];
              if (!handler) throw new Error(`unexpected call of ${name}`);
              const result = await handler(event.Payload);
              // A task token's result is what SendTaskSuccess sends, not the function's answer.
              return String(st.Resource).endsWith('.waitForTaskToken') ? result : { StatusCode: 200, Payload: result };
            },
          ]),
      );
      // A JSON copy: objects from structuredClone come from another realm, which the engine does not take as plain.
      const machine = new LocalStateMachine(JSON.parse(JSON.stringify(asl)));
      const execution = machine.run(input, {
        context: { Task: { Token: 'task-token-1' } },
        overrides: {
          taskResourceLocalHandlers,
          waitTimeOverrides: { 'Wait until the exception ends': 0, 'Wait before moving back again': 0 },
          retryIntervalOverrides: Object.fromEntries(Object.keys(taskResourceLocalHandlers).map((n) => [n, 0])),
        },
      });
      try {
        return { output: await execution.result, calls, failedWith: undefined };
      } catch (error) {
        // The engine wraps the Fail state's error (or the last task error); its name is the error's name.
        return { output: undefined, calls, failedWith: ((error as Error).cause as Error | undefined)?.name };
      }
    }

    const INPUT = { exceptionId: EXCEPTION_ID };
    const approved: Record<string, Handler> = {
      'Request approval': () => ({ outcome: 'APPROVED' }),
      'Move into the allow policy': () => ({ exceptionId: EXCEPTION_ID, endsAt: ENDS_AT }),
      'Move back into the block policy': () => ({ exceptionId: EXCEPTION_ID, moved: true, status: 'ENDED' }),
    };

    it('approves: asks with the task token, moves the member in, waits until endsAt, then moves them back', async () => {
      // Act
      const { output, calls, failedWith } = await run(INPUT, approved);

      // Assess
      expect(failedWith).toBeUndefined();
      expect(Object.keys(calls)).toEqual([
        'Request approval',
        'Move into the allow policy',
        'Move back into the block policy',
      ]);
      expect(calls['Request approval']).toEqual([{ exceptionId: EXCEPTION_ID, taskToken: 'task-token-1' }]);
      expect(calls['Move into the allow policy']).toEqual([{ action: 'grant', exceptionId: EXCEPTION_ID }]);
      expect(calls['Move back into the block policy']).toEqual([{ action: 'revert', exceptionId: EXCEPTION_ID }]);
      expect(output).toEqual({ exceptionId: EXCEPTION_ID, endsAt: ENDS_AT });
    });

    it('closes the exception with REJECTED when an approver rejects, moving nobody', async () => {
      // Act
      const { output, calls, failedWith } = await run(INPUT, {
        'Request approval': () => ({ outcome: 'REJECTED' }),
        'Close the exception': () => ({ exceptionId: EXCEPTION_ID, status: 'REJECTED' }),
      });

      // Assess
      expect(failedWith).toBeUndefined();
      expect(Object.keys(calls)).toEqual(['Request approval', 'Close the exception']);
      expect(calls['Close the exception']).toEqual([
        { action: 'close', exceptionId: EXCEPTION_ID, outcome: 'REJECTED' },
      ]);
      expect(output).toEqual({ ...INPUT, approval: { outcome: 'REJECTED' } });
    });

    it('closes a cancelled exception with CANCELLED', async () => {
      // Act
      const { calls, failedWith } = await run(INPUT, {
        'Request approval': () => ({ outcome: 'CANCELLED' }),
        'Close the exception': () => ({ exceptionId: EXCEPTION_ID, status: 'REJECTED' }),
      });

      // Assess
      expect(failedWith).toBeUndefined();
      expect(calls['Close the exception']).toEqual([
        { action: 'close', exceptionId: EXCEPTION_ID, outcome: 'CANCELLED' },
      ]);
      expect(calls['Move into the allow policy']).toBeUndefined();
    });

    it('closes the exception with EXPIRED when the approval wait times out', async () => {
      // Act
      const { output, calls, failedWith } = await run(INPUT, {
        'Request approval': () => {
          throw lambdaError('States.Timeout');
        },
        'Expire the exception': () => ({ exceptionId: EXCEPTION_ID, status: 'EXPIRED' }),
      });

      // Assess
      expect(failedWith).toBeUndefined();
      expect(Object.keys(calls)).toEqual(['Request approval', 'Expire the exception']);
      expect(calls['Expire the exception']).toEqual([
        { action: 'close', exceptionId: EXCEPTION_ID, outcome: 'EXPIRED' },
      ]);
      expect(output).toEqual({ ...INPUT, error: { Error: 'States.Timeout', Cause: expect.any(String) } });
    });

    it('goes straight to the move back on {exceptionId, end: true}, without asking or moving in', async () => {
      // Act
      const { output, calls, failedWith } = await run(
        { exceptionId: EXCEPTION_ID, end: true },
        { 'Move back into the block policy': () => ({ exceptionId: EXCEPTION_ID, moved: true, status: 'ENDED' }) },
      );

      // Assess
      expect(failedWith).toBeUndefined();
      expect(Object.keys(calls)).toEqual(['Move back into the block policy']);
      expect(calls['Move back into the block policy']).toEqual([{ action: 'revert', exceptionId: EXCEPTION_ID }]);
      expect(output).toEqual({ exceptionId: EXCEPTION_ID, end: true });
    });

    it('asks for approval when end is false', async () => {
      // Act
      const { calls } = await run({ exceptionId: EXCEPTION_ID, end: false }, approved);

      // Assess
      expect(Object.keys(calls)[0]).toBe('Request approval');
    });

    it('tells the admins of each failed move back, and moves back again until it succeeds', async () => {
      // Prepare
      let moves = 0;

      // Act
      const { output, calls, failedWith } = await run(INPUT, {
        ...approved,
        'Move back into the block policy': () => {
          moves++;
          if (moves <= 2) throw lambdaError('PolicyMoveFailedError', 'Admin Control refused the move');
          return { exceptionId: EXCEPTION_ID, moved: true, status: 'ENDED' };
        },
        'Tell the admins the move back failed': () => ({ exceptionId: EXCEPTION_ID, failures: 1 }),
      });

      // Assess
      expect(failedWith).toBeUndefined();
      expect(calls['Move back into the block policy']).toHaveLength(3);
      const told = calls['Tell the admins the move back failed'] ?? [];
      expect(told).toHaveLength(2);
      for (const payload of told) {
        expect(payload).toMatchObject({
          action: 'move-back-failed',
          exceptionId: EXCEPTION_ID,
          error: 'PolicyMoveFailedError',
        });
      }
      // The caught error is dropped by the next attempt's result: nothing of it is left in the final state.
      expect(output).toEqual({
        exceptionId: EXCEPTION_ID,
        endsAt: ENDS_AT,
        error: { Error: 'PolicyMoveFailedError', Cause: expect.any(String) },
      });
    });

    it('retries a move still pending at Atlassian inside the task, telling no one', async () => {
      // Prepare
      let grants = 0;

      // Act
      const { calls, failedWith } = await run(INPUT, {
        ...approved,
        'Move into the allow policy': () => {
          grants++;
          if (grants <= 2) throw lambdaError('PolicyMovePendingError');
          return { exceptionId: EXCEPTION_ID, endsAt: ENDS_AT };
        },
      });

      // Assess
      expect(failedWith).toBeUndefined();
      expect(grants).toBe(3);
      expect(calls['Move back after a failed move']).toBeUndefined();
      expect(calls['Move back into the block policy']).toHaveLength(1);
    });

    it('moves the member back and fails when the move in fails', async () => {
      // Act
      const { calls, failedWith } = await run(INPUT, {
        ...approved,
        'Move into the allow policy': () => {
          throw lambdaError('PolicyMoveFailedError', 'the member is not in the directory');
        },
        'Move back after a failed move': () => ({ exceptionId: EXCEPTION_ID, moved: true, status: 'FAILED' }),
      });

      // Assess
      expect(failedWith).toBe('AccessExceptionFailed');
      expect(calls['Move into the allow policy']).toHaveLength(1);
      expect(calls['Move back after a failed move']).toEqual([
        { action: 'revert', exceptionId: EXCEPTION_ID, failed: true },
      ]);
      expect(calls['Move back into the block policy']).toBeUndefined();
      expect(calls['Record the failed exception']).toBeUndefined();
    });

    it('records the exception as failed when the move back after a failed move in fails too, then fails', async () => {
      // Act
      const { calls, failedWith } = await run(INPUT, {
        ...approved,
        'Move into the allow policy': () => {
          throw lambdaError('PolicyMoveFailedError', 'Admin Control refused the move');
        },
        'Move back after a failed move': () => {
          throw lambdaError('AtlassianRefusedError', 'the org key was refused');
        },
        'Record the failed exception': () => ({ exceptionId: EXCEPTION_ID, status: 'FAILED' }),
      });

      // Assess
      expect(failedWith).toBe('AccessExceptionFailed');
      expect(calls['Move back after a failed move']).toHaveLength(1);
      expect(calls['Record the failed exception']).toEqual([
        { action: 'fail', exceptionId: EXCEPTION_ID, error: 'AtlassianRefusedError' },
      ]);
      expect(calls['Move back into the block policy']).toBeUndefined();
    });
  });
});
