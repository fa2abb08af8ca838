/**
 * The Secrets Manager contract: what the AWS API reference documents, checked through the real SDK v3 client
 * (and raw awsJson1.1 requests where the SDK cannot send the malformed input). Every target — the local
 * emulator, moto_server when present — runs the same cases; a target lists the cases where it is known to
 * differ from AWS, with the reason, and those cases are probed to still differ instead of being weakened.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type FilterNameStringType,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

/** A running endpoint the contract is checked against. */
export interface ContractTarget {
  /** Base URL of the awsJson1.1 endpoint, e.g. `http://127.0.0.1:4566`. */
  endpoint: string;
  /** Moves the target's clock forward; only targets whose clock can be driven have it. */
  advance?: (ms: number) => void;
  /** Re-creates the service from what it persisted; only persisting targets have it. */
  restart?: () => Promise<void>;
  /** A rotation function the target invokes; only targets that can invoke one have it. */
  rotation?: RotationFixture;
}

/** A rotation function a target can invoke, and what it was invoked with. */
export interface RotationFixture {
  /** The function's ARN (the target may invoke it). */
  functionArn: string;
  /** The ARN of a function the target may not invoke. */
  uninvokableArn: string;
  /**
   * Every invocation, in order: the event, and what the function saw of the token's version when the step began
   * (its labels, and its value if it had one).
   */
  calls: {
    event: { Step: string; SecretId: string; ClientRequestToken: string; RotationToken?: string };
    stages: string[] | undefined;
    value: string | undefined;
  }[];
  /** Makes every later invocation of `step` fail (until `failAt()` without a step). */
  failAt(step?: string): void;
  /** Resolves once the rotations the target started have run their steps. */
  settled(): Promise<void>;
}

export type Capability = 'clock' | 'restart' | 'rotation-function';

export interface ContractContext {
  client: SecretsManagerClient;
  target: ContractTarget;
  /** A secret name unique to this run (AWS's name alphabet). */
  name(label: string): string;
  /** Sends a raw awsJson1.1 request, for input the SDK refuses to build. */
  raw(operation: string, body: string): Promise<{ status: number; type: string; message: string; text: string }>;
}

export interface ContractCase {
  id: string;
  title: string;
  needs?: Capability[];
  run(ctx: ContractContext): Promise<void>;
}

/** Cases a target is known to answer differently from AWS's documentation, with the reason. */
export type KnownDifferences = Record<string, string>;

const DAY_MS = 86_400_000;
export const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
export const SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret.";
const ARN_RE = /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/;

/** A client for `endpoint` with static test credentials and no retries (a retry would hide an answer). */
export function clientFor(endpoint: string): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

interface SdkError extends Error {
  $metadata?: { httpStatusCode?: number };
}

