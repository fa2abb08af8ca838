/**
 * Contract of the token and request listings against dynalite: a filtered listing walked page by page with
 * `nextToken` answers exactly the matching records, newest first, each once, and no page holds more than `limit`.
 */
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import type { RequestStatus, TokenStatus } from '../../../functions/domain/model';
import type { Page, StoredRequest, StoredToken } from '../../../functions/domain/records';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { tokenRecord } from '../fixtures/token-record';

const OWNERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
const ACCOUNTS = ['jenkins-bot', 'deploy-bot'];
const TOKEN_STATUSES: TokenStatus[] = ['ACTIVE', 'ROTATING', 'REVOKED', 'EXPIRED'];
const REQUEST_STATUSES: RequestStatus[] = ['PENDING_APPROVAL', 'APPROVED', 'ISSUED', 'REJECTED', 'EXPIRED', 'FAILED'];

let dynamo: LocalDynamo;
let store: RecordStore;
const tokens: StoredToken[] = [];
const requests: StoredRequest[] = [];

const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().replace('.000Z', 'Z');

function token(i: number, over: Partial<StoredToken> = {}): StoredToken {
  const id = `tok_${String(i).padStart(5, '0')}`;
  return {
    ...tokenRecord({
      tokenId: id,
      requestId: `req_${id}`,
      owner: OWNERS[i % 3] as string,
      serviceAccount: ACCOUNTS[i % 2] as string,
      // Statuses cycle with period 4, owners 3, accounts 2: every combination occurs, spread over the partition.
      status: TOKEN_STATUSES[Math.floor(i / 6) % 4] as TokenStatus,
      createdAt: at(i),
      name: `ci-${i}`,
    }),
    version: 1,
    ...over,
  };
}

function request(i: number): StoredRequest {
  const requestId = `req_${String(i).padStart(5, '0')}`;
  return {
    requestId,
    status: REQUEST_STATUSES[i % 6] as RequestStatus,
    serviceAccount: ACCOUNTS[Math.floor(i / 6) % 2] as string,
    name: `ci-${i}`,
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    justification: 'release notes',
    consumers: [],
    requester: OWNERS[Math.floor(i / 12) % 3] as string,
    createdAt: at(i),
    updatedAt: at(i),
    approvalsRequired: 1,
    approvers: ['approver1@example.com'],
    approvals: [],
    bodyHash: 'h',
    correlationId: requestId,
    version: 1,
  };
}

/** Every page of a listing, following `nextToken` to the end. */
async function walk<T>(list: (nextToken?: string) => Promise<Page<T>>) {
  const pages: Page<T>[] = [];
  let nextToken: string | undefined;
  do {
    const page = await list(nextToken);
    pages.push(page);
    nextToken = page.nextToken;
    if (pages.length > 500) throw new Error('the listing never ends');
  } while (nextToken !== undefined);
  return pages;
}

const newestFirst = <T extends { createdAt: string }>(items: T[]) =>
  [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt));

beforeAll(async () => {
  dynamo = await startDynamo();
  store = createRecordStore(dynamo.doc, dynamo.tableName);
  for (let i = 0; i < 240; i++) tokens.push(token(i));
  for (let i = 0; i < 180; i++) requests.push(request(i));
  // A few writes at a time: hundreds at once made the emulator's sockets reset on a loaded machine.
  for (let i = 0; i < tokens.length; i += 16)
    await Promise.all(tokens.slice(i, i + 16).map((t) => store.createToken(t)));
  for (let i = 0; i < requests.length; i += 16)
    await Promise.all(requests.slice(i, i + 16).map((r) => store.createRequest(r)));
});

afterAll(async () => {
  await dynamo.close();
});

