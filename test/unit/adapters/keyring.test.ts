import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
});
