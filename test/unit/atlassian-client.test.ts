import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import {
  AtlassianAuthError,
  AtlassianClient,
  type AtlassianClientOptions,
  type AtlassianError,
  AtlassianMalformedResponseError,
  AtlassianNotFoundError,
  AtlassianRequestError,
  AtlassianTransientError,
} from '../../functions/adapters/atlassian/client';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian, type FakeCall } from '../../local/fake-atlassian';
import { requestErrors } from './support/atlassian-openapi';
import { recordingProxy, scriptedServer } from './support/atlassian-servers';

const ORG_KEY = 'client-test-org-key-9f8e7d';
const START = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const SA = DEMO_SEED.accounts.find((a) => a.kind === 'service')!;
const CLOUD_ID = DEMO_SEED.sites[0]!.cloudId;
const MINT_ROUTE = 'POST /users/{accountId}/manage/api-tokens';
/** A token-shaped value that must never appear in an error. */
const SECRET = `ATATT3xSECRET${'k'.repeat(150)}=0A1B2C3D`;

let nowMs = START;
let fake: FakeAtlassian;
let server: Server;
let base: string;
const calls: FakeCall[] = [];
let sleeps: number[] = [];

function client(overrides: Partial<AtlassianClientOptions> = {}): AtlassianClient {
  return new AtlassianClient({
    apiBaseUrl: base,
    siteBaseUrl: base,
    orgApiKey: async () => ORG_KEY,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => new Date(nowMs),
    random: () => 0,
    timeoutMs: 2_000,
    ...overrides,
  });
}

