/**
 * The web console's routes (functions/api/console.ts) in-process, against dynalite and mocked AWS clients: who the
 * caller is (`GET /me`), the catalog members request from, the signed-in approver's pending approvals, the request
 * behind one of them, and the decision made over the API with every rule of the emailed link (one decision per
 * approval, never the requester, only a current approver, quorum, one reject ends it, expiry), audited with
 * `via: "console"`.
 */
import { readFileSync } from 'node:fs';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import { loadPolicy } from '../../../functions/composition/policy-loader';
import { cryptoRandom } from '../../../functions/composition/random';
import { approvalIdFor } from '../../../functions/domain/naming';
import type { Policy } from '../../../functions/domain/policy';
import { isoSeconds } from '../../../functions/domain/ports';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { admin, type EventSpec, lambdaContext, member } from '../../support/events';
import {
  type ApiFunction,
  approvalAwsMocks,
  callApi,
  type NotifierFunction,
  notifyPublished,
  seedAccessException,
  setHandlerEnvironment,
  stubApprovalAws,
} from '../../support/handler-env';
import { policyFileWith } from '../../support/policy-json';

const mocks = approvalAwsMocks();
const { sfn, ses } = mocks;

const LINK_KEY = Buffer.from('k'.repeat(64), 'utf8');
const ALICE = 'alice@example.com';
const APPROVER1 = 'approver1@example.com';
const APPROVER2 = 'approver2@example.com';
const APPROVER3 = 'approver3@example.com';
const SECURITY = 'security@example.com';
/** What the request representation holds (product.md); bookkeeping such as the approvers never shows. */
const REQUEST_KEYS = [
  'requestId',
  'status',
  'serviceAccount',
  'name',
  'scopes',
  'lifetimeDays',
  'justification',
  'consumers',
  'requester',
  'createdAt',
  'approvalsRequired',
  'approvals',
  'reason',
];

let dynamo: LocalDynamo;
let store: RecordStore;
let policy: Policy;
let consoleApi: ApiFunction;
let requests: ApiFunction;
let approvalPage: ApiFunction;
let requestApproval: (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
let notifier: NotifierFunction;

async function call(spec: EventSpec) {
  const res = await callApi(consoleApi, spec);
  return { status: res.status, headers: res.headers, body: JSON.parse(res.body) };
}

const catalog = (claims: Record<string, unknown> | undefined, query?: Record<string, string>) =>
  call({ routeKey: 'GET /catalog', ...(claims ? { claims } : {}), ...(query ? { query } : {}) });
const pending = (who: string, query: Record<string, string> = { status: 'pending' }) =>
  call({ routeKey: 'GET /approvals', claims: member(who), query });
const subject = (claims: Record<string, unknown>, approvalId: string) =>
  call({ routeKey: 'GET /approvals/{approvalId}/request', claims, pathParameters: { approvalId } });
const decide = (claims: Record<string, unknown>, approvalId: string, body: unknown, contentType = 'application/json') =>
  call({
    routeKey: 'POST /approvals/{approvalId}/decision',
    claims,
    pathParameters: { approvalId },
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A request of alice's that reached `Request approval` (its approvals created and emailed). */
async function pendingRequest(serviceAccount = 'jenkins-bot') {
  const name = `console-${cryptoRandom.id().slice(0, 10)}`;
  const created = await callApi(requests, {
    routeKey: 'POST /token-requests',
    body: JSON.stringify({
      serviceAccount,
      name,
      scopes: ['read:jira-work'],
      lifetimeDays: 30,
      justification: 'Nightly build reads the board',
    }),
    headers: { 'content-type': 'application/json' },
    claims: member(ALICE),
  });
  if (created.status !== 202) throw new Error(`creating a request answered ${created.status}: ${created.body}`);
  const requestId = JSON.parse(created.body).requestId as string;
  const taskToken = `task-token-${name}`;
  await requestApproval({ requestId, taskToken }, lambdaContext);
  // The emails come from the notifier, fed what the step published.
  await notifyPublished(mocks.eventBridge, notifier);
  return { requestId, taskToken, approvalOf: (approver: string) => approvalIdFor(requestId, approver) };
}

/** An approval written straight into the store, as no policy of now would create it (the link's refusals). */
async function seedApproval(requestId: string, approver: string, expiresAt: Date) {
  const approvalId = approvalIdFor(requestId, approver);
  const created = await store.createApproval({
    approvalId,
    requestId,
    approver,
    expiresAt: isoSeconds(expiresAt),
    status: 'OPEN',
    csrfHashes: [],
    createdAt: isoSeconds(new Date()),
  });
  if (!created) throw new Error(`seed ${approvalId} exists`);
  return approvalId;
}

/** The link emailed for `approvalId` (from the mocked SES calls of this test). */
function emailedLink(approvalId: string): URL {
  for (const c of ses.commandCalls(SendEmailCommand)) {
    const text = c.args[0].input.Content?.Simple?.Body?.Text?.Data ?? '';
    const line = text.split('\n').find((l) => l.includes(`/approvals/${approvalId}?sig=`));
    if (line) return new URL(line.trim());
  }
  throw new Error(`no link was emailed for ${approvalId}`);
}

const openLink = (approvalId: string) =>
  callApi(approvalPage, {
    routeKey: 'GET /approvals/{approvalId}',
    pathParameters: { approvalId },
    query: Object.fromEntries(emailedLink(approvalId).searchParams),
  });

/** Opens the emailed link's page and posts its form, as the approver's browser would. */
async function decideByLink(approvalId: string, decision: 'approve' | 'reject') {
  const csrf = /name="csrf" value="([^"]+)"/.exec((await openLink(approvalId)).body)?.[1] ?? '';
  const sig = emailedLink(approvalId).searchParams.get('sig') ?? '';
  return callApi(approvalPage, {
    routeKey: 'POST /approvals/{approvalId}',
    pathParameters: { approvalId },
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision, sig, csrf }).toString(),
    base64: true,
  });
}

