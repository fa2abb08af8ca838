/**
 * The fake Atlassian's members, authentication policies and personal tokens: the API Access inventory, the
 * user-management routes for members, Admin Control's policy moves, `/myself` gating and the test controls.
 * Every answer of a documented route is validated against Atlassian's published spec, and so is every request
 * body and query string these tests send.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian, type FakeSeed } from '../../local/fake-atlassian';
import { queryErrors, requestErrors, responseErrors, SPEC_PREFIX, type SpecName } from './support/atlassian-openapi';

const ORG_KEY = 'test-org-key-0123456789';
const START = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const SA = DEMO_SEED.accounts.find((a) => a.kind === 'service')!;
const ALICE = DEMO_SEED.accounts.find((a) => a.email === 'alice@example.com')!;
const BOB = DEMO_SEED.accounts.find((a) => a.email === 'bob@example.com')!;
const HUMANS = DEMO_SEED.accounts.filter((a) => a.kind === 'human');
const CLOUD_ID = DEMO_SEED.sites[0]!.cloudId;

const INVENTORY = '/orgs/{orgId}/api-tokens';
const COUNT = '/orgs/{orgId}/api-tokens/count';
const ADD_USERS = '/admin/control/v1/orgs/{orgId}/auth-policy/{policyId}/add-users';
const TASK = '/admin/control/v1/orgs/{orgId}/auth-policy/task/{taskId}';
const BULK_FETCH = '/admin/control/v1/orgs/{orgId}/users/auth-policies/bulk-fetch';
const USER_TOKENS = '/users/{account_id}/manage/api-tokens';
const USER_TOKEN = '/users/{account_id}/manage/api-tokens/{tokenId}';
const inventoryUrl = (org = 'demo-org') => `${SPEC_PREFIX['api-access']}/orgs/${org}/api-tokens`;

let nowMs = START;
let fake: FakeAtlassian;
let server: Server;
let base: string;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

interface InventoryPage {
  data: Array<{
    id: string;
    label: string;
    status: string;
    createdAt: string;
    expiresAt?: string;
    lastActiveAt?: string;
    user: { id: string; email: string; name: string };
    scopes: string[];
  }>;
  links: { self?: string; next?: string; prev?: string };
}

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string | null; url?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? `Bearer ${ORG_KEY}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const init: RequestInit = { method, headers };
  if (opts.body !== undefined) {
    init.body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${opts.url ?? base}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
const iso = (ms: number) => new Date(ms).toISOString();

/** An API Access answer: valid for the spec (status included) and carrying the rate-limit headers. */
function expectApiAccess(res: Answer, specPath: string, status: number): void {
  expect(res.status).toBe(status);
  expect(responseErrors('api-access', specPath, 'get', status, res.json)).toEqual([]);
  expectRateLimitHeaders(res);
}

