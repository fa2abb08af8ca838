import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  LocalSecretsManager,
  type RotationEvent,
  type RotationFailure,
  type RotationInvoker,
} from '../../local/aws/secrets-manager';
import { commandPath, useMotoServer } from './support/moto';
import {
  type ContractTarget,
  clientFor,
  type KnownDifferences,
  type RotationFixture,
  registerContract,
} from './support/secrets-manager-contract';
import { type CliRun, call, secretsManagerCli, serve, testClock } from './support/secrets-manager-local';
import {
  CANNOT_INVOKE,
  NO_ROTATION_FUNCTION,
  PREVIOUS_ROTATION_PENDING,
  rotationContractCases,
} from './support/secrets-manager-rotation-contract';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:tw-rotation';
const UNINVOKABLE_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:tw-not-allowed';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const TOKEN_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const TOKEN_B = 'bbbbbbbb-0000-4000-8000-000000000002';

/**
 * A rotation function that does what AWS's generic rotation template does, through the SDK against the emulator:
 * each step first checks the token's version is staged `AWSPENDING` (or already `AWSCURRENT`); `createSecret`
 * stores a new value under the token, `testSecret` reads it, `finishSecret` moves `AWSCURRENT` to it.
 */
function templateRotationFunction(endpoint: () => string) {
  let failing: string | undefined;
  let client: SecretsManagerClient | undefined;
  let generation = 0;
  const calls: RotationFixture['calls'] = [];
  const invoke: RotationInvoker = async (_functionArn, event) => {
    client ??= clientFor(endpoint());
    const { SecretId: arn, ClientRequestToken: token, Step: step } = event;
    const described = await client.send(new DescribeSecretCommand({ SecretId: arn }));
    const stages = described.VersionIdsToStages?.[token];
    const value = await client.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token })).then(
      (got) => got.SecretString,
      (error: Error) => {
        if (error.name !== 'ResourceNotFoundException') throw error;
        return undefined;
      },
    );
    calls.push({ event: { ...event }, stages: stages ? [...stages] : undefined, value });
    if (step === failing) throw new Error(`${step} failed on purpose`);
    if (!described.RotationEnabled) throw new Error(`rotation is not enabled for ${arn}`);
    if (!stages) throw new Error(`version ${token} has no stage for rotation`);
    if (stages.includes('AWSCURRENT')) return;
    if (!stages.includes('AWSPENDING')) throw new Error(`version ${token} is not AWSPENDING`);
    switch (step) {
      case 'createSecret':
        if (value === undefined) {
          generation += 1;
          await client.send(
            new PutSecretValueCommand({
              SecretId: arn,
              ClientRequestToken: token,
              SecretString: `rotated-${generation}`,
              VersionStages: ['AWSPENDING'],
            }),
          );
        }
        return;
      case 'setSecret':
        return;
      case 'testSecret':
        if (value === undefined) throw new Error('the AWSPENDING version has no value to test');
        return;
      case 'finishSecret': {
        const current = Object.entries(described.VersionIdsToStages ?? {}).find(([, s]) => s.includes('AWSCURRENT'));
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: arn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: token,
            RemoveFromVersionId: current?.[0],
          }),
        );
      }
    }
  };
  return {
    invoke,
    calls,
    failAt(step?: string) {
      failing = step;
    },
    destroy() {
      client?.destroy();
    },
  };
}

describe('LocalSecretsManager rotation contract (through the AWS SDK v3 client)', () => {
  const clock = testClock();
  let server: { endpoint: string; close(): Promise<void> } | undefined;
  const rotationFunction = templateRotationFunction(() => server?.endpoint ?? '');
  const service = new LocalSecretsManager({
    now: clock.now,
    invokeRotation: rotationFunction.invoke,
    canInvokeRotation: (arn) => arn === FUNCTION_ARN,
    // The contract checks what the failures leave behind; the emulator's report of them is tested below.
    onRotationFailure: () => undefined,
  });

  beforeAll(async () => {
    server = await serve(() => service);
  });
  afterAll(async () => {
    rotationFunction.destroy();
    await server?.close();
  });

  const fixture: RotationFixture = {
    functionArn: FUNCTION_ARN,
    uninvokableArn: UNINVOKABLE_ARN,
    calls: rotationFunction.calls,
    failAt: rotationFunction.failAt,
    settled: () => service.rotationsSettled(),
  };
  const target = (): ContractTarget => ({ endpoint: server?.endpoint ?? '', rotation: fixture });
  registerContract(target, { capabilities: ['rotation-function'], cases: rotationContractCases() });
});

