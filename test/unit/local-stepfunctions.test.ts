import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateActivityCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  errorMatches,
  findRetrier,
  LOCAL_WAIT_RESOURCE,
  localDefinition,
  type RetryPolicy,
  retryDelayMs,
  UnsupportedDefinitionError,
} from '../../local/aws/asl-rewrite';
import type { AwsRequest } from '../../local/aws/protocol';
import { isValidExecutionName, LocalStepFunctions, type TaskInvoker } from '../../local/aws/stepfunctions';
import { SimulatedClock } from '../../local/clock';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MACHINE_NAME = 'IssuanceWorkflow';
const MACHINE_ARN = `arn:aws:states:us-east-1:000000000000:stateMachine:${MACHINE_NAME}`;

const fn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** CDK's default retry on Lambda service errors, as `LambdaInvoke` emits it. */
const CDK_LAMBDA_RETRY = {
  ErrorEquals: [
    'Lambda.ClientExecutionTimeoutException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
  ],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
};

/** A Task shaped like CDK's `LambdaInvoke` with `outputPath: '$.Payload'`. */
function lambdaTask(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: fn(name), 'Payload.$': '$' },
    OutputPath: '$.Payload',
    Retry: [CDK_LAMBDA_RETRY],
    ...extra,
  };
}

/** A `.waitForTaskToken` Task shaped like CDK's `LambdaInvoke` with `integrationPattern: WAIT_FOR_TASK_TOKEN`. */
function callbackTask(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Parameters: {
      FunctionName: fn(name),
      Payload: { 'taskToken.$': '$$.Task.Token', 'requestId.$': '$.requestId', 'executionId.$': '$$.Execution.Id' },
    },
    Retry: [CDK_LAMBDA_RETRY],
    ...extra,
  };
}

type Call = Parameters<TaskInvoker>[0] & { at: number };

interface Harness {
  sfn: LocalStepFunctions;
  clock: SimulatedClock;
  calls: Call[];
  callsTo(name: string): Call[];
}

