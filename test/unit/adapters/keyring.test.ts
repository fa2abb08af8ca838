import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Keyring } from '../../../functions/adapters/aws/keyring';

const client = new SecretsManagerClient({ region: 'eu-west-1' });
const secretsManager = mockClient(client);
const SECRET_ID = 'token-warden/chat/slack-security';

beforeEach(() => {
  secretsManager.reset();
});

describe('Class: Keyring', () => {
  describe('Method: text', () => {
    it('keeps a value it read, and with forceFetch reads Secrets Manager again and keeps the new value', async () => {
      // Prepare
      const keyring = new Keyring(new SecretsProvider({ awsSdkV3Client: client }));
      secretsManager
        .on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: 'first' })
        .resolves({ SecretString: 'second' });
      // Act
      const first = await keyring.text(SECRET_ID);
      const cached = await keyring.text(SECRET_ID);
      const forced = await keyring.text(SECRET_ID, { forceFetch: true });
      const after = await keyring.text(SECRET_ID);
      // Assess
      expect([first, cached, forced, after]).toEqual(['first', 'first', 'second', 'second']);
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });
  });

  describe('Method: keyVersions', () => {
    const LINK_KEY = 'token-warden/link-signing-key';
    const atStage = (stage: string) => ({ SecretId: LINK_KEY, VersionStage: stage });
    const noPrevious = new ResourceNotFoundException({ message: 'no version AWSPREVIOUS', $metadata: {} });

    it('answers the current key and no previous one before the first rotation, and keeps that answer', async () => {
      // Prepare
      const keyring = new Keyring(new SecretsProvider({ awsSdkV3Client: client }), () => 0);
      secretsManager.on(GetSecretValueCommand, atStage('AWSCURRENT')).resolves({ SecretString: 'k1' });
      secretsManager.on(GetSecretValueCommand, atStage('AWSPREVIOUS')).rejects(noPrevious);
      // Act
      const first = await keyring.keyVersions(LINK_KEY);
      const cached = await keyring.keyVersions(LINK_KEY);
      // Assess
      expect(first).toEqual({ current: Buffer.from('k1') });
      expect(cached).toEqual(first);
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });

    it('answers both versions after a rotation, and rereads on forceFetch at most once in ten seconds', async () => {
      // Prepare
      let now = 0;
      const keyring = new Keyring(new SecretsProvider({ awsSdkV3Client: client }), () => now);
      secretsManager
        .on(GetSecretValueCommand, atStage('AWSCURRENT'))
        .resolvesOnce({ SecretString: 'k1' })
        .resolves({ SecretString: 'k2' });
      secretsManager
        .on(GetSecretValueCommand, atStage('AWSPREVIOUS'))
        .rejectsOnce(noPrevious)
        .resolves({ SecretString: 'k1' });
      // Act
      const before = await keyring.keyVersions(LINK_KEY);
      now = 5_000;
      const tooSoon = await keyring.keyVersions(LINK_KEY, { forceFetch: true });
      now = 11_000;
      const after = await keyring.keyVersions(LINK_KEY, { forceFetch: true });
      // Assess
      expect(before).toEqual({ current: Buffer.from('k1') });
      expect(tooSoon).toEqual(before);
      expect(after).toEqual({ current: Buffer.from('k2'), previous: Buffer.from('k1') });
      expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(4);
    });

    it('rereads after five minutes, and keeps no failed read', async () => {
      // Prepare
      let now = 0;
      const keyring = new Keyring(new SecretsProvider({ awsSdkV3Client: client }), () => now);
      secretsManager
        .on(GetSecretValueCommand, atStage('AWSCURRENT'))
        .rejectsOnce(new Error('AccessDeniedException'))
        .resolvesOnce({ SecretString: 'k1' })
        .resolves({ SecretString: 'k2' });
      secretsManager.on(GetSecretValueCommand, atStage('AWSPREVIOUS')).rejects(noPrevious);
      // Act
      const failed = await keyring.keyVersions(LINK_KEY).catch((error: Error) => error);
      const first = await keyring.keyVersions(LINK_KEY);
      now = 299_000;
      const cached = await keyring.keyVersions(LINK_KEY);
      now = 300_000;
      const expired = await keyring.keyVersions(LINK_KEY);
      // Assess
      expect(failed).toBeInstanceOf(Error);
      expect([first, cached, expired]).toEqual([
        { current: Buffer.from('k1') },
        { current: Buffer.from('k1') },
        { current: Buffer.from('k2') },
      ]);
    });

    it('fails on an error other than a missing previous version', async () => {
      // Prepare
      const keyring = new Keyring(new SecretsProvider({ awsSdkV3Client: client }), () => 0);
      secretsManager.on(GetSecretValueCommand, atStage('AWSCURRENT')).resolves({ SecretString: 'k1' });
      secretsManager.on(GetSecretValueCommand, atStage('AWSPREVIOUS')).rejects(new Error('AccessDeniedException'));
      // Act
      const failed = keyring.keyVersions(LINK_KEY);
      // Assess
      await expect(failed).rejects.toThrow('AccessDeniedException');
    });
  });
});
