import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { ApiEvent, ApiResult } from '../../../functions/edge/http';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { admin, apiEvent, bearerToken, type EventSpec, lambdaContext, member } from '../../support/events';
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
    const get = (claims: Record<string, unknown>) =>
      call({ routeKey: 'GET /token-requests/{requestId}', pathParameters: { requestId }, claims });
    expect((await get(member('alice@example.com'))).body.requestId).toBe(requestId);
    expect((await get(admin())).body.requestId).toBe(requestId);
    expect(await get(member('bob@example.com'))).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'request not found' } },
    });
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
    const cancel = (claims: Record<string, unknown>) =>
      call({ routeKey: 'POST /token-requests/{requestId}/cancel', pathParameters: { requestId }, claims });
    expect((await cancel(member('bob@example.com'))).status).toBe(404);
    const done = await cancel(member('alice@example.com'));
    expect(done.body).toMatchObject({ status: 'REJECTED', reason: 'CANCELLED' });
    expect((await cancel(member('alice@example.com'))).body.error.code).toBe('CONFLICT');
  });
});

describe('GET /token-requests with filters', () => {
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    sfn.on(StartExecutionCommand).resolves({});
    ids.alicePending = (await create({ ...body, name: 'filter-alice-a' })).body.requestId;
    ids.aliceCancelled = (await create({ ...body, name: 'filter-alice-b' })).body.requestId;
    ids.bobPending = (
      await create({ ...body, name: 'filter-bob' }, { claims: member('bob@example.com') })
    ).body.requestId;
    await call({
      routeKey: 'POST /token-requests/{requestId}/cancel',
      pathParameters: { requestId: ids.aliceCancelled as string },
      claims: member('alice@example.com'),
    });
  });

  const list = (claims: Record<string, unknown>, query: Record<string, string>) =>
    call({ routeKey: 'GET /token-requests', claims, query: { limit: '100', ...query } });
  const idsOf = (answer: { body: { items: { requestId: string }[] } }) => answer.body.items.map((r) => r.requestId);

  it("narrows a member's own list by status and serviceAccount", async () => {
    // Act
    const pending = await list(member('alice@example.com'), {
      status: 'PENDING_APPROVAL',
      serviceAccount: 'jenkins-bot',
    });
    const rejected = await list(member('alice@example.com'), { status: 'REJECTED' });
    const otherAccount = await list(member('alice@example.com'), { serviceAccount: 'no-such-bot' });

    // Assess
    expect(pending.status).toBe(200);
    expect(idsOf(pending)).toContain(ids.alicePending);
    expect(idsOf(pending)).not.toContain(ids.aliceCancelled);
    expect(idsOf(pending)).not.toContain(ids.bobPending);
    expect(pending.body.items.every((r: { status: string }) => r.status === 'PENDING_APPROVAL')).toBe(true);
    expect(idsOf(rejected)).toContain(ids.aliceCancelled);
    expect(rejected.body.items.every((r: { status: string }) => r.status === 'REJECTED')).toBe(true);
    expect(otherAccount.body).toEqual({ items: [] });
  });

  it("lists one requester's requests for an admin", async () => {
    // Act
    const bobs = await list(admin(), { requester: 'bob@example.com', status: 'PENDING_APPROVAL' });

    // Assess
    expect(bobs.status).toBe(200);
    expect(idsOf(bobs)).toContain(ids.bobPending);
    expect(bobs.body.items.every((r: { requester: string }) => r.requester === 'bob@example.com')).toBe(true);
  });

  it('answers a member naming themselves their own list, and naming someone else 403 on requester', async () => {
    // Act
    const self = await list(member('alice@example.com'), { requester: 'Alice@example.com' });
    const other = await list(member('alice@example.com'), { requester: 'bob@example.com' });

    // Assess
    expect(self.status).toBe(200);
    expect(self.body.items.every((r: { requester: string }) => r.requester === 'alice@example.com')).toBe(true);
    expect(other).toEqual({
      status: 403,
      body: {
        error: {
          code: 'FORBIDDEN',
          message: "only admins can list another person's records by requester",
          field: 'requester',
        },
      },
    });
  });

  it.each([
    [{ status: 'CANCELLED' }, 'status'],
    [{ serviceAccount: 'jenkins bot' }, 'serviceAccount'],
    [{ requester: 'bob' }, 'requester'],
    [{ owner: 'bob@example.com' }, 'owner'],
    [{ sort: 'asc' }, 'sort'],
  ])('refuses %j with 400 VALIDATION_ERROR on %s', async (query, field) => {
    // Act
    const answer = await list(admin(), query);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
  });
});