const resumed = () => sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input);
const idsOf = (body: { items: { approvalId: string }[] }) => body.items.map((i) => i.approvalId);

async function auditFor(requestId: string) {
  const out = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName, ConsistentRead: true }));
  return (out.Items ?? []).filter((i) => i.requestId === requestId);
}

beforeAll(async () => {
  dynamo = await startDynamo();
  const shipped = JSON.parse(readFileSync(policyFileWith({}), 'utf8')) as Policy;
  const jenkins = shipped.serviceAccounts[0]!;
  // A second account needs two approvals (the quorum), from three approvers.
  const quorum = {
    ...jenkins,
    alias: 'release-bot',
    atlassianId: '712020:00000000-0000-4000-8000-000000000002',
    email: 'release-bot@serviceaccount.atlassian.com',
    approvers: [APPROVER1, APPROVER2, APPROVER3],
    approvalsRequired: 2,
  };
  await setHandlerEnvironment(dynamo, {
    POLICY_FILE: policyFileWith({ maxPendingRequestsPerMember: 1000, serviceAccounts: [jenkins, quorum] }),
  });
  stubApprovalAws(mocks);
  policy = loadPolicy();
  store = createRecordStore(dynamo.doc, dynamo.tableName);
  ({ handler: consoleApi } = await import('../../../functions/api/console'));
  ({ handler: requests } = await import('../../../functions/api/token-requests'));
  ({ handler: approvalPage } = await import('../../../functions/api/approvals'));
  ({ handler: requestApproval } = await import('../../../functions/workflow/request-approval'));
  notifier = (await import('../../../functions/events/notifier')).handler as unknown as NotifierFunction;
}, 60_000);

afterAll(async () => {
  await dynamo.close();
});

beforeEach(() => stubApprovalAws(mocks));

const me = (claims: Record<string, unknown> | undefined, query?: Record<string, string>) =>
  call({ routeKey: 'GET /me', ...(claims ? { claims } : {}), ...(query ? { query } : {}) });

