import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFakeAtlassian,
  DEMO_SEED,
  type FakeAtlassian,
  type FakeCall,
  type FakeSeed,
} from '../../local/fake-atlassian';
import { componentErrors, responseErrors, sharedResponseErrors } from './support/atlassian-openapi';
import { crossSiteTextPost, loopbackHosts, rawRequest, rebindingHost } from './support/browser-requests';

const ORG_KEY = 'test-org-key-0123456789';
const START = Date.parse('2030-01-01T00:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const SA = DEMO_SEED.accounts.find((a) => a.kind === 'service')!;
const ALICE = DEMO_SEED.accounts.find((a) => a.email === 'alice@example.com')!;
const CLOUD_ID = DEMO_SEED.sites[0]!.cloudId;
const TOKENS_PATH = `/users/${SA.accountId}/manage/api-tokens`;

let nowMs = START;
const calls: FakeCall[] = [];
let fake: FakeAtlassian;
let server: Server;
let base: string;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string | null; headers?: Record<string, string>; url?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? `Bearer ${ORG_KEY}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const init: RequestInit = { method, headers };
  if (opts.body !== undefined) {
    init.body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
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

async function mint(
  overrides: Record<string, unknown> = {},
  accountId = SA.accountId,
): Promise<{ id: string; token: string; label: string; expiry: string }> {
  const res = await call('POST', `/users/${accountId}/manage/api-tokens`, {
    body: { label: 'token-warden:tok_a:g1', scopes: ['read:jira-user'], expiry: iso(nowMs + 30 * DAY), ...overrides },
  });
  expect(res.status).toBe(200);
  return res.json as { id: string; token: string; label: string; expiry: string };
}

const myself = (token: string, email = SA.email, path = `/ex/jira/${CLOUD_ID}/rest/api/3/myself`) =>
  call('GET', path, { auth: basic(email, token) });

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
  calls.length = 0;
  fake.reset();
});

describe('fake Atlassian: admin authentication', () => {
  // Every row has three entries: jest takes a missing one for a `done` callback.
  const adminRoutes: Array<[string, string, unknown]> = [
    ['GET', TOKENS_PATH, undefined],
    ['POST', TOKENS_PATH, { label: 'x', scopes: ['read:jira-user'], expiry: iso(START + DAY) }],
    ['DELETE', `${TOKENS_PATH}/some-id`, undefined],
    ['POST', '/admin/v2/orgs/demo-org/directories/-/users/search', { emails: ['alice@example.com'] }],
  ];

  it.each(adminRoutes)('refuses %s %s without the org key and with a wrong one', async (method, path, body) => {
    for (const auth of [null, 'Bearer wrong-key', `Basic ${Buffer.from(`x:${ORG_KEY}`).toString('base64')}`]) {
      const res = await call(method, path, { auth, body });
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({ key: 'unauthorized' });
    }
    expect(fake.tokens()).toHaveLength(0);
  });

  it('refuses the API Access inventory without the org key, in its error shape', async () => {
    for (const auth of [null, 'Bearer wrong-key']) {
      const res = await call('GET', '/admin/api-access/v1/orgs/demo-org/api-tokens', { auth });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ errors: [expect.objectContaining({ status: '401', code: 'GENERIC_ERROR' })] });
    }
  });

  it('answers the documented Unauthorized body on the token routes', async () => {
    const res = await call('GET', TOKENS_PATH, { auth: 'Bearer nope' });
    expect(responseErrors('user-management', '/users/{account_id}/manage/api-tokens', 'get', 401, res.json)).toEqual(
      [],
    );
  });
});

describe('fake Atlassian: minting', () => {
  it('mints a token with an Atlassian-like, high-entropy, unique value', async () => {
    const expiry = iso(START + 30 * DAY);
    const a = await mint({ label: 'first', expiry });
    const b = await mint({ label: 'second' });
    expect(a).toEqual({ id: expect.any(String), token: expect.any(String), label: 'first', expiry });
    expect(a.token).toMatch(/^ATATT3x[A-Za-z0-9_-]{150,}=[0-9A-F]{8}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.id).not.toBe(b.id);
  });

  it('refuses `expiresAt` in place of `expiry` with INVALID_EXPIRY', async () => {
    const res = await call('POST', TOKENS_PATH, {
      body: { label: 'x', scopes: ['read:jira-user'], expiresAt: iso(START + DAY) },
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      key: 'fieldConstraintsViolated',
      context: { fieldViolations: [{ field: 'expiry', violations: [{ key: 'INVALID_EXPIRY' }] }] },
    });
    expect(sharedResponseErrors('user-management', 'BadRequest.Body', res.json)).toEqual([]);
    expect(fake.tokens()).toHaveLength(0);
  });

  it.each([
    ['in the past', iso(START - 1000)],
    ['now', iso(START)],
    ['more than 365 days ahead', iso(START + 365 * DAY + 1000)],
    ['not a timestamp', 'next year'],
    ['a bare date', '2030-02-01'],
  ])('refuses an expiry %s', async (_what, expiry) => {
    const res = await call('POST', TOKENS_PATH, { body: { label: 'x', scopes: ['read:jira-user'], expiry } });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toContain('INVALID_EXPIRY');
  });

  it('accepts an expiry exactly 365 days ahead on the simulated clock', async () => {
    nowMs = START + 100 * DAY;
    const minted = await mint({ expiry: iso(nowMs + 365 * DAY) });
    expect(minted.expiry).toBe(iso(nowMs + 365 * DAY));
  });

  it('requires 1 to 50 scopes', async () => {
    const scopes = Array.from({ length: 51 }, (_, i) => `read:thing-${i}:jira`);
    for (const bad of [[], scopes, 'read:jira-user', [42], ['read:jira-user', 'read:jira-user']]) {
      const res = await call('POST', TOKENS_PATH, { body: { label: 'x', scopes: bad, expiry: iso(START + DAY) } });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ key: 'fieldConstraintsViolated' });
      expect(componentErrors('user-management', 'Response.BadRequest.FieldConstraintsViolated', res.json)).toEqual([]);
    }
    await mint({ scopes: scopes.slice(0, 50) });
    expect(fake.tokens()).toHaveLength(1);
  });

  it('requires a label and a JSON body', async () => {
    const noLabel = await call('POST', TOKENS_PATH, { body: { scopes: ['read:jira-user'], expiry: iso(START + DAY) } });
    expect(noLabel.status).toBe(400);
    expect(noLabel.json).toMatchObject({ context: { fieldViolations: [{ field: 'label' }] } });
    const notJson = await call('POST', TOKENS_PATH, { body: '{"label": ' });
    expect(notJson.status).toBe(400);
    expect(notJson.json).toEqual({ key: 'bodyParseFailure' });
    expect(sharedResponseErrors('user-management', 'BadRequest.Body', notJson.json)).toEqual([]);
  });

  it('answers 404 notFound for an unknown account and 403 for a human account', async () => {
    const body = { label: 'x', scopes: ['read:jira-user'], expiry: iso(START + DAY) };
    const unknown = await call('POST', '/users/712020:nobody/manage/api-tokens', { body });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ key: 'notFound' });
    const human = await call('POST', `/users/${ALICE.accountId}/manage/api-tokens`, { body });
    expect(human.status).toBe(403);
    expect(human.json).toMatchObject({ key: 'forbidden' });
    expect(fake.tokens()).toHaveLength(0);
  });
});

describe('fake Atlassian: listing and revoking', () => {
  it('lists the account tokens in the documented shape, without values or scopes', async () => {
    const minted = await mint({ scopes: ['read:jira-user', 'write:jira-work'] });
    const res = await call('GET', TOKENS_PATH);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ id: minted.id, label: minted.label, createdAt: iso(START), expiry: minted.expiry }]);
    expect(res.text).not.toContain(minted.token);
    expect(res.text).not.toContain('scopes');
    expect(responseErrors('user-management', '/users/{account_id}/manage/api-tokens', 'get', 200, res.json)).toEqual(
      [],
    );
  });

  it('keeps listing an expired token with its expiry and drops a revoked one', async () => {
    const expiring = await mint({ label: 'expiring', expiry: iso(START + DAY) });
    const revoked = await mint({ label: 'revoked' });
    expect((await call('DELETE', `${TOKENS_PATH}/${revoked.id}`)).status).toBe(204);
    nowMs = START + 2 * DAY;
    const res = await call('GET', TOKENS_PATH);
    expect(res.json).toEqual([expect.objectContaining({ id: expiring.id, expiry: expiring.expiry })]);
  });

  it('answers 404 accountNotFound for an unknown account', async () => {
    const res = await call('GET', '/users/712020:nobody/manage/api-tokens');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ key: 'accountNotFound' });
    expect(responseErrors('user-management', '/users/{account_id}/manage/api-tokens', 'get', 404, res.json)).toEqual(
      [],
    );
  });

  it('revokes with 204, then answers the documented 404 notFound', async () => {
    const minted = await mint();
    const first = await call('DELETE', `${TOKENS_PATH}/${minted.id}`);
    expect(first.status).toBe(204);
    expect(first.text).toBe('');
    const again = await call('DELETE', `${TOKENS_PATH}/${minted.id}`);
    expect(again.status).toBe(404);
    expect(again.json).toEqual({ key: 'notFound' });
    expect(
      responseErrors('user-management', '/users/{account_id}/manage/api-tokens/{tokenId}', 'delete', 404, again.json),
    ).toEqual([]);
    const unknown = await call('DELETE', `${TOKENS_PATH}/no-such-token`);
    expect(unknown.status).toBe(404);
  });

  it("does not revoke a token through another account's path", async () => {
    const minted = await mint();
    const res = await call('DELETE', `/users/${ALICE.accountId}/manage/api-tokens/${minted.id}`);
    expect(res.status).toBe(404);
    expect(fake.tokens()[0]?.status).toBe('ACTIVE');
  });

  it('offers no bulk revoke', async () => {
    await mint();
    const res = await call('DELETE', '/admin/api-access/v1/orgs/demo-org/api-tokens');
    expect(res.status).toBe(405);
    expect(res.json).toMatchObject({ key: 'methodNotAllowed' });
    expect(fake.tokens()[0]?.status).toBe('ACTIVE');
  });
});

describe('fake Atlassian: /myself', () => {
  it('answers the account on both forms and records lastAccess', async () => {
    const minted = await mint();
    nowMs = START + 3600_000;
    for (const path of [`/ex/jira/${CLOUD_ID}/rest/api/3/myself`, '/rest/api/3/myself']) {
      const res = await myself(minted.token, SA.email.toUpperCase(), path);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({
        accountId: SA.accountId,
        accountType: 'app',
        appType: 'service',
        active: true,
        displayName: SA.displayName,
        emailAddress: SA.email,
      });
    }
    const listed = await call('GET', TOKENS_PATH);
    expect(listed.json).toEqual([expect.objectContaining({ lastAccess: iso(START + 3600_000) })]);
  });

  it('gives one flat 401 for a wrong email, a wrong token, a revoked token or no credentials', async () => {
    const minted = await mint();
    const other = await mint({ label: 'other' });
    await call('DELETE', `${TOKENS_PATH}/${other.id}`);
    const answers = [
      await myself(minted.token, 'alice@example.com'),
      // Another last character (a fixed '0' would be no change for a token that ends in '0').
      await myself(`${minted.token.slice(0, -1)}${minted.token.endsWith('0') ? '1' : '0'}`),
      await myself(other.token),
      await call('GET', `/ex/jira/${CLOUD_ID}/rest/api/3/myself`, { auth: null }),
      await call('GET', `/ex/jira/${CLOUD_ID}/rest/api/3/myself`, { auth: 'Basic !!!' }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.text).toBe(answers[0]?.text);
    }
  });

  it('stops verifying a token once the simulated clock passes its expiry', async () => {
    const minted = await mint({ expiry: iso(START + DAY) });
    nowMs = START + DAY - 1;
    expect((await myself(minted.token)).status).toBe(200);
    nowMs = START + DAY;
    expect((await myself(minted.token)).status).toBe(401);
    expect(fake.tokens()[0]?.status).toBe('EXPIRED');
  });

  it('needs read:jira-user or the whole granular set', async () => {
    const granular = ['read:application-role:jira', 'read:group:jira', 'read:user:jira', 'read:avatar:jira'];
    const workOnly = await mint({ scopes: ['read:jira-work', 'write:jira-work'] });
    const partial = await mint({ scopes: granular.slice(0, 3) });
    const full = await mint({ scopes: [...granular, 'read:jira-work'] });
    const classic = await mint({ scopes: ['read:jira-user'] });
    expect((await myself(workOnly.token)).status).toBe(401);
    expect((await myself(partial.token)).status).toBe(401);
    expect((await myself(full.token)).status).toBe(200);
    expect((await myself(classic.token)).status).toBe(200);
  });

  it('answers 404 for an unknown cloudId', async () => {
    const minted = await mint();
    const res = await myself(minted.token, SA.email, '/ex/jira/00000000-0000-4000-8000-00000000ffff/rest/api/3/myself');
    expect(res.status).toBe(404);
  });
});

describe('fake Atlassian: directory user search', () => {
  const SEARCH = '/v2/orgs/{orgId}/directories/{directoryId}/users/search';

  it('finds the org people by exact email, case-insensitively, in the documented shape', async () => {
    for (const dir of ['-', DEMO_SEED.directoryId]) {
      const res = await call('POST', `/admin/v2/orgs/demo-org/directories/${dir}/users/search`, {
        body: { emails: ['ALICE@example.com', 'approver2@example.com', 'nobody@example.com'] },
      });
      expect(res.status).toBe(200);
      expect(responseErrors('organization', SEARCH, 'post', 200, res.json)).toEqual([]);
      const data = (res.json as { data: Array<{ email: string; accountId: string }> }).data;
      expect(data.map((u) => u.email).sort()).toEqual(['alice@example.com', 'approver2@example.com']);
      expect(data.find((u) => u.email === 'alice@example.com')?.accountId).toBe(ALICE.accountId);
    }
  });

  it('does not list service accounts as directory users', async () => {
    const res = await call('POST', '/admin/v2/orgs/demo-org/directories/-/users/search', {
      body: { emails: [SA.email] },
    });
    expect((res.json as { data: unknown[] }).data).toEqual([]);
  });

  it('pages with limit and cursor, and matches a search term', async () => {
    const first = await call('POST', '/admin/v2/orgs/demo-org/directories/-/users/search', { body: { limit: 3 } });
    const page1 = first.json as { data: Array<{ email: string }>; links: { next?: string } };
    expect(page1.data).toHaveLength(3);
    const second = await call('POST', '/admin/v2/orgs/demo-org/directories/-/users/search', {
      body: { limit: 3, cursor: page1.links.next },
    });
    const page2 = second.json as { data: Array<{ email: string }>; links: { next?: string } };
    // The seed's six members: three on each page.
    expect(page2.data).toHaveLength(3);
    expect(page2.links.next).toBeUndefined();
    expect(responseErrors('organization', SEARCH, 'post', 200, second.json)).toEqual([]);

    const term = await call('POST', '/admin/v2/orgs/demo-org/directories/-/users/search', {
      body: { searchTerm: 'approver' },
    });
    expect((term.json as { data: Array<{ email: string }> }).data.map((u) => u.email).sort()).toEqual([
      'approver1@example.com',
      'approver2@example.com',
    ]);
  });

  it('refuses emails with searchTerm, bad emails, and unknown org or directory, in the documented error shape', async () => {
    const cases: Array<[string, unknown, number]> = [
      ['/admin/v2/orgs/demo-org/directories/-/users/search', { emails: ['a@b.c'], searchTerm: 'a' }, 400],
      ['/admin/v2/orgs/demo-org/directories/-/users/search', { emails: [] }, 400],
      ['/admin/v2/orgs/demo-org/directories/-/users/search', { emails: ['a@b.c', 'a@b.c'] }, 400],
      ['/admin/v2/orgs/other/directories/-/users/search', { emails: ['a@b.c'] }, 404],
      ['/admin/v2/orgs/demo-org/directories/other/users/search', { emails: ['a@b.c'] }, 404],
    ];
    for (const [path, body, status] of cases) {
      const res = await call('POST', path, { body });
      expect(res.status).toBe(status);
      expect(responseErrors('organization', SEARCH, 'post', status, res.json)).toEqual([]);
      expect(res.json).toMatchObject({ key: expect.any(String), errors: [{ status: String(status) }] });
    }
  });
});

describe('fake Atlassian: tenant info', () => {
  it('answers the cloudId of the site, chosen by a <site>.localhost Host when it names one', async () => {
    const seed: FakeSeed = {
      ...DEMO_SEED,
      sites: [...DEMO_SEED.sites, { site: 'second', cloudId: '00000000-0000-4000-8000-0000000000c2' }],
    };
    const twoSites = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed });
    const running = await twoSites.listen(0);
    try {
      const url = `http://127.0.0.1:${(running.address() as AddressInfo).port}`;
      const plain = await call('GET', '/_edge/tenant_info', { auth: null, url });
      expect(plain.json).toEqual({ cloudId: CLOUD_ID });
      // fetch does not let a caller set Host, so this one goes through node:http.
      const byHost = await new Promise<string>((resolve, reject) => {
        const host = `second.localhost:${new URL(url).port}`;
        const req = request(`${url}/_edge/tenant_info`, { headers: { host } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(byHost)).toEqual({ cloudId: '00000000-0000-4000-8000-0000000000c2' });
    } finally {
      running.closeAllConnections();
      await new Promise((resolve) => running.close(resolve));
    }
  });
});