function expectRateLimitHeaders(res: Answer): void {
  expect(res.headers.get('x-ratelimit-limit')).toMatch(/^\d+$/);
  expect(res.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
  const reset = res.headers.get('x-ratelimit-reset') ?? '';
  expect(reset).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
}

/** `GET` of the inventory (or its count) with a query the spec documents. */
async function inventory(params: Record<string, string> = {}, path = INVENTORY): Promise<Answer> {
  const query = new URLSearchParams(params);
  expect(queryErrors('api-access', path, 'get', query)).toEqual([]);
  const suffix = path === COUNT ? '/count' : '';
  const text = query.toString();
  return call('GET', `${inventoryUrl()}${suffix}${text === '' ? '' : `?${text}`}`);
}

async function createPersonalToken(body: Record<string, unknown>): Promise<Answer> {
  return call('POST', '/__control/personal-tokens', { body, auth: null });
}

async function moveMember(email: string, policyId: string): Promise<void> {
  const res = await call('POST', `/__control/policies/${policyId}/members`, { body: { email }, auth: null });
  expect(res.status).toBe(200);
}

/** Polls an add-users task until nothing is in progress (wall clock, at most 3 s). */
async function settledTask(taskId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const res = await call('GET', `/admin/control/v1/orgs/demo-org/auth-policy/task/${taskId}`);
    expect(res.status).toBe(200);
    expect(responseErrors('admin-control', TASK, 'get', 200, res.json)).toEqual([]);
    const body = res.json as { inProgressCount: number };
    if (body.inProgressCount === 0 || Date.now() > deadline) return body as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function postJson(spec: SpecName, specPath: string, url: string, body: unknown): Promise<Answer> {
  expect(requestErrors(spec, specPath, 'post', body)).toEqual([]);
  return call('POST', url, { body });
}

beforeAll(async () => {
  fake = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  server = await fake.listen(0);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  nowMs = START;
  fake.reset();
});

describe('Fake Atlassian: API Access inventory', () => {
  it("lists the seed's forgotten token of alice as BLOCKED, in the documented shape", async () => {
    // Act
    const res = await inventory();

    // Assess
    expectApiAccess(res, INVENTORY, 200);
    const page = res.json as InventoryPage;
    expect(page.data).toEqual([
      {
        id: expect.any(String),
        label: 'my laptop scripts',
        status: 'BLOCKED',
        createdAt: iso(START - 200 * DAY),
        expiresAt: iso(START - 200 * DAY + 365 * DAY),
        user: { id: ALICE.accountId, orgId: 'demo-org', name: ALICE.displayName, email: ALICE.email },
        scopes: [],
      },
    ]);
    expect(page.links).toEqual({ self: expect.any(String) });
  });

  it('lists service-account tokens as ALLOWED, and leaves out revoked and expired tokens', async () => {
    // Prepare
    const mint = (label: string, expiry: number) =>
      call('POST', `/users/${SA.accountId}/manage/api-tokens`, {
        body: { label, scopes: ['read:jira-user'], expiry: iso(expiry) },
      });
    const kept = (await mint('kept', START + 30 * DAY)).json as { id: string };
    const revoked = (await mint('revoked', START + 30 * DAY)).json as { id: string };
    await mint('expiring', START + DAY);
    expect((await call('DELETE', `/users/${SA.accountId}/manage/api-tokens/${revoked.id}`)).status).toBe(204);
    nowMs = START + 2 * DAY;

    // Act
    const res = await inventory({ sort: 'label' });

    // Assess
    expectApiAccess(res, INVENTORY, 200);
    const page = res.json as InventoryPage;
    expect(page.data.map((t) => [t.label, t.status])).toEqual([
      ['kept', 'ALLOWED'],
      ['my laptop scripts', 'BLOCKED'],
    ]);
    expect(page.data[0]).toMatchObject({ id: kept.id, user: { id: SA.accountId, email: SA.email } });
  });

  it('pages 20 tokens by default and takes page sizes from 1 to 1000 only', async () => {
    // Prepare
    fake.state.addGeneratedPersonalTokens({ members: 5, tokensPerMember: 10, now: new Date(nowMs) });

    // Act
    const byDefault = await inventory();
    const one = await inventory({ pageSize: '1' });
    const most = await inventory({ pageSize: '1000' });
    const refused: Answer[] = [];
    for (const pageSize of ['0', '1001', '-1', '2.5', 'twenty', '']) {
      refused.push(await call('GET', `${inventoryUrl()}?pageSize=${pageSize}`));
    }

    // Assess
    expectApiAccess(byDefault, INVENTORY, 200);
    expect((byDefault.json as InventoryPage).data).toHaveLength(20);
    expect((one.json as InventoryPage).data).toHaveLength(1);
    expect((most.json as InventoryPage).data).toHaveLength(51);
    expect((most.json as InventoryPage).links.next).toBeUndefined();
    for (const res of refused) {
      expectApiAccess(res, INVENTORY, 400);
      expect(res.json).toEqual({
        errors: [
          {
            id: expect.any(String),
            status: '400',
            code: 'INVALID_PAGE_SIZE',
            title: 'Bad Request',
            detail: expect.any(String),
          },
        ],
      });
    }
  });

  it('pages 2,500 tokens at 1000 a page in 3 pages, every token exactly once', async () => {
    // Prepare
    const seed: FakeSeed = { ...DEMO_SEED, personalTokens: [] };
    const big = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed });
    big.state.addGeneratedPersonalTokens({ members: 50, tokensPerMember: 50, now: new Date(nowMs) });
    const running = await big.listen(0);
    const url = `http://127.0.0.1:${(running.address() as AddressInfo).port}`;

    try {
      // Act
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const query = new URLSearchParams({ pageSize: '1000', ...(cursor === undefined ? {} : { cursor }) });
        expect(queryErrors('api-access', INVENTORY, 'get', query)).toEqual([]);
        const res = await call('GET', `${inventoryUrl()}?${query}`, { url });
        expectApiAccess(res, INVENTORY, 200);
        const page = res.json as InventoryPage;
        ids.push(...page.data.map((t) => t.id));
        cursor = page.links.next;
        pages++;
      } while (cursor !== undefined && pages < 10);

      // Assess
      expect(pages).toBe(3);
      expect(ids).toHaveLength(2500);
      expect(new Set(ids).size).toBe(2500);
      expect(new Set(ids)).toEqual(new Set(big.personalTokens().map((t) => t.id)));
    } finally {
      running.closeAllConnections();
      await new Promise((resolve) => running.close(resolve));
    }
  });

  it('keeps a cursor valid when a token is added, and links back with prev', async () => {
    // Prepare
    await moveMember(BOB.email, 'policy-allow');
    for (const label of ['a', 'c', 'e', 'g']) {
      expect((await createPersonalToken({ email: BOB.email, label })).status).toBe(201);
    }
    const first = await inventory({ sort: 'label', pageSize: '2' });
    const page1 = first.json as InventoryPage;
    expect(page1.data.map((t) => t.label)).toEqual(['a', 'c']);

    // Act
    expect((await createPersonalToken({ email: BOB.email, label: 'b' })).status).toBe(201);
    expect((await createPersonalToken({ email: BOB.email, label: 'd' })).status).toBe(201);
    const second = await inventory({ sort: 'label', pageSize: '2', cursor: page1.links.next! });
    const page2 = second.json as InventoryPage;
    const back = await inventory({ sort: 'label', pageSize: '2', cursor: page2.links.prev! });
    const again = await inventory({ sort: 'label', pageSize: '2', cursor: page2.links.self! });

    // Assess
    expectApiAccess(second, INVENTORY, 200);
    expect(page2.data.map((t) => t.label)).toEqual(['d', 'e']);
    expect((back.json as InventoryPage).data.map((t) => t.label)).toEqual(['b', 'c']);
    expect((again.json as InventoryPage).data.map((t) => t.label)).toEqual(['d', 'e']);
    expect(page1.links.prev).toBeUndefined();
    expect(page2.links.next).toEqual(expect.any(String));
  });

  it('sorts by every documented key, never-used tokens last by default', async () => {
    // Prepare
    await moveMember(BOB.email, 'policy-allow');
    const used = (await createPersonalToken({ email: BOB.email, label: 'used', expiresInDays: 10 })).json as {
      token: string;
    };
    await createPersonalToken({ email: BOB.email, label: 'idle', createdDaysAgo: 3 });
    nowMs = START + 3600_000;
    expect((await call('GET', '/rest/api/3/myself', { auth: basic(BOB.email, used.token) })).status).toBe(200);

    // Act
    const orders: Record<string, string[]> = {};
    for (const sort of ['-lastActiveAt', 'lastActiveAt', 'label', '-label', 'createdAt', '-expiresAt', 'user.name']) {
      const res = await inventory({ sort });
      expectApiAccess(res, INVENTORY, 200);
      orders[sort] = (res.json as InventoryPage).data.map((t) => t.label);
    }
    const byDefault = ((await inventory()).json as InventoryPage).data.map((t) => t.label);
    const refused = [
      await call('GET', `${inventoryUrl()}?sort=bogus`),
      await call('GET', `${inventoryUrl()}?sort=label,-createdAt`),
    ];

    // Assess
    expect(byDefault).toEqual(orders['-lastActiveAt']);
    expect(orders['-lastActiveAt']?.[0]).toBe('used');
    expect(orders.lastActiveAt?.at(-1)).toBe('used');
    expect(orders.label).toEqual(['idle', 'my laptop scripts', 'used']);
    expect(orders['-label']).toEqual(['used', 'my laptop scripts', 'idle']);
    expect(orders.createdAt).toEqual(['my laptop scripts', 'idle', 'used']);
    expect(orders['-expiresAt']).toEqual(['idle', 'my laptop scripts', 'used']);
    expect(orders['user.name']?.at(-1)).toEqual(expect.stringMatching(/idle|used/));
    expect(orders['user.name']?.[0]).toBe('my laptop scripts');
    for (const res of refused) {
      expectApiAccess(res, INVENTORY, 400);
      expect(res.json).toMatchObject({ errors: [{ code: 'INVALID_SORT' }] });
    }
  });

  it('filters by status, by q and by dates, and counts with the same filters', async () => {
    // Prepare
    await moveMember(BOB.email, 'policy-allow');
    await createPersonalToken({ email: BOB.email, label: 'Jenkins nightly' });
    await createPersonalToken({ email: BOB.email, label: 'old one', createdDaysAgo: 40 });
    nowMs = START + 3600_000;

    // Act
    const labels = async (params: Record<string, string>) => {
      const res = await inventory({ sort: 'label', ...params });
      expectApiAccess(res, INVENTORY, 200);
      const count = await inventory(params, COUNT);
      expectApiAccess(count, COUNT, 200);
      const found = (res.json as InventoryPage).data.map((t) => t.label);
      expect(count.json).toBe(found.length);
      return found;
    };

    // Assess
    expect(await labels({ status: 'allowed' })).toEqual(['Jenkins nightly', 'old one']);
    expect(await labels({ status: 'blocked' })).toEqual(['my laptop scripts']);
    expect(await labels({ q: 'JENKINS' })).toEqual(['Jenkins nightly']);
    expect(await labels({ q: 'bob@EXAMPLE' })).toEqual(['Jenkins nightly', 'old one']);
    expect(await labels({ q: 'alice' })).toEqual(['my laptop scripts']);
    expect(await labels({ createdAtSearchType: 'gt', createdAtUom: 'day', createdAtValue: '30' })).toEqual([
      'Jenkins nightly',
    ]);
    expect(await labels({ createdAtSearchType: 'lt', createdAtUom: 'week', createdAtValue: '4' })).toEqual([
      'my laptop scripts',
      'old one',
    ]);
    expect(
      await labels({ createdAtSearchType: 'range', createdAtFrom: iso(START - 50 * DAY), createdAtTo: iso(START) }),
    ).toEqual(['Jenkins nightly', 'old one']);
    expect(
      await labels({ createdAtSearchType: 'range_time', createdAtRangeFrom: '-30w', createdAtRangeTo: '-6w' }),
    ).toEqual(['my laptop scripts']);
    expect(await labels({ lastActiveAtSearchType: 'gt', lastActiveAtUom: 'day', lastActiveAtValue: '1' })).toEqual([]);
  });

  it('refuses malformed filters with the documented codes, and an unknown parameter with 500', async () => {
    // Act
    const cases: Array<[string, number, string]> = [
      ['status=ALLOWED', 400, 'INVALID_FIELD_FORMAT'],
      ['createdAtSearchType=gt', 400, 'INVALID_API_TOKEN_SEARCH_QUERY'],
      ['createdAtUom=day&createdAtValue=3', 400, 'INVALID_API_TOKEN_SEARCH_QUERY'],
      ['createdAtSearchType=gt&createdAtUom=year&createdAtValue=1', 400, 'INVALID_FIELD_FORMAT'],
      ['createdAtSearchType=range&createdAtFrom=yesterday', 400, 'INVALID_FIELD_FORMAT'],
      ['lastActiveAtSearchType=range_time&lastActiveAtRangeFrom=3x', 400, 'INVALID_FIELD_FORMAT'],
      ['lastActiveAtSearchType=sometimes', 400, 'INVALID_FIELD_FORMAT'],
      ['cursor=not-a-cursor', 400, 'INVALID_FIELD_FORMAT'],
      ['limit=5', 500, 'GENERIC_ERROR'],
    ];
    const answers: Answer[] = [];
    for (const [query] of cases) answers.push(await call('GET', `${inventoryUrl()}?${query}`));
    const countWithPageSize = await call('GET', `${inventoryUrl()}/count?pageSize=5`);

    // Assess
    cases.forEach(([, status, code], i) => {
      const res = answers[i]!;
      expectApiAccess(res, INVENTORY, status);
      expect(res.json).toMatchObject({ errors: [{ status: String(status), code }] });
    });
    expectApiAccess(countWithPageSize, COUNT, 500);
  });

  it('answers another org with the documented 403, and sends rate-limit headers on every answer', async () => {
    // Act
    const otherOrg = await call('GET', inventoryUrl('other-org'));
    const otherOrgCount = await call('GET', `${inventoryUrl('other-org')}/count`);
    await call('POST', '/__control/faults', { body: { route: 'inventory_count', status: 500, count: 1 }, auth: null });
    const injected = await call('GET', `${inventoryUrl()}/count`);
    const noKey = await call('GET', inventoryUrl(), { auth: null });
    const bulkRevoke = await call('DELETE', inventoryUrl());

    // Assess
    expectApiAccess(otherOrg, INVENTORY, 403);
    expectApiAccess(otherOrgCount, COUNT, 403);
    expect(otherOrg.json).toMatchObject({ errors: [{ status: '403' }] });
    expectApiAccess(injected, COUNT, 500);
    expect(injected.json).toMatchObject({ errors: [{ code: 'GENERIC_ERROR' }] });
    for (const res of [noKey, bulkRevoke]) expectRateLimitHeaders(res);
    expect(noKey.status).toBe(401);
    expect(bulkRevoke.status).toBe(405);
  });

  it('reports the token bucket in the rate-limit headers, and its 429 in the API Access error shape', async () => {
    // Prepare
    await call('POST', '/__control/rate-limit', { body: { perSecond: 2 }, auth: null });

    // Act
    const answers: Answer[] = [];
    for (let i = 0; i < 3; i++) answers.push(await inventory());

    // Assess
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    for (const res of answers) expectRateLimitHeaders(res);
    expect(answers[0]?.headers.get('x-ratelimit-limit')).toBe('2');
    expect(answers[2]?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(answers[2]?.json).toMatchObject({ errors: [{ status: '429', code: 'GENERIC_ERROR' }] });
  });

  it("follows the owner's policy: BLOCKED in the blocking one, ALLOWED once moved", async () => {
    // Act
    const before = (await inventory()).json as InventoryPage;
    await moveMember(ALICE.email, 'policy-allow');
    const after = (await inventory()).json as InventoryPage;
    await moveMember(ALICE.email, 'policy-block');
    const back = (await inventory()).json as InventoryPage;

    // Assess
    expect([before, after, back].map((p) => p.data[0]?.status)).toEqual(['BLOCKED', 'ALLOWED', 'BLOCKED']);
  });
});

