/**
 * Approver sign-in (`approverSignIn: true`) through the approvals handler, with the local identity provider serving
 * the authorization-code flow on a real port and DynamoDB on dynalite.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createOidcProvider, type OidcProvider, seededGroupsFor } from '../../../local/oidc';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { lambdaContext, member } from '../../support/events';
import {
  type ApiFunction,
  approvalAwsMocks,
  callApi,
  type NotifierFunction,
  notifyPublished,
  setHandlerEnvironment,
  stubApprovalAws,
} from '../../support/handler-env';
import { bundledPolicyFile } from '../../support/policy-json';

const { sfn, eventBridge, ses, secrets } = approvalAwsMocks();
let dynamo: LocalDynamo;
let requests: ApiFunction;
let approvals: ApiFunction;
let requestApproval: (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
let notifier: NotifierFunction;

const dataDir = mkdtempSync(join(tmpdir(), 'tw-approver-sign-in-'));
let idp: Server;
let base: string;
let provider: OidcProvider | undefined;

beforeAll(async () => {
  idp = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void provider?.handle(req, res, Buffer.concat(chunks)).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  provider = await createOidcProvider({ issuer: `${base}/local/oidc`, dataDir, groupsFor: seededGroupsFor });

  const policyFile = join(dataDir, 'policy.json');
  const policy = JSON.parse(readFileSync(bundledPolicyFile(), 'utf8')) as Record<string, unknown>;
  // Every case leaves a pending request of alice's: room for them all under the per-member limit.
  writeFileSync(policyFile, JSON.stringify({ ...policy, approverSignIn: true, maxPendingRequestsPerMember: 1000 }));

  dynamo = await startDynamo();
  await setHandlerEnvironment(dynamo, {
    // The approval base URL shares the provider's origin, as on the local runtime's API port.
    APPROVAL_BASE_URL: base,
    SIGN_IN_ISSUER: `${base}/local/oidc`,
    SIGN_IN_CLIENT_ID: 'token-warden',
    POLICY_FILE: policyFile,
  });
  ({ handler: requests } = await import('../../../functions/api/token-requests'));
  ({ handler: approvals } = await import('../../../functions/api/approvals'));
  ({ handler: requestApproval } = await import('../../../functions/workflow/request-approval'));
  notifier = (await import('../../../functions/events/notifier')).handler as unknown as NotifierFunction;
});

afterAll(async () => {
  await dynamo.close();
  await new Promise((resolve) => idp.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => stubApprovalAws({ sfn, eventBridge, ses, secrets }));

/** A request waiting for approval and approver1's emailed link. */
async function pendingLink(name: string): Promise<URL> {
  const created = await callApi(requests, {
    routeKey: 'POST /token-requests',
    body: JSON.stringify({
      serviceAccount: 'jenkins-bot',
      name,
      scopes: ['read:jira-work'],
      lifetimeDays: 30,
      justification: 'CI',
    }),
    headers: { 'content-type': 'application/json' },
    claims: member('alice@example.com'),
  });
  const requestId = JSON.parse(created.body).requestId as string;
  await requestApproval({ requestId, taskToken: `task-${name}` }, lambdaContext);
  // The emails come from the notifier, fed what the step published.
  await notifyPublished(eventBridge, notifier);
  for (const call of ses.commandCalls(SendEmailCommand)) {
    const input = call.args[0].input;
    if (input.Destination?.ToAddresses?.[0] !== 'approver1@example.com') continue;
    const line = (input.Content?.Simple?.Body?.Text?.Data ?? '').split('\n').find((l) => l.startsWith(base));
    return new URL(line ?? '');
  }
  throw new Error('no link for approver1');
}

const approvalIdOf = (url: URL) => url.pathname.split('/').pop() ?? '';

const open = (link: URL) =>
  callApi(approvals, {
    routeKey: 'GET /approvals/{approvalId}',
    path: link.pathname,
    pathParameters: { approvalId: approvalIdOf(link) },
    query: Object.fromEntries(link.searchParams),
  });