describe('fake Atlassian: test controls', () => {
  it('answers injected errors for the next `count` requests of a route, then serves normally', async () => {
    const queued = await call('POST', '/__control/faults', { body: { route: 'list', status: 503, count: 2 } });
    expect(queued.status).toBe(200);
    expect((await call('GET', TOKENS_PATH)).status).toBe(503);
    expect((await call('GET', '/_edge/tenant_info')).status).toBe(200);
    const second = await call('GET', TOKENS_PATH);
    expect(second.status).toBe(503);
    expect(second.json).toMatchObject({ key: 'serviceUnavailable' });
    expect((await call('GET', TOKENS_PATH)).status).toBe(200);
  });

  it('sends Retry-After and X-RateLimit headers with an injected 429, on any route with `*`', async () => {
    await call('POST', '/__control/faults', { body: { route: '*', status: 429, count: 1, retryAfterSeconds: 7 } });
    const res = await call('GET', '/_edge/tenant_info');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-ratelimit-limit')).toEqual(expect.any(String));
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(res.headers.get('x-ratelimit-reset')).toBe(iso(START + 7000));
  });

  it('refuses a mint under an injected 4xx, but processes it under an injected 5xx (the lost response)', async () => {
    const body = { label: 'lost', scopes: ['read:jira-user'], expiry: iso(START + DAY) };
    await call('POST', '/__control/faults', { body: { route: 'mint', status: 429, count: 1 } });
    expect((await call('POST', TOKENS_PATH, { body })).status).toBe(429);
    expect(fake.tokens()).toHaveLength(0);
    await call('POST', '/__control/faults', { body: { route: 'mint', status: 500, count: 1 } });
    const lost = await call('POST', TOKENS_PATH, { body });
    expect(lost.status).toBe(500);
    expect(lost.text).not.toContain('ATATT');
    expect(fake.tokens()).toEqual([expect.objectContaining({ label: 'lost', status: 'ACTIVE' })]);
  });

  it('delays a request by delayMs and then serves it normally', async () => {
    await call('POST', '/__control/faults', { body: { route: 'tenant_info', count: 1, delayMs: 150 } });
    const started = Date.now();
    const res = await call('GET', '/_edge/tenant_info');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
  });

  it('rate-limits every route with a token bucket, and turns off with perSecond 0', async () => {
    expect((await call('POST', '/__control/rate-limit', { body: { perSecond: 2 } })).status).toBe(200);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call('GET', '/_edge/tenant_info'));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers[0]?.headers.get('x-ratelimit-limit')).toBe('2');
    expect(answers[2]?.headers.get('retry-after')).toBe('1');
    expect(answers[2]?.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(answers[2]?.json).toMatchObject({ key: 'tooManyRequests' });
    await call('POST', '/__control/rate-limit', { body: { perSecond: 0 } });
    for (let i = 0; i < 5; i++) expect((await call('GET', '/_edge/tenant_info')).status).toBe(200);
  });

  it('refuses bad control bodies with 400 and a message', async () => {
    const bad: Array<[string, unknown]> = [
      ['/__control/faults', { route: 'nope', status: 500, count: 1 }],
      ['/__control/faults', { route: 'list', status: 500 }],
      ['/__control/faults', { route: 'list', status: 200, count: 1 }],
      ['/__control/faults', { route: 'list', count: 1 }],
      ['/__control/faults', { route: 'list', status: 500, count: 1, extra: true }],
      ['/__control/faults', '{not json'],
      ['/__control/rate-limit', { perSecond: -1 }],
      ['/__control/rate-limit', { perSecond: 'fast' }],
    ];
    for (const [path, body] of bad) {
      const res = await call('POST', path, { body });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ key: 'badRequest', message: expect.any(String) });
    }
  });

  it('lists every token ever minted with its status, never its value', async () => {
    const active = await mint({ label: 'active' });
    const revoked = await mint({ label: 'revoked' });
    const expired = await mint({ label: 'expired', expiry: iso(START + DAY) });
    await call('DELETE', `${TOKENS_PATH}/${revoked.id}`);
    nowMs = START + 2 * DAY;
    const res = await call('GET', '/__control/tokens', { auth: null });
    expect(res.status).toBe(200);
    expect(res.json).toEqual([
      // The seed's personal token of alice comes first: it was there before any mint.
      expect.objectContaining({ accountId: ALICE.accountId, kind: 'personal', status: 'ACTIVE' }),
      expect.objectContaining({ id: active.id, label: 'active', accountId: SA.accountId, kind: 'service' }),
      expect.objectContaining({ id: revoked.id, status: 'REVOKED', revokedAt: iso(START) }),
      expect.objectContaining({ id: expired.id, status: 'EXPIRED', expiry: iso(START + DAY) }),
    ]);
    expect((res.json as Array<{ status: string }>)[1]?.status).toBe('ACTIVE');
    for (const t of [active, revoked, expired]) expect(res.text).not.toContain(t.token);
  });

  it('resets tokens, faults and the rate limit', async () => {
    await mint();
    await call('POST', '/__control/faults', { body: { route: 'list', status: 500, count: 5 } });
    await call('POST', '/__control/rate-limit', { body: { perSecond: 1 } });
    expect((await call('POST', '/__control/reset', { body: {} })).status).toBe(204);
    expect(fake.tokens()).toEqual([]);
    for (let i = 0; i < 3; i++) expect((await call('GET', TOKENS_PATH)).status).toBe(200);
  });

  it('answers unknown routes in the Atlassian error shape and reports every call', async () => {
    const res = await call('GET', '/no/such/route');
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ key: 'notFound' });
    await call('GET', TOKENS_PATH);
    expect(calls).toEqual([
      expect.objectContaining({ route: 'unmatched', method: 'GET', path: '/no/such/route', status: 404 }),
      expect.objectContaining({ route: 'list', status: 200, durationMs: expect.any(Number) }),
    ]);
  });
});

