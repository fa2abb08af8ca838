import { createRecordStore } from '../../../functions/adapters/aws/record-store';
import type { StoredToken } from '../../../functions/domain/records';
import type { ApiEvent, ApiResult } from '../../../functions/edge/http';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { admin, apiEvent, type EventSpec, lambdaContext, member } from '../../support/events';
import { setHandlerEnvironment } from '../../support/handler-env';
import { tokenRecord } from '../fixtures/token-record';

let dynamo: LocalDynamo;
let handler: (event: ApiEvent, context: typeof lambdaContext) => Promise<ApiResult>;

/** alice: one ACTIVE and one REVOKED jenkins-bot token, one ACTIVE deploy-bot one; bob: one ACTIVE jenkins-bot one. */
const seeded: StoredToken[] = [
  ['tok_a1', 'alice@example.com', 'ACTIVE', 'jenkins-bot'],
  ['tok_a2', 'alice@example.com', 'REVOKED', 'jenkins-bot'],
  ['tok_a3', 'alice@example.com', 'ACTIVE', 'deploy-bot'],
  ['tok_b1', 'bob@example.com', 'ACTIVE', 'jenkins-bot'],
].map(([tokenId, owner, status, serviceAccount], i) => ({
  ...tokenRecord({
    tokenId: tokenId as string,
    requestId: `req_${tokenId}`,
    owner: owner as string,
    status: status as StoredToken['status'],
    serviceAccount: serviceAccount as string,
    name: `ci-${i}`,
    createdAt: `2026-11-0${i + 1}T00:00:00Z`,
  }),
  version: 1,
}));

beforeAll(async () => {
  dynamo = await startDynamo();
  await setHandlerEnvironment(dynamo);
  const store = createRecordStore(dynamo.doc, dynamo.tableName);
  for (const token of seeded) await store.createToken(token);
  ({ handler } = await import('../../../functions/api/tokens'));
});

afterAll(async () => {
  await dynamo.close();
});

async function call(spec: EventSpec) {
  const result = await handler(apiEvent(spec), lambdaContext);
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

const list = (claims: Record<string, unknown>, query: Record<string, string> = {}) =>
  call({ routeKey: 'GET /tokens', claims, query });
const idsOf = (answer: { body: { items: { tokenId: string }[] } }) => answer.body.items.map((t) => t.tokenId);

describe('GET /tokens', () => {
  it("lists a member's own tokens newest first, and everyone's for an admin", async () => {
    // Act
    const mine = await list(member('alice@example.com'));
    const all = await list(admin());

    // Assess
    expect(mine.status).toBe(200);
    expect(idsOf(mine)).toEqual(['tok_a3', 'tok_a2', 'tok_a1']);
    expect(idsOf(all)).toEqual(['tok_b1', 'tok_a3', 'tok_a2', 'tok_a1']);
  });

  it('narrows by status and serviceAccount, for members within their own tokens', async () => {
    // Act
    const active = await list(member('alice@example.com'), { status: 'ACTIVE' });
    const jenkinsActive = await list(admin(), { status: 'ACTIVE', serviceAccount: 'jenkins-bot' });
    const revoked = await list(member('bob@example.com'), { status: 'REVOKED' });

    // Assess
    expect(idsOf(active)).toEqual(['tok_a3', 'tok_a1']);
    expect(idsOf(jenkinsActive)).toEqual(['tok_b1', 'tok_a1']);
    expect(revoked.body).toEqual({ items: [] });
  });

  it("lists one owner's tokens for an admin, and pages a filtered list without skipping or repeating", async () => {
    // Act
    const first = await list(admin(), { owner: 'alice@example.com', serviceAccount: 'jenkins-bot', limit: '1' });
    const second = await list(admin(), {
      owner: 'alice@example.com',
      serviceAccount: 'jenkins-bot',
      limit: '1',
      nextToken: first.body.nextToken,
    });

    // Assess
    expect(idsOf(first)).toEqual(['tok_a2']);
    expect(typeof first.body.nextToken).toBe('string');
    expect(idsOf(second)).toEqual(['tok_a1']);
    expect(second.body.nextToken).toBeUndefined();
  });

  it('answers a member naming themselves their own list, and naming someone else 403 on owner', async () => {
    // Act
    const self = await list(member('alice@example.com'), { owner: 'ALICE@example.com', status: 'REVOKED' });
    const other = await list(member('alice@example.com'), { owner: 'bob@example.com' });

    // Assess
    expect(idsOf(self)).toEqual(['tok_a2']);
    expect(other).toEqual({
      status: 403,
      body: {
        error: { code: 'FORBIDDEN', message: "only admins can list another person's records by owner", field: 'owner' },
      },
    });
  });

  it.each([
    [{ status: 'PENDING' }, 'status'],
    [{ status: 'active' }, 'status'],
    [{ serviceAccount: '../x' }, 'serviceAccount'],
    [{ owner: 'alice' }, 'owner'],
    [{ requester: 'alice@example.com' }, 'requester'],
    [{ pageSize: '10' }, 'pageSize'],
    [{ limit: '0' }, 'limit'],
  ])('refuses %j with 400 VALIDATION_ERROR on %s', async (query, field) => {
    // Act
    const answer = await list(admin(), query);

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_ERROR', field });
  });
});