async function control(path: string, body?: unknown): Promise<void> {
  // Control routes take JSON only, even when there is no body.
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${base}/__control/${path}`, init);
  expect(res.status).toBeLessThan(300);
}

async function failure(promise: Promise<unknown>): Promise<AtlassianError> {
  try {
    await promise;
  } catch (error) {
    return error as AtlassianError;
  }
  throw new Error('expected the call to fail');
}

/** The error as anyone could see it: message, stack, and every property (cause included). */
const everything = (error: unknown) => `${String(error)}\n${(error as Error).stack}\n${inspect(error, { depth: 5 })}`;

const mintReq = (label = 'token-warden:tok_a:g1', scopes = ['read:jira-user']) => ({
  label,
  scopes,
  expiry: new Date(START + 30 * DAY),
});

const callsTo = (route: FakeCall['route']) => calls.filter((c) => c.route === route).length;

beforeAll(async () => {
  fake = createFakeAtlassian({
    now: () => new Date(nowMs),
    orgApiKey: ORG_KEY,
    seed: DEMO_SEED,
    onCall: (c) => calls.push(c),
  });
  server = await fake.listen(0);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  nowMs = START;
  sleeps = [];
  calls.length = 0;
  fake.reset();
});

describe('AtlassianClient against the fake Atlassian', () => {
  it('mints, lists, verifies and revokes a token, after which it no longer verifies', async () => {
    const atlassian = client();
    const minted = await atlassian.mintToken(SA.accountId, mintReq());
    expect(minted).toEqual({ id: expect.any(String), token: expect.stringMatching(/^ATATT3x/) });

    const listed = await atlassian.listTokens(SA.accountId);
    expect(listed).toEqual([
      {
        id: minted.id,
        label: 'token-warden:tok_a:g1',
        createdAt: new Date(START).toISOString(),
        expiry: new Date(START + 30 * DAY).toISOString(),
      },
    ]);

    const verified = await atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: minted.token });
    expect(verified).toEqual({ valid: true, accountId: SA.accountId });
    expect((await atlassian.listTokens(SA.accountId))[0]?.lastAccess).toBe(new Date(START).toISOString());

    expect(await atlassian.revokeToken(SA.accountId, minted.id)).toBe('revoked');
    expect(await atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: minted.token })).toEqual({
      valid: false,
    });
    expect(await atlassian.listTokens(SA.accountId)).toEqual([]);
    expect(sleeps).toEqual([]);
  });

  it('answers not-found when revoking a token Atlassian does not know', async () => {
    expect(await client().revokeToken(SA.accountId, 'no-such-token')).toBe('not-found');
  });

  it('reports invalid for a token without read:jira-user, a wrong email, or an expired token', async () => {
    const atlassian = client();
    const workOnly = await atlassian.mintToken(SA.accountId, mintReq('a', ['read:jira-work']));
    const good = await atlassian.mintToken(SA.accountId, { ...mintReq('b'), expiry: new Date(START + DAY) });
    expect(await atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: workOnly.token })).toEqual({
      valid: false,
    });
    expect(await atlassian.verifyMyself({ cloudId: CLOUD_ID, email: 'alice@example.com', token: good.token })).toEqual({
      valid: false,
    });
    nowMs = START + DAY;
    expect(await atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: good.token })).toEqual({
      valid: false,
    });
  });

  it('honours Retry-After on a 429 and then succeeds', async () => {
    await control('faults', { route: 'list', status: 429, count: 1, retryAfterSeconds: 3 });
    expect(await client().listTokens(SA.accountId)).toEqual([]);
    expect(sleeps).toEqual([3000]);
    expect(callsTo('list')).toBe(2);
  });

  it('retries a mint after a 429 (Atlassian did not process it) and mints exactly one token', async () => {
    await control('faults', { route: 'mint', status: 429, count: 1, retryAfterSeconds: 2 });
    const minted = await client().mintToken(SA.accountId, mintReq());
    expect(sleeps).toEqual([2000]);
    expect(fake.tokens()).toEqual([expect.objectContaining({ id: minted.id, status: 'ACTIVE' })]);
  });

  it('retries a list answered 500, with exponential backoff', async () => {
    await control('faults', { route: 'list', status: 500, count: 2 });
    expect(await client({ random: () => 1 }).listTokens(SA.accountId)).toEqual([]);
    expect(sleeps).toEqual([250, 500]);
    expect(callsTo('list')).toBe(3);
  });

  it('does not retry a mint answered 500, and the token it left behind is found and revoked by label', async () => {
    await control('faults', { route: 'mint', status: 500, count: 1 });
    const atlassian = client();
    const error = await failure(atlassian.mintToken(SA.accountId, mintReq('token-warden:tok_a:g2')));
    expect(error).toBeInstanceOf(AtlassianTransientError);
    expect(error.name).toBe('AtlassianTransientError');
    expect(error.status).toBe(500);
    expect(error.message).toBe(`Atlassian ${MINT_ROUTE} answered 500 (internalServerError)`);
    expect(sleeps).toEqual([]);
    // The lost response still minted a token: only reconciliation by label can find it.
    expect(fake.tokens()).toEqual([expect.objectContaining({ label: 'token-warden:tok_a:g2', status: 'ACTIVE' })]);

    const orphans = (await atlassian.listTokens(SA.accountId)).filter((t) => t.label === 'token-warden:tok_a:g2');
    for (const orphan of orphans) expect(await atlassian.revokeToken(SA.accountId, orphan.id)).toBe('revoked');
    const minted = await atlassian.mintToken(SA.accountId, mintReq('token-warden:tok_a:g2'));
    expect(fake.tokens().map((t) => t.status)).toEqual(['REVOKED', 'ACTIVE']);
    expect(fake.tokens()[1]?.id).toBe(minted.id);
  });

  it('gives up after maxAttempts with a transient error', async () => {
    await control('faults', { route: 'list', status: 503, count: 10 });
    const error = await failure(client({ maxAttempts: 3 }).listTokens(SA.accountId));
    expect(error).toBeInstanceOf(AtlassianTransientError);
    expect(error.status).toBe(503);
    expect(error.message).toBe(
      'Atlassian GET /users/{accountId}/manage/api-tokens answered 503 (serviceUnavailable) (after 3 attempts)',
    );
    expect(sleeps).toHaveLength(2);
    expect(callsTo('list')).toBe(3);
  });

  it('stops when the next wait would exceed maxWaitMs, handing the wait to the workflow', async () => {
    await control('faults', { route: 'list', status: 429, count: 3, retryAfterSeconds: 3 });
    const error = await failure(client({ maxWaitMs: 8_000 }).listTokens(SA.accountId));
    expect(error).toBeInstanceOf(AtlassianTransientError);
    expect(error.retryAfterMs).toBe(3000);
    expect(sleeps).toEqual([3000, 3000]);

    sleeps = [];
    await control('faults', { route: 'list', status: 429, count: 1, retryAfterSeconds: 30 });
    const long = await failure(client().listTokens(SA.accountId));
    expect(long).toBeInstanceOf(AtlassianTransientError);
    expect(long.retryAfterMs).toBe(30_000);
    expect(sleeps).toEqual([]);
  });

  it('maps a wrong org key to AtlassianAuthError without retrying', async () => {
    const error = await failure(client({ orgApiKey: async () => 'wrong-key' }).listTokens(SA.accountId));
    expect(error).toBeInstanceOf(AtlassianAuthError);
    expect(error.name).toBe('AtlassianAuthError');
    expect(error.status).toBe(401);
    expect(error.key).toBe('unauthorized');
    expect(error.message).not.toContain('wrong-key');
    expect(callsTo('list')).toBe(1);
  });

  it('maps a 403 on an admin route (a scoped org key) to AtlassianAuthError', async () => {
    await control('faults', { route: 'mint', status: 403, count: 1 });
    const error = await failure(client().mintToken(SA.accountId, mintReq()));
    expect(error).toBeInstanceOf(AtlassianAuthError);
    expect(error.status).toBe(403);
    expect(everything(error)).not.toContain(ORG_KEY);
  });

  it('never reports 429 or 5xx on /myself as invalid', async () => {
    const atlassian = client();
    const minted = await atlassian.mintToken(SA.accountId, mintReq());
    await control('faults', { route: 'myself', status: 502, count: 10 });
    const error = await failure(atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: minted.token }));
    expect(error).toBeInstanceOf(AtlassianTransientError);
    expect(everything(error)).not.toContain(minted.token);

    await control('reset');
    const again = await atlassian.mintToken(SA.accountId, mintReq());
    await control('faults', { route: 'myself', status: 429, count: 1, retryAfterSeconds: 1 });
    expect(await atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: again.token })).toEqual({
      valid: true,
      accountId: SA.accountId,
    });
  });

  it('raises AtlassianRequestError with the violation for an expiry Atlassian refuses', async () => {
    const error = await failure(
      client().mintToken(SA.accountId, { ...mintReq(), expiry: new Date(START + 400 * DAY) }),
    );
    expect(error).toBeInstanceOf(AtlassianRequestError);
    expect(error.name).toBe('AtlassianRequestError');
    expect(error.status).toBe(400);
    expect(error.key).toBe('fieldConstraintsViolated');
    expect(error.violations).toEqual([{ field: 'expiry', keys: ['INVALID_EXPIRY'] }]);
    expect(error.message).toBe(
      `Atlassian ${MINT_ROUTE} answered 400 (fieldConstraintsViolated: expiry INVALID_EXPIRY)`,
    );
    expect(fake.tokens()).toEqual([]);
  });

  it('raises AtlassianNotFoundError for an unknown account', async () => {
    const error = await failure(client().listTokens('712020:no-such-account'));
    expect(error).toBeInstanceOf(AtlassianNotFoundError);
    expect(error.name).toBe('AtlassianNotFoundError');
    expect(error.status).toBe(404);
  });

  it('retries a list that times out, and succeeds', async () => {
    await control('faults', { route: 'list', count: 1, delayMs: 1_000 });
    expect(await client({ timeoutMs: 250 }).listTokens(SA.accountId)).toEqual([]);
    expect(sleeps).toHaveLength(1);
    // Let the abandoned first request finish so it cannot land in a later test's call log.
    const deadline = Date.now() + 3_000;
    while (callsTo('list') < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(callsTo('list')).toBe(2);
  });

  it('throws at once when a mint times out; the late mint still lands at Atlassian', async () => {
    await control('faults', { route: 'mint', count: 1, delayMs: 600 });
    const error = await failure(client({ timeoutMs: 250 }).mintToken(SA.accountId, mintReq()));
    expect(error).toBeInstanceOf(AtlassianTransientError);
    expect(error.message).toBe(`Atlassian ${MINT_ROUTE} timed out after 250 ms`);
    expect(error.status).toBeUndefined();
    expect(sleeps).toEqual([]);
    const deadline = Date.now() + 3_000;
    while (fake.tokens().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fake.tokens()).toEqual([expect.objectContaining({ label: 'token-warden:tok_a:g1' })]);
  });

  it('pages through the org inventory', async () => {
    for (let i = 0; i < 55; i++) {
      fake.state.addToken({
        accountId: SA.accountId,
        label: `inv-${i}`,
        scopes: ['read:jira-work'],
        expiry: new Date(START + DAY),
        value: `value-${i}`,
        now: new Date(START),
      });
    }
    const atlassian = client();
    const pages: Awaited<ReturnType<AtlassianClient['orgTokens']>>[] = [];
    let cursor: string | undefined;
    do {
      const page = await atlassian.orgTokens(
        'demo-org',
        cursor === undefined ? { pageSize: 50 } : { pageSize: 50, cursor },
      );
      expect(page.data.length).toBeLessThanOrEqual(50);
      pages.push(page);
      cursor = page.next;
    } while (cursor !== undefined && pages.length < 10);
    const listed = pages.flatMap((p) => p.data);
    expect(cursor).toBeUndefined();
    expect(pages.length).toBeGreaterThan(1);
    expect(new Set(listed.map((t) => t.id)).size).toBe(listed.length);
    const ours = listed.filter((t) => t.label.startsWith('inv-'));
    expect(ours.map((t) => t.label).sort()).toEqual(Array.from({ length: 55 }, (_, i) => `inv-${i}`).sort());
    expect(ours.find((t) => t.label === 'inv-0')).toEqual({
      id: expect.any(String),
      label: 'inv-0',
      status: 'ALLOWED',
      createdAt: new Date(START).toISOString(),
      expiresAt: new Date(START + DAY).toISOString(),
      user: { id: SA.accountId, orgId: 'demo-org', name: SA.displayName, email: SA.email },
      scopes: ['read:jira-work'],
    });
  });

  it('finds directory users by email, case-insensitively', async () => {
    const users = await client().findUsersByEmail('demo-org', '-', ['Alice@Example.com', 'nobody@example.com']);
    expect(users).toEqual([
      {
        accountId: '712020:00000000-0000-4000-8000-0000000000a1',
        email: 'alice@example.com',
        name: 'Alice',
        accountStatus: 'active',
      },
    ]);
  });

  it('resolves a site to its cloudId', async () => {
    expect(await client().tenantInfo('example')).toEqual({ cloudId: CLOUD_ID });
  });

  it('awaits the shared limiter before every request, retries included', async () => {
    let acquired = 0;
    await control('faults', { route: 'list', status: 500, count: 1 });
    await client({
      limiter: {
        acquire: async () => {
          acquired += 1;
        },
      },
    }).listTokens(SA.accountId);
    expect(acquired).toBe(2);
  });
});

describe('AtlassianClient request bodies', () => {
  it('sends the documented user-search body and the observed mint body', async () => {
    const proxy = await recordingProxy(base);
    try {
      const atlassian = client({ apiBaseUrl: proxy.url });
      await atlassian.findUsersByEmail('demo-org', DEMO_SEED.directoryId, ['alice@example.com']);
      await atlassian.mintToken(SA.accountId, mintReq());

      const search = proxy.seen.find((r) => r.path.endsWith('/users/search'));
      expect(search?.method).toBe('POST');
      expect(search?.path).toBe(`/admin/v2/orgs/demo-org/directories/${DEMO_SEED.directoryId}/users/search`);
      const searchBody: unknown = JSON.parse(search?.body ?? 'null');
      expect(
        requestErrors('organization', '/v2/orgs/{orgId}/directories/{directoryId}/users/search', 'post', searchBody),
      ).toEqual([]);
      expect(search?.headers.authorization).toBe(`Bearer ${ORG_KEY}`);

      const mint = proxy.seen.find((r) => r.method === 'POST' && r.path.endsWith('/manage/api-tokens'));
      expect(mint?.path).toBe(`/users/${SA.accountId}/manage/api-tokens`);
      expect(mint?.headers['content-type']).toBe('application/json');
      // The create route is not in the specs; its body follows the README: `expiry`, never `expiresAt`.
      expect(JSON.parse(mint?.body ?? 'null')).toEqual({
        label: 'token-warden:tok_a:g1',
        scopes: ['read:jira-user'],
        expiry: new Date(START + 30 * DAY).toISOString(),
      });
    } finally {
      await proxy.close();
    }
  });

  it('would notice a search body the spec forbids', () => {
    const path = '/v2/orgs/{orgId}/directories/{directoryId}/users/search';
    expect(requestErrors('organization', path, 'post', { emails: [] })).not.toEqual([]);
    expect(requestErrors('organization', path, 'post', { emails: ['a@b.c'], limit: 500 })).not.toEqual([]);
  });
});

describe('AtlassianClient against misbehaving servers', () => {
  async function withScript<T>(
    script: Parameters<typeof scriptedServer>[0],
    run: (atlassian: AtlassianClient, seen: Awaited<ReturnType<typeof scriptedServer>>['seen']) => Promise<T>,
    overrides: Partial<AtlassianClientOptions> = {},
  ): Promise<T> {
    const scripted = await scriptedServer(script);
    try {
      return await run(client({ apiBaseUrl: scripted.url, siteBaseUrl: scripted.url, ...overrides }), scripted.seen);
    } finally {
      await scripted.close();
    }
  }

  const jsonHeaders = { 'content-type': 'application/json' };

  it.each([
    ['an HTML page', '<html><body>Service maintenance</body></html>', 'not the documented JSON'],
    ['truncated JSON', `{"id": "abc", "token": "${SECRET}`, 'not the documented JSON'],
    ['no token', '{"id": "abc"}', 'missing or invalid: token'],
    ['no id', `{"token": "${SECRET}"}`, 'missing or invalid: id'],
    ['an id of the wrong type', `{"id": 42, "token": "${SECRET}"}`, 'missing or invalid: id'],
    ['an empty token', '{"id": "abc", "token": ""}', 'missing or invalid: token'],
  ])('refuses a mint answered 200 with %s, once, without echoing the body', async (_what, body, detail) => {
    await withScript([{ status: 200, headers: jsonHeaders, body }], async (atlassian, seen) => {
      const error = await failure(atlassian.mintToken(SA.accountId, mintReq()));
      expect(error).toBeInstanceOf(AtlassianMalformedResponseError);
      expect(error.name).toBe('AtlassianMalformedResponseError');
      expect(error.message).toBe(`Atlassian ${MINT_ROUTE} answered 200 with a malformed body (${detail})`);
      expect(everything(error)).not.toContain(SECRET);
      expect(everything(error)).not.toContain('maintenance');
      expect(seen).toHaveLength(1);
    });
  });

  it('refuses malformed list, verify, inventory and tenant answers', async () => {
    await withScript([{ status: 200, body: '[{"id": "a", "label": "x", "createdAt": ' }], async (atlassian, seen) => {
      await expect(atlassian.listTokens(SA.accountId)).rejects.toBeInstanceOf(AtlassianMalformedResponseError);
      expect(seen).toHaveLength(1);
    });
    await withScript([{ status: 200, body: '<!DOCTYPE html><html></html>' }], async (atlassian) => {
      await expect(
        atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: SECRET }),
      ).rejects.toBeInstanceOf(AtlassianMalformedResponseError);
      await expect(atlassian.orgTokens('demo-org')).rejects.toBeInstanceOf(AtlassianMalformedResponseError);
      await expect(atlassian.tenantInfo('example')).rejects.toBeInstanceOf(AtlassianMalformedResponseError);
    });
    await withScript([{ status: 200, body: '{"accountType": "app"}' }], async (atlassian) => {
      await expect(
        atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: SECRET }),
      ).rejects.toBeInstanceOf(AtlassianMalformedResponseError);
    });
  });

  it('keeps a token-bearing error body out of the error, and does not retry the mint', async () => {
    await withScript(
      [{ status: 500, headers: jsonHeaders, body: JSON.stringify({ key: SECRET, token: SECRET, message: SECRET }) }],
      async (atlassian, seen) => {
        const error = await failure(atlassian.mintToken(SA.accountId, mintReq()));
        expect(error).toBeInstanceOf(AtlassianTransientError);
        expect(error.key).toBeUndefined();
        expect(everything(error)).not.toContain(SECRET);
        expect(everything(error)).not.toContain('SECRET');
        expect(seen).toHaveLength(1);
      },
    );
  });

  it('sends Basic credentials to /myself on the API base URL and never puts them in an error', async () => {
    await withScript([{ status: 503 }], async (atlassian, seen) => {
      const error = await failure(atlassian.verifyMyself({ cloudId: CLOUD_ID, email: SA.email, token: SECRET }));
      expect(error).toBeInstanceOf(AtlassianTransientError);
      expect(everything(error)).not.toContain(SECRET);
      expect(everything(error)).not.toContain(Buffer.from(`${SA.email}:${SECRET}`).toString('base64'));
      expect(seen[0]?.path).toBe(`/ex/jira/${CLOUD_ID}/rest/api/3/myself`);
      expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from(`${SA.email}:${SECRET}`).toString('base64')}`);
      expect(seen).toHaveLength(4);
    });
  });

  it('honours X-RateLimit-Reset as an ISO timestamp or as epoch seconds', async () => {
    await withScript(
      [
        { status: 429, headers: { 'x-ratelimit-reset': new Date(START + 2500).toISOString() } },
        { status: 429, headers: { 'x-ratelimit-reset': String(START / 1000 + 4) } },
        { status: 200, body: '[]' },
      ],
      async (atlassian) => {
        expect(await atlassian.listTokens(SA.accountId)).toEqual([]);
        expect(sleeps).toEqual([2500, 4000]);
      },
    );
  });

  it('tells an unknown token from an unknown route or account on revoke', async () => {
    await withScript([{ status: 404, body: '<html>Not Found</html>' }], async (atlassian) => {
      await expect(atlassian.revokeToken(SA.accountId, 'x')).rejects.toBeInstanceOf(AtlassianNotFoundError);
    });
    await withScript([{ status: 404, headers: jsonHeaders, body: '{"key": "accountNotFound"}' }], async (atlassian) => {
      const error = await failure(atlassian.revokeToken(SA.accountId, 'x'));
      expect(error).toBeInstanceOf(AtlassianNotFoundError);
      expect(error.key).toBe('accountNotFound');
    });
  });

  it('reads an inventory `links.next` given as a URL', async () => {
    const next = 'https://api.atlassian.com/admin/api-access/v1/orgs/demo-org/api-tokens?cursor=abc%3D&pageSize=50';
    await withScript(
      [
        { status: 200, body: JSON.stringify({ data: [], links: { next } }) },
        { status: 200, body: '{"data": [], "links": {}}' },
      ],
      async (atlassian, seen) => {
        expect(await atlassian.orgTokens('demo-org')).toEqual({ data: [], next: 'abc=' });
        expect(await atlassian.orgTokens('demo-org', { cursor: 'abc=' })).toEqual({ data: [] });
        expect(seen[1]?.path).toBe(
          '/admin/api-access/v1/orgs/demo-org/api-tokens?pageSize=1000&sort=createdAt&cursor=abc%3D',
        );
      },
    );
  });

  it('puts the site into the site URL template', async () => {
    const scripted = await scriptedServer([{ status: 200, body: `{"cloudId": "${CLOUD_ID}"}` }]);
    try {
      const atlassian = client({ siteBaseUrl: `${scripted.url}/sites/{site}` });
      expect(await atlassian.tenantInfo('example')).toEqual({ cloudId: CLOUD_ID });
      expect(scripted.seen[0]?.path).toBe('/sites/example/_edge/tenant_info');
      expect(scripted.seen[0]?.headers.authorization).toBeUndefined();
      await expect(atlassian.tenantInfo('evil.com/x')).rejects.toThrow(RangeError);
    } finally {
      await scripted.close();
    }
  });

  it('treats a refused connection as transient: retried for reads, not for a mint', async () => {
    const scripted = await scriptedServer([{ status: 200 }]);
    await scripted.close();
    const atlassian = client({ apiBaseUrl: scripted.url });
    const listError = await failure(atlassian.listTokens(SA.accountId));
    expect(listError).toBeInstanceOf(AtlassianTransientError);
    expect(listError.message).toMatch(/network error\) \(after 4 attempts\)$/);
    expect(sleeps).toHaveLength(3);
    sleeps = [];
    const mintError = await failure(atlassian.mintToken(SA.accountId, mintReq()));
    expect(mintError).toBeInstanceOf(AtlassianTransientError);
    expect(sleeps).toEqual([]);
  });
});

describe('Atlassian error classes', () => {
  it.each([
    [AtlassianTransientError, 'AtlassianTransientError'],
    [AtlassianAuthError, 'AtlassianAuthError'],
    [AtlassianNotFoundError, 'AtlassianNotFoundError'],
    [AtlassianRequestError, 'AtlassianRequestError'],
    [AtlassianMalformedResponseError, 'AtlassianMalformedResponseError'],
  ])('%p is named exactly after its class and keeps its cause and details', (ErrorClass, name) => {
    const cause = new Error('underlying');
    const error = new ErrorClass('message', { status: 503, key: 'k', retryAfterMs: 1500, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.constructor.name).toBe(name);
    expect(error.cause).toBe(cause);
    expect(error).toMatchObject({ status: 503, key: 'k', retryAfterMs: 1500, message: 'message' });
  });
});
