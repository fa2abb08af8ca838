import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, SECRETS_MANAGER_OPERATIONS } from '../../local/aws/secrets-manager';
import { commandPath, useMotoServer } from './support/moto';
import {
  type ContractTarget,
  clientFor,
  type KnownDifferences,
  registerContract,
} from './support/secrets-manager-contract';
import { type CliRun, call, request, secretsManagerCli, serve, testClock } from './support/secrets-manager-local';

const DAY_MS = 86_400_000;

describe('LocalSecretsManager contract (through the AWS SDK v3 client)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-secrets-'));
  const file = join(dir, 'secrets.json');
  const clock = testClock();
  let service = new LocalSecretsManager({ now: clock.now, file });
  let server: { endpoint: string; close(): Promise<void> } | undefined;

  beforeAll(async () => {
    server = await serve(() => service);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const target = (): ContractTarget => ({
    endpoint: server?.endpoint ?? '',
    advance: clock.advance,
    restart: async () => {
      service = new LocalSecretsManager({ now: clock.now, file });
    },
  });
  registerContract(target, { capabilities: ['clock', 'restart'] });
});

const motoServer = commandPath('moto_server');
if (motoServer) {
  /**
   * moto 5.2 departs from AWS's documented behaviour in these cases (each is probed to still differ). The
   * emulator keeps AWS's behaviour; the reasons say what moto does instead.
   */
  const motoDifferences: KnownDifferences = {
    'create-invalid-name': 'moto accepts names outside the documented alphabet and over 512 characters',
    'create-both-values': 'moto accepts SecretString and SecretBinary together',
    'put-moves-current': 'moto lists versions without labels in VersionIdsToStages (AWS lists labelled versions only)',
    'rotation-promote':
      'after UpdateSecretVersionStage moves AWSCURRENT, moto GetSecretValue without a stage still returns the old version',
    'label-on-one-version': 'moto ListSecretVersionIds ignores IncludeDeprecated and always lists deprecated versions',
    'update-stage-custom-label':
      'moto attaches a custom label that another version holds without requiring RemoveFromVersionId',
    'get-unknown-stage': 'moto answers "can\'t find the specified secret." instead of naming the staging label',
    'not-found': 'moto ListSecretVersionIds on an unknown secret fails with HTTP 500 and an HTML page',
    'not-found-status': 'moto sends ResourceNotFoundException as HTTP 404; AWS sends 400',
    'describe-fields': 'moto never records LastAccessedDate',
    'list-version-ids': 'moto ListSecretVersionIds puts the secret name in the ARN field',
    'resource-policy-malformed': 'moto stores a policy that is not JSON',
    'resource-policy-block-public': 'moto ignores BlockPublicPolicy',
    'deleted-get-fails':
      'moto words the error "You tried to perform the operation on a secret that\'s currently marked deleted."',
    'deleted-put-fails': 'moto lets PutSecretValue add versions to a secret scheduled for deletion',
    'deleted-tagging-fails': 'moto tags secrets scheduled for deletion',
    'deleted-create-fails': 'moto answers ResourceExistsException for a name scheduled for deletion',
    'missing-required': 'moto answers a request without SecretId with HTTP 500 and an HTML page',
    'token-length': 'moto answers InvalidParameterException instead of ValidationException',
    'secret-too-long': 'moto does not enforce the 65536-character limit',
    'unknown-operation': 'moto answers an unknown operation with HTTP 500 and an HTML page',
    'malformed-json': 'moto answers a body that is not JSON with HTTP 500 and an HTML page',
    'wrong-type': 'moto answers a number where a string belongs with HTTP 500 and an HTML page',
  };

  describe('moto_server (reference implementation, same contract)', () => {
    const endpoint = useMotoServer(motoServer);

    registerContract(() => ({ endpoint: endpoint() }), { differs: motoDifferences, capabilities: [] });
  });
}

