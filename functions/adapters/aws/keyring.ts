import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LinkKeys } from '../../domain/links';
import { aws } from './errors';

/** How long values are kept. */
const MAX_AGE_MS = 300_000;
/**
 * How recent a read of a key's versions satisfies a forced fetch: a burst of links that match no key (forged ones
 * too) reads Secrets Manager at most once in this time.
 */
const FORCED_FETCH_FLOOR_MS = 10_000;

/** Secret material Token Warden itself holds (link-signing key, org API key), cached for five minutes. */
export class Keyring {
  private readonly versions = new Map<string, { readAt: number; keys: Promise<LinkKeys> }>();

  constructor(
    private readonly secrets: SecretsProvider = new SecretsProvider({
      awsSdkV3Client: new SecretsManagerClient({}),
    }),
    private readonly now: () => number = Date.now,
  ) {}

  /** The secret's string value; with `forceFetch` read from Secrets Manager past the cache (which it then renews). */
  async text(secretId: string, options: { forceFetch?: boolean } = {}): Promise<string> {
    const forceFetch = options.forceFetch === true;
    const value = await aws('SecretsManager.GetSecretValue', () =>
      this.secrets.get(secretId, { maxAge: MAX_AGE_MS / 1000, forceFetch }),
    );
    if (typeof value !== 'string' || value.length === 0) throw new Error(`secret ${secretId} holds no string value`);
    return value;
  }

  /**
   * A rotated key's `AWSCURRENT` version and its `AWSPREVIOUS` one (none before the first rotation, or when it holds
   * the current value), read together and kept together. With `forceFetch` they are read again unless they were
   * read in the last ten seconds.
   */
  async keyVersions(secretId: string, options: { forceFetch?: boolean } = {}): Promise<LinkKeys> {
    const now = this.now();
    const cached = this.versions.get(secretId);
    const maxAge = options.forceFetch === true ? FORCED_FETCH_FLOOR_MS : MAX_AGE_MS;
    if (cached && now - cached.readAt < maxAge) return cached.keys;
    const keys = this.readVersions(secretId);
    this.versions.set(secretId, { readAt: now, keys });
    // A failed read is not kept: the next call reads again.
    keys.catch(() => {
      if (this.versions.get(secretId)?.keys === keys) this.versions.delete(secretId);
    });
    return keys;
  }

  private async readVersions(secretId: string): Promise<LinkKeys> {
    const [current, previous] = await Promise.all([
      this.stage(secretId, 'AWSCURRENT'),
      this.stage(secretId, 'AWSPREVIOUS').catch((error: unknown) => {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
        throw error;
      }),
    ]);
    if (current === undefined) throw new Error(`secret ${secretId} holds no string value`);
    return previous === undefined || previous === current
      ? { current: Buffer.from(current, 'utf8') }
      : { current: Buffer.from(current, 'utf8'), previous: Buffer.from(previous, 'utf8') };
  }

  private async stage(secretId: string, stage: 'AWSCURRENT' | 'AWSPREVIOUS'): Promise<string | undefined> {
    const out = await aws('SecretsManager.GetSecretValue', () =>
      this.secrets.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage })),
    );
    return typeof out.SecretString === 'string' && out.SecretString.length > 0 ? out.SecretString : undefined;
  }
}
