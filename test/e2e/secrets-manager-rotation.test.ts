/**
 * End to end: Secrets Manager sees Token Warden's rotation. An operator runs `aws secretsmanager rotate-secret`
 * against the local endpoint (the console's "Rotate secret immediately" is the same call); Secrets Manager invokes
 * the rotation function from the synthesized template for its four steps, and the token moves to its next
 * generation through the same lock, counter and history as the rotation workflow's. Driven with the AWS CLI and over
 * HTTP against the real local runtime on the simulated clock.
 */

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LINK_KEY_ROTATION_DAYS } from '../../functions/domain/links';
import { LocalRuntime, type RequestView, requestBody, SEED, waitFor } from '../../local/driver';
import { collectArtifacts, findSecretValues, type SecretValue, scanForLeaks } from './support/leaks';
import {
  type AuditView,
  fakeTokensOf,
  injectFault,
  myself,
  readSecret,
  rotationExecutions,
  secretVersions,
  type TokenView,
} from './support/rotation';
import { runAws } from './support/tools';

jest.setTimeout(600_000);

const LEAD_DAYS = 7;
const LIFETIME_DAYS = 30;
const GRACE_HOURS = 24;

let rt: LocalRuntime;

beforeAll(async () => {
  rt = await LocalRuntime.start('secrets-manager-rotation');
});

afterAll(async () => {
  await rt?.dispose();
});

/** Every token value seen, kept for the final scan. */
const captured = new Map<string, SecretValue>();
async function capture(secretName: string): Promise<void> {
  for (const version of await secretVersions(rt, secretName)) captured.set(version.value, version);
}

async function getToken(tokenId: string): Promise<TokenView> {
  const answer = await rt.api('GET', `/tokens/${tokenId}`, { token: await rt.memberToken(SEED.alice) });
  if (answer.status !== 200) throw new Error(`GET /tokens/${tokenId} answered ${answer.status}: ${answer.text}`);
  return answer.json as TokenView;
}

/** Alice asks for a 30-day token named `name`; approver1 approves; resolves with the issued token. */
async function issue(name: string): Promise<TokenView> {
  const alice = await rt.memberToken(SEED.alice);
  const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody(name) });
  expect(created.status).toBe(202);
  const { requestId } = created.json as RequestView;
  const links = await rt.waitForApprovalLinks(requestId, 2);
  const { answer } = await rt.decide(links.find((l) => l.to === SEED.approver1)!.link, 'approve');
  expect(answer.status).toBe(200);
  const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
  const token = await getToken(issued.tokenId!);
  await capture(token.secretName);
  return token;
}

/** Waits for the token to be ACTIVE at `generation`, then keeps its secret's values for the final scan. */
async function reachGeneration(tokenId: string, secretName: string, generation: number): Promise<TokenView> {
  const token = await waitFor(
    async () => {
      const seen = await getToken(tokenId);
      return seen.generation === generation && seen.status === 'ACTIVE' ? seen : undefined;
    },
    60_000,
    `${tokenId} to reach generation ${generation}`,
  );
  await capture(secretName);
  return token;
}

interface Described {
  RotationEnabled?: boolean;
  RotationLambdaARN?: string;
  RotationRules?: { AutomaticallyAfterDays?: number };
  LastRotatedDate?: number | string;
  NextRotationDate?: number | string;
  VersionIdsToStages?: Record<string, string[]>;
}

/** `aws secretsmanager describe-secret`, as an operator (or Security Hub's check) reads the secret. */
async function describeSecret(secretName: string): Promise<Described> {
  const cli = await runAws(rt.urls.aws, [
    'secretsmanager',
    'describe-secret',
    '--secret-id',
    secretName,
    '--output',
    'json',
  ]);
  expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(cli.stdout) as Described;
}

/** `aws secretsmanager rotate-secret` with the given client request token: what "Rotate secret immediately" does. */
async function rotateSecret(secretName: string, clientRequestToken: string) {
  const cli = await runAws(rt.urls.aws, [
    'secretsmanager',
    'rotate-secret',
    '--secret-id',
    secretName,
    '--client-request-token',
    clientRequestToken,
    '--output',
    'json',
  ]);
  expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(cli.stdout) as { ARN: string; Name: string; VersionId: string };
}