describe("Fake Atlassian: user-management routes for members' tokens", () => {
  it("lists and revokes a member's personal token, telling accountNotFound from notFound", async () => {
    // Prepare
    const [seeded] = fake.personalTokens();
    const listPath = `/users/${ALICE.accountId}/manage/api-tokens`;

    // Act
    const listed = await call('GET', listPath);
    const revoked = await call('DELETE', `${listPath}/${seeded!.id}`);
    const again = await call('DELETE', `${listPath}/${seeded!.id}`);
    const unknownAccount = await call('DELETE', `/users/712020:nobody/manage/api-tokens/${seeded!.id}`);
    const listedAfter = await call('GET', listPath);
    const inventoryAfter = (await inventory()).json as InventoryPage;

    // Assess
    expect(listed.status).toBe(200);
    expect(responseErrors('user-management', USER_TOKENS, 'get', 200, listed.json)).toEqual([]);
    expect(listed.json).toEqual([
      { id: seeded!.id, label: 'my laptop scripts', createdAt: iso(START - 200 * DAY), expiry: seeded!.expiry },
    ]);
    expect(revoked.status).toBe(204);
    expect(again.status).toBe(404);
    expect(again.json).toEqual({ key: 'notFound' });
    expect(unknownAccount.status).toBe(404);
    expect(unknownAccount.json).toEqual({ key: 'accountNotFound' });
    for (const res of [again, unknownAccount]) {
      expect(responseErrors('user-management', USER_TOKEN, 'delete', 404, res.json)).toEqual([]);
    }
    expect(listedAfter.json).toEqual([]);
    expect(inventoryAfter.data).toEqual([]);
  });
});