describe('GET /me', () => {
  it("answers the caller's email and roles: admin from the group, approver from the policy's approver lists", async () => {
    // Act
    const answers = await Promise.all([
      me(member(ALICE)),
      me(member(APPROVER3)),
      me(member(SECURITY)),
      me(admin()),
      me(member('Approver1@Example.COM')),
    ]);
    // Assess
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[0]?.headers['cache-control']).toBe('no-store');
    expect(answers.map((a) => a.body)).toEqual([
      { email: ALICE, admin: false, approver: false },
      // Approves for release-bot only: one account is enough.
      { email: APPROVER3, admin: false, approver: true },
      // Approves access exceptions only.
      { email: SECURITY, admin: false, approver: true },
      { email: 'admin@example.com', admin: true, approver: false },
      { email: APPROVER1, admin: false, approver: true },
    ]);
  });

  it('refuses a query parameter by name, and a caller without an email claim with 401', async () => {
    // Act
    const query = await me(member(ALICE), { email: APPROVER1 });
    const anonymous = await call({ routeKey: 'GET /me', authorizerClaims: { sub: 'x' } });
    // Assess
    expect(query).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', field: 'email', message: "unknown query parameter 'email'" } },
    });
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
  });
});

describe('GET /catalog', () => {
  it('lists every service account with what a member may ask for, and nothing that identifies it elsewhere', async () => {
    // Act
    const res = await catalog(member(ALICE));
    // Assess
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      serviceAccounts: [
        {
          alias: 'jenkins-bot',
          allowedScopes: ['read:jira-work', 'write:jira-work', 'read:jira-user'],
          maxLifetimeDays: 90,
          approvalsRequired: 1,
          allowedConsumers: ['arn:aws:iam::000000000000:role/jenkins'],
          defaultConsumers: ['arn:aws:iam::000000000000:role/jenkins'],
          issuance: 'api',
        },
        expect.objectContaining({ alias: 'release-bot', approvalsRequired: 2 }),
      ],
      personalTokens: { mode: 'report' },
      exceptions: { maxDays: 30 },
    });
    const text = JSON.stringify(res.body);
    for (const account of policy.serviceAccounts) {
      for (const hidden of [account.atlassianId, account.email, account.cloudId, account.orgId, ...account.approvers]) {
        expect(text).not.toContain(hidden);
      }
    }
    expect(text).not.toContain(SECURITY);
  });

  it('refuses a query parameter by name, and a caller without an email claim with 401', async () => {
    // Act
    const query = await catalog(member(ALICE), { alias: 'jenkins-bot' });
    const anonymous = await call({ routeKey: 'GET /catalog', authorizerClaims: { sub: 'x' } });
    // Assess
    expect(query).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR', field: 'alias' } } });
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
  });
});

describe('GET /approvals?status=pending', () => {
  it("lists the caller's own approvals that can still decide, with the request's representation only", async () => {
    // Prepare
    const { requestId, approvalOf } = await pendingRequest();
    // Act
    const mine = await pending(APPROVER1);
    const requester = await pending(ALICE);
    // Assess
    expect(mine.status).toBe(200);
    const item = mine.body.items.find((i: { approvalId: string }) => i.approvalId === approvalOf(APPROVER1));
    expect(item).toEqual({
      approvalId: approvalOf(APPROVER1),
      expiresAt: expect.stringMatching(/Z$/),
      request: expect.objectContaining({ requestId, status: 'PENDING_APPROVAL', requester: ALICE, approvals: [] }),
    });
    expect(Object.keys(item.request).filter((k) => !REQUEST_KEYS.includes(k))).toEqual([]);
    expect(idsOf(mine.body)).not.toContain(approvalOf(APPROVER2));
    expect(requester).toEqual({ status: 200, headers: expect.anything(), body: { items: [] } });
  });

  it('drops an approval once it decided, and one whose request another approver decided', async () => {
    // Prepare
    const { approvalOf } = await pendingRequest();
    // Act
    const decided = await decide(member(APPROVER1), approvalOf(APPROVER1), { decision: 'approve' });
    // Assess
    expect(decided.status).toBe(200);
    expect(idsOf((await pending(APPROVER1)).body)).not.toContain(approvalOf(APPROVER1));
    expect(idsOf((await pending(APPROVER2)).body)).not.toContain(approvalOf(APPROVER2));
  });

  it('pages newest first with limit and nextToken', async () => {
    // Prepare
    // Approvals are ordered by their creation second: each of these two is made in a second of its own.
    const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1_100));
    await nextSecond();
    const older = await pendingRequest();
    await nextSecond();
    const newer = await pendingRequest();
    // Act
    const first = await pending(APPROVER2, { status: 'pending', limit: '1' });
    const second = await pending(APPROVER2, { status: 'pending', limit: '1', nextToken: first.body.nextToken });
    // Assess
    expect(idsOf(first.body)).toEqual([newer.approvalOf(APPROVER2)]);
    expect(first.body.nextToken).toEqual(expect.any(String));
    expect(idsOf(second.body)).toEqual([older.approvalOf(APPROVER2)]);
  });

  it.each([
    ['no status', {}, 'status'],
    ['another status', { status: 'decided' }, 'status'],
    ['a status in another case', { status: 'PENDING' }, 'status'],
    ['an unknown parameter', { status: 'pending', approver: APPROVER2 }, 'approver'],
    ['a limit out of range', { status: 'pending', limit: '0' }, 'limit'],
    ['a forged nextToken', { status: 'pending', nextToken: 'eyJwayI6IngifQ' }, 'nextToken'],
  ])('refuses %s with 400 naming the parameter', async (_what, query, field) => {
    // Act
    const res = await pending(APPROVER1, query as Record<string, string>);
    // Assess
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_ERROR', field } } });
  });

  it("refuses another approver's page token", async () => {
    // Prepare
    await pendingRequest();
    await pendingRequest();
    const theirs = await pending(APPROVER2, { status: 'pending', limit: '1' });
    // Act
    const res = await pending(APPROVER1, { status: 'pending', nextToken: theirs.body.nextToken });
    // Assess
    expect(res).toMatchObject({ status: 400, body: { error: { field: 'nextToken' } } });
  });
});