const motoServer = commandPath('moto_server');
if (motoServer) {
  /**
   * moto 5.2 departs from AWS's documented behaviour in these cases (each is probed to still differ). The
   * emulator keeps AWS's behaviour; the reasons say what moto does instead.
   */
  const motoDifferences: KnownDifferences = {
    'rotate-without-function':
      'moto rotates a secret without a rotation function by moving AWSCURRENT to a new, empty version',
    'rotate-uninvokable-function':
      'moto answers ResourceNotFoundException ("Resource not found for ARN"), after recording the configuration and an AWSPENDING version',
    'rotate-rules-validation':
      'moto answers InvalidParameterException for AutomaticallyAfterDays out of range, and accepts a malformed Duration and a short token',
    'rotate-both-schedules': 'moto ignores ScheduleExpression, so the pair is not refused',
    'rotate-deleted':
      'moto words the error "An error occurred (InvalidRequestException) when calling the RotateSecret operation: You tried to perform the operation on a secret that\'s currently marked deleted."',
  };
  const cases = rotationContractCases();
  const needFunction = cases.filter((c) => c.needs?.includes('rotation-function')).map((c) => c.id);

  describe('moto_server (reference implementation, same rotation contract)', () => {
    const endpoint = useMotoServer(motoServer);

    registerContract(() => ({ endpoint: endpoint() }), { differs: motoDifferences, capabilities: [], cases });

    // moto invokes only functions it hosts (running them in Docker): without one, these cases run on the
    // emulator alone. The probe fails once moto stops refusing a function it does not have.
    it(`cannot run ${needFunction.join(', ')}: moto invokes only a Lambda function it hosts`, async () => {
      const client = clientFor(endpoint());
      try {
        const name = `tw-moto-rotation-${Date.now()}`;
        await client.send(new CreateSecretCommand({ Name: name, SecretString: 'v' }));
        const refused = await client
          .send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: FUNCTION_ARN }))
          .catch((error: Error) => error);
        expect(refused).toBeInstanceOf(Error);
        expect((refused as Error).name).toBe('ResourceNotFoundException');
        expect((refused as Error).message).toBe(`Resource not found for ARN '${FUNCTION_ARN}'.`);
      } finally {
        client.destroy();
      }
    });
  });
}

const awsCli = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : commandPath('aws');
if (awsCli) {
  describe('AWS CLI rotate-secret against LocalSecretsManager', () => {
    const home = mkdtempSync(join(tmpdir(), 'tw-aws-cli-rotation-'));
    let server: { endpoint: string; close(): Promise<void> } | undefined;
    const rotationFunction = templateRotationFunction(() => server?.endpoint ?? '');
    const service = new LocalSecretsManager({
      now: () => new Date(),
      invokeRotation: rotationFunction.invoke,
      canInvokeRotation: (arn) => arn === FUNCTION_ARN,
      onRotationFailure: () => undefined,
    });

    beforeAll(async () => {
      server = await serve(() => service);
    });
    afterAll(async () => {
      rotationFunction.destroy();
      await server?.close();
      rmSync(home, { recursive: true, force: true });
    });

    const aws = secretsManagerCli(awsCli, home, () => server?.endpoint ?? '');
    const json = (out: CliRun) => {
      expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(out.stdout) as Record<string, unknown>;
    };

    it('rotates with the four steps, shows the rotation in describe-secret, and refuses a second one while pending', async () => {
      // Prepare
      const name = 'token-warden.jenkins-bot.ci';
      json(await aws('create-secret', '--name', name, '--secret-string', 'tok-1'));
      // Act
      const rotated = json(
        await aws(
          'rotate-secret',
          '--secret-id',
          name,
          '--rotation-lambda-arn',
          FUNCTION_ARN,
          '--rotation-rules',
          'AutomaticallyAfterDays=30',
        ),
      );
      await service.rotationsSettled();
      const described = json(await aws('describe-secret', '--secret-id', name));
      rotationFunction.failAt('testSecret');
      json(await aws('rotate-secret', '--secret-id', name));
      await service.rotationsSettled();
      rotationFunction.failAt();
      const refused = await aws('rotate-secret', '--secret-id', name);
      // Assess
      expect(rotationFunction.calls.slice(0, 4).map((c) => c.event.Step)).toEqual(STEPS);
      expect(described).toMatchObject({
        RotationEnabled: true,
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
      });
      expect((described.VersionIdsToStages as Record<string, string[]>)[rotated.VersionId as string]).toEqual(
        expect.arrayContaining(['AWSCURRENT']),
      );
      // CLI v1 prints timestamps as epoch seconds, v2 as ISO strings.
      expect(['number', 'string']).toContain(typeof described.LastRotatedDate);
      expect(['number', 'string']).toContain(typeof described.NextRotationDate);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('InvalidRequestException');
      expect(refused.stderr).toContain(PREVIOUS_ROTATION_PENDING);
    }, 120_000);
  });
}