describe('Fake Atlassian: /myself with personal tokens', () => {
  it("answers a member's token only while their policy allows API tokens, and records its use", async () => {
    // Prepare
    await moveMember(BOB.email, 'policy-allow');
    const created = (await createPersonalToken({ email: BOB.email, label: 'cli' })).json as {
      id: string;
      token: string;
    };
    nowMs = START + 5 * 3600_000;

    // Act
    const site = await call('GET', '/rest/api/3/myself', { auth: basic(BOB.email, created.token) });
    const gateway = await call('GET', `/ex/jira/${CLOUD_ID}/rest/api/3/myself`, {
      auth: basic(BOB.email, created.token),
    });
    const listed = (await inventory({ q: 'cli' })).json as InventoryPage;
    await moveMember(BOB.email, 'policy-block');
    nowMs = START + 6 * 3600_000;
    const blocked = await call('GET', '/rest/api/3/myself', { auth: basic(BOB.email, created.token) });
    const listedBlocked = (await inventory({ q: 'cli' })).json as InventoryPage;

    // Assess
    for (const res of [site, gateway]) {
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        accountId: BOB.accountId,
        accountType: 'atlassian',
        active: true,
        displayName: BOB.displayName,
        emailAddress: BOB.email,
      });
    }
    expect(listed.data).toEqual([
      expect.objectContaining({ id: created.id, status: 'ALLOWED', lastActiveAt: iso(START + 5 * 3600_000) }),
    ]);
    expect(blocked.status).toBe(401);
    expect(listedBlocked.data).toEqual([
      expect.objectContaining({ status: 'BLOCKED', lastActiveAt: iso(START + 5 * 3600_000) }),
    ]);
  });

  it('needs the user-read scope for a scoped personal token, and answers a service account as an app', async () => {
    // Prepare
    await moveMember(BOB.email, 'policy-allow');
    const workOnly = (await createPersonalToken({ email: BOB.email, label: 'work', scopes: ['read:jira-work'] }))
      .json as { token: string };
    const userRead = (await createPersonalToken({ email: BOB.email, label: 'user', scopes: ['read:jira-user'] }))
      .json as { token: string };
    const minted = (
      await call('POST', `/users/${SA.accountId}/manage/api-tokens`, {
        body: { label: 'sa', scopes: ['read:jira-user'], expiry: iso(START + DAY) },
      })
    ).json as { token: string };

    // Act
    const gateway = `/ex/jira/${CLOUD_ID}/rest/api/3/myself`;
    const work = await call('GET', gateway, { auth: basic(BOB.email, workOnly.token) });
    const user = await call('GET', gateway, { auth: basic(BOB.email, userRead.token) });
    const app = await call('GET', gateway, { auth: basic(SA.email, minted.token) });

    // Assess
    expect(work.status).toBe(401);
    expect(user.status).toBe(200);
    expect(app.json).toMatchObject({ accountId: SA.accountId, accountType: 'app', appType: 'service' });
  });
});

