/**
 * Helpers for the rotation lifecycle tests: the token representation, reading secret versions and schedules and
 * rotation executions through the AWS SDK on the local endpoint (as an operator would), the fake Atlassian's
 * `/myself` and its fault controls.
 */
import {
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import {
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { type LocalRuntime, SEED } from '../../../local/driver';
import { awsClientConfig, type SecretValue, versionValue } from './leaks';

export const SCHEDULE_GROUP = 'TokenWarden-rotations';
export const ROTATION_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-rotation';
export const REVOCATION_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-revocation';

/** The token representation (`GET /tokens/{tokenId}`). */
export interface TokenView {
  tokenId: string;
  requestId: string;
  serviceAccount: string;
  name: string;
  owner: string;
  secretName: string;
  secretArn: string;
  status: 'ACTIVE' | 'ROTATING' | 'REVOKED' | 'EXPIRED';
  scopes: string[];
  expiresAt: string;
  generation: number;
  createdAt: string;
  lastRotatedAt?: string;
  nextRotationAt?: string;
  lastRotationError?: { code: string; message: string; at: string };
}

/** One audit record as `GET /audit` returns it. */
export interface AuditView {
  correlationId: string;
  event: string;
  at: string;
  actor: string;
  requestId: string;
  tokenId?: string;
  details?: Record<string, unknown>;
}

/** One lifecycle event as `GET /local/events` lists it. */
export interface LifecycleEventView {
  'detail-type': string;
  source: string;
  time: string;
  detail: { event: string; correlationId: string; requestId: string; tokenId?: string; actor: string };
}

/** An Atlassian fault as `POST /__control/faults` takes it. */
export interface Fault {
  route: 'mint' | 'list' | 'revoke' | 'myself' | '*';
  status?: number;
  count: number;
  retryAfterSeconds?: number;
  delayMs?: number;
}

/** `GET /myself` at the fake Atlassian with the service account's Basic credential. */
export function myself(rt: LocalRuntime, token: string) {
  return rt.http(`${rt.urls.atlassian}/ex/jira/${SEED.cloudId}/rest/api/3/myself`, {
    headers: { authorization: `Basic ${Buffer.from(`${SEED.serviceAccountEmail}:${token}`).toString('base64')}` },
  });
}

export async function injectFault(rt: LocalRuntime, fault: Fault): Promise<void> {
  const answer = await rt.http(`${rt.urls.atlassian}/__control/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  if (answer.status !== 200) throw new Error(`POST /__control/faults answered ${answer.status}: ${answer.text}`);
}

export async function clearFaults(rt: LocalRuntime): Promise<void> {
  const answer = await rt.http(`${rt.urls.atlassian}/__control/faults`, { method: 'DELETE' });
  if (answer.status !== 204) throw new Error(`DELETE /__control/faults answered ${answer.status}`);
}

/** The fake's tokens minted for `tokenId` (any generation), as `[label, status]`. */
export async function fakeTokensOf(rt: LocalRuntime, tokenId: string) {
  return (await rt.fakeTokens()).filter((t) => t.label.startsWith(`token-warden:${tokenId}:g`));
}

/** Reads a secret (`AWSCURRENT` unless a stage or version is named); the SDK error propagates. */
export async function readSecret(
  rt: LocalRuntime,
  secretId: string,
  which: { stage?: string; versionId?: string } = {},
): Promise<string> {
  const sm = new SecretsManagerClient(awsClientConfig(rt));
  try {
    const { SecretString } = await sm.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        ...(which.stage ? { VersionStage: which.stage } : {}),
        ...(which.versionId ? { VersionId: which.versionId } : {}),
      }),
    );
    if (!SecretString) throw new Error(`${secretId} has no string value`);
    return SecretString;
  } finally {
    sm.destroy();
  }
}

/** The name of the SDK error reading `secretId` raises, or `undefined` when the read succeeds. */
export async function readSecretError(rt: LocalRuntime, secretId: string, stage?: string): Promise<string | undefined> {
  try {
    await readSecret(rt, secretId, stage ? { stage } : {});
    return undefined;
  } catch (error) {
    return (error as Error).name;
  }
}

/** Every version's value of one secret (deprecated versions too), labelled `name@version [stages]`. */
export async function secretVersions(rt: LocalRuntime, secretId: string): Promise<SecretValue[]> {
  const sm = new SecretsManagerClient(awsClientConfig(rt));
  try {
    const out: SecretValue[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sm.send(
        new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true, NextToken: nextToken }),
      );
      for (const version of page.Versions ?? []) {
        const got = await versionValue(sm, secretId, version.VersionId ?? '');
        if (got) {
          const stages = (version.VersionStages ?? []).join(',');
          out.push({ label: `${secretId}@${version.VersionId} [${stages}]`, value: got });
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return out;
  } finally {
    sm.destroy();
  }
}

/** The token's rotation schedule (`rotate-<tokenId>`), or `undefined` when there is none. */
export async function rotationSchedule(rt: LocalRuntime, tokenId: string) {
  const scheduler = new SchedulerClient(awsClientConfig(rt));
  try {
    return await scheduler.send(new GetScheduleCommand({ Name: `rotate-${tokenId}`, GroupName: SCHEDULE_GROUP }));
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  } finally {
    scheduler.destroy();
  }
}

/** Names of the schedules in the rotation group. */
export async function scheduleNames(rt: LocalRuntime): Promise<string[]> {
  const scheduler = new SchedulerClient(awsClientConfig(rt));
  try {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await scheduler.send(new ListSchedulesCommand({ GroupName: SCHEDULE_GROUP, NextToken: nextToken }));
      for (const s of page.Schedules ?? []) if (s.Name) names.push(s.Name);
      nextToken = page.NextToken;
    } while (nextToken);
    return names;
  } finally {
    scheduler.destroy();
  }
}

export async function deleteRotationSchedule(rt: LocalRuntime, tokenId: string): Promise<void> {
  const scheduler = new SchedulerClient(awsClientConfig(rt));
  try {
    await scheduler.send(new DeleteScheduleCommand({ Name: `rotate-${tokenId}`, GroupName: SCHEDULE_GROUP }));
  } finally {
    scheduler.destroy();
  }
}

/** Whether the secret is scheduled for deletion, and the resource policy it still carries (as an operator sees it). */
export async function secretState(rt: LocalRuntime, secretId: string) {
  const sm = new SecretsManagerClient(awsClientConfig(rt));
  try {
    const described = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
    const policy = await sm.send(new GetResourcePolicyCommand({ SecretId: secretId }));
    return { deletionScheduled: described.DeletedDate !== undefined, resourcePolicy: policy.ResourcePolicy ?? null };
  } finally {
    sm.destroy();
  }
}

/** The rotation executions of `tokenId` (names `<tokenId>-g<generation>-a<attempt>`), oldest first. */
export async function rotationExecutions(
  rt: LocalRuntime,
  tokenId: string,
  stateMachineArn = ROTATION_STATE_MACHINE_ARN,
) {
  const sfn = new SFNClient(awsClientConfig(rt));
  try {
    const found: { name: string; status: string; startDate?: Date }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }));
      for (const e of page.executions ?? []) {
        if (e.name?.startsWith(`${tokenId}-`)) {
          found.push({ name: e.name, status: e.status ?? '', ...(e.startDate ? { startDate: e.startDate } : {}) });
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return found.sort((a, b) => (a.startDate?.getTime() ?? 0) - (b.startDate?.getTime() ?? 0));
  } finally {
    sfn.destroy();
  }
}