describe('who is an admin: only a group named exactly adminGroup', () => {
  let requestId: string;
  beforeAll(async () => {
    sfn.on(StartExecutionCommand).resolves({});
    requestId = (await create({ ...body, name: 'admin-groups' })).body.requestId;
  });

  /** Carol reads Alice's request: 200 as an admin, 404 as a member. */
  const readAs = (spec: Partial<EventSpec>) =>
    call({ routeKey: 'GET /token-requests/{requestId}', pathParameters: { requestId }, ...spec });
  const carol = (groups: unknown) => ({ email: 'carol@example.com', groups });

  it.each<[string, unknown]>([
    ['a space', ['x token-warden-admins']],
    ['a comma', ['devs,token-warden-admins']],
    ['a comma and a space', ['devs, token-warden-admins']],
    ['double quotes', ['"token-warden-admins"']],
    ['single quotes', ["'token-warden-admins'"]],
    ['brackets', ['[token-warden-admins]']],
    ['a bracketed list', ['[x token-warden-admins]']],
    ['a tab', ['x\ttoken-warden-admins']],
    ['a newline', ['x\ntoken-warden-admins']],
    ['a carriage return', ['x\rtoken-warden-admins']],
    ['a trailing space', ['token-warden-admins ']],
    ['a leading newline', ['\ntoken-warden-admins']],
    ['another case', ['Token-Warden-Admins']],
    ['a prefix', ['token-warden-admins-not']],
    ['a NUL', ['token-warden-admins\u0000']],
    ['a zero-width space', ['token-warden-admins\u200b']],
    ['a second group with a space', ['devs', 'ops token-warden-admins']],
    ['a nested array', [['token-warden-admins']]],
    ['a single-valued claim with a space', 'x token-warden-admins'],
    ['a single-valued claim with a comma', 'devs,token-warden-admins'],
    ['a single-valued claim in brackets', '[token-warden-admins]'],
    ['an object keyed by it', { 'token-warden-admins': true }],
    ['no groups claim at all', undefined],
  ])('grants no admin to groups holding token-warden-admins with %s', async (_what, groups) => {
    expect(await readAs({ claims: carol(groups) })).toMatchObject({ status: 404 });
    const listed = await call({ routeKey: 'GET /token-requests', claims: carol(groups) });
    expect(listed).toMatchObject({ status: 200, body: { items: [] } });
  });

  it.each<[string, unknown]>([
    ['the only group', ['token-warden-admins']],
    ['one group of several', ['devs', 'token-warden-admins', 'ops']],
    ['beside a look-alike', ['x token-warden-admins', 'token-warden-admins']],
    ['a single-valued claim', 'token-warden-admins'],
  ])('makes an admin of the group named exactly token-warden-admins as %s', async (_what, groups) => {
    expect(await readAs({ claims: carol(groups) })).toMatchObject({ status: 200, body: { requestId } });
  });

  it('reads the groups from the verified token, not from their flattened form, which cannot tell a b from "a b"', async () => {
    // ["x token-warden-admins"] and ["x", "token-warden-admins"] both reach the function as "[x token-warden-admins]".
    const one = await readAs({ claims: carol(['x token-warden-admins']) });
    const two = await readAs({ claims: carol(['x', 'token-warden-admins']) });
    expect([one.status, two.status]).toEqual([404, 200]);
  });

  it('makes no admin from a flattened claim when the token cannot be read, or does not match the claims', async () => {
    const flattened = { email: 'carol@example.com', groups: '[token-warden-admins]' };
    expect(await readAs({ authorizerClaims: flattened })).toMatchObject({ status: 404 });
    for (const authorization of [
      '',
      'Bearer',
      'Bearer not-a-jwt',
      `Bearer ${bearerToken(carol(['token-warden-admins']))},Bearer ${bearerToken(carol(['token-warden-admins']))}`,
      `Basic ${Buffer.from('carol:x').toString('base64')}`,
      // A token of someone else, or with other groups, than the claims API Gateway verified.
      `Bearer ${bearerToken({ email: 'admin@example.com', groups: ['token-warden-admins'] })}`,
      `Bearer ${bearerToken(carol(['token-warden-admins']))}`,
    ]) {
      const event = { authorizerClaims: { email: 'carol@example.com', groups: '[x token-warden-admins]' } };
      expect(await readAs({ ...event, headers: { authorization } })).toMatchObject({ status: 404 });
    }
  });

  it('accepts the groups as a real array when the authorizer hands one over', async () => {
    const claims = { email: 'carol@example.com', groups: ['devs', 'token-warden-admins'] };
    expect(await readAs({ authorizerClaims: claims })).toMatchObject({ status: 200 });
    const lookAlike = { email: 'carol@example.com', groups: ['devs,token-warden-admins'] };
    expect(await readAs({ authorizerClaims: lookAlike })).toMatchObject({ status: 404 });
  });
});