let server: Server;
let client: SFNClient;
let current: LocalStepFunctions | undefined;
const opened: { sfn: LocalStepFunctions; clock: SimulatedClock }[] = [];
const tempDirs: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const awsReq: AwsRequest = {
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
        target: req.headers['x-amz-target'] as string | undefined,
      };
      if (!current?.matches(awsReq)) {
        res.writeHead(404).end();
        return;
      }
      void current.handle(awsReq).then((r) => {
        res.writeHead(r.status, r.headers);
        res.end(r.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new SFNClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  for (const { sfn, clock } of opened.splice(0)) {
    await sfn.close();
    clock.stop();
  }
  current = undefined;
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function setup(
  definition: object,
  handlers: Record<string, (payload: unknown, call: Call) => unknown>,
  opts: { file?: string; clock?: SimulatedClock; random?: () => number; resume?: boolean } = {},
): Harness {
  const clock = opts.clock ?? new SimulatedClock();
  const calls: Call[] = [];
  const invoke: TaskInvoker = async (call) => {
    const recorded = { ...call, at: clock.nowMs() };
    calls.push(recorded);
    const name = call.functionName.split(':').pop() ?? '';
    const handler = handlers[name];
    if (!handler) throw new Error(`no fake for ${name}`);
    return handler(call.payload, recorded);
  };
  const sfn = new LocalStepFunctions({
    clock,
    invoke,
    ...(opts.file ? { file: opts.file } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  sfn.registerStateMachine({ arn: MACHINE_ARN, name: MACHINE_NAME, definition, type: 'STANDARD' });
  opened.push({ sfn, clock });
  current = sfn;
  return {
    sfn,
    clock,
    calls,
    callsTo: (name) => calls.filter((c) => c.functionName === fn(name)),
  };
}

function named(name: string, message = ''): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

async function start(h: Harness, input: object, name?: string) {
  const out = await client.send(
    new StartExecutionCommand({
      stateMachineArn: MACHINE_ARN,
      input: JSON.stringify(input),
      ...(name ? { name } : {}),
    }),
  );
  await h.sfn.idle();
  return out.executionArn ?? '';
}

async function describe_(executionArn: string) {
  return client.send(new DescribeExecutionCommand({ executionArn }));
}

async function history(executionArn: string): Promise<HistoryEvent[]> {
  return (await client.send(new GetExecutionHistoryCommand({ executionArn }))).events ?? [];
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error('expected the call to fail');
}

function tokenOf(call: Call | undefined): string {
  const payload = call?.payload as { taskToken?: unknown } | undefined;
  if (typeof payload?.taskToken !== 'string') throw new Error('no task token in the payload');
  return payload.taskToken;
}

/** The approval part of the issuance workflow; `catches` go before its `States.Timeout` → `Expire request`. */
const approvalMachine = (taskExtra: Record<string, unknown> = {}, catches: object[] = []) => ({
  StartAt: 'Request approval',
  States: {
    'Request approval': callbackTask('RequestApproval', {
      ResultPath: '$.approval',
      Next: 'Approved?',
      Catch: [...catches, { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expire request' }],
      ...taskExtra,
    }),
    'Approved?': {
      Type: 'Choice',
      Choices: [{ Variable: '$.approval.outcome', StringEquals: 'APPROVED', Next: 'Mint token' }],
      Default: 'Close rejected request',
    },
    'Mint token': lambdaTask('MintToken', { End: true }),
    'Close rejected request': lambdaTask('CloseRequest', { End: true }),
    'Expire request': lambdaTask('CloseRequest', { End: true }),
  },
});

describe('LocalStepFunctions', () => {
  describe('Lambda tasks', () => {
    it('returns the function result through OutputPath $.Payload and passes the execution ARN to invoke', async () => {
      const h = setup(
        { StartAt: 'Mint token', States: { 'Mint token': lambdaTask('MintToken', { End: true }) } },
        { MintToken: (p) => ({ minted: (p as { requestId: string }).requestId }) },
      );
      const arn = await start(h, { requestId: 'r1' });

      const described = await describe_(arn);
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual({ minted: 'r1' });
      expect(h.calls).toHaveLength(1);
      expect(h.calls[0]).toMatchObject({
        stateName: 'Mint token',
        resource: 'arn:aws:states:::lambda:invoke',
        functionName: fn('MintToken'),
        payload: { requestId: 'r1' },
        executionArn: arn,
      });
    });

    it('routes a handler error to the Catch that names its error, with the message as Cause', async () => {
      const h = setup(
        {
          StartAt: 'Mint token',
          States: {
            'Mint token': lambdaTask('MintToken', {
              Catch: [
                { ErrorEquals: ['AtlassianTransientError'], Next: 'Wrong handler' },
                { ErrorEquals: ['AtlassianPermanentError'], ResultPath: '$.error', Next: 'Discard staged token' },
              ],
              End: true,
            }),
            'Wrong handler': { Type: 'Fail', Error: 'WrongCatch' },
            'Discard staged token': lambdaTask('DiscardToken', { End: true }),
          },
        },
        {
          MintToken: () => {
            throw named('AtlassianPermanentError', 'scope not allowed');
          },
          DiscardToken: (p) => ({ discarded: p }),
        },
      );
      const arn = await start(h, { requestId: 'r1' });

      const described = await describe_(arn);
      expect(described.status).toBe('SUCCEEDED');
      expect(h.callsTo('DiscardToken')[0]?.payload).toEqual({
        requestId: 'r1',
        error: { Error: 'AtlassianPermanentError', Cause: 'scope not allowed' },
      });
      const failed = (await history(arn)).find((e) => e.type === 'TaskFailed');
      expect(failed?.taskFailedEventDetails).toMatchObject({
        resourceType: 'lambda',
        resource: 'invoke',
        error: 'AtlassianPermanentError',
        cause: 'scope not allowed',
      });
    });

    it('fails the execution with the error name and message when nothing catches it', async () => {
      const h = setup(
        { StartAt: 'Mint token', States: { 'Mint token': lambdaTask('MintToken', { End: true }) } },
        {
          MintToken: () => {
            throw named('ValidationError', 'bad input');
          },
        },
      );
      const arn = await start(h, {});

      const described = await describe_(arn);
      expect(described).toMatchObject({ status: 'FAILED', error: 'ValidationError', cause: 'bad input' });
      expect((await history(arn)).at(-1)).toMatchObject({
        type: 'ExecutionFailed',
        executionFailedEventDetails: { error: 'ValidationError', cause: 'bad input' },
      });
    });
  });

  describe('Retry on the simulated clock', () => {
    it('retries with backoff only as the clock advances, and succeeds on the last allowed attempt', async () => {
      let failures = 3;
      const h = setup(
        {
          StartAt: 'Verify token',
          States: {
            'Verify token': lambdaTask('VerifyToken', {
              Retry: [
                CDK_LAMBDA_RETRY,
                { ErrorEquals: ['AtlassianTransientError'], IntervalSeconds: 60, MaxAttempts: 3, BackoffRate: 2 },
              ],
              End: true,
            }),
          },
        },
        {
          VerifyToken: () => {
            if (failures-- > 0) throw named('AtlassianTransientError', 'HTTP 503');
            return { verified: true };
          },
        },
      );
      const arn = await start(h, {});
      expect(h.calls).toHaveLength(1);

      // Real time passing does nothing: the retry waits on the simulated clock.
      await new Promise((r) => setTimeout(r, 100));
      await h.clock.advance(59_000);
      expect(h.calls).toHaveLength(1);
      await h.clock.advance(1_000);
      expect(h.calls).toHaveLength(2);
      await h.clock.advance(119_000);
      expect(h.calls).toHaveLength(2);
      await h.clock.advance(1_000);
      expect(h.calls).toHaveLength(3);
      await h.clock.advance(240_000);
      expect(h.calls).toHaveLength(4);

      const gaps = h.calls.slice(1).map((c, i) => c.at - (h.calls[i]?.at ?? 0));
      expect(gaps.map((g) => Math.round(g / 1000))).toEqual([60, 120, 240]);
      const described = await describe_(arn);
      expect(described.status).toBe('SUCCEEDED');
      const types = (await history(arn)).map((e) => e.type);
      expect(types.filter((t) => t === 'TaskScheduled')).toHaveLength(4);
      expect(types.filter((t) => t === 'TaskFailed')).toHaveLength(3);
    });

    it('gives up after MaxAttempts and lets Catch take the error; MaxDelaySeconds caps the pause', async () => {
      const h = setup(
        {
          StartAt: 'Verify token',
          States: {
            'Verify token': lambdaTask('VerifyToken', {
              Retry: [
                {
                  ErrorEquals: ['States.ALL'],
                  IntervalSeconds: 10,
                  MaxAttempts: 2,
                  BackoffRate: 10,
                  MaxDelaySeconds: 30,
                },
              ],
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Fail request' }],
              End: true,
            }),
            'Fail request': lambdaTask('FailRequest', { End: true }),
          },
        },
        {
          VerifyToken: () => {
            throw named('AtlassianTransientError', 'still down');
          },
          FailRequest: () => ({ failed: true }),
        },
      );
      const arn = await start(h, {});
      await h.clock.advance(10_000);
      expect(h.callsTo('VerifyToken')).toHaveLength(2);
      await h.clock.advance(29_000);
      expect(h.callsTo('VerifyToken')).toHaveLength(2);
      await h.clock.advance(1_000);

      expect(h.callsTo('VerifyToken')).toHaveLength(3);
      expect(h.callsTo('FailRequest')).toHaveLength(1);
      expect((await describe_(arn)).status).toBe('SUCCEEDED');
    });

    it('computes AWS retry delays: backoff, MaxDelaySeconds, FULL jitter, and error matching', () => {
      const policy: RetryPolicy = {
        errorEquals: ['X'],
        intervalSeconds: 3,
        maxAttempts: 5,
        backoffRate: 2,
        maxDelaySeconds: 10,
        jitterStrategy: 'NONE',
      };
      expect([0, 1, 2, 3].map((n) => retryDelayMs(policy, n))).toEqual([3000, 6000, 10_000, 10_000]);
      expect(retryDelayMs({ ...policy, jitterStrategy: 'FULL' }, 1, () => 0.5)).toBe(3000);
      expect(retryDelayMs({ ...policy, jitterStrategy: 'FULL' }, 1, () => 0)).toBe(0);

      expect(errorMatches(['States.TaskFailed'], 'AtlassianTransientError')).toBe(true);
      expect(errorMatches(['States.TaskFailed'], 'States.Timeout')).toBe(false);
      expect(errorMatches(['States.ALL'], 'States.Timeout')).toBe(true);
      expect(errorMatches(['States.ALL'], 'States.Runtime')).toBe(false);
      expect(
        findRetrier(
          [
            { ...policy, errorEquals: ['A'] },
            { ...policy, errorEquals: ['States.ALL'] },
          ],
          'B',
        ),
      ).toBe(1);
    });
  });

  describe('waitForTaskToken', () => {
    it('resumes on SendTaskSuccess with the output, and a used or garbage token is refused', async () => {
      const h = setup(approvalMachine(), {
        RequestApproval: () => ({ emailed: 1 }),
        MintToken: (p) => ({ minted: p }),
      });
      const arn = await start(h, { requestId: 'r1' });
      expect((await describe_(arn)).status).toBe('RUNNING');
      const token = tokenOf(h.callsTo('RequestApproval')[0]);
      expect(token.length).toBeGreaterThan(300);
      expect(token).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      expect(h.callsTo('RequestApproval')[0]?.payload).toMatchObject({ requestId: 'r1', executionId: arn });

      await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
      await client.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ outcome: 'APPROVED' }) }),
      );
      await h.sfn.idle();

      const described = await describe_(arn);
      expect(described.status).toBe('SUCCEEDED');
      expect(JSON.parse(described.output ?? '')).toEqual({
        minted: { requestId: 'r1', approval: { outcome: 'APPROVED' } },
      });
      const reused = await errorOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })));
      expect(reused.name).toBe('TaskTimedOut');
      expect(reused.message).not.toContain(token);
      const heartbeat = await errorOf(client.send(new SendTaskHeartbeatCommand({ taskToken: token })));
      expect(heartbeat.name).toBe('TaskTimedOut');
      const garbage = await errorOf(
        client.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })),
      );
      expect(garbage.name).toBe('InvalidToken');
      const tampered = `${token.slice(0, 20)}${token[20] === 'A' ? 'B' : 'A'}${token.slice(21)}`;
      expect((await errorOf(client.send(new SendTaskFailureCommand({ taskToken: tampered })))).name).toBe(
        'InvalidToken',
      );
    });

    it('fails the task on SendTaskFailure with the given error, caught by name', async () => {
      const h = setup(
        approvalMachine({}, [
          { ErrorEquals: ['ApprovalRejected'], ResultPath: '$.error', Next: 'Close rejected request' },
        ]),
        { RequestApproval: () => null, CloseRequest: (p) => p },
      );
      const arn = await start(h, { requestId: 'r2' });
      const token = tokenOf(h.callsTo('RequestApproval')[0]);

      const badOutput = await errorOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{nope' })));
      expect(badOutput.name).toBe('InvalidOutput');
      await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'ApprovalRejected', cause: 'no' }));
      await h.sfn.idle();

      expect((await describe_(arn)).status).toBe('SUCCEEDED');
      expect(h.callsTo('CloseRequest')[0]?.payload).toEqual({
        requestId: 'r2',
        error: { Error: 'ApprovalRejected', Cause: 'no' },
      });
      expect((await errorOf(client.send(new SendTaskFailureCommand({ taskToken: token })))).name).toBe('TaskTimedOut');
    });

    it('times a 72 h task out only when the clock passes it, caught by States.Timeout and not by States.TaskFailed', async () => {
      const h = setup(
        approvalMachine({ TimeoutSeconds: 72 * 3600 }, [
          { ErrorEquals: ['States.TaskFailed'], Next: 'Close rejected request' },
        ]),
        { RequestApproval: () => null, CloseRequest: (p) => ({ closed: p }) },
      );
      const arn = await start(h, { requestId: 'r3' });
      const token = tokenOf(h.callsTo('RequestApproval')[0]);
      const startedAt = h.calls[0]?.at ?? 0;

      await h.clock.advance(71 * HOUR);
      expect((await describe_(arn)).status).toBe('RUNNING');
      expect(h.callsTo('CloseRequest')).toHaveLength(0);
      await h.clock.advance(HOUR + 1000);

      const described = await describe_(arn);
      expect(described.status).toBe('SUCCEEDED');
      const expire = h.callsTo('CloseRequest');
      expect(expire).toHaveLength(1);
      expect(expire[0]?.stateName).toBe('Expire request');
      expect(expire[0]?.payload).toMatchObject({ requestId: 'r3', error: { Error: 'States.Timeout' } });
      expect((expire[0]?.at ?? 0) - startedAt).toBeGreaterThanOrEqual(72 * HOUR);
      const events = await history(arn);
      const scheduled = events.find((e) => e.type === 'TaskScheduled');
      expect(scheduled?.taskScheduledEventDetails?.timeoutInSeconds).toBe(72 * 3600);
      const timedOut = events.find((e) => e.type === 'TaskTimedOut');
      expect(timedOut?.taskTimedOutEventDetails).toMatchObject({
        resource: 'invoke.waitForTaskToken',
        error: 'States.Timeout',
      });
      expect((await errorOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name).toBe(
        'TaskTimedOut',
      );
    });
  });

  describe('Wait and machine timeouts', () => {
    it('waits 7 days on the simulated clock, keeping InputPath/OutputPath semantics', async () => {
      const h = setup(
        {
          StartAt: 'Wait for rotation',
          States: {
            'Wait for rotation': { Type: 'Wait', Seconds: 7 * 24 * 3600, InputPath: '$.token', Next: 'Rotate' },
            Rotate: lambdaTask('Rotate', { End: true }),
          },
        },
        { Rotate: (p) => ({ rotated: p }) },
      );
      const arn = await start(h, { token: { id: 't1' }, other: 'dropped by InputPath' });

      await h.clock.advance(6 * DAY);
      expect(h.calls).toHaveLength(0);
      expect((await describe_(arn)).status).toBe('RUNNING');
      await h.clock.advance(DAY);

      expect(h.calls).toHaveLength(1);
      expect(h.calls[0]?.payload).toEqual({ id: 't1' });
      expect((await describe_(arn)).status).toBe('SUCCEEDED');
      const events = await history(arn);
      const entered = events.find((e) => e.type === 'WaitStateEntered');
      const exited = events.find((e) => e.type === 'WaitStateExited');
      expect(entered?.stateEnteredEventDetails?.name).toBe('Wait for rotation');
      const waited = (exited?.timestamp?.getTime() ?? 0) - (entered?.timestamp?.getTime() ?? 0);
      expect(waited).toBeGreaterThanOrEqual(7 * DAY);
      expect(waited).toBeLessThan(7 * DAY + 5000);
    });

    it('waits until a TimestampPath given in the input', async () => {
      const clock = new SimulatedClock();
      const due = new Date(clock.nowMs() + 2 * DAY).toISOString();
      const h = setup(
        {
          StartAt: 'Until',
          States: { Until: { Type: 'Wait', TimestampPath: '$.at', Next: 'Go' }, Go: lambdaTask('Go', { End: true }) },
        },
        { Go: () => 'went' },
        { clock },
      );
      const arn = await start(h, { at: due });
      await h.clock.advance(DAY);
      expect(h.calls).toHaveLength(0);
      await h.clock.advance(DAY + 1000);
      expect(h.calls).toHaveLength(1);
      expect((await describe_(arn)).status).toBe('SUCCEEDED');
    });

    it('enforces the machine-level TimeoutSeconds on the simulated clock', async () => {
      const h = setup(
        {
          StartAt: 'Long wait',
          TimeoutSeconds: 90 * 24 * 3600,
          States: { 'Long wait': { Type: 'Wait', Seconds: 100 * 24 * 3600, End: true } },
        },
        {},
      );
      const arn = await start(h, {});
      await new Promise((r) => setTimeout(r, 20));
      expect((await describe_(arn)).status).toBe('RUNNING');
      await h.clock.advance(90 * DAY);

      const described = await describe_(arn);
      expect(described).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
      expect((await history(arn)).at(-1)).toMatchObject({
        type: 'ExecutionTimedOut',
        executionTimedOutEventDetails: { error: 'States.Timeout' },
      });
    });
  });

  describe('StartExecution', () => {
    it('applies AWS name rules and idempotency', async () => {
      const h = setup(approvalMachine(), { RequestApproval: () => null });
      const first = await client.send(
        new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'req-1', input: '{"requestId":"req-1"}' }),
      );
      expect(first.executionArn).toBe(`arn:aws:states:us-east-1:000000000000:execution:${MACHINE_NAME}:req-1`);
      await h.sfn.idle();
      const again = await client.send(
        new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'req-1', input: '{"requestId":"req-1"}' }),
      );
      expect(again.executionArn).toBe(first.executionArn);
      expect(again.startDate?.getTime()).toBe(first.startDate?.getTime());
      expect(h.calls).toHaveLength(1);

      const otherInput = await errorOf(
        client.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'req-1', input: '{"x":1}' })),
      );
      expect(otherInput.name).toBe('ExecutionAlreadyExists');
      await client.send(new StopExecutionCommand({ executionArn: first.executionArn }));
      const closed = await errorOf(
        client.send(
          new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: 'req-1', input: '{"requestId":"req-1"}' }),
        ),
      );
      expect(closed.name).toBe('ExecutionAlreadyExists');

      for (const bad of ['has space', 'a/b', 'a:b', 'x'.repeat(81), 'tab\there', 'brace{']) {
        const error = await errorOf(
          client.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, name: bad })),
        );
        expect([bad, error.name]).toEqual([bad, 'InvalidName']);
      }
      expect(isValidExecutionName('x'.repeat(80))).toBe(true);
      expect(isValidExecutionName('')).toBe(false);
      expect(isValidExecutionName('01HZX-req_1.ok')).toBe(true);

      const badInput = await errorOf(
        client.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, input: '{' })),
      );
      expect(badInput.name).toBe('InvalidExecutionInput');
      const unknown = await errorOf(
        client.send(new StartExecutionCommand({ stateMachineArn: `${MACHINE_ARN}Missing`, input: '{}' })),
      );
      expect(unknown.name).toBe('StateMachineDoesNotExist');

      const unnamed = await client.send(new StartExecutionCommand({ stateMachineArn: MACHINE_ARN, input: '{}' }));
      expect(unnamed.executionArn?.split(':').pop()).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      await h.sfn.idle();
    });
  });

  describe('StopExecution and listing', () => {
    it('aborts a running execution, closes its task token, and lists by status', async () => {
      const h = setup(approvalMachine(), { RequestApproval: () => null });
      const arn = await start(h, { requestId: 'r1' }, 'to-stop');
      const keep = await start(h, { requestId: 'r2' }, 'keep-running');
      const token = tokenOf(h.callsTo('RequestApproval')[0]);

      const stopped = await client.send(
        new StopExecutionCommand({ executionArn: arn, error: 'Cancelled', cause: 'admin' }),
      );
      expect(stopped.stopDate).toBeInstanceOf(Date);
      await h.sfn.idle();

      expect(await describe_(arn)).toMatchObject({ status: 'ABORTED', error: 'Cancelled', cause: 'admin' });
      expect((await history(arn)).at(-1)).toMatchObject({
        type: 'ExecutionAborted',
        executionAbortedEventDetails: { error: 'Cancelled', cause: 'admin' },
      });
      expect((await errorOf(client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name).toBe(
        'TaskTimedOut',
      );
      expect(h.calls).toHaveLength(2);

      const aborted = await client.send(
        new ListExecutionsCommand({ stateMachineArn: MACHINE_ARN, statusFilter: 'ABORTED' }),
      );
      expect(aborted.executions?.map((e) => e.executionArn)).toEqual([arn]);
      const all = await client.send(new ListExecutionsCommand({ stateMachineArn: MACHINE_ARN, maxResults: 1 }));
      expect(all.executions?.map((e) => e.name)).toEqual(['keep-running']);
      const next = await client.send(
        new ListExecutionsCommand({ stateMachineArn: MACHINE_ARN, maxResults: 1, nextToken: all.nextToken }),
      );
      expect(next.executions?.map((e) => e.name)).toEqual(['to-stop']);
      expect(next.nextToken).toBeUndefined();
      expect((await describe_(keep)).status).toBe('RUNNING');

      const missing = await errorOf(describe_(`${arn}-missing`));
      expect(missing.name).toBe('ExecutionDoesNotExist');
      expect((await errorOf(describe_('not-an-arn'))).name).toBe('InvalidArn');
    });

    it('describes and lists state machines, and names an unsupported operation in its error', async () => {
      setup(approvalMachine(), {});
      const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: MACHINE_ARN }));
      expect(described).toMatchObject({ name: MACHINE_NAME, type: 'STANDARD', status: 'ACTIVE' });
      expect(JSON.parse(described.definition ?? '')).toEqual(approvalMachine());
      const listed = await client.send(new ListStateMachinesCommand({}));
      expect(listed.stateMachines?.map((m) => m.stateMachineArn)).toEqual([MACHINE_ARN]);

      const unsupported = await errorOf(client.send(new CreateActivityCommand({ name: 'a' })));
      expect(unsupported.name).toBe('UnknownOperationException');
      expect(unsupported.message).toContain('CreateActivity');
    });
  });

  describe('GetExecutionHistory', () => {
    it("returns AWS-shaped events in simulated time, with the task token in the task's parameters as AWS shows it", async () => {
      const clock = new SimulatedClock();
      await clock.advance(30 * DAY);
      const h = setup(
        {
          StartAt: 'Request approval',
          States: {
            'Request approval': callbackTask('RequestApproval', { ResultPath: '$.approval', Next: 'Done' }),
            Done: { Type: 'Pass', End: true },
          },
        },
        // A function that echoes its event back: AWS records its answer, token included, in TaskSubmitted.
        { RequestApproval: (p) => ({ echoed: p }) },
        { clock },
      );
      const arn = await start(h, { requestId: 'r1' });
      const token = tokenOf(h.callsTo('RequestApproval')[0]);
      await client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"outcome":"APPROVED"}' }));
      await h.sfn.idle();

      const events = await history(arn);
      expect(events.map((e) => e.type)).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
        'TaskSubmitted',
        'TaskSucceeded',
        'TaskStateExited',
        'PassStateEntered',
        'PassStateExited',
        'ExecutionSucceeded',
      ]);
      expect(events.map((e) => [e.id, e.previousEventId])).toEqual(events.map((_, i) => [i + 1, i]));
      const times = events.map((e) => e.timestamp?.getTime() ?? 0);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times[0]).toBeGreaterThan(Date.now() + 29 * DAY);

      const scheduled = events[2]?.taskScheduledEventDetails;
      expect(scheduled).toMatchObject({
        resourceType: 'lambda',
        resource: 'invoke.waitForTaskToken',
        region: 'us-east-1',
      });
      // The effective parameters, `$$.Task.Token` resolved: what the function received.
      expect(JSON.parse(scheduled?.parameters ?? '')).toEqual({
        FunctionName: fn('RequestApproval'),
        Payload: { taskToken: token, requestId: 'r1', executionId: arn },
      });
      expect(JSON.parse(events[4]?.taskSubmittedEventDetails?.output ?? '')).toEqual({
        StatusCode: 200,
        Payload: { echoed: { taskToken: token, requestId: 'r1', executionId: arn } },
        ExecutedVersion: '$LATEST',
      });
      expect(events[0]?.executionStartedEventDetails?.input).toBe('{"requestId":"r1"}');
      expect(events[1]?.stateEnteredEventDetails).toMatchObject({
        name: 'Request approval',
        input: '{"requestId":"r1"}',
      });
      expect(JSON.parse(events[5]?.taskSucceededEventDetails?.output ?? '')).toEqual({ outcome: 'APPROVED' });
      expect(JSON.stringify(events)).not.toContain('<task token>');

      const reversed = (await client.send(new GetExecutionHistoryCommand({ executionArn: arn, reverseOrder: true })))
        .events;
      expect(reversed?.map((e) => e.id)).toEqual(events.map((e) => e.id).reverse());
      const bare = (
        await client.send(new GetExecutionHistoryCommand({ executionArn: arn, includeExecutionData: false }))
      ).events;
      expect(bare?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
      expect(bare?.[6]?.stateExitedEventDetails).toEqual({ name: 'Request approval' });
      const page = await client.send(new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 4 }));
      expect(page.events).toHaveLength(4);
      const rest = await client.send(
        new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 100, nextToken: page.nextToken }),
      );
      expect(rest.events?.map((e) => e.id)).toEqual([5, 6, 7, 8, 9, 10]);
    });
  });

  describe('persistence', () => {
    it('keeps executions in the file and re-drives a running one under the same ARN with fresh tokens', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tw-sfn-'));
      tempDirs.push(dir);
      const file = join(dir, 'stepfunctions.json');
      const handlers = { RequestApproval: () => ({ emailed: true }), MintToken: () => ({ minted: true }) };

      const before = setup(approvalMachine(), handlers, { file });
      const doneArn = await start(before, { requestId: 'r0' }, 'finished');
      const finishedToken = tokenOf(before.calls[0]);
      await client.send(new SendTaskSuccessCommand({ taskToken: finishedToken, output: '{"outcome":"APPROVED"}' }));
      await before.sfn.idle();
      const runningArn = await start(before, { requestId: 'r9' }, 'r9');
      const oldToken = tokenOf(before.callsTo('RequestApproval')[1]);
      const startedAt = (await describe_(runningArn)).startDate?.getTime();
      await before.sfn.close();
      const saved = readFileSync(file, 'utf8');
      // The file holds the history as GetExecutionHistory shows it, the open task's token in its parameters;
      // the token itself dies with the process (below: TaskTimedOut after the restart).
      expect(saved).toContain(oldToken);
      expect(saved).toContain(runningArn);

      const after = setup(approvalMachine(), handlers, { file });
      expect((await describe_(doneArn)).status).toBe('SUCCEEDED');
      expect((await describe_(runningArn)).status).toBe('RUNNING');
      await after.sfn.resume();
      await after.sfn.idle();

      const redriven = after.callsTo('RequestApproval');
      expect(redriven).toHaveLength(1);
      expect(redriven[0]).toMatchObject({ executionArn: runningArn, payload: { requestId: 'r9' } });
      const newToken = tokenOf(redriven[0]);
      expect(newToken).not.toBe(oldToken);
      expect((await errorOf(client.send(new SendTaskSuccessCommand({ taskToken: oldToken, output: '{}' })))).name).toBe(
        'TaskTimedOut',
      );
      await client.send(new SendTaskSuccessCommand({ taskToken: newToken, output: '{"outcome":"APPROVED"}' }));
      await after.sfn.idle();

      const described = await describe_(runningArn);
      expect(described).toMatchObject({ status: 'SUCCEEDED', redriveCount: 1 });
      expect(described.startDate?.getTime()).toBe(startedAt);
      const types = (await history(runningArn)).map((e) => e.type);
      expect(types.filter((t) => t === 'ExecutionStarted')).toHaveLength(1);
      expect(types.filter((t) => t === 'TaskStateEntered')).toHaveLength(3);
      expect(types.indexOf('ExecutionRedriven')).toBeGreaterThan(types.indexOf('TaskSubmitted'));
      expect(types.at(-1)).toBe('ExecutionSucceeded');
    });
  });

  describe('persistence between writes', () => {
    it('appends each change to the file, so a process killed without closing loses no recorded event', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tw-sfn-'));
      tempDirs.push(dir);
      const file = join(dir, 'stepfunctions.json');
      const handlers = { RequestApproval: () => ({ emailed: true }), MintToken: () => ({ minted: true }) };

      const before = setup(approvalMachine(), handlers, { file });
      const doneArn = await start(before, { requestId: 'r0' }, 'finished');
      await client.send(
        new SendTaskSuccessCommand({ taskToken: tokenOf(before.calls[0]), output: '{"outcome":"APPROVED"}' }),
      );
      await before.sfn.idle();
      const runningArn = await start(before, { requestId: 'r1' }, 'r1');
      await new Promise((r) => setImmediate(r));
      const doneHistory = (await history(doneArn)).map((e) => e.type);
      const runningHistory = (await history(runningArn)).map((e) => e.type);
      // The first change wrote the file whole; every later one was appended as one line per execution.
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(2);

      // A second emulator reads the file while the first never closed (as after SIGKILL).
      const after = setup(approvalMachine(), handlers, { file });
      expect((await describe_(doneArn)).status).toBe('SUCCEEDED');
      expect((await history(doneArn)).map((e) => e.type)).toEqual(doneHistory);
      expect((await describe_(runningArn)).status).toBe('RUNNING');
      expect((await history(runningArn)).map((e) => e.type)).toEqual(runningHistory);
      await after.sfn.close();
      // Closing writes the document alone again.
      expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(1);
    });
  });

  describe('local definition rewrites', () => {
    it('turns Wait into a local Task, moves timeouts and retries out of the engine, and refuses what it cannot run', () => {
      const local = localDefinition({
        StartAt: 'W',
        TimeoutSeconds: 31_536_000,
        States: {
          W: { Type: 'Wait', SecondsPath: '$.s', InputPath: '$.a', OutputPath: '$.b', Next: 'T' },
          T: lambdaTask('F', {
            TimeoutSeconds: 259_200,
            HeartbeatSeconds: 60,
            Parameters: { FunctionName: fn('F'), Payload: { 'at.$': '$$.Execution.StartTime' } },
            End: true,
          }),
        },
      });
      const states = local.definition.States as Record<string, Record<string, unknown>>;
      expect(local.definition.TimeoutSeconds).toBeUndefined();
      expect(local.timeoutSeconds).toBe(31_536_000);
      expect(states.W).toMatchObject({
        Type: 'Task',
        Resource: LOCAL_WAIT_RESOURCE,
        Parameters: { 'input.$': '$', 'seconds.$': '$.s' },
        InputPath: '$.a',
        OutputPath: '$.b',
        Next: 'T',
      });
      expect(states.T?.TimeoutSeconds).toBe(2_147_483);
      expect(states.T?.HeartbeatSeconds).toBeUndefined();
      expect(states.T?.Retry).toEqual([
        { ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: 99_999_999 },
      ]);
      expect(states.T?.Parameters).toEqual({
        FunctionName: fn('F'),
        Payload: { 'at.$': '$$.Execution.SimulatedStartTime' },
      });
      expect(local.handlers.get('T')).toMatchObject({ timeoutSeconds: 259_200, heartbeatSeconds: 60 });
      expect(local.stateTypes.get('W')).toBe('Wait');

      expect(() =>
        localDefinition({
          StartAt: 'S',
          States: { S: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } },
        }),
      ).toThrow(UnsupportedDefinitionError);
      expect(() =>
        localDefinition({ QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }),
      ).toThrow(/JSONata/);
      expect(() =>
        localDefinition({ StartAt: 'P', States: { P: { Type: 'Pass', Assign: { x: 1 }, End: true } } }),
      ).toThrow(/Assign/);
    });
  });
});