describe('fake Atlassian: requests a browser page can make (DNS rebinding, cross-site POSTs)', () => {
  const pending = async () => ((await call('GET', '/__control/faults')).json as { faults: unknown[] }).faults;

  afterEach(() => fake.reset());

  it('refuses cross-site text/plain and form POSTs to the control routes with 415, changing nothing', async () => {
    // Prepare
    const kept = await mint();

    // Act
    const answers = [
      await crossSiteTextPost(`${base}/__control/faults`, '{"route":"*","status":500,"count":100}'),
      await crossSiteTextPost(`${base}/__control/rate-limit`, '{"perSecond":0.01}'),
      await crossSiteTextPost(`${base}/__control/reset`, ''),
      await rawRequest(`${base}/__control/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'route=*&status=500&count=100',
      }),
      await rawRequest(`${base}/__control/reset`, { method: 'POST' }),
    ];

    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(415);
      expect(JSON.parse(answer.text)).toMatchObject({ key: 'unsupportedMediaType' });
    }
    expect(await pending()).toEqual([]);
    expect(fake.tokens().map((t) => t.id)).toEqual([kept.id]);
    for (let i = 0; i < 3; i++) expect((await call('GET', TOKENS_PATH)).status).toBe(200);
  });

  it('refuses a JSON control POST that names another origin with 403, queueing no fault', async () => {
    // Act
    const answer = await rawRequest(`${base}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://attacker.example' },
      body: '{"route":"*","status":500,"count":100}',
    });

    // Assess
    expect(answer.status).toBe(403);
    expect(await pending()).toEqual([]);
  });

  it('refuses a foreign Host on every route, control and Atlassian alike', async () => {
    // Prepare
    const minted = await mint();

    // Act
    const tokens = await rawRequest(`${base}/__control/tokens`, { headers: { host: rebindingHost(base) } });
    const verify = await rawRequest(`${base}/ex/jira/${CLOUD_ID}/rest/api/3/myself`, {
      headers: { host: rebindingHost(base), authorization: basic(SA.email, minted.token) },
    });

    // Assess
    for (const answer of [tokens, verify]) {
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.text)).toMatchObject({ key: 'forbidden', message: expect.stringContaining('Host') });
    }
    expect(tokens.text).not.toContain(minted.id);
  });

  it('serves the loopback Host forms and JSON control POSTs from local clients', async () => {
    // Act
    const statuses = [];
    for (const host of loopbackHosts(base)) {
      statuses.push((await rawRequest(`${base}/__control/tokens`, { headers: { host } })).status);
    }
    const queued = await rawRequest(`${base}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', origin: base },
      body: '{"route":"list","status":503,"count":1}',
    });

    // Assess
    expect(statuses).toEqual(loopbackHosts(base).map(() => 200));
    expect(queued.status).toBe(200);
    expect(await pending()).toHaveLength(1);
  });
});

describe('fake Atlassian: persistence', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fake-atlassian-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps tokens across re-creation, storing no token value', async () => {
    const stateFile = join(dir, 'nested', 'atlassian.json');
    const first = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED, stateFile });
    const running = await first.listen(0);
    const url = `http://127.0.0.1:${(running.address() as AddressInfo).port}`;
    const minted = (
      await call('POST', TOKENS_PATH, {
        url,
        body: { label: 'kept', scopes: ['read:jira-user'], expiry: iso(START + DAY) },
      })
    ).json as { id: string; token: string };
    running.closeAllConnections();
    await new Promise((resolve) => running.close(resolve));

    expect(existsSync(stateFile)).toBe(true);
    expect(readFileSync(stateFile, 'utf8')).not.toContain(minted.token);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['atlassian.json']);

    const second = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED, stateFile });
    expect(second.tokens()).toEqual([expect.objectContaining({ id: minted.id, label: 'kept', status: 'ACTIVE' })]);
    const again = await second.listen(0);
    try {
      const url2 = `http://127.0.0.1:${(again.address() as AddressInfo).port}`;
      const verified = await call('GET', `/ex/jira/${CLOUD_ID}/rest/api/3/myself`, {
        url: url2,
        auth: basic(SA.email, minted.token),
      });
      expect(verified.status).toBe(200);
      expect((await call('DELETE', `${TOKENS_PATH}/${minted.id}`, { url: url2 })).status).toBe(204);
    } finally {
      again.closeAllConnections();
      await new Promise((resolve) => again.close(resolve));
    }
    const third = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED, stateFile });
    expect(third.tokens()[0]?.status).toBe('REVOKED');
  });

  it('refuses to start from a corrupt state file rather than losing it', () => {
    const stateFile = join(dir, 'atlassian.json');
    writeFileSync(stateFile, '{"version": 1, "tokens": [');
    expect(() =>
      createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED, stateFile }),
    ).toThrow(/atlassian\.json is not valid JSON/);
  });

  it('reports a port in use clearly', async () => {
    const port = (server.address() as AddressInfo).port;
    const other = createFakeAtlassian({ now: () => new Date(nowMs), orgApiKey: ORG_KEY, seed: DEMO_SEED });
    await expect(other.listen(port)).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
  });
});

describe('OpenAPI validation used above', () => {
  it('rejects bodies the specs forbid, so the checks above can fail', () => {
    const list = '/users/{account_id}/manage/api-tokens';
    expect(responseErrors('user-management', list, 'get', 200, [{ id: 'x', label: 'no createdAt' }])).not.toEqual([]);
    expect(responseErrors('user-management', `${list}/{tokenId}`, 'delete', 404, { key: 'somethingElse' })).not.toEqual(
      [],
    );
    expect(sharedResponseErrors('user-management', 'BadRequest.Body', { key: 'fieldConstraintsViolated' })).not.toEqual(
      [],
    );
    expect(
      responseErrors('organization', '/v2/orgs/{orgId}/directories/{directoryId}/users/search', 'post', 200, {
        data: [{ accountId: 'a', accountType: 'app' }],
      }),
    ).not.toEqual([]);
    expect(
      responseErrors('api-access', '/orgs/{orgId}/api-tokens', 'get', 200, {
        data: [{ id: 'x', label: 'y', status: 'EXPIRED', createdAt: 'yesterday' }],
        links: {},
      }),
    ).not.toEqual([]);
  });
});