/** Awaits a rejection and checks its AWS error code (and message, when given). */
export async function rejects(promise: Promise<unknown>, code: string, message?: string | RegExp): Promise<SdkError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, but the call succeeded`);
  const error = outcome.error as SdkError;
  expect(error.name).toBe(code);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else if (message) expect(error.message).toMatch(message);
  return error;
}

const sorted = (values: readonly string[] | undefined) => [...(values ?? [])].sort();
const token = () => randomUUID();

/** Every case of the contract, in a stable order. */
export function contractCases(): ContractCase[] {
  return [
    {
      id: 'create-get-string',
      title: 'CreateSecret stores a string value that GetSecretValue returns as AWSCURRENT',
      async run({ client, name }) {
        const secretName = name('string');
        const created = await client.send(
          new CreateSecretCommand({ Name: secretName, SecretString: 'token-value-1', Description: 'd' }),
        );
        expect(created.Name).toBe(secretName);
        expect(created.ARN).toMatch(ARN_RE);
        expect(ARN_RE.exec(created.ARN ?? '')?.[1]).toBe(secretName);
        // The SDK fills ClientRequestToken with a UUID, which becomes the version id.
        expect(created.VersionId).toMatch(/^[0-9a-f-]{36}$/);
        const got = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(got).toMatchObject({
          ARN: created.ARN,
          Name: secretName,
          VersionId: created.VersionId,
          SecretString: 'token-value-1',
          VersionStages: ['AWSCURRENT'],
        });
        expect(got.SecretBinary).toBeUndefined();
        expect(got.CreatedDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'create-get-binary',
      title: 'CreateSecret stores a binary value byte for byte',
      async run({ client, name }) {
        const secretName = name('binary');
        const bytes = Uint8Array.from([0, 1, 2, 254, 255]);
        await client.send(new CreateSecretCommand({ Name: secretName, SecretBinary: bytes }));
        const got = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(Buffer.from(got.SecretBinary ?? new Uint8Array())).toEqual(Buffer.from(bytes));
        expect(got.SecretString).toBeUndefined();
      },
    },
    {
      id: 'create-without-value',
      title: 'CreateSecret without a value creates no version; the first PutSecretValue becomes AWSCURRENT',
      async run({ client, name }) {
        const secretName = name('empty');
        const created = await client.send(new CreateSecretCommand({ Name: secretName }));
        expect(created.VersionId).toBeUndefined();
        await rejects(
          client.send(new GetSecretValueCommand({ SecretId: secretName })),
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
        const put = await client.send(
          new PutSecretValueCommand({ SecretId: secretName, SecretString: 'v1', VersionStages: ['AWSPENDING'] }),
        );
        expect(sorted(put.VersionStages)).toEqual(['AWSCURRENT', 'AWSPENDING']);
      },
    },
    {
      id: 'create-idempotent-token',
      title: 'CreateSecret repeated with the same ClientRequestToken and value returns the same version',
      async run({ client, name }) {
        const secretName = name('idem');
        const requestToken = token();
        const first = await client.send(
          new CreateSecretCommand({ Name: secretName, SecretString: 'same', ClientRequestToken: requestToken }),
        );
        const second = await client.send(
          new CreateSecretCommand({ Name: secretName, SecretString: 'same', ClientRequestToken: requestToken }),
        );
        expect(first.VersionId).toBe(requestToken);
        expect(second).toMatchObject({ ARN: first.ARN, Name: secretName, VersionId: requestToken });
        const versions = await client.send(
          new ListSecretVersionIdsCommand({ SecretId: secretName, IncludeDeprecated: true }),
        );
        expect(versions.Versions?.map((v) => v.VersionId)).toEqual([requestToken]);
      },
    },
    {
      id: 'create-token-conflict',
      title: 'CreateSecret with a used ClientRequestToken and another value is ResourceExistsException',
      async run({ client, name }) {
        const secretName = name('conflict');
        const requestToken = token();
        await client.send(
          new CreateSecretCommand({ Name: secretName, SecretString: 'first-Zq81', ClientRequestToken: requestToken }),
        );
        const error = await rejects(
          client.send(
            new CreateSecretCommand({
              Name: secretName,
              SecretString: 'second-Zq82',
              ClientRequestToken: requestToken,
            }),
          ),
          'ResourceExistsException',
        );
        expect(error.message).not.toMatch(/Zq8/);
      },
    },
    {
      id: 'create-existing-name',
      title: 'CreateSecret for an existing name with a new token is ResourceExistsException',
      async run({ client, name }) {
        const secretName = name('exists');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'a' }));
        await rejects(
          client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'b' })),
          'ResourceExistsException',
        );
      },
    },
    {
      id: 'create-invalid-name',
      title: 'CreateSecret rejects names outside AWS alphabet and length with ValidationException',
      async run({ client, name }) {
        await rejects(
          client.send(new CreateSecretCommand({ Name: `${name('bad')} has spaces`, SecretString: 'x' })),
          'ValidationException',
        );
        await rejects(
          client.send(new CreateSecretCommand({ Name: 'n'.repeat(513), SecretString: 'x' })),
          'ValidationException',
          /length less than or equal to 512/,
        );
      },
    },
    {
      id: 'create-both-values',
      title: 'CreateSecret with both SecretString and SecretBinary is InvalidParameterException',
      async run({ client, name }) {
        await rejects(
          client.send(
            new CreateSecretCommand({
              Name: name('both'),
              SecretString: 'x',
              SecretBinary: Uint8Array.from([1]),
            }),
          ),
          'InvalidParameterException',
        );
      },
    },
    {
      id: 'put-moves-current',
      title: 'PutSecretValue moves AWSCURRENT to the new version and AWSPREVIOUS to the old current one',
      async run({ client, name }) {
        const secretName = name('put');
        const v1 = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'one' }));
        const v2 = await client.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: 'two' }));
        expect(v2.VersionStages).toEqual(['AWSCURRENT']);
        const previous = await client.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPREVIOUS' }),
        );
        expect(previous).toMatchObject({
          VersionId: v1.VersionId,
          SecretString: 'one',
          VersionStages: ['AWSPREVIOUS'],
        });
        const v3 = await client.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: 'three' }));
        const current = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(current).toMatchObject({ VersionId: v3.VersionId, SecretString: 'three' });
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        // v1 lost its last label: deprecated versions are not listed.
        expect(described.VersionIdsToStages).toEqual({
          [v2.VersionId ?? '']: ['AWSPREVIOUS'],
          [v3.VersionId ?? '']: ['AWSCURRENT'],
        });
      },
    },
    {
      id: 'put-idempotent-token',
      title: 'PutSecretValue repeated with the same token and value creates no second version',
      async run({ client, name }) {
        const secretName = name('put-idem');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'one' }));
        const requestToken = token();
        const first = await client.send(
          new PutSecretValueCommand({ SecretId: secretName, SecretString: 'two', ClientRequestToken: requestToken }),
        );
        const again = await client.send(
          new PutSecretValueCommand({ SecretId: secretName, SecretString: 'two', ClientRequestToken: requestToken }),
        );
        expect(first.VersionId).toBe(requestToken);
        expect(again).toMatchObject({ VersionId: requestToken, VersionStages: ['AWSCURRENT'] });
        const versions = await client.send(
          new ListSecretVersionIdsCommand({ SecretId: secretName, IncludeDeprecated: true }),
        );
        expect(versions.Versions).toHaveLength(2);
      },
    },
    {
      id: 'put-token-conflict',
      title: 'PutSecretValue with a used token and another value is ResourceExistsException without the values',
      async run({ client, name }) {
        const secretName = name('put-conflict');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'one' }));
        const requestToken = token();
        await client.send(
          new PutSecretValueCommand({
            SecretId: secretName,
            SecretString: 'kept-Qw71',
            ClientRequestToken: requestToken,
          }),
        );
        const error = await rejects(
          client.send(
            new PutSecretValueCommand({
              SecretId: secretName,
              SecretString: 'other-Qw72',
              ClientRequestToken: requestToken,
            }),
          ),
          'ResourceExistsException',
        );
        expect(error.message).not.toMatch(/Qw7/);
        const current = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(current.SecretString).toBe('kept-Qw71');
      },
    },
    {
      id: 'rotation-promote',
      title: 'a value staged as AWSPENDING is promoted with UpdateSecretVersionStage; AWSPREVIOUS follows',
      async run({ client, name }) {
        const secretName = name('rotate');
        const old = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'old' }));
        const oldId = old.VersionId ?? '';
        const pendingId = token();
        const staged = await client.send(
          new PutSecretValueCommand({
            SecretId: secretName,
            SecretString: 'new',
            ClientRequestToken: pendingId,
            VersionStages: ['AWSPENDING'],
          }),
        );
        expect(staged.VersionStages).toEqual(['AWSPENDING']);
        expect((await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString).toBe('old');
        const pending = await client.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPENDING' }),
        );
        expect(pending).toMatchObject({ VersionId: pendingId, SecretString: 'new' });

        await rejects(
          client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: secretName,
              VersionStage: 'AWSCURRENT',
              MoveToVersionId: pendingId,
            }),
          ),
          'InvalidParameterException',
        );
        await rejects(
          client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: secretName,
              VersionStage: 'AWSCURRENT',
              MoveToVersionId: pendingId,
              RemoveFromVersionId: pendingId,
            }),
          ),
          'InvalidParameterException',
        );
        const moved = await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretName,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: pendingId,
            RemoveFromVersionId: oldId,
          }),
        );
        expect(moved).toMatchObject({ ARN: old.ARN, Name: secretName });
        const current = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(current.SecretString).toBe('new');
        expect(sorted(current.VersionStages)).toEqual(['AWSCURRENT', 'AWSPENDING']);
        const previous = await client.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPREVIOUS' }),
        );
        expect(previous).toMatchObject({ VersionId: oldId, SecretString: 'old' });

        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretName,
            VersionStage: 'AWSPENDING',
            RemoveFromVersionId: pendingId,
          }),
        );
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.VersionIdsToStages).toEqual({ [oldId]: ['AWSPREVIOUS'], [pendingId]: ['AWSCURRENT'] });
      },
    },
    {
      id: 'label-on-one-version',
      title:
        'a custom label given to PutSecretValue leaves the version that had it; unlabelled versions are deprecated',
      async run({ client, name }) {
        const secretName = name('label');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'base' }));
        const first = await client.send(
          new PutSecretValueCommand({ SecretId: secretName, SecretString: 'a', VersionStages: ['CI'] }),
        );
        const second = await client.send(
          new PutSecretValueCommand({ SecretId: secretName, SecretString: 'b', VersionStages: ['CI'] }),
        );
        const labelled = await client.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'CI' }));
        expect(labelled).toMatchObject({ VersionId: second.VersionId, SecretString: 'b' });
        const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: secretName }));
        expect(listed.Versions?.map((v) => v.VersionId)).not.toContain(first.VersionId);
        const all = await client.send(
          new ListSecretVersionIdsCommand({ SecretId: secretName, IncludeDeprecated: true }),
        );
        const deprecated = all.Versions?.find((v) => v.VersionId === first.VersionId);
        expect(deprecated).toBeDefined();
        expect(deprecated?.VersionStages ?? []).toEqual([]);
        // A deprecated version is still readable by id.
        const byId = await client.send(new GetSecretValueCommand({ SecretId: secretName, VersionId: first.VersionId }));
        expect(byId.SecretString).toBe('a');
      },
    },
    {
      id: 'update-stage-custom-label',
      title: 'UpdateSecretVersionStage moves a custom label only when RemoveFromVersionId names its holder',
      async run({ client, name }) {
        const secretName = name('custom');
        const a = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'a' }));
        const b = await client.send(
          new PutSecretValueCommand({ SecretId: secretName, SecretString: 'b', VersionStages: ['STAGED'] }),
        );
        const aId = a.VersionId ?? '';
        const bId = b.VersionId ?? '';
        await client.send(
          new UpdateSecretVersionStageCommand({ SecretId: secretName, VersionStage: 'BLUE', MoveToVersionId: aId }),
        );
        await rejects(
          client.send(
            new UpdateSecretVersionStageCommand({ SecretId: secretName, VersionStage: 'BLUE', MoveToVersionId: bId }),
          ),
          'InvalidParameterException',
        );
        await client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretName,
            VersionStage: 'BLUE',
            MoveToVersionId: bId,
            RemoveFromVersionId: aId,
          }),
        );
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(sorted(described.VersionIdsToStages?.[aId])).toEqual(['AWSCURRENT']);
        expect(sorted(described.VersionIdsToStages?.[bId])).toEqual(['BLUE', 'STAGED']);
      },
    },
    {
      id: 'get-version-id-and-stage',
      title:
        'GetSecretValue by VersionId and VersionStage: both must agree; unknown ones are ResourceNotFoundException',
      async run({ client, name }) {
        const secretName = name('get');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'one' }));
        const both = await client.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionId: created.VersionId, VersionStage: 'AWSCURRENT' }),
        );
        expect(both.SecretString).toBe('one');
        await rejects(
          client.send(
            new GetSecretValueCommand({
              SecretId: secretName,
              VersionId: created.VersionId,
              VersionStage: 'AWSPENDING',
            }),
          ),
          'InvalidRequestException',
        );
        const unknownId = token();
        await rejects(
          client.send(new GetSecretValueCommand({ SecretId: secretName, VersionId: unknownId })),
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${unknownId}`,
        );
      },
    },
    {
      id: 'get-unknown-stage',
      title: 'GetSecretValue for a label no version carries names the label',
      async run({ client, name }) {
        const secretName = name('stage');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'one' }));
        await rejects(
          client.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPENDING' })),
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
        );
      },
    },
    {
      id: 'not-found',
      title: 'every operation on an unknown secret is ResourceNotFoundException',
      async run({ client, name }) {
        const missing = name('missing');
        // One at a time: a rejection must never wait unobserved.
        const calls: (() => Promise<unknown>)[] = [
          () => client.send(new GetSecretValueCommand({ SecretId: missing })),
          () => client.send(new DescribeSecretCommand({ SecretId: missing })),
          () => client.send(new PutSecretValueCommand({ SecretId: missing, SecretString: 'x' })),
          () => client.send(new TagResourceCommand({ SecretId: missing, Tags: [{ Key: 'k', Value: 'v' }] })),
          () => client.send(new DeleteSecretCommand({ SecretId: missing })),
          () => client.send(new RestoreSecretCommand({ SecretId: missing })),
          () => client.send(new GetResourcePolicyCommand({ SecretId: missing })),
          () => client.send(new ListSecretVersionIdsCommand({ SecretId: missing })),
        ];
        for (const call of calls) await rejects(call(), 'ResourceNotFoundException', SECRET_NOT_FOUND);
      },
    },
    {
      id: 'not-found-status',
      title: 'ResourceNotFoundException is an HTTP 400, as AWS sends it',
      async run({ client, name }) {
        const error = await rejects(
          client.send(new GetSecretValueCommand({ SecretId: name('missing') })),
          'ResourceNotFoundException',
        );
        expect(error.$metadata?.httpStatusCode).toBe(400);
      },
    },
    {
      id: 'secret-id-forms',
      title: 'SecretId is accepted as name, full ARN and partial ARN, not as name plus suffix',
      async run({ client, name }) {
        const secretName = name('ids');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const arn = created.ARN ?? '';
        const partial = arn.slice(0, -7);
        for (const id of [secretName, arn, partial]) {
          const got = await client.send(new GetSecretValueCommand({ SecretId: id }));
          expect(got).toMatchObject({ ARN: arn, SecretString: 'v' });
        }
        await rejects(
          client.send(new GetSecretValueCommand({ SecretId: `${secretName}${arn.slice(-7)}` })),
          'ResourceNotFoundException',
        );
      },
    },
    {
      id: 'describe-fields',
      title: 'DescribeSecret reports metadata; LastAccessedDate appears (as a date) once the value is read',
      async run({ client, name }) {
        const secretName = name('describe');
        const created = await client.send(
          new CreateSecretCommand({
            Name: secretName,
            SecretString: 'v',
            Description: 'jenkins token',
            KmsKeyId: 'alias/token-warden',
            Tags: [{ Key: 'jenkins:credentials:type', Value: 'usernamePassword' }],
          }),
        );
        const before = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(before).toMatchObject({
          ARN: created.ARN,
          Name: secretName,
          Description: 'jenkins token',
          KmsKeyId: 'alias/token-warden',
          Tags: [{ Key: 'jenkins:credentials:type', Value: 'usernamePassword' }],
          VersionIdsToStages: { [created.VersionId ?? '']: ['AWSCURRENT'] },
        });
        expect(before.CreatedDate).toBeInstanceOf(Date);
        expect(before.LastChangedDate).toBeInstanceOf(Date);
        expect(before.DeletedDate).toBeUndefined();
        expect(before.LastAccessedDate).toBeUndefined();
        expect(JSON.stringify(before)).not.toContain('"v"');
        await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        const after = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(after.LastAccessedDate).toBeInstanceOf(Date);
        expect(after.LastAccessedDate?.toISOString()).toMatch(/T00:00:00\.000Z$/);
      },
    },
    {
      id: 'tags',
      title: 'TagResource adds and overwrites tags',
      async run({ client, name }) {
        const secretName = name('tags');
        await client.send(
          new CreateSecretCommand({ Name: secretName, SecretString: 'v', Tags: [{ Key: 'a', Value: '1' }] }),
        );
        await client.send(
          new TagResourceCommand({
            SecretId: secretName,
            Tags: [
              { Key: 'a', Value: '2' },
              { Key: 'b', Value: '3' },
            ],
          }),
        );
        const tagged = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect([...(tagged.Tags ?? [])].sort((x, y) => (x.Key ?? '').localeCompare(y.Key ?? ''))).toEqual([
          { Key: 'a', Value: '2' },
          { Key: 'b', Value: '3' },
        ]);
      },
    },
    {
      id: 'list-filters',
      title: 'ListSecrets filters by name prefix, tag key and tag value (filters combine with AND)',
      async run({ client, name }) {
        const prefix = name('lf');
        await client.send(
          new CreateSecretCommand({ Name: `${prefix}-a`, SecretString: 'v', Tags: [{ Key: 'team', Value: 'x' }] }),
        );
        await client.send(
          new CreateSecretCommand({ Name: `${prefix}-b`, SecretString: 'v', Tags: [{ Key: 'team', Value: 'y' }] }),
        );
        await client.send(new CreateSecretCommand({ Name: `${prefix}-c`, SecretString: 'v' }));
        const names = async (filters: { Key: FilterNameStringType; Values: string[] }[]) => {
          const listed = await client.send(new ListSecretsCommand({ Filters: filters }));
          return (listed.SecretList ?? []).map((s) => s.Name).sort();
        };
        expect(await names([{ Key: 'name', Values: [prefix] }])).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
        expect(
          await names([
            { Key: 'name', Values: [prefix] },
            { Key: 'tag-key', Values: ['team'] },
          ]),
        ).toEqual([`${prefix}-a`, `${prefix}-b`]);
        expect(
          await names([
            { Key: 'name', Values: [prefix] },
            { Key: 'tag-value', Values: ['x'] },
          ]),
        ).toEqual([`${prefix}-a`]);
        // Name matching is a case-sensitive prefix match.
        expect(await names([{ Key: 'name', Values: [prefix.toUpperCase()] }])).toEqual([]);
        const listed = await client.send(
          new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`${prefix}-a`] }] }),
        );
        const entry = listed.SecretList?.[0];
        expect(entry?.Tags).toEqual([{ Key: 'team', Value: 'x' }]);
        expect(Object.values(entry?.SecretVersionsToStages ?? {})).toEqual([['AWSCURRENT']]);
        expect(entry?.CreatedDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'list-pagination',
      title: 'ListSecrets pages with MaxResults and NextToken',
      async run({ client, name }) {
        const prefix = name('page');
        for (const suffix of ['1', '2', '3', '4', '5']) {
          await client.send(new CreateSecretCommand({ Name: `${prefix}-${suffix}`, SecretString: 'v' }));
        }
        const seen: string[] = [];
        const sizes: number[] = [];
        let next: string | undefined;
        do {
          const page = await client.send(
            new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }], MaxResults: 2, NextToken: next }),
          );
          sizes.push(page.SecretList?.length ?? 0);
          seen.push(...(page.SecretList ?? []).map((s) => s.Name ?? ''));
          next = page.NextToken || undefined;
        } while (next && sizes.length < 10);
        expect(sizes).toEqual([2, 2, 1]);
        expect(seen.sort()).toEqual(['1', '2', '3', '4', '5'].map((s) => `${prefix}-${s}`));
      },
    },
    {
      id: 'list-planned-deletion',
      title: 'ListSecrets leaves out secrets scheduled for deletion unless IncludePlannedDeletion',
      async run({ client, name }) {
        const prefix = name('planned');
        await client.send(new CreateSecretCommand({ Name: `${prefix}-live`, SecretString: 'v' }));
        await client.send(new CreateSecretCommand({ Name: `${prefix}-gone`, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: `${prefix}-gone`, RecoveryWindowInDays: 7 }));
        const live = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }] }));
        expect(live.SecretList?.map((s) => s.Name)).toEqual([`${prefix}-live`]);
        const all = await client.send(
          new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [prefix] }], IncludePlannedDeletion: true }),
        );
        const gone = all.SecretList?.find((s) => s.Name === `${prefix}-gone`);
        expect(all.SecretList).toHaveLength(2);
        expect(gone?.DeletedDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'list-invalid-filter-key',
      title: 'ListSecrets with an unknown filter key is ValidationException',
      async run({ client }) {
        await rejects(
          client.send(
            new ListSecretsCommand({ Filters: [{ Key: 'colour' as FilterNameStringType, Values: ['red'] }] }),
          ),
          'ValidationException',
          /enum value set/,
        );
      },
    },
    {
      id: 'list-version-ids',
      title: 'ListSecretVersionIds reports the secret and pages its versions',
      async run({ client, name }) {
        const secretName = name('versions');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'one' }));
        await client.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: 'two' }));
        const first = await client.send(new ListSecretVersionIdsCommand({ SecretId: secretName, MaxResults: 1 }));
        expect(first).toMatchObject({ ARN: created.ARN, Name: secretName });
        expect(first.Versions).toHaveLength(1);
        expect(first.Versions?.[0]?.CreatedDate).toBeInstanceOf(Date);
        expect(first.NextToken).toBeTruthy();
        const second = await client.send(
          new ListSecretVersionIdsCommand({ SecretId: secretName, MaxResults: 1, NextToken: first.NextToken }),
        );
        const stages = [...(first.Versions ?? []), ...(second.Versions ?? [])].flatMap((v) => v.VersionStages ?? []);
        expect(stages.sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
      },
    },
    {
      id: 'resource-policy',
      title: 'PutResourcePolicy stores the policy, GetResourcePolicy returns it, DeleteResourcePolicy removes it',
      async run({ client, name }) {
        const secretName = name('policy');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const policy = JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: 'arn:aws:iam::123456789012:role/jenkins' },
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
            },
          ],
        });
        const put = await client.send(
          new PutResourcePolicyCommand({ SecretId: secretName, ResourcePolicy: policy, BlockPublicPolicy: true }),
        );
        expect(put).toMatchObject({ ARN: created.ARN, Name: secretName });
        const got = await client.send(new GetResourcePolicyCommand({ SecretId: secretName }));
        expect(got).toMatchObject({ ARN: created.ARN, Name: secretName });
        expect(JSON.parse(got.ResourcePolicy ?? 'null')).toEqual(JSON.parse(policy));
        const deleted = await client.send(new DeleteResourcePolicyCommand({ SecretId: secretName }));
        expect(deleted).toMatchObject({ ARN: created.ARN, Name: secretName });
        const after = await client.send(new GetResourcePolicyCommand({ SecretId: secretName }));
        expect(after.ResourcePolicy).toBeUndefined();
      },
    },
    {
      id: 'resource-policy-malformed',
      title: 'PutResourcePolicy with a policy that is not JSON is MalformedPolicyDocumentException',
      async run({ client, name }) {
        const secretName = name('bad-policy');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(
          client.send(new PutResourcePolicyCommand({ SecretId: secretName, ResourcePolicy: '{"Statement": [' })),
          'MalformedPolicyDocumentException',
        );
      },
    },
    {
      id: 'resource-policy-block-public',
      title: 'BlockPublicPolicy refuses a policy that grants access to every principal',
      async run({ client, name }) {
        const secretName = name('public');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const policy = JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }],
        });
        await rejects(
          client.send(
            new PutResourcePolicyCommand({ SecretId: secretName, ResourcePolicy: policy, BlockPublicPolicy: true }),
          ),
          'PublicPolicyException',
        );
        const got = await client.send(new GetResourcePolicyCommand({ SecretId: secretName }));
        expect(got.ResourcePolicy).toBeUndefined();
      },
    },
    {
      id: 'delete-schedules',
      title: 'DeleteSecret schedules deletion after 30 days by default; DescribeSecret shows DeletedDate',
      async run({ client, name }) {
        const secretName = name('delete');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const createdAt = (await client.send(new DescribeSecretCommand({ SecretId: secretName }))).CreatedDate;
        const deleted = await client.send(new DeleteSecretCommand({ SecretId: secretName }));
        expect(deleted).toMatchObject({ ARN: created.ARN, Name: secretName });
        const window = (deleted.DeletionDate?.getTime() ?? 0) - (createdAt?.getTime() ?? 0);
        expect(window).toBeGreaterThanOrEqual(30 * DAY_MS - 1000);
        expect(window).toBeLessThan(30 * DAY_MS + 60_000);
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.DeletedDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'deleted-get-fails',
      title: 'GetSecretValue on a secret scheduled for deletion is InvalidRequestException',
      async run({ client, name }) {
        const secretName = name('deleted-get');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        await rejects(
          client.send(new GetSecretValueCommand({ SecretId: secretName })),
          'InvalidRequestException',
          MARKED_FOR_DELETION,
        );
      },
    },
    {
      id: 'deleted-put-fails',
      title: 'PutSecretValue and UpdateSecretVersionStage on a secret scheduled for deletion fail',
      async run({ client, name }) {
        const secretName = name('deleted-put');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        await rejects(
          client.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: 'w' })),
          'InvalidRequestException',
          MARKED_FOR_DELETION,
        );
        await rejects(
          client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: secretName,
              VersionStage: 'CI',
              MoveToVersionId: created.VersionId,
            }),
          ),
          'InvalidRequestException',
          MARKED_FOR_DELETION,
        );
      },
    },
    {
      id: 'deleted-tagging-fails',
      title: 'tagging and policy changes on a secret scheduled for deletion fail',
      async run({ client, name }) {
        const secretName = name('deleted-tag');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        await rejects(
          client.send(new TagResourceCommand({ SecretId: secretName, Tags: [{ Key: 'k', Value: 'v' }] })),
          'InvalidRequestException',
        );
        await rejects(
          client.send(new PutResourcePolicyCommand({ SecretId: secretName, ResourcePolicy: '{"Statement": []}' })),
          'InvalidRequestException',
        );
      },
    },
    {
      id: 'deleted-create-fails',
      title: 'CreateSecret with the name of a secret scheduled for deletion is InvalidRequestException',
      async run({ client, name }) {
        const secretName = name('deleted-create');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        await rejects(
          client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'w' })),
          'InvalidRequestException',
        );
      },
    },
    {
      id: 'delete-twice-fails',
      title: 'DeleteSecret on a secret already scheduled for deletion is InvalidRequestException',
      async run({ client, name }) {
        const secretName = name('delete-twice');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        await rejects(client.send(new DeleteSecretCommand({ SecretId: secretName })), 'InvalidRequestException');
      },
    },
    {
      id: 'restore',
      title: 'RestoreSecret cancels a scheduled deletion',
      async run({ client, name }) {
        const secretName = name('restore');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'kept' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        const restored = await client.send(new RestoreSecretCommand({ SecretId: created.ARN }));
        expect(restored).toMatchObject({ ARN: created.ARN, Name: secretName });
        expect((await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString).toBe('kept');
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.DeletedDate).toBeUndefined();
      },
    },
    {
      id: 'delete-window-validation',
      title: 'DeleteSecret accepts 7 to 30 days, and not together with ForceDeleteWithoutRecovery',
      async run({ client, name }) {
        const secretName = name('window');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        for (const days of [6, 31]) {
          await rejects(
            client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: days })),
            'InvalidParameterException',
            /between 7 and 30 days/,
          );
        }
        await rejects(
          client.send(
            new DeleteSecretCommand({
              SecretId: secretName,
              RecoveryWindowInDays: 7,
              ForceDeleteWithoutRecovery: true,
            }),
          ),
          'InvalidParameterException',
          /ForceDeleteWithoutRecovery/,
        );
        expect((await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString).toBe('v');
      },
    },
    {
      id: 'force-delete',
      title: 'ForceDeleteWithoutRecovery removes the secret at once; the name can be reused with a new ARN',
      async run({ client, name }) {
        const secretName = name('force');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const deleted = await client.send(
          new DeleteSecretCommand({ SecretId: secretName, ForceDeleteWithoutRecovery: true }),
        );
        expect(deleted.DeletionDate).toBeInstanceOf(Date);
        await rejects(client.send(new DescribeSecretCommand({ SecretId: secretName })), 'ResourceNotFoundException');
        const again = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'w' }));
        expect(again.ARN).toMatch(ARN_RE);
        expect(again.ARN).not.toBe(created.ARN);
        await rejects(client.send(new GetSecretValueCommand({ SecretId: created.ARN })), 'ResourceNotFoundException');
      },
    },
    {
      id: 'force-delete-missing',
      title: 'ForceDeleteWithoutRecovery of a nonexistent secret does not fail',
      async run({ client, name }) {
        const deleted = await client.send(
          new DeleteSecretCommand({ SecretId: name('never'), ForceDeleteWithoutRecovery: true }),
        );
        expect(deleted.DeletionDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'recovery-window-ends',
      title: 'once the recovery window has passed the secret is gone and its name is free',
      needs: ['clock'],
      async run({ client, name, target }) {
        const secretName = name('expire');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        target.advance?.(6 * DAY_MS);
        expect((await client.send(new DescribeSecretCommand({ SecretId: secretName }))).DeletedDate).toBeInstanceOf(
          Date,
        );
        target.advance?.(DAY_MS + 1000);
        await rejects(
          client.send(new DescribeSecretCommand({ SecretId: secretName })),
          'ResourceNotFoundException',
          SECRET_NOT_FOUND,
        );
        await rejects(client.send(new RestoreSecretCommand({ SecretId: secretName })), 'ResourceNotFoundException');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'fresh' }));
      },
    },
    {
      id: 'restore-within-window',
      title: 'a secret restored inside its recovery window survives the end of that window',
      needs: ['clock'],
      async run({ client, name, target }) {
        const secretName = name('rescue');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        target.advance?.(6 * DAY_MS);
        await client.send(new RestoreSecretCommand({ SecretId: secretName }));
        target.advance?.(2 * DAY_MS);
        expect((await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString).toBe('v');
      },
    },
    {
      id: 'persistence',
      title: 'values, labels, tags, policies and scheduled deletions survive a restart',
      needs: ['restart'],
      async run({ client, name, target }) {
        const secretName = name('persist');
        const doomed = name('persist-doomed');
        const created = await client.send(
          new CreateSecretCommand({ Name: secretName, SecretString: 'v1', Tags: [{ Key: 't', Value: '1' }] }),
        );
        const pendingId = token();
        await client.send(
          new PutSecretValueCommand({
            SecretId: secretName,
            SecretString: 'v2',
            ClientRequestToken: pendingId,
            VersionStages: ['AWSPENDING'],
          }),
        );
        await client.send(
          new PutResourcePolicyCommand({
            SecretId: secretName,
            ResourcePolicy: '{"Version":"2012-10-17","Statement":[]}',
          }),
        );
        await client.send(new CreateSecretCommand({ Name: doomed, SecretBinary: Uint8Array.from([7, 8]) }));
        await client.send(new DeleteSecretCommand({ SecretId: doomed, RecoveryWindowInDays: 7 }));

        await target.restart?.();

        const current = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
        expect(current).toMatchObject({ SecretString: 'v1', VersionId: created.VersionId });
        const pending = await client.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPENDING' }),
        );
        expect(pending).toMatchObject({ SecretString: 'v2', VersionId: pendingId });
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.Tags).toEqual([{ Key: 't', Value: '1' }]);
        const policy = await client.send(new GetResourcePolicyCommand({ SecretId: secretName }));
        expect(policy.ResourcePolicy).toBe('{"Version":"2012-10-17","Statement":[]}');
        expect((await client.send(new DescribeSecretCommand({ SecretId: doomed }))).DeletedDate).toBeInstanceOf(Date);
        await client.send(new RestoreSecretCommand({ SecretId: doomed }));
        const binary = await client.send(new GetSecretValueCommand({ SecretId: doomed }));
        expect(Buffer.from(binary.SecretBinary ?? new Uint8Array())).toEqual(Buffer.from([7, 8]));
      },
    },
    {
      id: 'put-without-value',
      title: 'PutSecretValue without SecretString or SecretBinary is InvalidRequestException',
      async run({ client, name }) {
        const secretName = name('no-value');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(client.send(new PutSecretValueCommand({ SecretId: secretName })), 'InvalidRequestException');
      },
    },
    {
      id: 'missing-required',
      title: 'a request without a required member is ValidationException naming it',
      async run({ client }) {
        await rejects(
          client.send(new GetSecretValueCommand({} as GetSecretValueCommandInput)),
          'ValidationException',
          /'secretId' failed to satisfy constraint: Member must not be null/,
        );
      },
    },
    {
      id: 'token-length',
      title: 'a ClientRequestToken shorter than 32 characters is ValidationException',
      async run({ client, name }) {
        const secretName = name('short-token');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(
          client.send(
            new PutSecretValueCommand({ SecretId: secretName, SecretString: 'w', ClientRequestToken: 'short' }),
          ),
          'ValidationException',
          /clientRequestToken/,
        );
      },
    },
    {
      id: 'secret-too-long',
      title: 'a SecretString over 65536 characters is ValidationException that does not quote the value',
      async run({ client, name }) {
        const secretName = name('long');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const error = await rejects(
          client.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: 'Lk9'.repeat(21846) })),
          'ValidationException',
          /secretString/,
        );
        expect(error.message).not.toContain('Lk9');
      },
    },
    {
      id: 'unknown-operation',
      title: 'an unknown secretsmanager.* operation is an AWS-shaped error naming it',
      async run({ raw }) {
        const answer = await raw('FrobnicateSecrets', '{}');
        expect(answer.status).toBe(400);
        expect(answer.type).toBe('UnknownOperationException');
        expect(answer.message).toContain('FrobnicateSecrets');
      },
    },
    {
      id: 'malformed-json',
      title: 'a body that is not JSON is SerializationException, without echoing the body',
      async run({ raw, name }) {
        const answer = await raw('GetSecretValue', `{"SecretId": "${name('x')}", "SecretString": "Mm4-leak`);
        expect(answer.status).toBe(400);
        expect(answer.type).toBe('SerializationException');
        expect(answer.text).not.toContain('Mm4');
      },
    },
    {
      id: 'wrong-type',
      title: 'a member of the wrong JSON type is SerializationException',
      async run({ raw }) {
        const answer = await raw('GetSecretValue', '{"SecretId": 42}');
        expect(answer.status).toBe(400);
        expect(answer.type).toBe('SerializationException');
      },
    },
  ];
}

