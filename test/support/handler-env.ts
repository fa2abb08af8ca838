/** The environment the API handlers read on Lambda, pointed at a local DynamoDB, for handler tests. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SQSBatchResponse } from 'aws-lambda';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import {
  activate,
  applyExceptionDecision,
  close,
  end,
  LIVE_EXCEPTION_STATUSES,
  newException,
  type StoredException,
} from '../../functions/domain/access-exceptions';
import { sealTaskToken } from '../../functions/domain/links';
import type { Policy } from '../../functions/domain/policy';
import type { ApiEvent, ApiResult } from '../../functions/edge/http';
import type { AccessExceptionRepository } from '../../functions/use-cases/ports';
import type { LocalDynamo } from './dynamo';
import { apiEvent, type EventSpec, lambdaContext } from './events';
import { bundledPolicyFile } from './policy-json';

/**
 * Sets what the deployed stack gives the API functions (tables, bus, state machines, link key, sender, base URLs,
 * the shipped policy), with DynamoDB on `dynamo` and throwaway credentials; `extra` adds or overrides variables.
 * Set it before importing a handler: handlers read their configuration at import.
 */
export async function setHandlerEnvironment(dynamo: LocalDynamo, extra: Record<string, string> = {}): Promise<void> {
  const endpoint = await dynamo.client.config.endpoint?.();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: `http://${endpoint?.hostname}:${endpoint?.port}`,
    TABLE_NAME: dynamo.tableName,
    AUDIT_TABLE_NAME: dynamo.auditTableName,
    EVENT_BUS_NAME: 'token-warden',
    ISSUANCE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:Issuance',
    ROTATION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:Rotation',
    REVOCATION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:Revocation',
    SCAN_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:PersonalTokenScan',
    EXCEPTION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:AccessException',
    LINK_SIGNING_SECRET_ID: 'token-warden/link-signing-key',
    FROM_EMAIL: 'token-warden@example.com',
    APPROVAL_BASE_URL: 'https://api.example.com',
    CONSOLE_URL: 'https://console.example.com/',
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/token-warden-notifier',
    POLICY_FILE: bundledPolicyFile(),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  });
}

/**
 * The SQS event the notifier's queue would deliver for the lifecycle events in these `PutEvents` inputs (the bus
 * mock's calls): the rule's envelope around each entry's detail, one record per entry.
 */
export function notifierEventOf(inputs: readonly PutEventsCommand['input'][]) {
  const entries = inputs.flatMap((input) => input.Entries ?? []);
  return {
    Records: entries.map((entry, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      attributes: { ApproximateReceiveCount: '1' },
      body: JSON.stringify({
        id: `e-${i}`,
        'detail-type': entry.DetailType,
        source: entry.Source,
        time: (entry.Time ?? new Date()).toISOString(),
        detail: JSON.parse(entry.Detail ?? '{}'),
      }),
    })),
  };
}

/** The notifier's handler as the tests call it. */
export type NotifierFunction = (
  event: ReturnType<typeof notifierEventOf>,
  context: typeof lambdaContext,
) => Promise<SQSBatchResponse>;

/**
 * Delivers to the notifier every lifecycle event the bus mock received since its history was last reset, as its
 * queue would (an event delivered before is a duplicate: the notifier sends nothing twice). Throws unless every
 * event was told.
 */
export async function notifyPublished(
  eventBridge: AwsClientStub<EventBridgeClient>,
  notifier: NotifierFunction,
): Promise<void> {
  const published = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input);
  const { batchItemFailures } = await notifier(notifierEventOf(published), lambdaContext);
  if (batchItemFailures.length > 0) throw new Error(`the notifier failed ${batchItemFailures.length} event(s)`);
}

/** An API handler as the tests call it. */
export type ApiFunction = (event: ApiEvent, context: typeof lambdaContext) => Promise<ApiResult>;

/** Invokes an API handler with the event `spec` describes; answers its status, headers, cookies and body. */
export async function callApi(fn: ApiFunction, spec: EventSpec) {
  const result = await fn(apiEvent(spec), lambdaContext);
  return { status: result.statusCode, headers: result.headers ?? {}, cookies: result.cookies ?? [], body: result.body };
}

/** The client mocks the approval flow's handlers talk to (call once, at a test file's top level). */
export function approvalAwsMocks() {
  return {
    sfn: mockClient(SFNClient),
    eventBridge: mockClient(EventBridgeClient),
    ses: mockClient(SESv2Client),
    secrets: mockClient(SecretsManagerClient),
  };
}

/**
 * Resets the mocked clients and gives them the answers the approval flow needs: executions start and resume, events
 * and emails go out, and the link-signing key reads as a fixed value.
 */
