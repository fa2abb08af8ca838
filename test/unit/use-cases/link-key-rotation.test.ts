/**
 * Secrets Manager's four rotation steps for the link-signing key, through the real SDK and the token vault against
 * the Secrets Manager emulator, whose `RotateSecret` creates the empty `AWSPENDING` version and invokes the steps.
 */
import { randomUUID } from 'node:crypto';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Keyring } from '../../../functions/adapters/aws/keyring';
import { TokenVault } from '../../../functions/adapters/aws/token-vault';
import { cryptoRandom } from '../../../functions/composition/random';
import { isLinkKey, signApprovalLink, verifyApprovalLinkWithAny } from '../../../functions/domain/links';
import type { Random } from '../../../functions/domain/ports';
import {
  LINK_KEY_ROTATION_STEPS,
  type LinkKeyRotationDeps,
  type LinkKeyRotationEvent,
  type LinkKeyRotationOutcome,
  linkKeyRotationStep,
} from '../../../functions/use-cases/link-key-rotation';
import { RotationRefusedError } from '../../../functions/use-cases/port-errors';
import { LocalSecretsManager, type RotationFailure, type RotationInvoker } from '../../../local/aws/secrets-manager';
import { serve } from '../support/secrets-manager-local';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:token-warden-rotate-link-key';
const FIRST_KEY = 'a'.repeat(32) + 'B'.repeat(32);
const approvalId = `apv_${'a'.repeat(26)}`;
const expires = new Date('2030-01-31T10:00:00Z');

/** A randomness source that counts its draws. */
function countingRandom(): Pick<Random, 'secret'> & { made: number } {
  const random = {
    made: 0,
    secret: (bytes: number) => {
      random.made += 1;
      return cryptoRandom.secret(bytes);
    },
  };
  return random;
}

/** What the emulator's rotation invokes: by default every step fails, leaving T an empty AWSPENDING version. */
let invoker: RotationInvoker = async () => undefined;
const failures: RotationFailure[] = [];
const service = new LocalSecretsManager({
  now: () => new Date(),
  invokeRotation: (arn, event) => invoker(arn, event),
  onRotationFailure: (failure) => failures.push(failure),
});
let server: { endpoint: string; close(): Promise<void> } | undefined;
let sm: SecretsManagerClient;

beforeAll(async () => {
  server = await serve(() => service);
  sm = new SecretsManagerClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  sm.destroy();
  await server?.close();
});

const holdAtCreate: RotationInvoker = async () => {
  throw new Error('the rotation function is not running');
};

/** A fresh link-signing key secret holding FIRST_KEY; `deps.secretId` names it by name, as the stack may. */
async function linkKeySecret(random = countingRandom()) {
  const name = `token-warden/link-signing-key-${randomUUID().slice(0, 8)}`;
  const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: FIRST_KEY }));
  const deps: LinkKeyRotationDeps = { vault: new TokenVault(sm), random, secretId: name };
  const arn = created.ARN ?? '';
  const outcomes: LinkKeyRotationOutcome[] = [];
  invoker = async (_arn, event) => {
    outcomes.push(await linkKeyRotationStep(deps, event));
  };
  failures.length = 0;
  return { name, arn, deps, random, outcomes, firstVersionId: created.VersionId ?? '' };
}

/** Asks Secrets Manager to rotate the secret and waits for the steps it invokes. */
async function rotateSecret(secretId: string, token = randomUUID(), immediately = true) {
  await sm.send(
    new RotateSecretCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 31 },
      RotateImmediately: immediately,
    }),
  );
  await service.rotationsSettled();
  return token;
}

/** A rotation Secrets Manager began whose steps have not run (T is an empty AWSPENDING version). */
async function pendingRotation() {
  const secret = await linkKeySecret();
  const run = invoker;
  invoker = holdAtCreate;
  const token = await rotateSecret(secret.arn);
  invoker = run;
  failures.length = 0;
  return { ...secret, token };
}

const step = (Step: LinkKeyRotationEvent['Step'], SecretId: string, ClientRequestToken: string) => ({
  Step,
  SecretId,
  ClientRequestToken,
});

async function stagesOf(secretId: string) {
  return (await sm.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
}

const valueAt = async (secretId: string, stage: string) =>
  (await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString;

const valueOfVersion = async (secretId: string, versionId: string) =>
  (await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }))).SecretString;