describe('GET /approvals/{approvalId}/request', () => {
  it('shows the approver the request behind their approval, with the approval status', async () => {
    // Prepare
    const { requestId, approvalOf } = await pendingRequest();
    // Act
    const res = await subject(member(APPROVER1), approvalOf(APPROVER1));
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      approvalId: approvalOf(APPROVER1),
      status: 'OPEN',
      expiresAt: expect.stringMatching(/Z$/),
      request: expect.objectContaining({ requestId, status: 'PENDING_APPROVAL' }),
    });
    expect(Object.keys(res.body.request).filter((k) => !REQUEST_KEYS.includes(k))).toEqual([]);
  });

  it.each([
    ['another approver', () => member(APPROVER2)],
    ['the requester', () => member(ALICE)],
    ['an admin', () => admin()],
  ])("answers 404 to %s for someone else's approval", async (_who, claims) => {
    // Prepare
    const { approvalOf } = await pendingRequest();
    // Act
    const res = await subject(claims(), approvalOf(APPROVER1));
    // Assess
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });

  it('answers 404 for an unknown or malformed approval id', async () => {
    // Act
    const unknown = await subject(member(APPROVER1), 'apv_aaaaaaaaaaaaaaaaaaaaaaaaaa');
    const malformed = await subject(member(APPROVER1), '..%2f..%2fREQ');
    // Assess
    expect(unknown.status).toBe(404);
    expect(malformed.status).toBe(404);
  });
});