const awsCli = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : commandPath('aws');
if (awsCli) {
  describe('AWS CLI against LocalSecretsManager', () => {
    const clock = testClock();
    const service = new LocalSecretsManager({ now: clock.now });
    const home = mkdtempSync(join(tmpdir(), 'tw-aws-cli-'));
    let server: { endpoint: string; close(): Promise<void> } | undefined;

    beforeAll(async () => {
      server = await serve(() => service);
    });
    afterAll(async () => {
      await server?.close();
      rmSync(home, { recursive: true, force: true });
    });

    const aws = secretsManagerCli(awsCli, home, () => server?.endpoint ?? '');
    const json = (out: CliRun) => {
      expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
      // Operations with an empty result (TagResource) print nothing.
      return (out.stdout.trim() ? JSON.parse(out.stdout) : {}) as Record<string, unknown>;
    };

    it('creates, reads, rotates, lists, tags and deletes a secret', async () => {
      const created = json(
        await aws('create-secret', '--name', 'token-warden.jenkins-bot.ci', '--secret-string', 'tok-1'),
      );
      expect(created.ARN).toMatch(
        /^arn:aws:secretsmanager:us-east-1:000000000000:secret:token-warden\.jenkins-bot\.ci-/,
      );
      const currentId = created.VersionId as string;

      const got = json(await aws('get-secret-value', '--secret-id', 'token-warden.jenkins-bot.ci'));
      expect(got).toMatchObject({ SecretString: 'tok-1', VersionStages: ['AWSCURRENT'] });
      // CLI v1 prints timestamps as epoch seconds, v2 as ISO strings.
      expect(['number', 'string']).toContain(typeof got.CreatedDate);

      const staged = json(
        await aws(
          'put-secret-value',
          '--secret-id',
          created.ARN as string,
          '--secret-string',
          'tok-2',
          '--version-stages',
          'AWSPENDING',
        ),
      );
      expect(staged.VersionStages).toEqual(['AWSPENDING']);
      json(
        await aws(
          'update-secret-version-stage',
          '--secret-id',
          'token-warden.jenkins-bot.ci',
          '--version-stage',
          'AWSCURRENT',
          '--move-to-version-id',
          staged.VersionId as string,
          '--remove-from-version-id',
          currentId,
        ),
      );
      const rotated = json(await aws('get-secret-value', '--secret-id', 'token-warden.jenkins-bot.ci'));
      expect(rotated.SecretString).toBe('tok-2');

      json(
        await aws(
          'tag-resource',
          '--secret-id',
          'token-warden.jenkins-bot.ci',
          '--tags',
          'Key=jenkins:credentials:type,Value=usernamePassword',
        ),
      );
      const listed = json(await aws('list-secrets', '--filters', 'Key=tag-key,Values=jenkins:credentials:type'));
      expect((listed.SecretList as { Name: string }[]).map((s) => s.Name)).toEqual(['token-warden.jenkins-bot.ci']);
      const described = json(await aws('describe-secret', '--secret-id', 'token-warden.jenkins-bot.ci'));
      const stages = described.VersionIdsToStages as Record<string, string[]>;
      expect(Object.keys(stages).sort()).toEqual([currentId, staged.VersionId as string].sort());
      expect(stages[currentId]).toEqual(['AWSPREVIOUS']);
      expect([...(stages[staged.VersionId as string] ?? [])].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);

      const deleted = json(
        await aws('delete-secret', '--secret-id', 'token-warden.jenkins-bot.ci', '--recovery-window-in-days', '7'),
      );
      expect(['number', 'string']).toContain(typeof deleted.DeletionDate);
      const refused = await aws('get-secret-value', '--secret-id', 'token-warden.jenkins-bot.ci');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('InvalidRequestException');
      expect(refused.stderr).toContain('marked for deletion');
      expect(refused.stderr).not.toContain('tok-');
    }, 120_000);

    it('reports a missing secret as ResourceNotFoundException', async () => {
      const missing = await aws('describe-secret', '--secret-id', 'no-such-secret');
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('ResourceNotFoundException');
      expect(missing.stderr).toContain("Secrets Manager can't find the specified secret.");
    }, 60_000);
  });
}

