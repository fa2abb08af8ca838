import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { ApiEvent, ApiResult } from '../../../functions/shared/http';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { admin, apiEvent, type EventSpec, lambdaContext, member } from '../../support/events';
import { setHandlerEnvironment } from '../../support/handler-env';

const sfn = mockClient(SFNClient);
const eventBridge = mockClient(EventBridgeClient);
let dynamo: LocalDynamo;
let handler: (event: ApiEvent, context: typeof lambdaContext) => Promise<ApiResult>;

const body = {
  serviceAccount: 'jenkins-bot',
  name: 'ci-main',
  scopes: ['read:jira-work', 'read:jira-user'],
  lifetimeDays: 30,
  justification: 'Jenkins reads Jira issues for release notes',
};

beforeAll(async () => {
  dynamo = await startDynamo();
  await setHandlerEnvironment(dynamo);
  ({ handler } = await import('../../../functions/api/token-requests'));
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(() => {
  sfn.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  sfn
    .on(StartExecutionCommand)
    .resolves({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:Issuance:x' });
});

async function call(spec: EventSpec) {
  const result = await handler(apiEvent(spec), lambdaContext);
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

const create = (json: unknown, extra: Partial<EventSpec> = {}) =>
  call({
    routeKey: 'POST /token-requests',
    body: typeof json === 'string' ? json : JSON.stringify(json),
    headers: { 'content-type': 'application/json', ...extra.headers },
    claims: extra.claims ?? member('alice@example.com'),
  });

describe('POST /token-requests', () => {
  it('accepts a valid request: 202, the representation, and the workflow started under the request id', async () => {
    const res = await create({ ...body, name: 'valid-1' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      status: 'PENDING_APPROVAL',
      serviceAccount: 'jenkins-bot',
      name: 'valid-1',
      requester: 'alice@example.com',
      approvalsRequired: 1,
      approvals: [],
      consumers: ['arn:aws:iam::000000000000:role/jenkins'],
    });
    expect(res.body.requestId).toMatch(/^req_[a-z2-7]{26}$/);
    expect(res.body).not.toHaveProperty('tokenId');
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start).toEqual({
      stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:Issuance',
      name: res.body.requestId,
      input: JSON.stringify({ requestId: res.body.requestId }),
    });
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      EventBusName: 'token-warden',
      Source: 'token-warden',
      DetailType: 'Token Requested',
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toMatchObject({
      event: 'REQUESTED',
      correlationId: res.body.requestId,
      requestId: res.body.requestId,
      actor: 'alice@example.com',
      eventId: `${res.body.requestId}:REQUESTED#${res.body.requestId}`,
    });
  });

  it.each([
    ['no email claim', { claims: { sub: 'x' } }, 401, 'UNAUTHORIZED', 'authorization'],
    ['text/plain', { headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE', 'content-type'],
  ])('refuses %s', async (_what, extra, status, code, field) => {
    const res = await create(body, extra as Partial<EventSpec>);
    expect(res).toEqual({ status, body: { error: expect.objectContaining({ code, field }) } });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each([
    ['invalid JSON', '{"serviceAccount":', 400, 'VALIDATION_ERROR', undefined],
    ['a body over 64 KB', { ...body, justification: 'x'.repeat(70_000) }, 413, 'PAYLOAD_TOO_LARGE', undefined],
    ['an unknown property', { ...body, requester: 'mallory@example.com' }, 400, 'VALIDATION_ERROR', 'requester'],
    ['a bad name', { ...body, name: '../etc' }, 400, 'VALIDATION_ERROR', 'name'],
    ['a scope outside policy', { ...body, scopes: ['manage:jira-project'] }, 400, 'POLICY_VIOLATION', 'scopes'],
    ['a lifetime over the maximum', { ...body, lifetimeDays: 365 }, 400, 'POLICY_VIOLATION', 'lifetimeDays'],
    ['an unknown service account', { ...body, serviceAccount: 'ghost' }, 400, 'POLICY_VIOLATION', 'serviceAccount'],
    [
      'a foreign consumer',
      { ...body, consumers: ['arn:aws:iam::111111111111:role/x'] },
      400,
      'POLICY_VIOLATION',
      'consumers',
    ],
    [
      'a __proto__ key',
      '{"__proto__":{"admin":true},"serviceAccount":"jenkins-bot"}',
      400,
      'VALIDATION_ERROR',
      '__proto__',
    ],
  ])('refuses %s', async (_what, json, status, code, field) => {
    const res = await create(json);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.field).toBe(field);
    expect(typeof res.body.error.message).toBe('string');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a bad Idempotency-Key', async () => {
    const res = await create(body, { headers: { 'idempotency-key': 'has space' } });
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'Idempotency-Key' });
  });

  it('replays the same Idempotency-Key and body, and refuses it with another body', async () => {
    const headers = { 'idempotency-key': 'key-1' };
    const first = await create({ ...body, name: 'idem' }, { headers });
    const again = await create({ ...body, name: 'idem' }, { headers });
    expect(again).toEqual(first);
    const other = await create({ ...body, name: 'idem', lifetimeDays: 31 }, { headers });
    expect(other).toEqual({
      status: 409,
      body: { error: expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'Idempotency-Key' }) },
    });
    // The same key from another caller is another request.
    const bob = await create({ ...body, name: 'idem-bob' }, { headers, claims: member('bob@example.com') });
    expect(bob.status).toBe(202);
    expect(bob.body.requestId).not.toBe(first.body.requestId);
  });

  it('refuses a second live request with the same name (409 on name)', async () => {
    expect((await create({ ...body, name: 'dup' })).status).toBe(202);
    const second = await create({ ...body, name: 'dup' }, { claims: member('bob@example.com') });
    expect(second).toEqual({
      status: 409,
      body: { error: expect.objectContaining({ code: 'CONFLICT', field: 'name' }) },
    });
  });
});

describe('reading requests', () => {
  let requestId: string;
  beforeAll(async () => {
    sfn.on(StartExecutionCommand).resolves({});
    requestId = (await create({ ...body, name: 'read-me' })).body.requestId;
  });

  it('shows the requester and admins their request, and others a 404', async () => {
    const get = (claims: Record<string, string>) =>
      call({ routeKey: 'GET /token-requests/{requestId}', pathParameters: { requestId }, claims });
    expect((await get(member('alice@example.com'))).body.requestId).toBe(requestId);
    expect((await get(admin())).body.requestId).toBe(requestId);
    expect(await get(member('bob@example.com'))).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'request not found' } },
    });
  });

  it('accepts admin groups in both claim forms', async () => {
    const res = await call({
      routeKey: 'GET /token-requests/{requestId}',
      pathParameters: { requestId },
      claims: { email: 'carol@example.com', groups: '[other token-warden-admins]' },
    });
    expect(res.status).toBe(200);
  });

  it('lists own requests newest first, all for admins, and pages with nextToken', async () => {
    const mine = await call({ routeKey: 'GET /token-requests', claims: member('alice@example.com') });
    expect(mine.status).toBe(200);
    expect(mine.body.items.every((r: { requester: string }) => r.requester === 'alice@example.com')).toBe(true);
    const created = mine.body.items.map((r: { createdAt: string }) => r.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
    const all = await call({ routeKey: 'GET /token-requests', claims: admin(), query: { limit: '1' } });
    expect(all.body.items).toHaveLength(1);
    expect(typeof all.body.nextToken).toBe('string');
    const next = await call({
      routeKey: 'GET /token-requests',
      claims: admin(),
      query: { limit: '1', nextToken: all.body.nextToken },
    });
    expect(next.body.items[0].requestId).not.toBe(all.body.items[0].requestId);
  });

  it('refuses a bad limit and a nextToken from another partition', async () => {
    const bad = await call({
      routeKey: 'GET /token-requests',
      claims: member('alice@example.com'),
      query: { limit: '0' },
    });
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'limit' });
    const adminPage = await call({ routeKey: 'GET /token-requests', claims: admin(), query: { limit: '1' } });
    const stolen = await call({
      routeKey: 'GET /token-requests',
      claims: member('bob@example.com'),
      query: { nextToken: adminPage.body.nextToken },
    });
    expect(stolen.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'nextToken' });
  });

  it('cancels a pending request once; cancelling again conflicts', async () => {
    const cancel = (claims: Record<string, string>) =>
      call({ routeKey: 'POST /token-requests/{requestId}/cancel', pathParameters: { requestId }, claims });
    expect((await cancel(member('bob@example.com'))).status).toBe(404);
    const done = await cancel(member('alice@example.com'));
    expect(done.body).toMatchObject({ status: 'REJECTED', reason: 'CANCELLED' });
    expect((await cancel(member('alice@example.com'))).body.error.code).toBe('CONFLICT');
  });
});
