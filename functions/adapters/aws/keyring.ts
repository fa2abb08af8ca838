import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { aws } from './errors';

/** Secret material Token Warden itself holds (link-signing key, org API key), cached for five minutes. */
export class Keyring {
  constructor(
    private readonly secrets: SecretsProvider = new SecretsProvider({
      awsSdkV3Client: new SecretsManagerClient({}),
    }),
  ) {}

  /** The secret's string value; with `forceFetch` read from Secrets Manager past the cache (which it then renews). */
  async text(secretId: string, options: { forceFetch?: boolean } = {}): Promise<string> {
    const forceFetch = options.forceFetch === true;
    const value = await aws('SecretsManager.GetSecretValue', () =>
      this.secrets.get(secretId, { maxAge: 300, forceFetch }),
    );
    if (typeof value !== 'string' || value.length === 0) throw new Error(`secret ${secretId} holds no string value`);
    return value;
  }

  async key(secretId: string): Promise<Buffer> {
    return Buffer.from(await this.text(secretId), 'utf8');
  }
}