describe('Adapter: tokenRepository', () => {
  describe('Method: listTokens', () => {
    const filters: { owner?: string; status?: TokenStatus; serviceAccount?: string }[] = [
      {},
      { status: 'REVOKED' },
      { serviceAccount: 'deploy-bot' },
      { status: 'ROTATING', serviceAccount: 'jenkins-bot' },
      { owner: 'bob@example.com' },
      { owner: 'carol@example.com', status: 'EXPIRED' },
      { owner: 'alice@example.com', status: 'ACTIVE', serviceAccount: 'deploy-bot' },
    ];
    it.each(filters.flatMap((filter) => [1, 7, 50, 100].map((limit) => ({ filter, limit }))))(
      'answers each match once, newest first, at most limit a page: $filter limit $limit',
      async ({ filter, limit }) => {
        // Prepare
        const expected = newestFirst(
          tokens.filter(
            (t) =>
              (filter.owner === undefined || t.owner === filter.owner) &&
              (filter.status === undefined || t.status === filter.status) &&
              (filter.serviceAccount === undefined || t.serviceAccount === filter.serviceAccount),
          ),
        ).map((t) => t.tokenId);

        // Act
        const pages = await walk((nextToken) =>
          store.listTokens({ ...filter, limit, ...(nextToken !== undefined ? { nextToken } : {}) }),
        );

        // Assess
        expect(expected.length).toBeGreaterThan(0);
        expect(pages.flatMap((p) => p.items.map((t) => t.tokenId))).toEqual(expected);
        expect(Math.max(...pages.map((p) => p.items.length))).toBeLessThanOrEqual(limit);
      },
    );

    it('answers a short page with nextToken when the matches lie beyond what one call reads, then finds them', async () => {
      // Prepare: a separate owner whose only revoked token is older than 2,050 active ones.
      const owner = 'dana@example.com';
      const many = [token(90_000, { owner, status: 'REVOKED', createdAt: '2025-01-01T00:00:00Z' })];
      for (let i = 0; i < 2_050; i++) many.push(token(90_001 + i, { owner, status: 'ACTIVE' }));
      // 16 writes at a time: a hundred at once made the emulator's sockets reset on a loaded machine.
      for (let i = 0; i < many.length; i += 16)
        await Promise.all(many.slice(i, i + 16).map((t) => store.createToken(t)));

      // Act
      const first = await store.listTokens({ owner, status: 'REVOKED', limit: 5 });
      const rest = await walk((nextToken) =>
        store.listTokens({ owner, status: 'REVOKED', limit: 5, ...(nextToken !== undefined ? { nextToken } : {}) }),
      );

      // Assess
      expect(first.items).toEqual([]);
      expect(typeof first.nextToken).toBe('string');
      expect(rest.flatMap((p) => p.items.map((t) => t.tokenId))).toEqual(['tok_90000']);
      // Seeding 2,051 records into the emulator takes seconds on a loaded 2-core machine: more than jest's default.
    }, 60_000);

    it('refuses a token of another partition under a filter', async () => {
      // Prepare
      const bobs = await store.listTokens({ owner: 'bob@example.com', status: 'ACTIVE', limit: 1 });

      // Act
      const stolen = store.listTokens({
        owner: 'alice@example.com',
        status: 'ACTIVE',
        limit: 1,
        nextToken: bobs.nextToken as string,
      });

      // Assess
      expect(typeof bobs.nextToken).toBe('string');
      await expect(stolen).rejects.toMatchObject({ code: 'VALIDATION_ERROR', field: 'nextToken' });
    });
  });
});

describe('Adapter: requestRepository', () => {
  describe('Method: listRequests', () => {
    const filters: { requester?: string; status?: RequestStatus; serviceAccount?: string }[] = [
      {},
      { status: 'PENDING_APPROVAL' },
      { serviceAccount: 'jenkins-bot' },
      { status: 'FAILED', serviceAccount: 'deploy-bot' },
      { requester: 'carol@example.com' },
      { requester: 'alice@example.com', status: 'ISSUED', serviceAccount: 'jenkins-bot' },
    ];
    it.each(filters.flatMap((filter) => [1, 4, 100].map((limit) => ({ filter, limit }))))(
      'answers each match once, newest first, at most limit a page: $filter limit $limit',
      async ({ filter, limit }) => {
        // Prepare
        const expected = newestFirst(
          requests.filter(
            (r) =>
              (filter.requester === undefined || r.requester === filter.requester) &&
              (filter.status === undefined || r.status === filter.status) &&
              (filter.serviceAccount === undefined || r.serviceAccount === filter.serviceAccount),
          ),
        ).map((r) => r.requestId);

        // Act
        const pages = await walk((nextToken) =>
          store.listRequests({ ...filter, limit, ...(nextToken !== undefined ? { nextToken } : {}) }),
        );

        // Assess
        expect(expected.length).toBeGreaterThan(0);
        expect(pages.flatMap((p) => p.items.map((r) => r.requestId))).toEqual(expected);
        expect(Math.max(...pages.map((p) => p.items.length))).toBeLessThanOrEqual(limit);
      },
    );
  });
});