describe('Use case: link-signing key rotation', () => {
  describe('RotateSecret', () => {
    it('makes a new 64-character alphanumeric key current and keeps the old one as AWSPREVIOUS', async () => {
      // Prepare
      const { arn, name, firstVersionId } = await linkKeySecret();
      // Act
      const token = await rotateSecret(arn);
      // Assess
      expect(failures).toEqual([]);
      const current = await valueAt(arn, 'AWSCURRENT');
      expect(isLinkKey(current ?? '')).toBe(true);
      expect(current).not.toBe(FIRST_KEY);
      expect(await valueAt(name, 'AWSPREVIOUS')).toBe(FIRST_KEY);
      expect(await stagesOf(arn)).toEqual({ [token]: ['AWSCURRENT'], [firstVersionId]: ['AWSPREVIOUS'] });
    });

    it('keeps a link signed before the rotation valid, through the keyring, and signs new links with the new key', async () => {
      // Prepare
      const { arn, name } = await linkKeySecret();
      const before = signApprovalLink(Buffer.from(FIRST_KEY), approvalId, 'a@example.com', expires);
      // Act
      await rotateSecret(arn);
      const keys = await new Keyring(new SecretsProvider({ awsSdkV3Client: sm })).keyVersions(name);
      // Assess
      expect(keys.previous?.toString()).toBe(FIRST_KEY);
      expect(keys.current.toString()).toBe(await valueAt(arn, 'AWSCURRENT'));
      expect(verifyApprovalLinkWithAny(keys, approvalId, 'a@example.com', before)).toEqual({
        valid: true,
        expiresAt: expires,
      });
    });

    it('on a second rotation makes the first new key AWSPREVIOUS and drops the key before it', async () => {
      // Prepare
      const { arn, name, firstVersionId } = await linkKeySecret();
      const firstToken = await rotateSecret(arn);
      const rotatedKey = await valueAt(arn, 'AWSCURRENT');
      const byFirstKey = signApprovalLink(Buffer.from(FIRST_KEY), approvalId, 'a@example.com', expires);
      const byRotatedKey = signApprovalLink(Buffer.from(rotatedKey ?? ''), approvalId, 'a@example.com', expires);
      // Act
      const secondToken = await rotateSecret(arn);
      const keys = await new Keyring(new SecretsProvider({ awsSdkV3Client: sm })).keyVersions(name);
      // Assess
      expect(failures).toEqual([]);
      expect(await stagesOf(arn)).toEqual({
        [secondToken]: ['AWSCURRENT'],
        [firstToken]: ['AWSPREVIOUS'],
      });
      // A version without labels is deprecated: DescribeSecret no longer lists it.
      expect(Object.keys(await stagesOf(arn))).not.toContain(firstVersionId);
      expect(keys.previous?.toString()).toBe(rotatedKey);
      expect(verifyApprovalLinkWithAny(keys, approvalId, 'a@example.com', byRotatedKey).valid).toBe(true);
      expect(verifyApprovalLinkWithAny(keys, approvalId, 'a@example.com', byFirstKey)).toEqual({ valid: false });
    });

    it('passes the configuration test of RotateImmediately: false without changing the key', async () => {
      // Prepare
      const { arn, firstVersionId, random, outcomes } = await linkKeySecret();
      // Act
      await rotateSecret(arn, randomUUID(), false);
      // Assess
      expect(failures).toEqual([]);
      expect(outcomes.map((o) => [o.step, o.outcome])).toEqual([['testSecret', 'configuration-test']]);
      expect(random.made).toBe(0);
      expect(await valueAt(arn, 'AWSCURRENT')).toBe(FIRST_KEY);
      expect((await stagesOf(arn))[firstVersionId]).toEqual(['AWSCURRENT']);
    });
  });

  describe('Steps run again', () => {
    it.each(LINK_KEY_ROTATION_STEPS)(
      '%s twice (after the steps before it) answers the same and makes one key',
      async (name) => {
        // Prepare
        const { arn, deps, token, random } = await pendingRotation();
        const before = LINK_KEY_ROTATION_STEPS.slice(0, LINK_KEY_ROTATION_STEPS.indexOf(name));
        for (const earlier of before) await linkKeyRotationStep(deps, step(earlier, arn, token));
        // Act
        const first = await linkKeyRotationStep(deps, step(name, arn, token));
        const keyAfterFirst = await valueOfVersion(arn, token);
        const drawsAfterFirst = random.made;
        const second = await linkKeyRotationStep(deps, step(name, arn, token));
        // Assess
        const expected: Record<typeof name, [string, string]> = {
          createSecret: ['created', 'already-created'],
          setSecret: ['nothing-to-set', 'nothing-to-set'],
          testSecret: ['tested', 'tested'],
          finishSecret: ['finished', 'already-current'],
        };
        expect([first.outcome, second.outcome]).toEqual(expected[name]);
        expect(drawsAfterFirst).toBeGreaterThan(0);
        expect(random.made).toBe(drawsAfterFirst);
        expect(await valueOfVersion(arn, token)).toBe(keyAfterFirst);
        expect(isLinkKey(keyAfterFirst ?? '')).toBe(true);
      },
    );

    it('completes a rotation that stopped after createSecret when Secrets Manager runs it again with T', async () => {
      // Prepare
      const { arn, deps, token, random, firstVersionId } = await pendingRotation();
      await linkKeyRotationStep(deps, step('createSecret', arn, token));
      const created = await valueOfVersion(arn, token);
      const draws = random.made;
      // Act
      await rotateSecret(arn, token);
      // Assess
      expect(failures).toEqual([]);
      expect(random.made).toBe(draws);
      expect(await valueAt(arn, 'AWSCURRENT')).toBe(created);
      expect(await stagesOf(arn)).toEqual({ [token]: ['AWSCURRENT'], [firstVersionId]: ['AWSPREVIOUS'] });
    });

    it('completes a rotation that stopped at testSecret, keeping the key createSecret made', async () => {
      // Prepare
      const secret = await linkKeySecret();
      const run = invoker;
      invoker = async (arn, event) => {
        if (event.Step === 'testSecret') throw new Error('the function stopped');
        await run(arn, event);
      };
      const token = await rotateSecret(secret.arn);
      const created = await valueOfVersion(secret.arn, token);
      const draws = secret.random.made;
      expect(failures.map((f) => f.step)).toEqual(['testSecret']);
      invoker = run;
      failures.length = 0;
      // Act
      await rotateSecret(secret.arn, token);
      // Assess
      expect(failures).toEqual([]);
      expect(secret.random.made).toBe(draws);
      expect(await valueAt(secret.arn, 'AWSCURRENT')).toBe(created);
    });

    it('keeps the key of whichever of two concurrent createSecret runs stored first', async () => {
      // Prepare
      const { arn, deps, token } = await pendingRotation();
      // Act
      const outcomes = await Promise.all([
        linkKeyRotationStep(deps, step('createSecret', arn, token)),
        linkKeyRotationStep(deps, step('createSecret', arn, token)),
      ]);
      // Assess
      expect(outcomes.map((o) => o.outcome).sort()).toEqual(['already-created', 'created']);
      expect(isLinkKey((await valueOfVersion(arn, token)) ?? '')).toBe(true);
    });

    it('answers already-current for every step of a finished rotation', async () => {
      // Prepare
      const { arn, deps } = await linkKeySecret();
      const token = await rotateSecret(arn);
      // Act
      const outcomes = [];
      for (const name of LINK_KEY_ROTATION_STEPS)
        outcomes.push(await linkKeyRotationStep(deps, step(name, arn, token)));
      // Assess
      expect(outcomes.map((o) => o.outcome)).toEqual(Array(4).fill('already-current'));
    });
  });

  describe('Refusals', () => {
    it('refuses a secret other than the configured one, and changes nothing in it', async () => {
      // Prepare
      const { deps } = await linkKeySecret();
      const other = await sm.send(new CreateSecretCommand({ Name: `other-${randomUUID()}`, SecretString: 'v' }));
      const token = randomUUID();
      await sm.send(
        new PutSecretValueCommand({
          SecretId: other.ARN,
          ClientRequestToken: token,
          SecretString: FIRST_KEY,
          VersionStages: ['AWSPENDING'],
        }),
      );
      // Act
      const refused = linkKeyRotationStep(deps, step('finishSecret', other.ARN ?? '', token));
      // Assess
      await expect(refused).rejects.toThrow(RotationRefusedError);
      await expect(refused).rejects.toThrow('is not the link-signing key this function rotates');
      expect(await valueAt(other.ARN ?? '', 'AWSCURRENT')).toBe('v');
    });

    it('refuses a version that is neither AWSPENDING nor AWSCURRENT, or does not exist', async () => {
      // Prepare
      const { arn, deps } = await linkKeySecret();
      const firstToken = await rotateSecret(arn);
      await rotateSecret(arn);
      // Act
      const previous = linkKeyRotationStep(deps, step('finishSecret', arn, firstToken));
      const unknown = linkKeyRotationStep(deps, step('createSecret', arn, randomUUID()));
      // Assess
      await expect(previous).rejects.toThrow(`version ${firstToken} of secret ${arn} is not AWSPENDING`);
      await expect(unknown).rejects.toThrow(RotationRefusedError);
    });

    it('refuses testSecret and finishSecret before createSecret stored a key, leaving the current key', async () => {
      // Prepare
      const { arn, deps, token } = await pendingRotation();
      // Act
      const tested = linkKeyRotationStep(deps, step('testSecret', arn, token));
      const finished = linkKeyRotationStep(deps, step('finishSecret', arn, token));
      // Assess
      await expect(tested).rejects.toThrow('holds no value: createSecret did not complete');
      await expect(finished).rejects.toThrow('holds no value: createSecret did not complete');
      expect(await valueAt(arn, 'AWSCURRENT')).toBe(FIRST_KEY);
    });

    it('refuses to test or make current a pending value that is not a link-signing key, without naming it', async () => {
      // Prepare
      const { arn, deps, token } = await pendingRotation();
      await sm.send(
        new PutSecretValueCommand({
          SecretId: arn,
          ClientRequestToken: token,
          SecretString: 'short-value',
          VersionStages: ['AWSPENDING'],
        }),
      );
      // Act
      const tested = linkKeyRotationStep(deps, step('testSecret', arn, token)).catch((e: Error) => e);
      const finished = linkKeyRotationStep(deps, step('finishSecret', arn, token)).catch((e: Error) => e);
      // Assess
      for (const error of [await tested, await finished]) {
        expect(error).toBeInstanceOf(RotationRefusedError);
        expect((error as Error).message).toContain('does not hold a link-signing key');
        expect((error as Error).message).not.toContain('short-value');
      }
      expect(await valueAt(arn, 'AWSCURRENT')).toBe(FIRST_KEY);
    });
  });
});