async function auditOf(tokenId: string): Promise<AuditView[]> {
  const answer = await rt.api('GET', `/audit?tokenId=${tokenId}`, { token: await rt.memberToken(SEED.admin) });
  expect(answer.status).toBe(200);
  return (answer.json as { items: AuditView[] }).items;
}

const stagesOf = (described: Described, versionId: string) => described.VersionIdsToStages?.[versionId] ?? [];

describe('Secrets Manager rotation of token secrets (AWS CLI against the local endpoint)', () => {
  it('configures every issued token secret for rotation by the rotation function, one day after Token Warden’s own', async () => {
    const { secretName } = await issue('sm-config');
    const described = await describeSecret(secretName);
    expect(described).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: expect.stringMatching(/^arn:aws:lambda:us-east-1:000000000000:function:.*SecretRotation/),
      RotationRules: { AutomaticallyAfterDays: LIFETIME_DAYS - LEAD_DAYS + 1 },
    });
    // Configuring it rotated nothing: one version, current; no rotation has run yet.
    expect(Object.values(described.VersionIdsToStages ?? {})).toEqual([['AWSCURRENT']]);
    expect(described.LastRotatedDate).toBeUndefined();
  });

  it('rotates on rotate-secret: a new AWSCURRENT, the previous one in AWSPREVIOUS until the grace period ends', async () => {
    const issued = await issue('sm-rotate');
    const { tokenId, secretName } = issued;
    const g1 = await readSecret(rt, secretName);
    const clientRequestToken = randomUUID();

    const answer = await rotateSecret(secretName, clientRequestToken);
    expect(answer).toMatchObject({ Name: secretName, VersionId: clientRequestToken });

    const rotated = await reachGeneration(tokenId, secretName, 2);
    expect(Date.parse(rotated.nextRotationAt!)).toBe(Date.parse(rotated.expiresAt) - LEAD_DAYS * 86_400_000);
    const described = await describeSecret(secretName);
    expect(stagesOf(described, clientRequestToken)).toEqual(['AWSCURRENT']);
    expect(described.RotationEnabled).toBe(true);
    expect(described.LastRotatedDate).toBeDefined();
    const g2 = await readSecret(rt, secretName);
    expect(g2).not.toBe(g1);
    expect(await readSecret(rt, secretName, { versionId: clientRequestToken })).toBe(g2);
    expect(await readSecret(rt, secretName, { stage: 'AWSPREVIOUS' })).toBe(g1);
    // Both work at Atlassian through the grace period; one token minted for generation 2, under its label.
    expect((await myself(rt, g2)).status).toBe(200);
    expect((await myself(rt, g1)).status).toBe(200);
    expect((await fakeTokensOf(rt, tokenId)).map((t) => [t.label, t.status])).toEqual([
      [`token-warden:${tokenId}:g1`, 'ACTIVE'],
      [`token-warden:${tokenId}:g2`, 'ACTIVE'],
    ]);
    // The rotation workflow's retiring run waits out the grace period on the simulated clock.
    expect((await rotationExecutions(rt, tokenId)).map((e) => [e.name, e.status])).toEqual([
      [`${tokenId}-g2-retire`, 'RUNNING'],
    ]);

    const advanced = await rt.advance({ hours: GRACE_HOURS + 1 });
    expect(advanced.settled).toBe(true);

    expect((await myself(rt, g1)).status).toBe(401);
    expect((await myself(rt, g2)).status).toBe(200);
    expect((await rotationExecutions(rt, tokenId)).map((e) => [e.name, e.status])).toEqual([
      [`${tokenId}-g2-retire`, 'SUCCEEDED'],
    ]);
    const token = await getToken(tokenId);
    expect(token).toMatchObject({ status: 'ACTIVE', generation: 2 });
    const events = (await auditOf(tokenId)).map((a) => a.event);
    expect(events).toEqual(expect.arrayContaining(['ISSUED', 'ROTATED']));
    expect(events.filter((e) => e === 'ROTATED')).toHaveLength(1);

    // The same request again changes nothing: the token makes RotateSecret idempotent.
    await rotateSecret(secretName, clientRequestToken);
    await rt.advance({ hours: 1 });
    expect((await getToken(tokenId)).generation).toBe(2);
    expect(await fakeTokensOf(rt, tokenId)).toHaveLength(2);
  });

  it('starts nothing twice when rotate-secret comes during a running workflow rotation', async () => {
    const { tokenId, secretName } = await issue('sm-race');
    // A slow mint (within the client's 10-second timeout) keeps the workflow's rotation, which took the lock before
    // answering 202, running meanwhile.
    await injectFault(rt, { route: 'mint', delayMs: 6_000, count: 1 });
    const started = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: await rt.memberToken(SEED.alice) });
    expect(started.status).toBe(202);
    const clientRequestToken = randomUUID();

    await rotateSecret(secretName, clientRequestToken);

    // Secrets Manager's rotation is refused at createSecret, which drops its AWSPENDING version again.
    await waitFor(
      async () => {
        const described = await describeSecret(secretName);
        return stagesOf(described, clientRequestToken).includes('AWSPENDING') ? undefined : described;
      },
      60_000,
      `the pending version ${clientRequestToken} to be dropped`,
    );
    const rotated = await reachGeneration(tokenId, secretName, 2);
    expect(rotated.generation).toBe(2);
    // One mint for generation 2, by the workflow; Secrets Manager's version never became current.
    expect((await fakeTokensOf(rt, tokenId)).map((t) => t.label)).toEqual([
      `token-warden:${tokenId}:g1`,
      `token-warden:${tokenId}:g2`,
    ]);
    expect(stagesOf(await describeSecret(secretName), clientRequestToken)).toEqual([]);
    expect((await rotationExecutions(rt, tokenId)).map((e) => e.name)).toEqual([`${tokenId}-g2-a1`]);
    // Refused for the workflow's lock, and said so in the function's log.
    const log = readFileSync(join(rt.dataDir, 'logs', 'functions.log'), 'utf8');
    expect(log).toContain(`token ${tokenId} is not rotated now: a rotation of this token is already running`);

    // Once the workflow's rotation is over (its grace period included), Secrets Manager's next request rotates.
    expect((await rt.advance({ hours: GRACE_HOURS + 1 })).settled).toBe(true);
    const next = randomUUID();
    await rotateSecret(secretName, next);
    await reachGeneration(tokenId, secretName, 3);
    expect(stagesOf(await describeSecret(secretName), next)).toEqual(['AWSCURRENT']);
  });

  it('rotates the link-signing key without breaking a link emailed before the rotation', async () => {
    const linkKey = 'TokenWarden/link-signing-key';
    const configured = await describeSecret(linkKey);
    expect(configured).toMatchObject({
      RotationEnabled: true,
      RotationLambdaARN: expect.stringMatching(/:function:.*LinkKeyRotation/),
      RotationRules: { AutomaticallyAfterDays: LINK_KEY_ROTATION_DAYS },
    });
    // A request whose approval links are signed with the key current now.
    const alice = await rt.memberToken(SEED.alice);
    const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody('sm-link-key') });
    expect(created.status).toBe(202);
    const { requestId } = created.json as RequestView;
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const before = await readSecret(rt, linkKey);

    const clientRequestToken = randomUUID();
    await rotateSecret(linkKey, clientRequestToken);
    const rotated = await waitFor(
      async () =>
        stagesOf(await describeSecret(linkKey), clientRequestToken).includes('AWSCURRENT') ? true : undefined,
      60_000,
      'the link-signing key to rotate',
    );
    expect(rotated).toBe(true);
    const after = await readSecret(rt, linkKey);
    expect(after).not.toBe(before);
    expect(after).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(await readSecret(rt, linkKey, { stage: 'AWSPREVIOUS' })).toBe(before);
    captured.set(before, { label: `${linkKey} (before)`, value: before });
    captured.set(after, { label: `${linkKey} (after)`, value: after });

    // The link signed before the rotation still decides (the functions read the key past their cache on a miss).
    const { answer } = await rt.decide(links.find((l) => l.to === SEED.approver1)!.link, 'approve');
    expect(answer.status).toBe(200);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    await capture((await getToken(issued.tokenId!)).secretName);
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no token value, of any generation, in anything the run produced', async () => {
    const report = await scanForLeaks(rt);
    for (const secret of report.secrets) captured.set(secret.value, secret);
    const values = [...captured.values()].filter(
      (s) => s.label.startsWith('token-warden.jenkins-bot.') || s.label.startsWith('TokenWarden/link-signing-key'),
    );
    // Three tokens, over one, two and three generations.
    expect(values.length).toBeGreaterThanOrEqual(6);
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);
    expect(findSecretValues(await collectArtifacts(rt), values)).toEqual([]);
  });
});
