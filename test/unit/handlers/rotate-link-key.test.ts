/**
 * The link-signing key's rotation function as deployed: Secrets Manager's emulator (reached by the SDK through
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`) invokes the handler for each step of `RotateSecret`.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, type RotationEvent, type RotationFailure } from '../../../local/aws/secrets-manager';
import { lambdaContext } from '../../support/events';
import { serve } from '../support/secrets-manager-local';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:token-warden-rotate-link-key';
const NAME = 'token-warden/link-signing-key';
const FIRST_KEY = 'Q'.repeat(64);

type Handler = (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
let handler: Handler;
const failures: RotationFailure[] = [];
const service = new LocalSecretsManager({
  now: () => new Date(),
  invokeRotation: async (_arn, event: RotationEvent) => {
    await handler(event, lambdaContext);
  },
  onRotationFailure: (failure) => failures.push(failure),
});
let server: { endpoint: string; close(): Promise<void> } | undefined;
let sm: SecretsManagerClient;
let stdout: jest.SpiedFunction<typeof process.stdout.write>;
const printed = () => stdout.mock.calls.map((c) => String(c[0])).join('');

beforeAll(async () => {
  server = await serve(() => service);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: server.endpoint,
    LINK_SIGNING_SECRET_ID: NAME,
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
  sm = new SecretsManagerClient({ endpoint: server.endpoint });
  await sm.send(new CreateSecretCommand({ Name: NAME, SecretString: FIRST_KEY }));
  // The function's log lines are read from stdout, not shown.
  stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  ({ handler } = (await import('../../../functions/events/rotate-link-key')) as unknown as { handler: Handler });
});

afterAll(async () => {
  stdout.mockRestore();
  sm.destroy();
  await server?.close();
});

beforeEach(() => {
  failures.length = 0;
  stdout.mockClear();
});

describe('Handler: rotate-link-key', () => {
  it('rotates the configured secret through the four steps and never prints a key', async () => {
    // Prepare
    const token = randomUUID();
    // Act
    await sm.send(
      new RotateSecretCommand({
        SecretId: NAME,
        ClientRequestToken: token,
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: { AutomaticallyAfterDays: 31 },
      }),
    );
    await service.rotationsSettled();
    // Assess
    expect(failures).toEqual([]);
    const current = await sm.send(new GetSecretValueCommand({ SecretId: NAME }));
    const previous = await sm.send(new GetSecretValueCommand({ SecretId: NAME, VersionStage: 'AWSPREVIOUS' }));
    expect(current.VersionId).toBe(token);
    expect(current.SecretString).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(previous.SecretString).toBe(FIRST_KEY);
    const logged = printed();
    expect(logged).toContain('link-signing key rotation step');
    expect(logged).toContain('"outcome":"finished"');
    expect(logged).not.toContain(current.SecretString);
    expect(logged).not.toContain(FIRST_KEY);
  });

  it('refuses another secret, naming it but nothing it holds', async () => {
    // Prepare
    const other = await sm.send(
      new CreateSecretCommand({ Name: `other-${randomUUID()}`, SecretString: 'x'.repeat(64) }),
    );
    // Act
    const refused = handler(
      { Step: 'createSecret', SecretId: other.ARN, ClientRequestToken: randomUUID() },
      lambdaContext,
    );
    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'RotationRefusedError',
      message: `secret ${other.ARN} is not the link-signing key this function rotates`,
    });
  });

  it('refuses an event that is not a rotation step with TaskInputError', async () => {
    // Act
    const refused = handler({ Step: 'dropSecret', SecretId: NAME, ClientRequestToken: 'short' }, lambdaContext);
    // Assess
    await expect(refused).rejects.toMatchObject({
      name: 'TaskInputError',
      message: 'invalid task input: Step, ClientRequestToken',
    });
  });
});