describe('who the caller is: one plain ASCII email, verified', () => {
  let requestId: string;
  beforeAll(async () => {
    sfn.on(StartExecutionCommand).resolves({});
    requestId = (await create({ ...body, name: 'kates-request' }, { claims: member('kate@example.com') })).body
      .requestId;
  });

  const readAs = (claims: Record<string, unknown>) =>
    call({ routeKey: 'GET /token-requests/{requestId}', pathParameters: { requestId }, claims });
  const unauthorized = (message: string) => ({
    status: 401,
    body: { error: { code: 'UNAUTHORIZED', message: expect.stringContaining(message), field: 'authorization' } },
  });

  it.each([
    ['a KELVIN SIGN (lower-cases to k)', '\u212Aate@example.com'],
    ['a fullwidth letter (NFKC folds it to k)', '\uff4bate@example.com'],
    ['a ligature in the domain', 'kate@exam\ufb02e.com'],
    ['a Cyrillic a in the domain', 'kate@ex\u0430mple.com'],
    ['a dotted capital I', '\u0130kate@example.com'],
    ['a combining accent', 'kate\u0301@example.com'],
    ['a zero-width space', 'ka\u200bte@example.com'],
    ['an internationalised domain, not IDNA-encoded', 'kate@b\u00fccher.example'],
    ['a quoted local part', '"kate"@example.com'],
  ])('refuses an email claim with %s (401), reading and listing nothing', async (_what, email) => {
    expect(await readAs(member(email))).toEqual(unauthorized('plain ASCII'));
    expect(await call({ routeKey: 'GET /token-requests', claims: member(email) })).toEqual(unauthorized('plain ASCII'));
    const cancel = await call({
      routeKey: 'POST /token-requests/{requestId}/cancel',
      pathParameters: { requestId },
      claims: member(email),
    });
    expect(cancel.status).toBe(401);
    expect((await readAs(member('kate@example.com'))).body.status).toBe('PENDING_APPROVAL');
  });

  it('refuses to create a request for an email claim that is not plain ASCII', async () => {
    sfn.resetHistory();
    const res = await create({ ...body, name: 'kelvin' }, { claims: member('\u212Aate@example.com') });
    expect(res).toEqual(unauthorized('plain ASCII'));
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('accepts ASCII case differences and IDNA-encoded domains', async () => {
    expect(await readAs(member('KATE@Example.COM'))).toMatchObject({
      status: 200,
      body: { requester: 'kate@example.com' },
    });
    expect(await readAs(member('kate@xn--bcher-kva.example'))).toMatchObject({ status: 404 });
  });

  it.each<[string, unknown]>([
    ['false', false],
    ['the flattened string "false"', 'false'],
  ])('refuses a token whose email_verified is %s (401)', async (_what, verified) => {
    expect(await readAs({ ...member('kate@example.com'), email_verified: verified })).toEqual(
      unauthorized('not verified'),
    );
  });

  it.each<[string, unknown]>([
    ['true', true],
    ['the flattened string "true"', 'true'],
    ['absent', undefined],
  ])('accepts a token whose email_verified is %s', async (_what, verified) => {
    const claims = { ...member('kate@example.com'), ...(verified === undefined ? {} : { email_verified: verified }) };
    expect(await readAs(claims)).toMatchObject({ status: 200 });
  });
});
