/**
 * The notifier's Lambda handler as deployed: the SQS event in, the records in a local DynamoDB, the webhook URL from
 * a mocked Secrets Manager, the webhook itself a stubbed `fetch`, and the queue's ChangeMessageVisibility mocked.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createRecordStore } from '../../../functions/adapters/aws/record-store';
import type { StoredRequest } from '../../../functions/domain/records';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { lambdaContext } from '../../support/events';
import { setHandlerEnvironment } from '../../support/handler-env';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/notifier';
/** The shipped policy's Slack channel. */
const SECRET = 'token-warden/chat/slack-security';
const WEBHOOK = 'https://hooks.slack.com/services/T000/B000/XXXX';

const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
let dynamo: LocalDynamo;
let handler: (event: unknown, context: typeof lambdaContext) => Promise<{ batchItemFailures: unknown[] }>;
let fetchMock: jest.SpiedFunction<typeof fetch>;

const request: StoredRequest = {
  requestId: 'req_notify1',
  status: 'PENDING_APPROVAL',
  serviceAccount: 'jenkins-bot',
  name: 'ci-notify',
  scopes: ['read:jira-work'],
  lifetimeDays: 30,
  justification: 'CI needs to read issues',
  consumers: [],
  requester: 'alice@example.com',
  createdAt: '2026-12-01T00:00:00Z',
  updatedAt: '2026-12-01T00:00:00Z',
  approvalsRequired: 1,
  approvers: ['bob@example.com'],
  approvals: [],
  bodyHash: 'h',
  correlationId: 'req_notify1',
  version: 1,
};

function sqsEvent(messageId: string, eventId: string) {
  const body = JSON.stringify({
    version: '0',
    id: `envelope-${messageId}`,
    'detail-type': 'Token Requested',
    source: 'token-warden',
    time: '2026-12-01T00:00:00Z',
    detail: {
      eventId,
      event: 'REQUESTED',
      correlationId: request.requestId,
      requestId: request.requestId,
      actor: request.requester,
      at: '2026-12-01T00:00:00Z',
    },
  });
  return { Records: [{ messageId, receiptHandle: `rh-${messageId}`, body, eventSource: 'aws:sqs' }] };
}

beforeAll(async () => {
  dynamo = await startDynamo();
  await setHandlerEnvironment(dynamo, { QUEUE_URL });
  // The webhook sender takes `fetch` when the module builds it, at import: spy on it before.
  fetchMock = jest.spyOn(globalThis, 'fetch');
  await createRecordStore(dynamo.doc, dynamo.tableName).createRequest(request);
  ({ handler } = (await import('../../../functions/events/notifier')) as unknown as { handler: typeof handler });
});

afterAll(async () => {
  fetchMock.mockRestore();
  await dynamo.close();
});

beforeEach(() => {
  sqs.reset();
  secrets.reset();
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  secrets.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ SecretString: WEBHOOK, Name: SECRET });
  // Nothing reaches the network: a post no test answers fails.
  fetchMock.mockReset();
  fetchMock.mockRejectedValue(new TypeError('fetch failed'));
});

describe('Handler: notifier', () => {
  it("hides a message for the webhook's Retry-After and reports it, then posts it once when it comes back", async () => {
    // Prepare
    fetchMock.mockResolvedValueOnce(new Response('rate_limited', { status: 429, headers: { 'retry-after': '90' } }));

    // Act
    const limited = await handler(sqsEvent('m1', 'req_notify1:REQUESTED#1'), lambdaContext);

    // Assess
    expect(limited).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'rh-m1', VisibilityTimeout: 90 },
    ]);

    // Prepare
    fetchMock.mockResolvedValue(new Response('ok', { status: 200 }));

    // Act
    const delivered = await handler(sqsEvent('m1', 'req_notify1:REQUESTED#1'), lambdaContext);
    const duplicate = await handler(sqsEvent('m2', 'req_notify1:REQUESTED#1'), lambdaContext);

    // Assess
    expect(delivered).toEqual({ batchItemFailures: [] });
    expect(duplicate).toEqual({ batchItemFailures: [] });
    expect(fetchMock).toHaveBeenCalledTimes(2);
    const [url, init] = fetchMock.mock.calls[1] ?? [];
    expect(String(url)).toBe(WEBHOOK);
    const posted = JSON.parse(String(init?.body)) as { text: string; blocks: unknown[] };
    expect(posted.text).toContain('Approval needed: jenkins-bot token');
    expect(JSON.stringify(posted)).toContain('https://console.example.com/approvals');
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(1);
  });

  it('drops a malformed body without a failure, a post or a visibility change', async () => {
    // Act
    const result = await handler(
      { Records: [{ messageId: 'bad', receiptHandle: 'rh-bad', body: 'not json' }] },
      lambdaContext,
    );

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(fetchMock).not.toHaveBeenCalled();
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
  });
});
