import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { TokenVault } from '../../../functions/adapters/aws/token-vault';
import { discardToken, type IssuanceDeps, mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { promoteToken } from '../../../functions/use-cases/promote';
import { type Harness, ORG_KEY, policy, startHarness } from '../../support/harness';

const ses = mockClient(SESv2Client);
let h: Harness;
let deps: IssuanceDeps;
let sm: SecretsManagerClient;
let fakeUrl: string;

beforeAll(async () => {
  h = await startHarness();
  ({ deps, sm, fakeUrl } = h);
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
});

const control = (path: string, body: unknown) => h.control(path, body);
const fakeTokens = (tokenId: string) => h.fakeTokens(tokenId);
const approvedRequest = (scopes?: string[]) => h.approvedRequest(scopes);
const myself = (token: string) => h.myself(token);

describe('issuance: mint → verify → promote', () => {
  it('issues a verified token into AWSCURRENT with Jenkins tags, and records it without its value', async () => {
    const request = await approvedRequest();
    const minted = await mintToken(deps, { requestId: request.requestId });
    expect(minted).toEqual({
      requestId: request.requestId,
      tokenId: request.requestId.replace('req_', 'tok_'),
      generation: 1,
      versionId: expect.any(String),
      manual: false,
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
      ...((await h.dynamo.doc.send(new ScanCommand({ TableName: h.dynamo.tableName }))).Items ?? []),
      ...((await h.dynamo.doc.send(new ScanCommand({ TableName: h.dynamo.auditTableName }))).Items ?? []),
    ];
    const observed = JSON.stringify([tables, ses.calls().map((c) => c.args[0].input), minted, promoted]);
    expect(value.length).toBeGreaterThan(20);
    expect(observed).not.toContain(value);
    const recipients = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);
    expect(recipients.sort()).toEqual(['alice@example.com', 'approver1@example.com', 'approver2@example.com']);
    // The next rotation is scheduled at expiry − rotationLeadDays, for generation 2's first attempt.
    expect(h.schedules.schedules.get(minted.tokenId)).toEqual({
      at: new Date(Date.parse(promoted.expiresAt) - policy.rotationLeadDays * 86_400_000),
      executionName: `${minted.tokenId}-g2-a1`,
      input: { tokenId: minted.tokenId, generation: 2, attempt: 1 },
    });
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