/** A rotation function whose steps each wait for `release()` once `hold(step)` asked them to. */
function recordingFunction() {
  const calls: RotationEvent[] = [];
  const held = new Map<string, () => void>();
  const holding = new Set<string>();
  let failing: string | undefined;
  const invoke: RotationInvoker = async (_arn, event) => {
    calls.push(event);
    if (holding.has(event.Step)) await new Promise<void>((resolve) => held.set(event.Step, resolve));
    if (event.Step === failing) throw new Error(`${event.Step} failed on purpose`);
  };
  return {
    invoke,
    calls,
    hold: (step: string) => holding.add(step),
    release: (step: string) => {
      holding.delete(step);
      held.get(step)?.();
    },
    failAt: (step: string | undefined) => {
      failing = step;
    },
    /** Resolves once `step` has been invoked and is waiting. */
    reached: async (step: string) => {
      for (let i = 0; i < 200 && !held.has(step); i++) await new Promise((r) => setTimeout(r, 5));
      expect(held.has(step)).toBe(true);
    },
  };
}

describe('LocalSecretsManager rotation', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A service whose rotation function only records its steps, at a fixed simulated time. */
  function setup(options: { at?: string; file?: string } = {}) {
    let now = Date.parse(options.at ?? '2030-01-01T10:00:00Z');
    const fn = recordingFunction();
    const failures: RotationFailure[] = [];
    const service = new LocalSecretsManager({
      now: () => new Date(now),
      file: options.file,
      invokeRotation: fn.invoke,
      onRotationFailure: (failure) => failures.push(failure),
    });
    return {
      service,
      fn,
      failures,
      setTime: (iso: string) => {
        now = Date.parse(iso);
      },
    };
  }

  it('invokes the first step only after RotateSecret has answered', async () => {
    // Prepare
    const { service, fn } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    const answer = await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    const invokedBeforeAnswer = fn.calls.length;
    await service.rotationsSettled();
    // Assess
    expect(answer.status).toBe(200);
    expect(invokedBeforeAnswer).toBe(0);
    expect(fn.calls.map((c) => c.Step)).toEqual(STEPS);
  });

  it('refuses every function with AccessDeniedException when no invoker is configured', async () => {
    // Prepare
    const service = new LocalSecretsManager({ now: () => new Date() });
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    const refused = await call(service, 'RotateSecret', {
      SecretId: 's',
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    // Assess
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ __type: 'AccessDeniedException', message: CANNOT_INVOKE });
    const described = await call(service, 'DescribeSecret', { SecretId: 's' });
    expect(described.json.RotationEnabled).toBeUndefined();
    expect(Object.keys(described.json.VersionIdsToStages as object)).toHaveLength(1);
  });

  it('answers InvalidRequestException naming the missing function before it checks the invoker', async () => {
    // Prepare
    const service = new LocalSecretsManager({ now: () => new Date() });
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    const refused = await call(service, 'RotateSecret', { SecretId: 's' });
    // Assess
    expect(refused.json).toMatchObject({ __type: 'InvalidRequestException', message: NO_ROTATION_FUNCTION });
  });

  it('hands each rotation to track, so the simulated clock can wait for its steps', async () => {
    // Prepare
    const fn = recordingFunction();
    const tracked: Promise<unknown>[] = [];
    const service = new LocalSecretsManager({
      now: () => new Date(),
      invokeRotation: fn.invoke,
      // The recording function moves no label, so finishSecret is reported as incomplete: not what this tests.
      onRotationFailure: () => undefined,
      track: (work) => {
        tracked.push(work);
        return work;
      },
    });
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    fn.hold('testSecret');
    // Act
    await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    // Assess: registered as soon as RotateSecret answered, settled only after the last step.
    expect(tracked).toHaveLength(1);
    let settled = false;
    void tracked[0]?.then(() => {
      settled = true;
    });
    await fn.reached('testSecret');
    expect(settled).toBe(false);
    fn.release('testSecret');
    await tracked[0];
    expect(fn.calls.map((c) => c.Step)).toEqual(STEPS);
  });

  it('gives every step of one rotation the same RotationToken, and the next rotation another', async () => {
    // Prepare
    const { service, fn } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    const rotate = async (token: string) => {
      await call(service, 'RotateSecret', {
        SecretId: 's',
        ClientRequestToken: token,
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: { AutomaticallyAfterDays: 7 },
      });
      await service.rotationsSettled();
    };
    // Act: the recording function moves no label, so the first rotation stays pending; retry it with its token.
    await rotate(TOKEN_A);
    await rotate(TOKEN_A);
    // Assess
    const tokens = fn.calls.map((c) => c.RotationToken);
    expect(tokens).toHaveLength(8);
    expect(new Set(tokens.slice(0, 4)).size).toBe(1);
    expect(new Set(tokens.slice(4)).size).toBe(1);
    expect(tokens[0]).not.toBe(tokens[4]);
    expect(tokens[0]?.length).toBeGreaterThanOrEqual(36);
  });

  it('reports a finishSecret that left AWSCURRENT in place: the rotation stays pending, without LastRotatedDate', async () => {
    // Prepare
    const { service, failures } = setup();
    const created = await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await service.rotationsSettled();
    // Assess
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ step: 'finishSecret', clientRequestToken: TOKEN_A, functionArn: FUNCTION_ARN });
    expect(String(failures[0]?.error)).toContain(`version ${TOKEN_A} is not AWSCURRENT`);
    const described = await call(service, 'DescribeSecret', { SecretId: 's' });
    expect(described.json.LastRotatedDate).toBeUndefined();
    expect(described.json.VersionIdsToStages).toEqual({
      [created.json.VersionId as string]: ['AWSCURRENT'],
      [TOKEN_A]: ['AWSPENDING'],
    });
    const refused = await call(service, 'RotateSecret', { SecretId: 's', ClientRequestToken: TOKEN_B });
    expect(refused.json).toMatchObject({ __type: 'InvalidRequestException', message: PREVIOUS_ROTATION_PENDING });
  });

  it('reports the failed step with the secret, the function and the token, and invokes no later step', async () => {
    // Prepare
    const { service, fn, failures } = setup();
    const created = await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    fn.failAt('createSecret');
    // Act
    await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await service.rotationsSettled();
    // Assess
    expect(fn.calls.map((c) => c.Step)).toEqual(['createSecret']);
    expect(failures).toEqual([
      {
        secretArn: created.json.ARN,
        functionArn: FUNCTION_ARN,
        step: 'createSecret',
        clientRequestToken: TOKEN_A,
        error: new Error('createSecret failed on purpose'),
      },
    ]);
  });

  it('answers a repeated RotateSecret during its rotation without starting the steps twice', async () => {
    // Prepare
    const { service, fn } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    fn.hold('setSecret');
    const request = {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    };
    const first = await call(service, 'RotateSecret', request);
    await fn.reached('setSecret');
    // Act
    const again = await call(service, 'RotateSecret', request);
    fn.release('setSecret');
    await service.rotationsSettled();
    // Assess
    expect(again).toEqual(first);
    expect(fn.calls.map((c) => c.Step)).toEqual(STEPS);
  });

  it('stops a rotation in progress at CancelRotateSecret: no later step is invoked, the labels stay', async () => {
    // Prepare
    const { service, fn } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    fn.hold('setSecret');
    await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await fn.reached('setSecret');
    // Act
    const cancelled = await call(service, 'CancelRotateSecret', { SecretId: 's' });
    fn.release('setSecret');
    await service.rotationsSettled();
    // Assess
    expect(cancelled.json.VersionId).toBe(TOKEN_A);
    expect(fn.calls.map((c) => c.Step)).toEqual(['createSecret', 'setSecret']);
    const described = await call(service, 'DescribeSecret', { SecretId: 's' });
    expect(described.json.RotationEnabled).toBe(false);
    expect((described.json.VersionIdsToStages as Record<string, string[]>)[TOKEN_A]).toEqual(['AWSPENDING']);
  });

  it('words CancelRotateSecret on a secret never configured for rotation as the reference describes the cause', async () => {
    // Prepare
    const { service } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    const refused = await call(service, 'CancelRotateSecret', { SecretId: 's' });
    // Assess
    expect(refused.json).toMatchObject({
      __type: 'InvalidRequestException',
      message:
        "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.",
    });
  });

  it("cannot read the AWSPENDING version's value before createSecret stored it, by id or by label", async () => {
    // Prepare
    const { service, fn } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    fn.failAt('createSecret');
    await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await service.rotationsSettled();
    // Act
    const byId = await call(service, 'GetSecretValue', { SecretId: 's', VersionId: TOKEN_A });
    const byStage = await call(service, 'GetSecretValue', { SecretId: 's', VersionStage: 'AWSPENDING' });
    const stored = await call(service, 'PutSecretValue', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      SecretString: 'next',
      VersionStages: ['AWSPENDING'],
    });
    // Assess
    expect(byId.json).toMatchObject({
      __type: 'ResourceNotFoundException',
      message: `Secrets Manager can't find the specified secret value for VersionId: ${TOKEN_A}`,
    });
    expect(byStage.json).toMatchObject({
      __type: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
    });
    // The createSecret step's PutSecretValue under the token fills that version in.
    expect(stored.json).toMatchObject({ VersionId: TOKEN_A, VersionStages: ['AWSPENDING'] });
    const pending = await call(service, 'GetSecretValue', { SecretId: 's', VersionStage: 'AWSPENDING' });
    expect(pending.json).toMatchObject({ VersionId: TOKEN_A, SecretString: 'next' });
  });

  it('generates a UUID version id for a RotateSecret without a ClientRequestToken (raw HTTP callers)', async () => {
    // Prepare
    const { service, fn } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    const answer = await call(service, 'RotateSecret', {
      SecretId: 's',
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await service.rotationsSettled();
    // Assess
    expect(answer.json.VersionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(fn.calls[0]?.ClientRequestToken).toBe(answer.json.VersionId);
  });

  it('leaves rotation off for a function configured without a schedule (moto does the same)', async () => {
    // Prepare
    const { service } = setup();
    await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    // Act
    await call(service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
    });
    await service.rotationsSettled();
    // Assess
    const described = await call(service, 'DescribeSecret', { SecretId: 's' });
    expect(described.json).toMatchObject({ RotationEnabled: false, RotationLambdaARN: FUNCTION_ARN });
    expect(described.json.RotationRules).toBeUndefined();
    expect(described.json.NextRotationDate).toBeUndefined();
  });

  describe('NextRotationDate', () => {
    /** Configures rotation without rotating (only testSecret runs) and reads NextRotationDate back. */
    async function nextRotation(rules: Record<string, unknown>, at = '2030-01-01T10:00:00Z') {
      const { service, fn, setTime } = setup({ at });
      await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
      const configured = await call(service, 'RotateSecret', {
        SecretId: 's',
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: rules,
        RotateImmediately: false,
      });
      expect(configured.status).toBe(200);
      await service.rotationsSettled();
      expect(fn.calls.map((c) => c.Step)).toEqual(['testSecret']);
      const read = async () => {
        const described = await call(service, 'DescribeSecret', { SecretId: 's' });
        return new Date((described.json.NextRotationDate as number) * 1000).toISOString();
      };
      return { service, read, setTime };
    }

    it('is the last second of the UTC day AutomaticallyAfterDays after rotation was configured', async () => {
      // Act
      const { read } = await nextRotation({ AutomaticallyAfterDays: 7 });
      // Assess
      expect(await read()).toBe('2030-01-08T23:59:59.000Z');
    });

    it('counts a PutSecretValue that made a new version AWSCURRENT as a rotation', async () => {
      // Prepare
      const { service, read, setTime } = await nextRotation({ AutomaticallyAfterDays: 7 });
      setTime('2030-01-03T05:00:00Z');
      // Act
      await call(service, 'PutSecretValue', { SecretId: 's', SecretString: 'by-hand' });
      // Assess
      expect(await read()).toBe('2030-01-10T23:59:59.000Z');
    });

    it('closes the window after Duration for a rate in days', async () => {
      // Act
      const { read } = await nextRotation({ ScheduleExpression: 'rate(10 days)', Duration: '3h' });
      // Assess
      expect(await read()).toBe('2030-01-11T02:59:59.000Z');
    });

    it('starts windows of a rate in hours at midnight, every n hours, an hour long', async () => {
      // Act
      const { read } = await nextRotation({ ScheduleExpression: 'rate(4 hours)' });
      // Assess
      expect(await read()).toBe('2030-01-01T12:59:59.000Z');
    });

    it('ends a daily cron window at the end of the UTC day, or after Duration', async () => {
      // Act
      const daily = await nextRotation({ ScheduleExpression: 'cron(0 16 1,15 * ? *)' });
      const short = await nextRotation({ ScheduleExpression: 'cron(0 16 1,15 * ? *)', Duration: '2h' });
      const late = await nextRotation({ ScheduleExpression: 'cron(0 16 1,15 * ? *)' }, '2030-01-01T17:00:00Z');
      // Assess
      expect(await daily.read()).toBe('2030-01-01T23:59:59.000Z');
      expect(await short.read()).toBe('2030-01-01T17:59:59.000Z');
      expect(await late.read()).toBe('2030-01-15T23:59:59.000Z');
    });

    it('refuses schedules the reference rules out with InvalidParameterException', async () => {
      // Prepare
      const { service } = setup();
      await call(service, 'CreateSecret', { Name: 's', SecretString: 'v' });
      const rotate = (rules: Record<string, unknown>) =>
        call(service, 'RotateSecret', { SecretId: 's', RotationLambdaARN: FUNCTION_ARN, RotationRules: rules });
      // Act
      const answers = [
        await rotate({ ScheduleExpression: 'rate(2 hours)' }),
        await rotate({ ScheduleExpression: 'every day' }),
        await rotate({ ScheduleExpression: 'cron(0 16 * * * *)' }),
        await rotate({ AutomaticallyAfterDays: 7, Duration: '25h' }),
        await rotate({ ScheduleExpression: 'rate(4 hours)', Duration: '5h' }),
      ];
      // Assess
      expect(answers.map((a) => [a.json.__type, a.json.message])).toEqual([
        [
          'InvalidParameterException',
          'The schedule expression rate(2 hours) is not valid: Secrets Manager rotates a secret at most every four hours.',
        ],
        [
          'InvalidParameterException',
          'The schedule expression every day is not valid: expected rate(n hours), rate(n days) or cron(...).',
        ],
        [
          'InvalidParameterException',
          'The schedule expression cron(0 16 * * * *) is not valid: exactly one of day-of-month and day-of-week must be ?.',
        ],
        [
          'InvalidParameterException',
          'The rotation window 25h must be between 1h and 24h: it must not extend into the next UTC day.',
        ],
        [
          'InvalidParameterException',
          'The schedule expression rate(4 hours) is not valid: the rotation window must not extend into the next rotation window.',
        ],
      ]);
      const described = await call(service, 'DescribeSecret', { SecretId: 's' });
      expect(described.json.RotationEnabled).toBeUndefined();
    });
  });

  it('keeps the rotation configuration and LastRotatedDate in its file', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'tw-secrets-rotation-'));
    dirs.push(dir);
    const file = join(dir, 'secrets.json');
    const first = setup({ file });
    const created = await call(first.service, 'CreateSecret', { Name: 's', SecretString: 'v' });
    await call(first.service, 'RotateSecret', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
    });
    await first.service.rotationsSettled();
    // The recording function moves no label (that first rotation stops at finishSecret): do the steps' work by
    // hand during a retry of it with its token.
    first.failures.length = 0;
    await call(first.service, 'PutSecretValue', {
      SecretId: 's',
      ClientRequestToken: TOKEN_A,
      SecretString: 'next',
      VersionStages: ['AWSPENDING'],
    });
    first.fn.hold('finishSecret');
    await call(first.service, 'RotateSecret', { SecretId: 's', ClientRequestToken: TOKEN_A });
    await first.fn.reached('finishSecret');
    await call(first.service, 'UpdateSecretVersionStage', {
      SecretId: 's',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN_A,
      RemoveFromVersionId: created.json.VersionId,
    });
    first.fn.release('finishSecret');
    await first.service.rotationsSettled();
    // Act
    const reloaded = setup({ file });
    const described = await call(reloaded.service, 'DescribeSecret', { SecretId: 's' });
    // Assess
    expect(first.failures).toEqual([]);
    expect(described.json).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 7 },
      LastRotatedDate: Date.parse('2030-01-01T10:00:00Z') / 1000,
      NextRotationDate: Date.parse('2030-01-08T23:59:59Z') / 1000,
    });
  });
});
