import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
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
import { policyFileWith } from '../../support/policy-json';

const { sfn, eventBridge, ses, secrets } = approvalAwsMocks();
let dynamo: LocalDynamo;
let requests: ApiFunction;
let approvals: ApiFunction;
let requestApproval: (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
let closeRequest: (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
let notifier: NotifierFunction;

const body = {
  serviceAccount: 'jenkins-bot',
  name: 'ci',
  scopes: ['read:jira-work'],
  lifetimeDays: 30,
  justification: 'CI <script>alert(1)</script>',
};

beforeAll(async () => {
  dynamo = await startDynamo();
  // Most cases leave a pending request of alice's: room for them all under the per-member limit.
  await setHandlerEnvironment(dynamo, { POLICY_FILE: policyFileWith({ maxPendingRequestsPerMember: 1000 }) });
  ({ handler: requests } = await import('../../../functions/api/token-requests'));
  ({ handler: approvals } = await import('../../../functions/api/approvals'));
  ({ handler: requestApproval } = await import('../../../functions/workflow/request-approval'));
  ({ handler: closeRequest } = await import('../../../functions/workflow/close-request'));
  notifier = (await import('../../../functions/events/notifier')).handler as unknown as NotifierFunction;
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(() => stubApprovalAws({ sfn, eventBridge, ses, secrets }));

/** A request that reached `Request approval`, and the links emailed for it. */
async function pendingRequest(name: string, taskToken = `task-token-${name}`) {
  const created = await callApi(requests, {
    routeKey: 'POST /token-requests',
    body: JSON.stringify({ ...body, name }),
    headers: { 'content-type': 'application/json' },
    claims: member('alice@example.com'),
  });
  const requestId = JSON.parse(created.body).requestId as string;
  await requestApproval({ requestId, taskToken }, lambdaContext);
  // The approvers' emails come from the notifier, fed what the step published.
  await notifyPublished(eventBridge, notifier);
  const links = ses.commandCalls(SendEmailCommand).map((c) => {
    const input = c.args[0].input;
    const text = input.Content?.Simple?.Body?.Text?.Data ?? '';
    const line = text.split('\n').find((l) => l.startsWith('https://'));
    return { to: input.Destination?.ToAddresses?.[0], url: new URL(line ?? 'https://missing') };
  });
  return { requestId, links, taskToken };
}

const approvalIdOf = (url: URL) => url.pathname.split('/').pop() ?? '';

async function open(url: URL) {
  return callApi(approvals, {
    routeKey: 'GET /approvals/{approvalId}',
    path: url.pathname,
    pathParameters: { approvalId: approvalIdOf(url) },
    query: Object.fromEntries(url.searchParams),
  });
}

async function post(url: URL, form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  return callApi(approvals, {
    routeKey: 'POST /approvals/{approvalId}',
    path: url.pathname,
    pathParameters: { approvalId: approvalIdOf(url) },
    headers: { 'content-type': contentType },
    body: new URLSearchParams(form).toString(),
    base64: true,
  });
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('approval emails', () => {
  it('emails one single-recipient link per eligible approver, with the bare link on its own line', async () => {
    const { links } = await pendingRequest('emails');
    expect(links.map((l) => l.to).sort()).toEqual(['approver1@example.com', 'approver2@example.com']);
    for (const { url } of links) {
      expect(url.origin).toBe('https://api.example.com');
      expect(url.pathname).toMatch(/^\/approvals\/apv_[a-z2-7]{26}$/);
      expect(url.searchParams.get('sig')).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    }
  });

  it('sends no second email when the step runs again', async () => {
    const { requestId, links } = await pendingRequest('twice');
    ses.resetHistory();
    await requestApproval({ requestId, taskToken: 'task-token-again' }, lambdaContext);
    await notifyPublished(eventBridge, notifier);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(links).toHaveLength(2);
  });

  it('never puts the task token in the table in clear', async () => {
    const { requestId } = await pendingRequest('sealed', 'TASKTOKEN-very-secret-value');
    const item = await dynamo.doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).GetCommand({
        TableName: dynamo.tableName,
        Key: { pk: `REQ#${requestId}`, sk: 'REQ' },
      }),
    );
    expect(JSON.stringify(item.Item)).not.toContain('TASKTOKEN-very-secret-value');
    expect(item.Item?.taskTokenSealed).toMatch(/^v1\./);
  });
});

describe('the approval page', () => {
  it('shows the request on GET, escapes it, sets no-referrer and no-store, and decides nothing', async () => {
    const { links } = await pendingRequest('page');
    const page = await open(links[0]!.url);
    expect(page.status).toBe(200);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('alice@example.com');
    expect(page.body).toContain('CI &lt;script&gt;');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('value="approve"');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('records an approval posted from the page and resumes the workflow with the stored task token', async () => {
    const { requestId, links, taskToken } = await pendingRequest('approve');
    const url = links[0]!.url;
    const csrf = csrfOf((await open(url)).body);
    const res = await post(url, { decision: 'approve', sig: url.searchParams.get('sig') ?? '', csrf });
    expect(res.status).toBe(200);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).toContain('Decision recorded');
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken, output: JSON.stringify({ outcome: 'APPROVED' }) },
    ]);
    const after = JSON.parse(
      (
        await callApi(requests, {
          routeKey: 'GET /token-requests/{requestId}',
          pathParameters: { requestId },
          claims: member('alice@example.com'),
        })
      ).body,
    );
    expect(after.status).toBe('APPROVED');
    expect(after.approvals).toEqual([
      { approver: links[0]!.to, decision: 'APPROVED', decidedAt: expect.stringMatching(/Z$/) },
    ]);
    // The link is single-use; the other approver's link now meets a decided request.
    expect((await post(url, { decision: 'approve', sig: url.searchParams.get('sig') ?? '', csrf })).status).toBe(409);
    expect((await open(url)).status).toBe(409);
    expect((await open(links[1]!.url)).status).toBe(409);
  });

  it.each([
    ['a missing csrf', (f: Record<string, string>) => ({ ...f, csrf: '' }), 403],
    ['a wrong csrf', (f: Record<string, string>) => ({ ...f, csrf: 'x'.repeat(43) }), 403],
    [
      'a tampered sig',
      (f: Record<string, string>) => ({ ...f, sig: f.sig!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }),
      403,
    ],
    ['no decision', (f: Record<string, string>) => ({ sig: f.sig!, csrf: f.csrf! }), 400],
  ])('refuses %s and records nothing', async (_what, change, status) => {
    const { links } = await pendingRequest(`bad-${status}-${Math.random().toString(36).slice(2, 8)}`);
    const url = links[0]!.url;
    const csrf = csrfOf((await open(url)).body);
    const res = await post(url, change({ decision: 'approve', sig: url.searchParams.get('sig') ?? '', csrf }));
    expect(res.status).toBe(status);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    // The genuine form still works afterwards.
    const ok = await post(url, { decision: 'reject', sig: url.searchParams.get('sig') ?? '', csrf });
    expect(ok.status).toBe(200);
  });

  it('refuses another media type with 415', async () => {
    const { links } = await pendingRequest('media');
    const url = links[0]!.url;
    expect((await post(url, { decision: 'approve' }, 'application/json')).status).toBe(415);
  });

  it('answers 403 for an unknown approval id and a link bound to another approver', async () => {
    const { links } = await pendingRequest('swap');
    const [a, b] = links;
    const forged = new URL(a!.url);
    forged.pathname = b!.url.pathname;
    expect((await open(forged)).status).toBe(403);
    const unknown = new URL(a!.url);
    unknown.pathname = '/approvals/apv_aaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect((await open(unknown)).status).toBe(403);
  });

  it('one reject ends the request and resumes the workflow with REJECTED', async () => {
    const { links, taskToken } = await pendingRequest('reject');
    const url = links[1]!.url;
    const csrf = csrfOf((await open(url)).body);
    expect((await post(url, { decision: 'reject', sig: url.searchParams.get('sig') ?? '', csrf })).status).toBe(200);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken,
      output: JSON.stringify({ outcome: 'REJECTED' }),
    });
  });

  it('closing an expired request tells requester and approvers once and makes links answer 409', async () => {
    const { requestId, links } = await pendingRequest('expire');
    ses.resetHistory();
    await closeRequest({ requestId, outcome: 'EXPIRED' }, lambdaContext);
    await closeRequest({ requestId, outcome: 'EXPIRED' }, lambdaContext);
    await notifyPublished(eventBridge, notifier);
    const sent = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);
    expect(sent.sort()).toEqual(['alice@example.com', 'approver1@example.com', 'approver2@example.com']);
    expect((await open(links[0]!.url)).status).toBe(409);
  });
});