describe('POST /approvals/{approvalId}/decision', () => {
  it('records an approval, resumes the workflow with the stored task token and audits it via the console', async () => {
    // Prepare
    const { requestId, taskToken, approvalOf } = await pendingRequest();
    ses.resetHistory();
    // Act
    const res = await decide(member(APPROVER1), approvalOf(APPROVER1), { decision: 'approve' });
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      approvalId: approvalOf(APPROVER1),
      decision: 'APPROVED',
      outcome: 'APPROVED',
      request: expect.objectContaining({
        requestId,
        status: 'APPROVED',
        approvals: [{ approver: APPROVER1, decision: 'APPROVED', decidedAt: expect.stringMatching(/Z$/) }],
      }),
    });
    expect(Object.keys(res.body.request).filter((k) => !REQUEST_KEYS.includes(k))).toEqual([]);
    expect(resumed()).toEqual([{ taskToken, output: JSON.stringify({ outcome: 'APPROVED' }) }]);
    const audit = (await auditFor(requestId)).filter((r) => r.event === 'APPROVED');
    expect(audit).toEqual([
      expect.objectContaining({
        actor: APPROVER1,
        details: expect.objectContaining({ outcome: 'APPROVED', via: 'console' }),
      }),
    ]);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('decides once: the same approval again, and the other approver after the quorum, answer 409', async () => {
    // Prepare
    const { approvalOf } = await pendingRequest();
    await decide(member(APPROVER1), approvalOf(APPROVER1), { decision: 'approve' });
    sfn.resetHistory();
    // Act
    const again = await decide(member(APPROVER1), approvalOf(APPROVER1), { decision: 'reject' });
    const other = await decide(member(APPROVER2), approvalOf(APPROVER2), { decision: 'reject' });
    // Assess
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT' } } });
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT' } } });
    expect(resumed()).toEqual([]);
  });

  it('one reject ends the request and resumes the workflow with REJECTED', async () => {
    // Prepare
    const { requestId, taskToken, approvalOf } = await pendingRequest();
    // Act
    const res = await decide(member(APPROVER2), approvalOf(APPROVER2), { decision: 'reject' });
    // Assess
    expect(res.body).toMatchObject({
      decision: 'REJECTED',
      outcome: 'REJECTED',
      request: { requestId, status: 'REJECTED' },
    });
    expect(resumed()).toEqual([{ taskToken, output: JSON.stringify({ outcome: 'REJECTED' }) }]);
  });

  it('waits for the quorum: the first of two approvals resumes nothing, the second resumes the workflow', async () => {
    // Prepare
    const { taskToken, approvalOf } = await pendingRequest('release-bot');
    // Act
    const first = await decide(member(APPROVER1), approvalOf(APPROVER1), { decision: 'approve' });
    const afterFirst = resumed();
    const second = await decide(member(APPROVER3), approvalOf(APPROVER3), { decision: 'approve' });
    // Assess
    expect(first.body).toMatchObject({ outcome: 'PENDING', request: { status: 'PENDING_APPROVAL' } });
    expect(afterFirst).toEqual([]);
    expect(second.body).toMatchObject({ outcome: 'APPROVED', request: { status: 'APPROVED' } });
    expect(resumed()).toEqual([{ taskToken, output: JSON.stringify({ outcome: 'APPROVED' }) }]);
  });

  it('meets an approval decided through its emailed link with 409, and the link meets a console decision', async () => {
    // Prepare
    const { approvalOf } = await pendingRequest('release-bot');
    const byLink = await decideByLink(approvalOf(APPROVER1), 'approve');
    await decide(member(APPROVER2), approvalOf(APPROVER2), { decision: 'approve' });
    // Act
    const fromConsole = await decide(member(APPROVER1), approvalOf(APPROVER1), { decision: 'reject' });
    const link = await openLink(approvalOf(APPROVER2));
    // Assess
    expect(byLink.status).toBe(200);
    expect(fromConsole).toMatchObject({ status: 409, body: { error: { code: 'CONFLICT' } } });
    expect(fromConsole.body.error.message).toContain('You already decided: APPROVED');
    expect(link.status).toBe(409);
    expect(await store.getApproval(approvalOf(APPROVER1))).toMatchObject({ status: 'DECIDED', decision: 'APPROVED' });
  });

  it.each([
    ['another approver', () => member(APPROVER2)],
    ['the requester', () => member(ALICE)],
    ['an admin', () => admin()],
  ])("answers 404 to %s deciding someone else's approval, and records nothing", async (_who, claims) => {
    // Prepare
    const { approvalOf } = await pendingRequest();
    // Act
    const res = await decide(claims(), approvalOf(APPROVER1), { decision: 'approve' });
    // Assess
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await store.getApproval(approvalOf(APPROVER1))).toMatchObject({ status: 'OPEN' });
    expect(resumed()).toEqual([]);
  });

  it.each([
    ['no decision', {}, 400, 'decision'],
    ['another decision', { decision: 'maybe' }, 400, 'decision'],
    ['a decision in another case', { decision: 'APPROVE' }, 400, 'decision'],
    ['an unknown property', { decision: 'approve', approver: APPROVER2 }, 400, 'approver'],
    ['a body that is not an object', '["approve"]', 400, undefined],
    ['malformed JSON', '{"decision":', 400, undefined],
  ])('refuses %s with %d and records nothing', async (_what, body, status, field) => {
    // Prepare
    const { approvalOf } = await pendingRequest();
    // Act
    const res = await decide(member(APPROVER1), approvalOf(APPROVER1), body);
    // Assess
    expect(res.status).toBe(status);
    expect(res.body.error.field).toBe(field);
    expect(await store.getApproval(approvalOf(APPROVER1))).toMatchObject({ status: 'OPEN' });
  });

  it('refuses a form body with 415', async () => {
    // Prepare
    const { approvalOf } = await pendingRequest();
    // Act
    const res = await decide(member(APPROVER1), approvalOf(APPROVER1), 'decision=approve', 'text/plain');
    // Assess
    expect(res).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
  });

  it("refuses the requester's own approval with 403", async () => {
    // Prepare
    const { requestId } = await pendingRequest();
    const own = await seedApproval(requestId, ALICE, new Date(Date.now() + 3_600_000));
    // Act
    const res = await decide(member(ALICE), own, { decision: 'approve' });
    // Assess
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(res.body.error.message).toContain('your own request');
    expect(await store.getApproval(own)).toMatchObject({ status: 'OPEN' });
  });

  it('refuses someone no longer an approver of the service account with 403', async () => {
    // Prepare
    const { requestId } = await pendingRequest();
    const removed = await seedApproval(requestId, 'former@example.com', new Date(Date.now() + 3_600_000));
    // Act
    const res = await decide(member('former@example.com'), removed, { decision: 'approve' });
    const listed = await pending('former@example.com');
    // Assess
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(res.body.error.message).toContain('no longer an approver');
    expect(idsOf(listed.body)).not.toContain(removed);
  });

  it('refuses an expired approval of a current approver with 410, and no longer lists it', async () => {
    // Prepare: a request whose approvals were never created, then one for approver1 that expired a minute ago.
    const name = `console-expired-${cryptoRandom.id().slice(0, 8)}`;
    const created = await callApi(requests, {
      routeKey: 'POST /token-requests',
      body: JSON.stringify({
        serviceAccount: 'jenkins-bot',
        name,
        scopes: ['read:jira-work'],
        lifetimeDays: 30,
        justification: 'Expired before anyone looked',
      }),
      headers: { 'content-type': 'application/json' },
      claims: member(ALICE),
    });
    const requestId = JSON.parse(created.body).requestId as string;
    const expired = await seedApproval(requestId, APPROVER1, new Date(Date.now() - 60_000));
    // Act
    const res = await decide(member(APPROVER1), expired, { decision: 'approve' });
    // Assess
    expect(res).toMatchObject({ status: 410, body: { error: { code: 'GONE' } } });
    expect(idsOf((await pending(APPROVER1)).body)).not.toContain(expired);
    expect(await store.getApproval(expired)).toMatchObject({ status: 'OPEN' });
  });
});

