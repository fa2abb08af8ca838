import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { AuditLog } from '../../../functions/adapters/aws/audit-log';
import { Mailer } from '../../../functions/adapters/aws/mailer';
import { RecordStore, type StoredRequest } from '../../../functions/adapters/aws/record-store';
import { TokenVault } from '../../../functions/adapters/aws/token-vault';
import { discardToken, type IssuanceDeps, mintToken, promoteToken, verifyToken } from '../../../functions/app/issuance';
import { parsePolicy } from '../../../functions/domain/policy';
import { checkRequestAgainstPolicy, newRequest, parseCreateRequestBody } from '../../../functions/domain/requests';
import { cryptoRandom } from '../../../functions/shared/random';
import { type AwsEdge, createAwsEdge } from '../../../local/aws/edge';
import { LocalSecretsManager } from '../../../local/aws/secrets-manager';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian } from '../../../local/fake-atlassian';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';

const policy = parsePolicy(readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
const ses = mockClient(SESv2Client);
const ORG_KEY = 'org-key-for-tests';

let dynamo: LocalDynamo;
let edge: AwsEdge;
let edgeServer: Server;
let fake: FakeAtlassian;
let fakeServer: Server;
let fakeUrl: string;
let sm: SecretsManagerClient;
let deps: IssuanceDeps;
let seq = 0;

beforeAll(async () => {
  dynamo = await startDynamo();
  edge = createAwsEdge({ services: [new LocalSecretsManager({ now: () => new Date() })] });
  edgeServer = await edge.listen(0);
  sm = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${(edgeServer.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  fake = createFakeAtlassian({ now: () => new Date(), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  fakeServer = await fake.listen(0);
  fakeUrl = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
  deps = {
    store: new RecordStore(dynamo.doc, dynamo.tableName),
    audit: new AuditLog(dynamo.doc, dynamo.auditTableName),
    vault: new TokenVault(sm),
    atlassian: new AtlassianClient({
      apiBaseUrl: fakeUrl,
      siteBaseUrl: fakeUrl,
      orgApiKey: async () => ORG_KEY,
      timeoutMs: 500,
      sleep: async () => {},
    }),
    mailer: new Mailer('token-warden@example.com', new SESv2Client({ region: 'us-east-1' })),
    clock: { now: () => new Date() },
    policy,
    kmsKeyId: 'alias/token-warden',
  };
});

afterAll(async () => {
  sm.destroy();
  await edge.close();
  await new Promise((r) => edgeServer.close(r));
  await new Promise((r) => fakeServer.close(r));
  await dynamo.close();
});

beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
});

async function control(path: string, body: unknown) {
  const res = await fetch(`${fakeUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
}

/** Tokens minted at the fake under one token's labels. */
function fakeTokens(tokenId: string) {
  return fake.tokens().filter((t) => t.label.startsWith(`token-warden:${tokenId}:`));
}

async function approvedRequest(scopes: string[] = ['read:jira-work', 'read:jira-user']): Promise<StoredRequest> {
  seq++;
  const requestId = `req_${cryptoRandom.id()}`;
  const body = parseCreateRequestBody({
    serviceAccount: 'jenkins-bot',
    name: `ci-${seq}`,
    scopes,
    lifetimeDays: 30,
    justification: 'tests',
  });
  const request: StoredRequest = {
    ...newRequest({
      requestId,
      body,
      check: checkRequestAgainstPolicy(body, policy, 'alice@example.com'),
      requester: 'alice@example.com',
      now: new Date(),
    }),
    status: 'APPROVED',
    version: 1,
  };
  await deps.store.createRequest(request);
  return request;
}

async function myself(token: string) {
  const res = await fetch(`${fakeUrl}/ex/jira/${policy.serviceAccounts[0]!.cloudId}/rest/api/3/myself`, {
    headers: {
      authorization: `Basic ${Buffer.from(`jenkins-bot@serviceaccount.atlassian.com:${token}`).toString('base64')}`,
    },
  });
  return res.status;
}

describe('issuance: mint → verify → promote', () => {
  it('issues a verified token into AWSCURRENT with Jenkins tags, and records it without its value', async () => {
    const request = await approvedRequest();
    const minted = await mintToken(deps, { requestId: request.requestId });
    expect(minted).toEqual({
      requestId: request.requestId,
      tokenId: request.requestId.replace('req_', 'tok_'),
      generation: 1,
      versionId: expect.any(String),
    });
    expect(await verifyToken(deps, minted)).toEqual({ verifiedBy: 'myself' });
    const promoted = await promoteToken(deps, minted);

    const secretName = `token-warden.jenkins-bot.${request.name}`;
    const value = (await sm.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString ?? '';
    expect(await myself(value)).toBe(200);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'jenkins:credentials:type', Value: 'usernamePassword' },
        { Key: 'jenkins:credentials:username', Value: 'jenkins-bot@serviceaccount.atlassian.com' },
      ]),
    );
    expect(described.VersionIdsToStages?.[minted.versionId]).toEqual(['AWSCURRENT']);

    const issued = await deps.store.getRequest(request.requestId);
    expect(issued).toMatchObject({
      status: 'ISSUED',
      tokenId: minted.tokenId,
      secretName,
      expiresAt: promoted.expiresAt,
    });
    const token = await deps.store.getToken(minted.tokenId);
    expect(token).toMatchObject({
      status: 'ACTIVE',
      generation: 1,
      owner: 'alice@example.com',
      secretArn: described.ARN,
    });
    expect(fakeTokens(minted.tokenId)).toEqual([
      expect.objectContaining({ label: `token-warden:${minted.tokenId}:g1`, status: 'ACTIVE' }),
    ]);

    // The value is nowhere but in the secret: not in tables, audit, emails, or step results.
    const tables = [
      ...((await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tableName }))).Items ?? []),
      ...((await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName }))).Items ?? []),
    ];
    const observed = JSON.stringify([tables, ses.calls().map((c) => c.args[0].input), minted, promoted]);
    expect(value.length).toBeGreaterThan(20);
    expect(observed).not.toContain(value);
    const recipients = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);
    expect(recipients.sort()).toEqual(['alice@example.com', 'approver1@example.com', 'approver2@example.com']);
  });

  it('is idempotent: steps run twice mint once and email once', async () => {
    const request = await approvedRequest();
    const first = await mintToken(deps, { requestId: request.requestId });
    const second = await mintToken(deps, { requestId: request.requestId });
    expect(second).toEqual(first);
    await verifyToken(deps, first);
    await verifyToken(deps, first);
    await promoteToken(deps, first);
    await promoteToken(deps, first);
    expect(fakeTokens(first.tokenId)).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(3);
  });

  it('verifies by listing when the scopes cannot call /myself', async () => {
    const request = await approvedRequest(['read:jira-work']);
    const minted = await mintToken(deps, { requestId: request.requestId });
    expect(await verifyToken(deps, minted)).toEqual({ verifiedBy: 'list' });
  });

  it('waits out a 429 on mint and succeeds', async () => {
    const request = await approvedRequest();
    await control('/__control/faults', { route: 'mint', status: 429, count: 1, retryAfterSeconds: 1 });
    const minted = await mintToken(deps, { requestId: request.requestId });
    expect(fakeTokens(minted.tokenId)).toHaveLength(1);
  });

  it('finds and revokes a token whose mint response was lost, then mints again (no orphan)', async () => {
    const request = await approvedRequest();
    await control('/__control/faults', { route: 'mint', count: 1, delayMs: 1_500 });
    await expect(mintToken(deps, { requestId: request.requestId })).rejects.toMatchObject({
      name: 'AtlassianTransientError',
    });
    // The slow mint completes at the fake after the client gave up.
    await new Promise((r) => setTimeout(r, 1_600));
    const tokenId = request.requestId.replace('req_', 'tok_');
    expect(fakeTokens(tokenId).filter((t) => t.status === 'ACTIVE')).toHaveLength(1);
    await mintToken(deps, { requestId: request.requestId });
    const tokens = fakeTokens(tokenId);
    expect(tokens.map((t) => t.status).sort()).toEqual(['ACTIVE', 'REVOKED']);
  });

  it('does not retry a 500 on mint, and the retried step leaves one live token', async () => {
    const request = await approvedRequest();
    await control('/__control/faults', { route: 'mint', status: 500, count: 1 });
    await expect(mintToken(deps, { requestId: request.requestId })).rejects.toMatchObject({
      name: 'AtlassianTransientError',
    });
    const minted = await mintToken(deps, { requestId: request.requestId });
    expect(fakeTokens(minted.tokenId).filter((t) => t.status === 'ACTIVE')).toHaveLength(1);
  });

  it('retries a 500 on the list call', async () => {
    const request = await approvedRequest();
    await control('/__control/faults', { route: 'list', status: 500, count: 2 });
    const minted = await mintToken(deps, { requestId: request.requestId });
    expect(fakeTokens(minted.tokenId)).toHaveLength(1);
  });

  it('fails with AtlassianAuthError on a wrong org key and mints nothing', async () => {
    const request = await approvedRequest();
    const wrongKey = {
      ...deps,
      atlassian: new AtlassianClient({
        apiBaseUrl: fakeUrl,
        siteBaseUrl: fakeUrl,
        orgApiKey: async () => 'wrong',
        sleep: async () => {},
      }),
    };
    await expect(mintToken(wrongKey, { requestId: request.requestId })).rejects.toMatchObject({
      name: 'AtlassianAuthError',
    });
    expect(fakeTokens(request.requestId.replace('req_', 'tok_'))).toHaveLength(0);
  });

  it('revokes a minted token whose store fails', async () => {
    const request = await approvedRequest();
    class FailingVault extends TokenVault {
      override async stage(): Promise<void> {
        throw Object.assign(new Error('AccessDeniedException'), { name: 'AccessDeniedException' });
      }
    }
    await expect(
      mintToken({ ...deps, vault: new FailingVault(sm) }, { requestId: request.requestId }),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    const tokens = fakeTokens(request.requestId.replace('req_', 'tok_'));
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.status).toBe('REVOKED');
  });

  it('refuses to mint for a request that is not approved', async () => {
    const request = await approvedRequest();
    await deps.store.saveRequest({ ...request, status: 'PENDING_APPROVAL' });
    await expect(mintToken(deps, { requestId: request.requestId })).rejects.toMatchObject({
      name: 'IssuanceRefusedError',
    });
  });

  it('a token that fails verification is discarded: revoked, AWSPENDING dropped, empty secret scheduled away', async () => {
    const request = await approvedRequest();
    const minted = await mintToken(deps, { requestId: request.requestId });
    // Revoke it behind Token Warden's back: /myself now refuses it.
    const atlassianId = fakeTokens(minted.tokenId)[0]!.id;
    await fetch(`${fakeUrl}/users/${policy.serviceAccounts[0]!.atlassianId}/manage/api-tokens/${atlassianId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ORG_KEY}` },
    });
    await expect(verifyToken(deps, minted)).rejects.toMatchObject({ name: 'TokenVerificationError' });
    await discardToken(deps, { requestId: request.requestId });
    expect(fakeTokens(minted.tokenId).every((t) => t.status === 'REVOKED')).toBe(true);
    const described = await sm.send(
      new DescribeSecretCommand({ SecretId: `token-warden.jenkins-bot.${request.name}` }),
    );
    expect(described.VersionIdsToStages?.[minted.versionId] ?? []).not.toContain('AWSPENDING');
    expect(described.DeletedDate).toBeDefined();
  });

  it('a 429/5xx on /myself is transient, never "invalid"', async () => {
    const request = await approvedRequest();
    const minted = await mintToken(deps, { requestId: request.requestId });
    await control('/__control/faults', { route: 'myself', status: 503, count: 10 });
    await expect(verifyToken(deps, minted)).rejects.toMatchObject({ name: 'AtlassianTransientError' });
    await control('/__control/reset', {});
  });
});