/**
 * Registers the contract (`cases`; every case of `contractCases()` unless given) for one target. Cases listed in
 * `differs` are not run as passing tests: they are probed instead, and the probe fails once the target stops
 * differing (so the list stays honest). Cases that need a capability the target lacks are not registered.
 */
export function registerContract(
  getTarget: () => ContractTarget,
  options: { differs?: KnownDifferences; capabilities: Capability[]; cases?: ContractCase[] },
): void {
  const runId = randomUUID().slice(0, 8);
  let counter = 0;
  let client: SecretsManagerClient | undefined;
  const context = (): ContractContext => {
    const target = getTarget();
    client ??= clientFor(target.endpoint);
    return {
      client,
      target,
      name: (label) => `tw-${runId}-${label}-${++counter}`,
      raw: (operation, body) => rawRequest(target.endpoint, operation, body),
    };
  };
  afterAll(() => client?.destroy());

  const differs = options.differs ?? {};
  const cases = options.cases ?? contractCases();
  const known = new Set(cases.map((c) => c.id));
  for (const id of Object.keys(differs)) {
    if (!known.has(id)) throw new Error(`unknown contract case in the differences list: ${id}`);
  }
  const runnable = cases.filter((c) => (c.needs ?? []).every((need) => options.capabilities.includes(need)));
  for (const testCase of runnable) {
    const reason = differs[testCase.id];
    if (reason === undefined) {
      it(testCase.title, () => testCase.run(context()));
    } else {
      it(`still differs from AWS on "${testCase.id}": ${reason}`, async () => {
        await expect(testCase.run(context())).rejects.toBeDefined();
      });
    }
  }
}

async function rawRequest(
  endpoint: string,
  operation: string,
  body: string,
): Promise<{ status: number; type: string; message: string; text: string }> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `secretsmanager.${operation}`,
      authorization:
        'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0',
    },
    body,
  });
  const text = await response.text();
  let parsed: { __type?: unknown; message?: unknown; Message?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: type and message stay empty
  }
  const rawType = typeof parsed.__type === 'string' ? parsed.__type : (response.headers.get('x-amzn-errortype') ?? '');
  const message =
    typeof parsed.message === 'string' ? parsed.message : typeof parsed.Message === 'string' ? parsed.Message : '';
  return { status: response.status, type: rawType.split('#').pop()?.split(':')[0] ?? '', message, text };
}