describe('LocalSecretsManager', () => {
  const dirs: string[] = [];
  const tempFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-secrets-unit-'));
    dirs.push(dir);
    return join(dir, 'data', 'secrets.json');
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('answers only secretsmanager.* targets and names the operation', () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    expect(service.matches(request('GetSecretValue', {}))).toBe(true);
    expect(service.matches({ ...request('x', {}), target: 'DynamoDB_20120810.GetItem' })).toBe(false);
    expect(service.matches({ ...request('x', {}), target: undefined })).toBe(false);
    expect(service.operation(request('PutSecretValue', {}))).toBe('PutSecretValue');
    expect([...service.operations].sort()).toEqual([...SECRETS_MANAGER_OPERATIONS].sort());
    expect(service.operations).toEqual(
      expect.arrayContaining(['GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage', 'DeleteSecret']),
    );
  });

  it('answers an operation AWS has but the emulator does not with UnknownOperationException', async () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    const response = await service.handle(request('UpdateSecret', { SecretId: 'x' }));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body.toString())).toMatchObject({
      __type: 'UnknownOperationException',
      message: 'Operation UpdateSecret is not supported by the local endpoint',
    });
  });

  it('builds the ARN from region, account and a 6-character suffix drawn from the random source', async () => {
    const service = new LocalSecretsManager({
      now: () => new Date('2030-01-01T00:00:00Z'),
      region: 'eu-west-1',
      account: '123456789012',
      random: (size) => Buffer.alloc(size, 1),
    });
    const created = await call(service, 'CreateSecret', { Name: 'n', SecretString: 'v' });
    expect(created.json.ARN).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:n-BBBBBB');
    // Without a ClientRequestToken (raw HTTP callers), the version id is a generated UUID v4.
    expect(created.json.VersionId).toBe('01010101-0101-4101-8101-010101010101');
  });

  it('refuses to remove AWSCURRENT without moving it to another version', async () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    const created = await call(service, 'CreateSecret', { Name: 'n', SecretString: 'v' });
    const removed = await call(service, 'UpdateSecretVersionStage', {
      SecretId: 'n',
      VersionStage: 'AWSCURRENT',
      RemoveFromVersionId: created.json.VersionId,
    });
    expect(removed.status).toBe(400);
    expect(removed.json.__type).toBe('InvalidParameterException');
    const still = await call(service, 'GetSecretValue', { SecretId: 'n' });
    expect(still.json.VersionStages).toEqual(['AWSCURRENT']);
  });

  it('keeps every filter value an alternative, with ! negating it', async () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    await call(service, 'CreateSecret', { Name: 'app-one', SecretString: 'v', Tags: [{ Key: 'team', Value: 'x' }] });
    await call(service, 'CreateSecret', { Name: 'app-two', SecretString: 'v' });
    await call(service, 'CreateSecret', { Name: 'other', SecretString: 'v', Description: 'Database Creds' });
    const names = async (filters: unknown) =>
      ((await call(service, 'ListSecrets', { Filters: filters })).json.SecretList as { Name: string }[])
        .map((s) => s.Name)
        .sort();
    expect(await names([{ Key: 'name', Values: ['!app'] }])).toEqual(['other']);
    expect(await names([{ Key: 'tag-key', Values: ['!team'] }])).toEqual(['app-two', 'other']);
    expect(await names([{ Key: 'name', Values: ['other', 'app-t'] }])).toEqual(['app-two', 'other']);
    expect(await names([{ Key: 'description', Values: ['database'] }])).toEqual(['other']);
    expect(await names([{ Key: 'all', Values: ['creds'] }])).toEqual(['other']);
    expect(await names([{ Key: 'all', Values: ['TWO'] }])).toEqual(['app-two']);
  });

  it('sorts ListSecrets by the requested key and order', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const service = new LocalSecretsManager({ now: () => new Date(now) });
    for (const name of ['b', 'c', 'a']) {
      await call(service, 'CreateSecret', { Name: name, SecretString: 'v' });
      now += 1000;
    }
    const order = async (body: unknown) =>
      ((await call(service, 'ListSecrets', body)).json.SecretList as { Name: string }[]).map((s) => s.Name);
    expect(await order({})).toEqual(['b', 'c', 'a']);
    expect(await order({ SortOrder: 'desc' })).toEqual(['a', 'c', 'b']);
    expect(await order({ SortBy: 'name' })).toEqual(['a', 'b', 'c']);
    const invalid = await call(service, 'ListSecrets', { NextToken: 'not-a-token' });
    expect(invalid.json.__type).toBe('InvalidNextTokenException');
  });

  it('collects every constraint violation of a request into one ValidationException', async () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    const answer = await call(service, 'ListSecrets', { MaxResults: 0, SortOrder: 'sideways' });
    expect(answer.status).toBe(400);
    expect(answer.json.__type).toBe('ValidationException');
    expect(answer.json.message).toBe(
      "2 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'sideways' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [asc, desc]",
    );
  });

  it('treats an empty body as no members and a JSON array as a SerializationException', async () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    expect((await call(service, 'ListSecrets', '')).status).toBe(200);
    const array = await call(service, 'ListSecrets', '[]');
    expect(array.json.__type).toBe('SerializationException');
    const nested = await call(service, 'GetSecretValue', { SecretId: { name: 'x' } });
    expect(nested.json.message).toBe('Start of structure or map found where not expected.');
    const binary = await call(service, 'CreateSecret', { Name: 'b', SecretBinary: '***' });
    expect(binary.json.__type).toBe('SerializationException');
  });

  it('never quotes a secret value in its errors', async () => {
    const service = new LocalSecretsManager({ now: () => new Date() });
    const secret = 'Sx9-very-secret';
    const answers = [
      await call(service, 'CreateSecret', { Name: 'bad name', SecretString: secret }),
      await call(service, 'CreateSecret', { Name: 'n', SecretString: secret, SecretBinary: 'AA==' }),
      await call(service, 'CreateSecret', { Name: 'n', SecretString: `${secret}${'x'.repeat(65536)}` }),
      await call(service, 'PutSecretValue', { SecretId: 'missing', SecretString: secret }),
      await service.handle(request('PutSecretValue', `{"SecretId": "n", "SecretString": ${secret}}`)).then((r) => ({
        status: r.status,
        json: JSON.parse(r.body.toString()) as Record<string, unknown>,
      })),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.json)).not.toContain('Sx9');
    }
  });

  it('prunes the oldest deprecated versions past 100, and refuses a 101st version younger than a day', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const service = new LocalSecretsManager({ now: () => new Date(now) });
    await call(service, 'CreateSecret', { Name: 'busy', SecretString: 'v0' });
    for (let i = 1; i < 100; i++) {
      const put = await call(service, 'PutSecretValue', { SecretId: 'busy', SecretString: `v${i}` });
      expect(put.status).toBe(200);
    }
    const refused = await call(service, 'PutSecretValue', { SecretId: 'busy', SecretString: 'v100' });
    expect(refused.status).toBe(400);
    expect(refused.json.__type).toBe('LimitExceededException');
    now += DAY_MS + 1;
    const accepted = await call(service, 'PutSecretValue', { SecretId: 'busy', SecretString: 'v100' });
    expect(accepted.status).toBe(200);
    const versions = await call(service, 'ListSecretVersionIds', { SecretId: 'busy', IncludeDeprecated: true });
    expect(versions.json.Versions).toHaveLength(100);
    const oldest = await call(service, 'GetSecretValue', { SecretId: 'busy', VersionStage: 'AWSPREVIOUS' });
    expect(oldest.json.SecretString).toBe('v99');
  });

  it('persists to its file owner-only, with every change, and loads it on construction', async () => {
    const file = tempFile();
    const service = new LocalSecretsManager({ now: () => new Date(), file });
    expect(existsSync(file)).toBe(false);
    await call(service, 'CreateSecret', { Name: 'kept', SecretString: 'value-1' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('value-1');
    await call(service, 'PutSecretValue', { SecretId: 'kept', SecretString: 'value-2' });
    const reloaded = new LocalSecretsManager({ now: () => new Date(), file });
    const got = await call(reloaded, 'GetSecretValue', { SecretId: 'kept', VersionStage: 'AWSPREVIOUS' });
    expect(got.json.SecretString).toBe('value-1');
  });

  it('appends a change to its file instead of rewriting it, and reloads the changes in order', async () => {
    const file = tempFile();
    const service = new LocalSecretsManager({ now: () => new Date(), file });
    await call(service, 'CreateSecret', { Name: 'first', SecretString: 'a-1' });
    await call(service, 'CreateSecret', { Name: 'second', SecretString: 'b-1' });
    const written = readFileSync(file, 'utf8');
    await call(service, 'PutSecretValue', { SecretId: 'first', SecretString: 'a-2' });
    await call(service, 'TagResource', { SecretId: 'second', Tags: [{ Key: 'k', Value: 'v' }] });
    const after = readFileSync(file, 'utf8');
    // What was there is untouched: the two changes are lines after it.
    expect(after.startsWith(written)).toBe(true);
    expect(after.slice(written.length).trimEnd().split('\n')).toHaveLength(2);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const reloaded = new LocalSecretsManager({ now: () => new Date(), file });
    const listed = await call(reloaded, 'ListSecrets', { SortOrder: 'asc', SortBy: 'created-date' });
    expect((listed.json.SecretList as { Name: string }[]).map((s) => s.Name)).toEqual(['first', 'second']);
    expect((await call(reloaded, 'GetSecretValue', { SecretId: 'first' })).json.SecretString).toBe('a-2');
    const described = await call(reloaded, 'DescribeSecret', { SecretId: 'second' });
    expect(described.json.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
  });

  it('does not change its file when a request fails', async () => {
    const file = tempFile();
    const service = new LocalSecretsManager({ now: () => new Date(), file });
    await call(service, 'CreateSecret', { Name: 'kept', SecretString: 'v' });
    const before = readFileSync(file, 'utf8');
    const failed = await call(service, 'UpdateSecretVersionStage', {
      SecretId: 'kept',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'b'.repeat(32),
    });
    expect(failed.json.__type).toBe('InvalidParameterException');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('removes a secret whose recovery window ended, on the next request, from the file too', async () => {
    const file = tempFile();
    let now = Date.parse('2030-01-01T00:00:00Z');
    const service = new LocalSecretsManager({ now: () => new Date(now), file });
    await call(service, 'CreateSecret', { Name: 'doomed', SecretString: 'v' });
    await call(service, 'DeleteSecret', { SecretId: 'doomed', RecoveryWindowInDays: 7 });
    now += 7 * DAY_MS;
    const listed = await call(service, 'ListSecrets', { IncludePlannedDeletion: true });
    expect(listed.json.SecretList).toEqual([]);
    expect(readFileSync(file, 'utf8')).not.toContain('doomed');
  });

  it('refuses a store file that is not JSON without quoting its content', () => {
    const file = tempFile();
    const dir = join(file, '..');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(file, '{"secrets": [{"name": "x", "versions": [{"string": Pw5-secret');
    expect(() => new LocalSecretsManager({ now: () => new Date(), file })).toThrow(/not valid JSON/);
    try {
      new LocalSecretsManager({ now: () => new Date(), file });
    } catch (error) {
      expect(String(error)).not.toContain('Pw5');
      expect((error as Error).cause).toBeUndefined();
    }
    writeFileSync(file, '{"secrets": [{"name": 5}]}');
    expect(() => new LocalSecretsManager({ now: () => new Date(), file })).toThrow(/not a Secrets Manager store/);
  });

  it('works for the rotation sequence Token Warden runs, through the SDK', async () => {
    const clock = testClock();
    const service = new LocalSecretsManager({ now: clock.now });
    const server = await serve(() => service);
    const client: SecretsManagerClient = clientFor(server.endpoint);
    try {
      const name = 'token-warden.jenkins-bot.ci';
      const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'gen-1' }));
      const pendingToken = 'tok-pending-0000-0000-0000-00000001';
      // A retried mint stages the same version once.
      for (let attempt = 0; attempt < 2; attempt++) {
        await client.send(
          new PutSecretValueCommand({
            SecretId: name,
            SecretString: 'gen-2',
            ClientRequestToken: pendingToken,
            VersionStages: ['AWSPENDING'],
          }),
        );
      }
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: created.ARN,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: pendingToken,
          RemoveFromVersionId: created.VersionId,
        }),
      );
      // Repeating the promotion after it succeeded is refused (the label now sits on the target).
      const repeat = await client
        .send(
          new UpdateSecretVersionStageCommand({
            SecretId: name,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: pendingToken,
            RemoveFromVersionId: created.VersionId,
          }),
        )
        .catch((error: Error) => error);
      expect(repeat).toBeInstanceOf(Error);
      expect((repeat as Error).name).toBe('InvalidParameterException');
      const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: name }));
      expect(versions.Versions?.map((v) => [v.VersionId, [...(v.VersionStages ?? [])].sort()])).toEqual([
        [created.VersionId, ['AWSPREVIOUS']],
        [pendingToken, ['AWSCURRENT', 'AWSPENDING']],
      ]);
      await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
      const listed = await client.send(new ListSecretsCommand({}));
      expect(listed.SecretList).toEqual([]);
      clock.advance(8 * DAY_MS);
      const gone = await client.send(new GetSecretValueCommand({ SecretId: name })).catch((error: Error) => error);
      expect((gone as Error).name).toBe('ResourceNotFoundException');
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