export function stubApprovalAws(mocks: {
  sfn: AwsClientStub<SFNClient>;
  eventBridge: AwsClientStub<EventBridgeClient>;
  ses: AwsClientStub<SESv2Client>;
  secrets: AwsClientStub<SecretsManagerClient>;
}): void {
  const { sfn, eventBridge, ses, secrets } = mocks;
  for (const mock of [sfn, eventBridge, ses, secrets]) mock.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  sfn.on(StartExecutionCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'k'.repeat(64), Name: 'token-warden/link-signing-key' });
}

/**
 * Creates a member's personal token at the fake Atlassian as the member would in id.atlassian.com (`createdDaysAgo`:
 * one that predates the blocking policy); answers its Atlassian id and value.
 */
export async function createPersonalTokenAt(
  fakeUrl: string,
  token: { email: string; label: string; scopes?: string[]; expiresInDays?: number; createdDaysAgo?: number },
): Promise<{ id: string; token: string }> {
  const res = await fetch(`${fakeUrl}/__control/personal-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(token),
  });
  if (res.status !== 201) throw new Error(`creating a personal token answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string; token: string };
}

/** Moves a member into an authentication policy at the fake Atlassian, as an admin would in admin.atlassian.com. */
export async function movePolicyMemberAt(fakeUrl: string, policyId: string, email: string): Promise<void> {
  const res = await fetch(`${fakeUrl}/__control/policies/${policyId}/members`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (res.status !== 200) throw new Error(`moving ${email} into ${policyId} answered ${res.status}`);
}

/**
 * Writes an access exception of `member` straight into the store, moved to `status` as the workflow's steps would
 * leave it (decided by the policy's exception approver, active from two hours after `createdAt`); a live one takes
 * the member's one place from a closed one that held it. `taskToken` is stored sealed with `linkKey`, as the approval
 * step stores it. Answers the exception's id.
 */
export async function seedAccessException(
  store: AccessExceptionRepository,
  seed: {
    policy: Policy;
    member: string;
    status: StoredException['status'];
    exceptionId: string;
    createdAt: Date;
    days?: number;
    taskToken?: string;
    linkKey?: Buffer;
  },
): Promise<string> {
  const { exceptionId, member, status, createdAt } = seed;
  const at = (hours: number) => new Date(createdAt.getTime() + hours * 3_600_000);
  const approver = seed.policy.personalTokens?.exceptions?.approvers[0] ?? '';
  let record = newException({
    exceptionId,
    body: { days: seed.days ?? 7, justification: `${member} needs a personal token for a migration script` },
    bodyHash: 'seeded',
    member,
    policy: seed.policy,
    now: createdAt,
  });
  if (!(await store.createException(record))) throw new Error(`seed ${exceptionId} exists`);
  if (LIVE_EXCEPTION_STATUSES.includes(status)) {
    let holder = await store.claimLiveException(record.member, exceptionId);
    const held = holder === undefined ? undefined : await store.getException(holder);
    if (held && LIVE_EXCEPTION_STATUSES.includes(held.status)) throw new Error(`${member} holds ${held.exceptionId}`);
    if (holder !== undefined) holder = await store.claimLiveException(record.member, exceptionId, holder);
    if (holder !== undefined) throw new Error(`${member}'s place is taken by ${holder}`);
  }
  const save = async (next: StoredException) => {
    const saved = await store.saveException(next);
    if (!saved) throw new Error(`seed ${exceptionId}: the save conflicted`);
    record = saved;
  };
  if (seed.taskToken) {
    if (!seed.linkKey) throw new Error('a task token is sealed with the link key');
    await save({ ...record, taskTokenSealed: sealTaskToken(seed.linkKey, seed.taskToken, exceptionId) });
  }
  if (status === 'PENDING_APPROVAL') return exceptionId;
  if (status === 'REJECTED') {
    await save(applyExceptionDecision(record, approver, 'REJECTED', at(1)).exception);
    return exceptionId;
  }
  if (status === 'EXPIRED') {
    await save(close(record, 'EXPIRED', 'APPROVAL_EXPIRED', at(seed.policy.approvalExpiryHours)));
    return exceptionId;
  }
  await save(applyExceptionDecision(record, approver, 'APPROVED', at(1)).exception);
  if (status === 'APPROVED') return exceptionId;
  if (status === 'FAILED') {
    await save(close(record, 'FAILED', 'MOVE_FAILED', at(2)));
    return exceptionId;
  }
  await save({ ...activate(record, at(2)), accountId: '712020:00000000-0000-4000-8000-0000000000a1' });
  if (status === 'ACTIVE') return exceptionId;
  await save(end(record, 'DAYS_OVER', at(2 + record.days * 24)));
  await store.releaseLiveException(record.member, exceptionId);
  return exceptionId;
}