describe('access exceptions in the console', () => {
  it("lets the exception approver see and approve a member's exception, resuming its workflow", async () => {
    // Prepare
    const exceptionId = `exc_${cryptoRandom.id()}`;
    const taskToken = `task-token-${exceptionId}`;
    await seedAccessException(store, {
      policy,
      member: 'erin@example.com',
      status: 'PENDING_APPROVAL',
      exceptionId,
      createdAt: new Date(),
      taskToken,
      linkKey: LINK_KEY,
    });
    await requestApproval({ exceptionId, taskToken }, lambdaContext);
    const approvalId = approvalIdFor(exceptionId, SECURITY);
    sfn.resetHistory();
    // Act
    const listed = await pending(SECURITY);
    const shown = await subject(member(SECURITY), approvalId);
    const res = await decide(member(SECURITY), approvalId, { decision: 'approve' });
    // Assess
    expect(listed.body.items).toEqual([
      { approvalId, expiresAt: expect.stringMatching(/Z$/), exception: expect.objectContaining({ exceptionId }) },
    ]);
    expect(shown.body).toMatchObject({
      approvalId,
      status: 'OPEN',
      exception: { exceptionId, member: 'erin@example.com' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      approvalId,
      decision: 'APPROVED',
      outcome: 'APPROVED',
      exception: { exceptionId, status: 'APPROVED' },
    });
    expect(res.body.exception).not.toHaveProperty('taskTokenSealed');
    expect(resumed()).toEqual([{ taskToken, output: JSON.stringify({ outcome: 'APPROVED' }) }]);
    const audit = (await auditFor(exceptionId)).filter((r) => r.event === 'EXCEPTION_APPROVED');
    expect(audit).toEqual([
      expect.objectContaining({ actor: SECURITY, details: expect.objectContaining({ via: 'console' }) }),
    ]);
  });
});
