/** The token and request listings' query rules, against a fake store that records what it was asked. */
import { RequestError } from '../../../functions/domain/errors';
import type { Caller } from '../../../functions/domain/model';
import type { Page, StoredRequest, StoredToken } from '../../../functions/domain/records';
import type { RequestStore } from '../../../functions/use-cases/requests';
import { listTokenRequests } from '../../../functions/use-cases/requests';
import { listTokens, type TokenStore } from '../../../functions/use-cases/tokens';
import { tokenRecord } from '../fixtures/token-record';

const alice: Caller = { email: 'alice@example.com', isAdmin: false };
const admin: Caller = { email: 'admin@example.com', isAdmin: true };

function fakeTokenStore(page: Page<StoredToken> = { items: [] }) {
  const asked: Parameters<TokenStore['listTokens']>[0][] = [];
  const store = {
    listTokens: async (opts: Parameters<TokenStore['listTokens']>[0]) => {
      asked.push(opts);
      return page;
    },
  } as unknown as TokenStore;
  return { store, asked };
}

function fakeRequestStore(page: Page<StoredRequest> = { items: [] }) {
  const asked: Parameters<RequestStore['listRequests']>[0][] = [];
  const store = {
    listRequests: async (opts: Parameters<RequestStore['listRequests']>[0]) => {
      asked.push(opts);
      return page;
    },
  } as unknown as RequestStore;
  return { store, asked };
}

/** The refusal `act` ends with (fails the test when it does not refuse). */
async function refusal(act: Promise<unknown>): Promise<RequestError> {
  const error = await act.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RequestError)) throw new Error(`expected a RequestError, got ${String(error)}`);
  return error;
}

describe('Use case: listTokens', () => {
  it('asks the store for the given filters, and everyone for an admin without owner', async () => {
    // Prepare
    const { store, asked } = fakeTokenStore();

    // Act
    await listTokens(store, admin, { status: 'REVOKED', serviceAccount: 'jenkins-bot', limit: '5', nextToken: 'n' });
    await listTokens(store, admin, {});

    // Assess
    expect(asked).toEqual([
      { status: 'REVOKED', serviceAccount: 'jenkins-bot', limit: 5, nextToken: 'n' },
      { limit: 50 },
    ]);
  });

  it("lists one owner's tokens for an admin, the email lower-cased and trimmed", async () => {
    // Prepare
    const { store, asked } = fakeTokenStore();

    // Act
    await listTokens(store, admin, { owner: ' Bob@Example.COM ' });

    // Assess
    expect(asked).toEqual([{ owner: 'bob@example.com', limit: 50 }]);
  });

  it('lists only the own tokens for a member, also when the member names themselves', async () => {
    // Prepare
    const { store, asked } = fakeTokenStore();

    // Act
    await listTokens(store, alice, { status: 'ACTIVE' });
    await listTokens(store, alice, { owner: 'ALICE@example.com' });

    // Assess
    expect(asked).toEqual([
      { owner: 'alice@example.com', status: 'ACTIVE', limit: 50 },
      { owner: 'alice@example.com', limit: 50 },
    ]);
  });

  it('refuses a member naming another owner with 403 on owner, asking the store nothing', async () => {
    // Prepare
    const { store, asked } = fakeTokenStore();

    // Act
    const error = await refusal(listTokens(store, alice, { owner: 'bob@example.com' }));

    // Assess
    expect(error).toMatchObject({ code: 'FORBIDDEN', field: 'owner', status: 403 });
    expect(asked).toEqual([]);
  });

  it.each([
    [{ status: 'active' }, 'status'],
    [{ status: 'PENDING_APPROVAL' }, 'status'],
    [{ status: '' }, 'status'],
    [{ status: 'ACTIVE,REVOKED' }, 'status'],
    [{ serviceAccount: 'jenkins bot' }, 'serviceAccount'],
    [{ serviceAccount: '' }, 'serviceAccount'],
    [{ serviceAccount: 'a'.repeat(65) }, 'serviceAccount'],
    [{ owner: 'bob' }, 'owner'],
    [{ owner: '' }, 'owner'],
    [{ owner: 'b\u00f6b@example.com' }, 'owner'],
    [{ limit: '101' }, 'limit'],
    [{ requester: 'alice@example.com' }, 'requester'],
    [{ Status: 'ACTIVE' }, 'Status'],
    [{ page: '2' }, 'page'],
  ])('refuses %j with 400 on %s, for members and admins alike', async (query, field) => {
    // Prepare
    const { store, asked } = fakeTokenStore();

    // Act
    const errors = [await refusal(listTokens(store, alice, query)), await refusal(listTokens(store, admin, query))];

    // Assess
    for (const error of errors) expect(error).toMatchObject({ code: 'VALIDATION_ERROR', field, status: 400 });
    expect(asked).toEqual([]);
  });

  it('refuses an invalid owner from a member with 400 before telling them it is not theirs', async () => {
    // Prepare
    const { store } = fakeTokenStore();

    // Act
    const error = await refusal(listTokens(store, alice, { owner: 'not an email' }));

    // Assess
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', field: 'owner' });
  });

  it("answers the store's page as representations, with its nextToken", async () => {
    // Prepare
    const { store } = fakeTokenStore({ items: [{ ...tokenRecord(), version: 3 }], nextToken: 'more' });

    // Act
    const answer = await listTokens(store, admin, { status: 'ACTIVE' });

    // Assess
    expect(answer.nextToken).toBe('more');
    expect(answer.items).toHaveLength(1);
    expect(answer.items[0]).toMatchObject({ tokenId: 'tok_x', status: 'ACTIVE' });
    expect(answer.items[0]).not.toHaveProperty('version');
  });
});

describe('Use case: listTokenRequests', () => {
  it('asks the store for the given filters, and one requester for an admin who names one', async () => {
    // Prepare
    const { store, asked } = fakeRequestStore();

    // Act
    await listTokenRequests({ store }, admin, { status: 'PENDING_APPROVAL', serviceAccount: 'jenkins-bot' });
    await listTokenRequests({ store }, admin, { requester: 'Carol@example.com', limit: '1' });

    // Assess
    expect(asked).toEqual([
      { status: 'PENDING_APPROVAL', serviceAccount: 'jenkins-bot', limit: 50 },
      { requester: 'carol@example.com', limit: 1 },
    ]);
  });

  it('lists only the own requests for a member; naming another requester is 403 on requester', async () => {
    // Prepare
    const { store, asked } = fakeRequestStore();

    // Act
    await listTokenRequests({ store }, alice, { status: 'ISSUED', requester: 'alice@example.com' });
    const error = await refusal(listTokenRequests({ store }, alice, { requester: 'bob@example.com' }));

    // Assess
    expect(asked).toEqual([{ requester: 'alice@example.com', status: 'ISSUED', limit: 50 }]);
    expect(error).toMatchObject({ code: 'FORBIDDEN', field: 'requester' });
  });

  it.each([
    [{ status: 'ACTIVE' }, 'status'],
    [{ status: 'issued' }, 'status'],
    [{ serviceAccount: 'jenkins/bot' }, 'serviceAccount'],
    [{ requester: '@example.com' }, 'requester'],
    [{ owner: 'alice@example.com' }, 'owner'],
    [{ cursor: 'x' }, 'cursor'],
  ])('refuses %j with 400 on %s', async (query, field) => {
    // Prepare
    const { store, asked } = fakeRequestStore();

    // Act
    const error = await refusal(listTokenRequests({ store }, admin, query));

    // Assess
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', field });
    expect(asked).toEqual([]);
  });
});
