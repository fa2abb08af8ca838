import { join } from 'node:path';
import {
  type InvocationRecord,
  LambdaInvocationError,
  LambdaRunner,
  type LambdaRunnerOptions,
  type LocalFunction,
} from '../../local/lambda-runner';

const fixtures = join(__dirname, 'fixtures', 'local-lambda');
const assetA = join(fixtures, 'asset-a');
const assetB = join(fixtures, 'asset-b');

function fn(name: string, handler: string, overrides: Partial<LocalFunction> = {}): LocalFunction {
  return {
    logicalId: `${name}Logical`,
    functionName: name,
    assetDir: assetA,
    handler,
    env: {},
    timeoutSeconds: 5,
    memoryMb: 256,
    ...overrides,
  };
}

function makeRunner(functions: LocalFunction[], extra: Partial<LambdaRunnerOptions> = {}): LambdaRunner {
  return new LambdaRunner({ functions, clockOffsetMs: () => 0, onLog: () => {}, ...extra });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the invocation to fail');
}

describe('LambdaRunner', () => {
  const runners: LambdaRunner[] = [];
  const track = (runner: LambdaRunner) => {
    runners.push(runner);
    return runner;
  };

  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
  });

  it('gives each function exactly its own environment plus the runtime variables', async () => {
    // Prepare
    const runner = track(
      makeRunner(
        [
          fn('fn-a', 'index.env', { env: { TABLE_NAME: 'records-a', ONLY_A: 'yes' }, memoryMb: 512 }),
          fn('fn-b', 'index.handler', { assetDir: assetB, env: { TABLE_NAME: 'records-b', AWS_REGION: 'eu-west-1' } }),
        ],
        { awsEndpointUrl: 'http://127.0.0.1:4566' },
      ),
    );
    process.env.TW_MAIN_THREAD_ONLY = 'leak?';

    // Act
    const a = (await runner.invoke('fn-a', {})) as { env: Record<string, string>; greeting: string };
    const b = (await runner.invoke('fn-b', {})) as { env: Record<string, string> };
    delete process.env.TW_MAIN_THREAD_ONLY;

    // Assess
    expect(a.greeting).toBe('hello from asset-a');
    expect(a.env).toMatchObject({
      TABLE_NAME: 'records-a',
      ONLY_A: 'yes',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: expect.stringMatching(/^LOCALSANDBOX\d{8}$/),
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      LAMBDA_TASK_ROOT: assetA,
      AWS_LAMBDA_FUNCTION_NAME: 'fn-a',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    });
    expect(a.env.TW_MAIN_THREAD_ONLY).toBeUndefined();
    expect(a.env.PATH).toBeUndefined();
    expect(Object.keys(a.env).sort()).toEqual(
      [
        'TABLE_NAME',
        'ONLY_A',
        'AWS_REGION',
        'AWS_DEFAULT_REGION',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_ENDPOINT_URL',
        'LAMBDA_TASK_ROOT',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        'AWS_LAMBDA_LOG_STREAM_NAME',
        'AWS_EXECUTION_ENV',
        'AWS_LAMBDA_INITIALIZATION_TYPE',
        '_HANDLER',
      ].sort(),
    );
    expect(b.env).toMatchObject({
      TABLE_NAME: 'records-b',
      LAMBDA_TASK_ROOT: assetB,
      AWS_LAMBDA_FUNCTION_NAME: 'fn-b',
    });
    // A reserved variable in the template does not override the runtime's.
    expect(b.env.AWS_REGION).toBe('us-east-1');
    expect(b.env.ONLY_A).toBeUndefined();
  });

  it('runs the handler on the simulated clock read at each invocation, leaving other Date behaviour intact', async () => {
    // Prepare
    let offset = 3 * 86_400_000;
    const runner = track(makeRunner([fn('clock', 'index.now')], { clockOffsetMs: () => offset }));

    // Act
    const before = Date.now();
    const first = (await runner.invoke('clock', {})) as Record<string, unknown>;
    offset = 10 * 86_400_000;
    const second = (await runner.invoke('clock', {})) as Record<string, unknown>;
    const after = Date.now();

    // Assess
    expect(first.now).toBeGreaterThanOrEqual(before + 3 * 86_400_000);
    expect(first.now).toBeLessThanOrEqual(after + 3 * 86_400_000);
    expect(Date.parse(first.constructed as string)).toBeGreaterThanOrEqual(before + 3 * 86_400_000);
    expect(Date.parse(first.called as string)).toBeGreaterThanOrEqual(
      Math.floor((before + 3 * 86_400_000) / 1000) * 1000,
    );
    expect(second.now).toBeGreaterThanOrEqual(before + 10 * 86_400_000);
    expect(first).toMatchObject({
      fromArgs: '1970-01-01T00:00:00.000Z',
      parsed: 1_577_836_800_000,
      utc: 1_577_836_800_000,
      instanceOf: true,
      statInstanceOf: true,
    });
    // The main thread keeps wall time.
    expect(Math.abs(Date.now() - after)).toBeLessThan(5_000);
  });

  it("rejects with the handler error's name and message, without a stack from the sandbox", async () => {
    // Prepare
    const runner = track(makeRunner([fn('fails', 'index.fail'), fn('fails-string', 'index.failString')]));

    // Act
    const error = await rejection(runner.invoke('fails', {}));
    const stringError = await rejection(runner.invoke('fails-string', {}));

    // Assess
    expect(error).toBeInstanceOf(LambdaInvocationError);
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe('name is invalid');
    expect(error.stack).toBe('ValidationError: name is invalid');
    expect(stringError.name).toBe('string');
    expect(stringError.message).toBe('plain string');
  });

  it('times out with Sandbox.Timedout and recycles the sandbox', async () => {
    // Prepare
    const records: InvocationRecord[] = [];
    const runner = track(
      makeRunner([fn('slow', 'index.sleep', { timeoutSeconds: 1 })], {
        onInvoke: (record) => records.push(record),
        maxConcurrency: 1,
      }),
    );

    // Act
    const started = Date.now();
    const error = await rejection(runner.invoke('slow', { ms: 10_000 }, { executionId: 'exec-1' }));
    const elapsed = Date.now() - started;
    const fast = await runner.invoke('slow', { ms: 1 });

    // Assess
    expect(error.name).toBe('Sandbox.Timedout');
    expect(error.message).toMatch(/Task timed out after 1\.00 seconds$/);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(5_000);
    expect(fast).toBe('slept');
    expect(records[0]).toMatchObject({
      functionName: 'slow',
      memoryMb: 256,
      error: 'Sandbox.Timedout',
      executionId: 'exec-1',
    });
    expect(records[1]).toMatchObject({ functionName: 'slow' });
    expect(records[1]?.error).toBeUndefined();
  });

  it('keeps a sandbox warm between invocations', async () => {
    // Prepare
    const runner = track(makeRunner([fn('counter', 'index.count')], { maxConcurrency: 1 }));

    // Act
    const counts = [
      await runner.invoke('counter', {}),
      await runner.invoke('counter', {}),
      await runner.invoke('counter', {}),
    ];

    // Assess
    expect(counts).toEqual([1, 2, 3]);
  });

  it('serialises invocations per sandbox and queues beyond maxConcurrency', async () => {
    // Prepare
    const runner = track(makeRunner([fn('sleepy', 'index.sleep')], { maxConcurrency: 2 }));

    // Act
    const started = Date.now();
    const results = await Promise.all([1, 2, 3, 4].map(() => runner.invoke('sleepy', { ms: 300 })));
    const elapsed = Date.now() - started;

    // Assess: four 300 ms invocations on two sandboxes take two rounds.
    expect(results).toEqual(['slept', 'slept', 'slept', 'slept']);
    expect(elapsed).toBeGreaterThanOrEqual(580);
  });

  it('hands every output line to onLog before the invocation resolves', async () => {
    // Prepare
    const lines: Array<[string, string]> = [];
    const runner = track(makeRunner([fn('logger', 'index.log')], { onLog: (name, line) => lines.push([name, line]) }));

    // Act
    const result = await runner.invoke('logger', {});

    // Assess
    expect(result).toBe('logged');
    const texts = lines.map(([, line]) => line);
    expect(lines.every(([name]) => name === 'logger')).toBe(true);
    expect(texts).toContain('{"level":"INFO","message":"powertools-like"}');
    expect(texts).toContain('to stderr');
    expect(texts).toContain('unterminated');
    const consoleLine = texts.find((line) => line.includes('console line'));
    expect(consoleLine).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tINFO\tconsole line \{ n: 1 \}$/);
    expect(texts.some((line) => line.includes('\u0000'))).toBe(false);
  });

  it('passes a Lambda-like context object', async () => {
    // Prepare
    const runner = track(makeRunner([fn('ctx', 'index.context', { timeoutSeconds: 7, memoryMb: 1024 })]));

    // Act
    const context = (await runner.invoke('ctx', {})) as Record<string, unknown>;

    // Assess
    expect(context).toMatchObject({
      functionName: 'ctx',
      memoryLimitInMB: '1024',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ctx',
      logGroupName: '/aws/lambda/ctx',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.remaining).toBeGreaterThan(6_000);
    expect(context.remaining).toBeLessThanOrEqual(7_000);
  });

  it('round-trips events and results through JSON, and accepts the logical id or an ARN as the name', async () => {
    // Prepare
    const runner = track(makeRunner([fn('echo', 'index.echo'), fn('cb', 'index.callback')]));

    // Act
    const byName = await runner.invoke('echo', { when: new Date(0), skip: undefined, n: 1 });
    const byLogicalId = await runner.invoke('echoLogical', 'text');
    const byArn = await runner.invoke('arn:aws:lambda:us-east-1:000000000000:function:echo', null);
    const callback = await runner.invoke('cb', { n: 21 });

    // Assess
    expect(byName).toEqual({ when: '1970-01-01T00:00:00.000Z', n: 1 });
    expect(byLogicalId).toBe('text');
    expect(byArn).toBeNull();
    expect(callback).toEqual({ doubled: 42 });
  });

  it('loads ES module bundles', async () => {
    // Prepare
    const runner = track(makeRunner([fn('esm', 'index.handler', { assetDir: join(fixtures, 'asset-esm') })]));

    // Act
    const result = await runner.invoke('esm', { a: 1 });

    // Assess
    expect(result).toEqual({ format: 'esm', input: { a: 1 } });
  });

  it("reports Lambda's runtime errors for a missing module, a missing export and an unknown function", async () => {
    // Prepare
    const runner = track(makeRunner([fn('no-module', 'missing.handler'), fn('no-export', 'index.nothing')]));

    // Act
    const noModule = await rejection(runner.invoke('no-module', {}));
    const noExport = await rejection(runner.invoke('no-export', {}));
    const unknown = await rejection(runner.invoke('nope', {}));

    // Assess
    expect([noModule.name, noModule.message]).toEqual([
      'Runtime.ImportModuleError',
      "Error: Cannot find module 'missing'",
    ]);
    expect([noExport.name, noExport.message]).toEqual([
      'Runtime.HandlerNotFound',
      'index.nothing is undefined or not exported',
    ]);
    expect(unknown.name).toBe('ResourceNotFoundException');
  });

  it('rejects and recycles the sandbox when the handler crashes it', async () => {
    // Prepare
    const runner = track(
      makeRunner([fn('exit', 'index.exit'), fn('uncaught', 'index.uncaught')], {
        maxConcurrency: 1,
      }),
    );

    // Act
    const exited = await rejection(runner.invoke('exit', { exit: true }));
    const afterExit = await runner.invoke('exit', { exit: false });
    const uncaught = await rejection(runner.invoke('uncaught', {}));

    // Assess
    expect(exited.name).toBe('Runtime.ExitError');
    expect(exited.message).toMatch(/Runtime exited with error: exit status 3$/);
    expect([uncaught.name, uncaught.message]).toEqual(['RangeError', 'thrown from a timer']);
    expect(afterExit).toBe('alive');
  });
});
