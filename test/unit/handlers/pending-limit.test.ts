/** `POST /token-requests` at the shipped policy's `maxPendingRequestsPerMember` (5), through the API handler. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { member } from '../../support/events';
import { type ApiFunction, callApi, setHandlerEnvironment } from '../../support/handler-env';

const sfn = mockClient(SFNClient);
const eventBridge = mockClient(EventBridgeClient);
let dynamo: LocalDynamo;
let requests: ApiFunction;

beforeAll(async () => {
  dynamo = await startDynamo();
  await setHandlerEnvironment(dynamo);
  ({ handler: requests } = await import('../../../functions/api/token-requests'));
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(() => {
  sfn.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  sfn.on(StartExecutionCommand).resolves({});
});

const create = async (name: string, headers: Record<string, string> = {}) => {
  const res = await callApi(requests, {
    routeKey: 'POST /token-requests',
    body: JSON.stringify({
      serviceAccount: 'jenkins-bot',
      name,
      scopes: ['read:jira-work'],
      lifetimeDays: 30,
      justification: 'Jenkins reads Jira issues',
    }),
    headers: { 'content-type': 'application/json', ...headers },
    claims: member('carol@example.com'),
  });
  return { status: res.status, body: JSON.parse(res.body) };
};

describe('POST /token-requests beyond maxPendingRequestsPerMember', () => {
  it('answers 429 TOO_MANY_REQUESTS with the error shape, and still replays an Idempotency-Key', async () => {
    const first = await create('pending-1', { 'idempotency-key': 'first' });
    expect(first.status).toBe(202);
    for (let i = 2; i <= 5; i++) expect((await create(`pending-${i}`)).status).toBe(202);
    sfn.resetHistory();

    const refused = await create('pending-6');
    expect(refused).toEqual({
      status: 429,
      body: { error: { code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('5 pending requests') } },
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);

    expect(await create('pending-1', { 'idempotency-key': 'first' })).toEqual(first);
  });
});