describe('Fake Atlassian: Admin Control policy moves', () => {
  it('moves members with add-users: a task in progress, then complete, seen by bulk-fetch', async () => {
    // Prepare
    nowMs = START + 7 * DAY;

    // Act
    const started = await postJson(
      'admin-control',
      ADD_USERS,
      '/admin/control/v1/orgs/demo-org/auth-policy/policy-allow/add-users',
      {
        users: ['Alice@example.com', 'bob@example.com'],
      },
    );
    const { taskId, taskLink } = started.json as { taskId: string; taskLink: string };
    const early = await call('GET', `/admin/control/v1/orgs/demo-org/auth-policy/task/${taskId}`);
    const statusBefore = ((await inventory()).json as InventoryPage).data[0]?.status;
    const done = await settledTask(taskId);
    const fetched = await postJson(
      'admin-control',
      BULK_FETCH,
      '/admin/control/v1/orgs/demo-org/users/auth-policies/bulk-fetch',
      {
        accountIds: [ALICE.accountId, BOB.accountId, HUMANS[1]!.accountId, 'unknown-account', SA.accountId],
      },
    );
    const statusAfter = ((await inventory()).json as InventoryPage).data[0]?.status;

    // Assess
    expect(started.status).toBe(202);
    expect(responseErrors('admin-control', ADD_USERS, 'post', 202, started.json)).toEqual([]);
    expect(taskLink).toBe(`${base}/admin/control/v1/orgs/demo-org/auth-policy/task/${taskId}`);
    expect(early.json).toEqual({ inProgressCount: 2, successCount: 0, failureCount: 0, failureReasons: [] });
    expect(responseErrors('admin-control', TASK, 'get', 200, early.json)).toEqual([]);
    expect(statusBefore).toBe('BLOCKED');
    expect(done).toEqual({ inProgressCount: 0, successCount: 2, failureCount: 0, failureReasons: [] });
    expect(fetched.status).toBe(200);
    expect(responseErrors('admin-control', BULK_FETCH, 'post', 200, fetched.json)).toEqual([]);
    expect(fetched.json).toEqual([
      {
        email: ALICE.email,
        name: ALICE.displayName,
        accountId: ALICE.accountId,
        authPolicyInfo: { policyId: 'policy-allow', dateAdded: START + 7 * DAY },
      },
      expect.objectContaining({
        accountId: BOB.accountId,
        authPolicyInfo: expect.objectContaining({ policyId: 'policy-allow' }),
      }),
      expect.objectContaining({
        accountId: HUMANS[1]!.accountId,
        authPolicyInfo: { policyId: 'policy-block', dateAdded: START },
      }),
    ]);
    expect(statusAfter).toBe('ALLOWED');
  });

  it('reports an email of no member as a failure reason', async () => {
    // Act
    const started = await postJson(
      'admin-control',
      ADD_USERS,
      '/admin/control/v1/orgs/demo-org/auth-policy/policy-allow/add-users',
      {
        users: ['bob@example.com', 'nobody@example.com', SA.email],
      },
    );
    const done = await settledTask((started.json as { taskId: string }).taskId);

    // Assess
    expect(done).toEqual({
      inProgressCount: 0,
      successCount: 1,
      failureCount: 2,
      failureReasons: [
        {
          emails: ['nobody@example.com', SA.email],
          details: { status: 404, title: 'User not found', detail: expect.any(String) },
        },
      ],
    });
  });

  it('answers the documented errors: 404 for another org, policy or task, 400 for a bad body, 401 without a key', async () => {
    // Act
    const addUsers = (org: string, policy: string, body: unknown, auth?: string | null) =>
      call('POST', `/admin/control/v1/orgs/${org}/auth-policy/${policy}/add-users`, { body, auth });
    const cases: Array<[string, string, Answer, number]> = [
      [ADD_USERS, 'post', await addUsers('other-org', 'policy-allow', { users: ['bob@example.com'] }), 404],
      [ADD_USERS, 'post', await addUsers('demo-org', 'no-policy', { users: ['bob@example.com'] }), 404],
      [ADD_USERS, 'post', await addUsers('demo-org', 'policy-allow', { users: [] }), 400],
      [ADD_USERS, 'post', await addUsers('demo-org', 'policy-allow', { emails: ['bob@example.com'] }), 400],
      [TASK, 'get', await call('GET', '/admin/control/v1/orgs/demo-org/auth-policy/task/no-task'), 404],
      [
        BULK_FETCH,
        'post',
        await call('POST', '/admin/control/v1/orgs/demo-org/users/auth-policies/bulk-fetch', {
          body: { accountIds: 'x' },
        }),
        400,
      ],
      [
        BULK_FETCH,
        'post',
        await call('POST', '/admin/control/v1/orgs/other/users/auth-policies/bulk-fetch', { body: { accountIds: [] } }),
        404,
      ],
    ];
    const noKey = await addUsers('demo-org', 'policy-allow', { users: ['bob@example.com'] }, null);
    await call('POST', '/__control/faults', { body: { route: 'bulk_fetch', status: 500, count: 1 }, auth: null });
    const injected = await call('POST', '/admin/control/v1/orgs/demo-org/users/auth-policies/bulk-fetch', {
      body: { accountIds: [BOB.accountId] },
    });

    // Assess
    for (const [path, method, res, status] of cases) {
      expect(res.status).toBe(status);
      expect(responseErrors('admin-control', path, method, status, res.json)).toEqual([]);
      expect(res.json).toEqual(
        status === 404
          ? { code: 404, message: expect.any(String) }
          : { errors: [expect.objectContaining({ status: '400' })] },
      );
    }
    expect(noKey.status).toBe(401);
    expect(noKey.text).toBe('');
    expect(injected.status).toBe(500);
    expect(responseErrors('admin-control', BULK_FETCH, 'post', 500, injected.json)).toEqual([]);
    expect(injected.json).toEqual({ errors: [expect.objectContaining({ status: '500' })] });
    expect((await call('GET', '/__control/policies', { auth: null })).json).toEqual(
      expect.arrayContaining([expect.objectContaining({ policyId: 'policy-allow', members: [] })]),
    );
  });
});

