import type { AddressInfo } from 'node:net';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type AwsEdge, createAwsEdge } from '../../local/aws/edge';
import { LocalSecretsManager } from '../../local/aws/secrets-manager';
import { seedChatSecrets, sinkNameOf } from '../../local/chat-secrets';

describe('seedChatSecrets', () => {
  let edge: AwsEdge;
  let sm: SecretsManagerClient;

  beforeEach(async () => {
    // A fresh Secrets Manager per test: each starts from no secrets.
    edge = createAwsEdge({ services: [new LocalSecretsManager({ now: () => new Date() })] });
    const server = await edge.listen(0);
    const { port } = server.address() as AddressInfo;
    sm = new SecretsManagerClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  afterEach(async () => {
    sm.destroy();
    await edge.close();
  });

  const secretValue = async (name: string) =>
    (await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  const versionsOf = async (name: string) =>
    Object.keys((await sm.send(new DescribeSecretCommand({ SecretId: name }))).VersionIdsToStages ?? {}).length;

  it('creates each absent secret holding the sink URL named after its last path segment', async () => {
    // Prepare
    const channels = [
      { webhookSecretName: 'token-warden/chat/slack-security' },
      { webhookSecretName: 'teams-ops' },
      { webhookSecretName: 'token-warden/chat/slack-security' },
    ];

    // Act
    const seeded = await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3000' });

    // Assess
    expect(seeded).toEqual([
      {
        secretName: 'token-warden/chat/slack-security',
        sinkName: 'slack-security',
        url: 'http://127.0.0.1:3000/local/webhooks/slack-security',
        action: 'created',
      },
      {
        secretName: 'teams-ops',
        sinkName: 'teams-ops',
        url: 'http://127.0.0.1:3000/local/webhooks/teams-ops',
        action: 'created',
      },
    ]);
    expect(await secretValue('token-warden/chat/slack-security')).toBe(
      'http://127.0.0.1:3000/local/webhooks/slack-security',
    );
    expect(await secretValue('teams-ops')).toBe('http://127.0.0.1:3000/local/webhooks/teams-ops');
  });

  it('keeps an existing secret untouched on a restart with the same API port', async () => {
    // Prepare
    const channels = [{ webhookSecretName: 'token-warden/chat/slack-security' }];
    await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3000' });

    // Act
    const seeded = await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3000' });

    // Assess
    expect(seeded).toEqual([
      expect.objectContaining({ action: 'kept', url: 'http://127.0.0.1:3000/local/webhooks/slack-security' }),
    ]);
    expect(await versionsOf('token-warden/chat/slack-security')).toBe(1);
  });

  it('re-points a local sink URL of another API port at this runtime, as a new current version', async () => {
    // Prepare
    const channels = [{ webhookSecretName: 'token-warden/chat/slack-security' }];
    await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3000' });

    // Act
    const seeded = await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3100' });

    // Assess
    expect(seeded).toEqual([
      expect.objectContaining({ action: 'repointed', url: 'http://127.0.0.1:3100/local/webhooks/slack-security' }),
    ]);
    expect(await secretValue('token-warden/chat/slack-security')).toBe(
      'http://127.0.0.1:3100/local/webhooks/slack-security',
    );
    expect(await versionsOf('token-warden/chat/slack-security')).toBe(2);
  });

  it('never overwrites a value that is not a local sink URL of that name', async () => {
    // Prepare
    const real = 'https://hooks.slack.com/services/T000/B000/XXXXXXXX';
    const otherSink = 'http://127.0.0.1:3000/local/webhooks/another-sink';
    await sm.send(new CreateSecretCommand({ Name: 'token-warden/chat/slack-security', SecretString: real }));
    await sm.send(new CreateSecretCommand({ Name: 'token-warden/chat/teams-ops', SecretString: 'x' }));
    await sm.send(new PutSecretValueCommand({ SecretId: 'token-warden/chat/teams-ops', SecretString: otherSink }));
    const channels = [
      { webhookSecretName: 'token-warden/chat/slack-security' },
      { webhookSecretName: 'token-warden/chat/teams-ops' },
    ];

    // Act
    const seeded = await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3100' });

    // Assess
    expect(seeded.map((s) => [s.action, s.url])).toEqual([
      ['kept', undefined],
      ['kept', undefined],
    ]);
    expect(await secretValue('token-warden/chat/slack-security')).toBe(real);
    expect(await secretValue('token-warden/chat/teams-ops')).toBe(otherSink);
  });

  it('leaves a secret marked for deletion alone', async () => {
    // Prepare
    const channels = [{ webhookSecretName: 'token-warden/chat/slack-security' }];
    await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3000' });
    await sm.send(new DeleteSecretCommand({ SecretId: 'token-warden/chat/slack-security', RecoveryWindowInDays: 7 }));

    // Act
    const seeded = await seedChatSecrets({ secretsManager: sm, channels, apiUrl: 'http://127.0.0.1:3100' });

    // Assess
    expect(seeded).toEqual([expect.objectContaining({ action: 'kept', url: undefined })]);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'token-warden/chat/slack-security' }));
    expect(described.DeletedDate).toBeDefined();
  });

  it('seeds nothing for a policy without chat channels', async () => {
    // Act
    const seeded = await seedChatSecrets({ secretsManager: sm, channels: undefined, apiUrl: 'http://127.0.0.1:3000' });

    // Assess
    expect(seeded).toEqual([]);
  });
});

describe('sinkNameOf', () => {
  it.each([
    ['token-warden/chat/slack-security', 'slack-security'],
    ['slack', 'slack'],
    ['chat/alerts+ops@corp', 'alerts-ops-corp'],
    [`chat/${'a'.repeat(100)}`, 'a'.repeat(64)],
  ])('names the sink of %s %s', (secretName, expected) => {
    // Act
    const name = sinkNameOf(secretName);

    // Assess
    expect(name).toBe(expected);
  });
});