const decide = (link: URL, form: Record<string, string>) =>
  callApi(approvals, {
    routeKey: 'POST /approvals/{approvalId}',
    path: link.pathname,
    pathParameters: { approvalId: approvalIdOf(link) },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    base64: true,
  });

const callback = (query: Record<string, string>, cookies?: string[]) =>
  callApi(approvals, {
    routeKey: 'GET /approvals/sign-in/callback',
    path: '/approvals/sign-in/callback',
    query,
    ...(cookies ? { cookies } : {}),
  });

/** Signs in at the local provider as `email`; answers the callback's query. */
async function signInAt(location: string, email: string): Promise<Record<string, string>> {
  const url = new URL(location);
  const answer = await fetch(`${base}/local/oidc/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...Object.fromEntries(url.searchParams), email }).toString(),
    redirect: 'manual',
  });
  expect(answer.status).toBe(302);
  const back = new URL(answer.headers.get('location') ?? '');
  expect(`${back.origin}${back.pathname}`).toBe(`${base}/approvals/sign-in/callback`);
  return Object.fromEntries(back.searchParams);
}

/** The link's page: a redirect to the provider with the browser binding in a cookie. */
async function startSignIn(link: URL) {
  const page = await open(link);
  expect(page.status).toBe(302);
  const [setCookie] = page.cookies;
  const cookie = (setCookie ?? '').split(';')[0] ?? '';
  return { page, location: String(page.headers.location), cookie, setCookie: setCookie ?? '' };
}

async function approvalItem(link: URL) {
  const item = await dynamo.doc.send(
    new GetCommand({ TableName: dynamo.tableName, Key: { pk: `APV#${approvalIdOf(link)}`, sk: 'APV' } }),
  );
  return item.Item;
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const sigOf = (html: string) => /name="sig" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('approver sign-in', () => {
  it('sends the link to the provider first: no request details, no form, nothing stored', async () => {
    const link = await pendingLink('redirect');
    const { page, location, setCookie } = await startSignIn(link);
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${base}/local/oidc/authorize`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('login_hint')).toBe('approver1@example.com');
    expect(url.searchParams.get('redirect_uri')).toBe(`${base}/approvals/sign-in/callback`);
    expect(setCookie).toMatch(
      new RegExp(
        `^tw_sign_in_${approvalIdOf(link)}=[A-Za-z0-9_-]{43}; Path=/approvals/sign-in/callback; Max-Age=900; HttpOnly; SameSite=Lax$`,
      ),
    );
    expect(page.body).not.toContain('name="csrf"');
    expect(page.body).not.toContain('read:jira-work');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect((await approvalItem(link))?.csrfHashes ?? []).toEqual([]);
  });

  it('counts the decision of the signed-in approver', async () => {
    const link = await pendingLink('approve');
    const { location, cookie } = await startSignIn(link);
    const back = await callback(await signInAt(location, 'Approver1@example.com'), [cookie]);
    expect(back.status).toBe(200);
    expect(back.body).toContain('You are signed in as approver1@example.com.');
    expect(back.body).toContain('read:jira-work');
    // The binding is single-use: the answer clears it.
    expect(back.cookies[0]).toMatch(new RegExp(`^tw_sign_in_${approvalIdOf(link)}=; .*Max-Age=0`));
    const decided = await decide(link, { decision: 'approve', sig: sigOf(back.body), csrf: csrfOf(back.body) });
    expect(decided.status).toBe(200);
    expect(decided.body).toContain('Your approval was recorded');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    // Opened again, the link says it was used, without sign-in and without showing the request.
    const again = await open(link);
    expect(again.status).toBe(409);
    expect(again.body).not.toContain('read:jira-work');
    expect(again.headers.location).toBeUndefined();
  });

  it('refuses someone who signs in as another person and records nothing', async () => {
    const link = await pendingLink('impostor');
    const { location, cookie } = await startSignIn(link);
    const back = await callback(await signInAt(location, 'approver2@example.com'), [cookie]);
    expect(back.status).toBe(403);
    expect(back.body).toContain('You signed in as approver2@example.com, but this link was sent to another approver.');
    expect(back.body).not.toContain('name="csrf"');
    expect((await approvalItem(link))?.csrfHashes ?? []).toEqual([]);
    expect((await approvalItem(link))?.status).toBe('OPEN');
  });

  it('refuses a callback from another browser, a replayed code, a forged state and a provider error', async () => {
    const link = await pendingLink('callbacks');
    const { location, cookie } = await startSignIn(link);
    const query = await signInAt(location, 'approver1@example.com');
    // Without the cookie (a stolen code and state replayed elsewhere).
    expect((await callback(query)).status).toBe(403);
    // With another browser's cookie: the derived verifier does not match the challenge.
    const other = `${cookie.split('=')[0]}=${'x'.repeat(43)}`;
    const wrong = await callback(query, [other]);
    expect(wrong.status).toBe(403);
    expect(wrong.body).toContain('did not accept the sign-in (invalid_grant)');
    // The code was spent by that attempt: the right browser cannot reuse it either.
    expect((await callback(query, [cookie])).status).toBe(403);
    // A state with its approval id changed.
    const forged = { ...query, state: (query.state ?? '').replace(/^apv_./, 'apv_a') };
    expect((await callback(forged, [cookie])).status).toBe(403);
    expect((await callback({ code: 'x' })).status).toBe(400);
    const denied = await callback({ state: query.state ?? '', error: 'access_denied' }, [cookie]);
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('did not sign you in (access_denied)');
    expect((await approvalItem(link))?.csrfHashes ?? []).toEqual([]);
  });

  it('accepts no decision without a form issued after sign-in', async () => {
    const link = await pendingLink('no-form');
    const sig = link.searchParams.get('sig') ?? '';
    expect((await decide(link, { decision: 'approve', sig, csrf: 'made-up' })).status).toBe(403);
    expect((await decide(link, { decision: 'approve', sig })).status).toBe(403);
    expect((await approvalItem(link))?.status).toBe('OPEN');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('answers the link check first: a bad signature never reaches the provider', async () => {
    const link = await pendingLink('bad-sig');
    const sig = link.searchParams.get('sig') ?? '';
    link.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`);
    const page = await open(link);
    expect(page.status).toBe(403);
    expect(page.headers.location).toBeUndefined();
  });

  it('answers every generated callback with a page below 500 and issues no form (fuzzed state, code, error, cookies)', async () => {
    const link = await pendingLink('fuzz');
    const { location, cookie } = await startSignIn(link);
    const genuineState = new URL(location).searchParams.get('state') ?? '';
    const part = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.stringMatching(/^[A-Za-z0-9_.-]{0,120}$/),
      fc.constantFrom(genuineState, `${genuineState}x`, genuineState.toUpperCase(), 'a'.repeat(5000), '__proto__'),
    );
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          { state: part, code: part, error: fc.oneof(part, fc.constantFrom('access_denied')) },
          { requiredKeys: [] },
        ),
        fc.option(fc.array(fc.oneof(fc.constant(cookie), fc.string({ maxLength: 60 })), { maxLength: 3 }), {
          nil: undefined,
        }),
        async (query, cookies) => {
          tried++;
          const answer = await callback(query as Record<string, string>, cookies);
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.status).toBeLessThan(500);
          expect(answer.body).not.toContain('name="csrf"');
        },
      ),
      { numRuns: 150 },
    );
    expect(tried).toBe(150);
    expect((await approvalItem(link))?.csrfHashes ?? []).toEqual([]);
    expect((await approvalItem(link))?.status).toBe('OPEN');
  });
});