describe('Fake Atlassian: personal-token and policy test controls', () => {
  it('creates a personal token only while the policy allows, unless it predates the block', async () => {
    // Act
    const blocked = await createPersonalToken({ email: BOB.email, label: 'refused' });
    const predates = await createPersonalToken({
      email: BOB.email,
      label: 'old',
      createdDaysAgo: 30,
      scopes: ['read:jira-work'],
    });
    const unknown = await createPersonalToken({ email: 'nobody@example.com', label: 'x' });
    const service = await createPersonalToken({ email: SA.email, label: 'x' });
    const bad = await createPersonalToken({ email: BOB.email, label: '', expiresInDays: 400 });
    await moveMember(BOB.email, 'policy-allow');
    const allowed = await createPersonalToken({ email: BOB.email, label: 'new', expiresInDays: 10 });
    const controlTokens = await call('GET', '/__control/tokens', { auth: null });

    // Assess
    expect(blocked.status).toBe(403);
    expect(predates.status).toBe(201);
    expect(predates.json).toEqual({ id: expect.any(String), token: expect.stringMatching(/^ATATT3x/) });
    expect([unknown.status, service.status, bad.status]).toEqual([404, 404, 400]);
    expect(allowed.status).toBe(201);
    const old = predates.json as { id: string; token: string };
    const views = fake.personalTokens();
    expect(views.find((t) => t.id === old.id)).toEqual({
      id: old.id,
      label: 'old',
      accountId: BOB.accountId,
      kind: 'personal',
      status: 'ACTIVE',
      scopes: ['read:jira-work'],
      createdAt: iso(START - 30 * DAY),
      expiry: iso(START - 30 * DAY + 365 * DAY),
    });
    expect(views.find((t) => t.label === 'new')).toMatchObject({
      createdAt: iso(START),
      expiry: iso(START + 10 * DAY),
    });
    expect(fake.tokens()).toEqual([]);
    expect(controlTokens.json).toHaveLength(3);
    for (const created of [predates, allowed]) {
      expect(controlTokens.text).not.toContain((created.json as { token: string }).token);
    }
  });

  it('lists each policy with its members, and moves a member as an admin would', async () => {
    // Prepare
    nowMs = START + DAY;

    // Act
    const before = (await call('GET', '/__control/policies', { auth: null })).json as Array<{
      policyId: string;
      name: string;
      apiTokens: string;
      members: Array<{ email: string; dateAdded: number }>;
    }>;
    const moved = await call('POST', '/__control/policies/policy-allow/members', {
      body: { email: 'BOB@example.com' },
      auth: null,
    });
    const after = (await call('GET', '/__control/policies', { auth: null })).json as typeof before;
    const unknownPolicy = await call('POST', '/__control/policies/nope/members', {
      body: { email: BOB.email },
      auth: null,
    });
    const unknownMember = await call('POST', '/__control/policies/policy-allow/members', {
      body: { email: 'x@y.z' },
      auth: null,
    });

    // Assess
    expect(before.map((p) => [p.policyId, p.name, p.apiTokens])).toEqual([
      ['policy-block', 'Block user API tokens', 'blocked'],
      ['policy-allow', 'Allow user API tokens', 'allowed'],
    ]);
    expect(before[0]?.members.map((m) => m.email)).toEqual(HUMANS.map((h) => h.email));
    expect(before[1]?.members).toEqual([]);
    expect(moved.json).toEqual({
      accountId: BOB.accountId,
      email: BOB.email,
      policyId: 'policy-allow',
      dateAdded: START + DAY,
    });
    expect(after[1]?.members).toEqual([
      { accountId: BOB.accountId, email: BOB.email, name: BOB.displayName, dateAdded: START + DAY },
    ]);
    expect(after[0]?.members).toHaveLength(HUMANS.length - 1);
    expect([unknownPolicy.status, unknownMember.status]).toEqual([404, 404]);
  });

  it('goes back to the seed on reset: members in the blocking policy, only the seeded token, created anew', async () => {
    // Prepare
    await moveMember(BOB.email, 'policy-allow');
    await createPersonalToken({ email: BOB.email, label: 'gone after reset' });
    nowMs = START + 10 * DAY;

    // Act
    expect((await call('POST', '/__control/reset', { body: {}, auth: null })).status).toBe(204);

    // Assess
    expect(fake.personalTokens()).toEqual([
      expect.objectContaining({ label: 'my laptop scripts', createdAt: iso(START + 10 * DAY - 200 * DAY) }),
    ]);
    expect(fake.state.membership(BOB.accountId)?.policyId).toBe('policy-block');
  });
});

describe('Fake Atlassian: persistence of members, policies and personal tokens', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-atlassian-personal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const make = (stateFile: string) =>
    createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED, stateFile });

  it('creates the seeded token once, on the clock of the first start, and keeps moves and tokens', async () => {
    // Prepare
    const stateFile = join(dir, 'atlassian.json');
    const first = make(stateFile);
    first.state.moveMember(BOB.accountId, 'policy-allow');
    first.state.addToken({
      accountId: BOB.accountId,
      label: 'bob cli',
      scopes: [],
      expiry: new Date(START + 30 * DAY),
      value: 'value-that-is-not-stored',
      now: new Date(START),
    });
    const seeded = first.personalTokens().find((t) => t.label === 'my laptop scripts')!;

    // Act
    nowMs = START + 10 * DAY;
    const second = make(stateFile);

    // Assess
    expect(second.personalTokens()).toEqual(first.personalTokens());
    expect(seeded.createdAt).toBe(iso(START - 200 * DAY));
    expect(second.state.membership(BOB.accountId)).toEqual({ policyId: 'policy-allow', dateAdded: START });
    expect(readFileSync(stateFile, 'utf8')).not.toContain('value-that-is-not-stored');
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ version: 2 });
  });

  it('reads a version 1 state file: its tokens stay, the seed adds policies and the personal token', () => {
    // Prepare
    const stateFile = join(dir, 'atlassian.json');
    const token = {
      id: 'tok-from-v1',
      accountId: SA.accountId,
      label: 'kept from v1',
      scopes: ['read:jira-user'],
      createdAt: iso(START - DAY),
      expiry: iso(START + DAY),
      valueSha256: 'a'.repeat(64),
    };
    writeFileSync(stateFile, JSON.stringify({ version: 1, tokens: [token] }));

    // Act
    const migrated = make(stateFile);

    // Assess
    expect(migrated.tokens()).toEqual([expect.objectContaining({ id: 'tok-from-v1', status: 'ACTIVE' })]);
    expect(migrated.personalTokens()).toEqual([expect.objectContaining({ label: 'my laptop scripts' })]);
    expect(migrated.state.membership(ALICE.accountId)?.policyId).toBe('policy-block');
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ version: 2 });
  });

  it('keeps an add-users move across a restart and completes it', async () => {
    // Prepare
    const stateFile = join(dir, 'atlassian.json');
    const first = make(stateFile);
    const task = first.state.startPolicyMove('policy-allow', [ALICE.email]);

    // Act
    const second = make(stateFile);
    await new Promise((r) => setTimeout(r, 400));

    // Assess
    expect(second.state.task(task.taskId)?.outcome).toEqual({ succeeded: [ALICE.email], unknown: [] });
    expect(second.state.membership(ALICE.accountId)?.policyId).toBe('policy-allow');
  });
});

describe('Spec validation used above', () => {
  it('rejects answers the API Access and Admin Control specs forbid, so the checks above can fail', () => {
    // Act
    const wrongCode = responseErrors('api-access', INVENTORY, 'get', 400, {
      errors: [{ id: 'x', status: '400', code: 'badRequest', title: 'Bad Request' }],
    });
    const wrongStatus = responseErrors('api-access', INVENTORY, 'get', 200, {
      data: [
        { id: 'x', label: 'y', status: 'EXPIRED', createdAt: iso(START), user: { id: 'u', name: 'n', email: 'e' } },
      ],
      links: {},
    });
    const wrongNotFound = responseErrors('admin-control', TASK, 'get', 404, { code: '404', message: 'x' });
    const wrongQuery = queryErrors(
      'api-access',
      INVENTORY,
      'get',
      new URLSearchParams({ pageSize: '1001', limit: '1' }),
    );

    // Assess
    for (const errors of [wrongCode, wrongStatus, wrongNotFound]) expect(errors).not.toEqual([]);
    expect(wrongQuery).toHaveLength(2);
  });
});
