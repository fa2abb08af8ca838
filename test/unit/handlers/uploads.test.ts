/**
 * The manual-issuance handlers as Lambda runs them: `request-upload` (the workflow task) and `functions/api/uploads.ts`
 * (`GET`/`POST /uploads/{uploadId}`, payload format 2.0, form bodies base64-encoded as API Gateway delivers them),
 * against dynalite and the fake Atlassian over HTTP; Step Functions, SES, Secrets Manager and EventBridge mocked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import { cryptoRandom } from '../../../functions/composition/random';
import { mintLabel, secretNameFor, secretVersionId, tokenIdFor } from '../../../functions/domain/naming';
import { parsePolicy } from '../../../functions/domain/policy-text';
import { isoSeconds } from '../../../functions/domain/ports';
import type { StoredRequest } from '../../../functions/domain/records';
import { checkRequestAgainstPolicy, newRequest, parseCreateRequestBody } from '../../../functions/domain/requests';
import type { ApiEvent, ApiResult } from '../../../functions/edge/http';
import { logger } from '../../../functions/edge/logger';
import { createFakeAtlassian, DEMO_SEED } from '../../../local/fake-atlassian';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { apiEvent, type EventSpec, lambdaContext } from '../../support/events';
import {
  approvalAwsMocks,
  type NotifierFunction,
  notifyPublished,
  setHandlerEnvironment,
} from '../../support/handler-env';

const { sfn, eventBridge, ses, secrets } = approvalAwsMocks();

const LINK_KEY_ID = 'token-warden/link-signing-key';
const ORG_KEY_ID = 'token-warden/atlassian-org-api-key';
const ORG_KEY = 'org-key-for-upload-handler-tests';
const DAY = 86_400_000;

type Api = (event: ApiEvent, context: typeof lambdaContext) => Promise<ApiResult>;
type Task = (event: unknown, context: typeof lambdaContext) => Promise<unknown>;
let dynamo: LocalDynamo;
let fakeServer: Server;
let atlassian: AtlassianClient;
let store: RecordStore;
let uploads: Api;
let requestUpload: Task;
let notifier: NotifierFunction;
let policyFile: string;

beforeAll(async () => {
  dynamo = await startDynamo();
  store = createRecordStore(dynamo.doc, dynamo.tableName);
  const fake = createFakeAtlassian({ now: () => new Date(), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  fakeServer = await fake.listen(0);
  const fakeUrl = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
  atlassian = new AtlassianClient({ apiBaseUrl: fakeUrl, siteBaseUrl: fakeUrl, orgApiKey: async () => ORG_KEY });
  // The shipped policy, with jenkins-bot issued manually.
  const policy = parsePolicy(readFileSync(join(__dirname, '../../../policy/policy.yaml'), 'utf8'), 'policy.yaml');
  policyFile = join(tmpdir(), `token-warden-manual-policy-${process.pid}.json`);
  writeFileSync(
    policyFile,
    JSON.stringify({ ...policy, serviceAccounts: policy.serviceAccounts.map((a) => ({ ...a, issuance: 'manual' })) }),
  );
  await setHandlerEnvironment(dynamo, {
    LINK_SIGNING_SECRET_ID: LINK_KEY_ID,
    ORG_API_KEY_SECRET_ID: ORG_KEY_ID,
    ATLASSIAN_API_BASE_URL: fakeUrl,
    ATLASSIAN_SITE_BASE_URL: fakeUrl,
    POLICY_FILE: policyFile,
  });
  ({ handler: uploads } = await import('../../../functions/api/uploads'));
  ({ handler: requestUpload } = await import('../../../functions/workflow/request-upload'));
  notifier = (await import('../../../functions/events/notifier')).handler as unknown as NotifierFunction;
});

afterAll(async () => {
  await new Promise((r) => fakeServer.close(r));
  await dynamo.close();
});

beforeEach(() => {
  sfn.reset();
  eventBridge.reset();
  ses.reset();
  secrets.reset();
  sfn.on(SendTaskSuccessCommand).resolves({});
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  secrets
    .on(GetSecretValueCommand, { SecretId: LINK_KEY_ID })
    .resolves({ SecretString: 'k'.repeat(64), Name: LINK_KEY_ID })
    .on(GetSecretValueCommand, { SecretId: ORG_KEY_ID })
    .resolves({ SecretString: ORG_KEY, Name: ORG_KEY_ID })
    .on(PutSecretValueCommand)
    .resolves({ VersionStages: ['AWSPENDING'] })
    .on(DescribeSecretCommand)
    .resolves({ VersionIdsToStages: {} })
    .on(UpdateSecretVersionStageCommand)
    .resolves({});
});

async function api(spec: EventSpec) {
  const result = await uploads(apiEvent(spec), lambdaContext);
  return { status: result.statusCode, headers: result.headers ?? {}, body: result.body };
}

/** An approved request whose generation 1 awaits an upload (what `Mint token` leaves for a manual account). */
async function awaitingUpload(name: string) {
  const requestId = `req_${cryptoRandom.id()}`;
  const body = parseCreateRequestBody({
    serviceAccount: 'jenkins-bot',
    name,
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    justification: 'tests',
  });
  const policy = JSON.parse(readFileSync(policyFile, 'utf8'));
  const request: StoredRequest = {
    ...newRequest({
      requestId,
      body,
      check: checkRequestAgainstPolicy(body, policy, 'alice@example.com'),
      requester: 'alice@example.com',
      now: new Date(),
    }),
    status: 'APPROVED',
    version: 1,
  };
  await store.createRequest(request);
  const tokenId = tokenIdFor(requestId);
  const expected = new Date(Date.now() + 30 * DAY);
  await store.putMint({
    tokenId,
    generation: 1,
    requestId,
    label: mintLabel(tokenId, 1),
    versionId: secretVersionId(tokenId, 1),
    state: 'AWAITING_UPLOAD',
    manual: true,
    expiresAt: isoSeconds(expected),
  });
  const taskToken = `task-token-${name}`;
  await requestUpload({ tokenId, generation: 1, requestId, taskToken }, lambdaContext);
  // The emails come from the notifier, fed what the step published.
  await notifyPublished(eventBridge, notifier);
  const [email] = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
  const text = email?.Content?.Simple?.Body?.Text?.Data ?? '';
  const url = new URL(text.split('\n').find((l) => l.startsWith('https://')) ?? 'https://missing/');
  return { requestId, tokenId, name, taskToken, expected, url, label: mintLabel(tokenId, 1) };
}

const uploadIdOf = (url: URL) => url.pathname.split('/').pop() ?? '';
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function open(url: URL) {
  return api({
    routeKey: 'GET /uploads/{uploadId}',
    path: url.pathname,
    pathParameters: { uploadId: uploadIdOf(url) },
    query: Object.fromEntries(url.searchParams),
  });
}

async function post(url: URL, form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  return api({
    routeKey: 'POST /uploads/{uploadId}',
    path: url.pathname,
    pathParameters: { uploadId: uploadIdOf(url) },
    headers: { 'content-type': contentType },
    body: new URLSearchParams(form).toString(),
    base64: true,
  });
}

const adminCreates = (label: string, expiry: Date) =>
  atlassian.mintToken(DEMO_SEED.accounts[0]!.accountId, { label, scopes: ['read:jira-work'], expiry });

describe('request-upload (workflow task)', () => {
  it('emails each admin one bare link to the upload page and stores the task token sealed', async () => {
    const { url, label, taskToken } = await awaitingUpload('asked');
    const sent = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(sent.map((e) => e.Destination?.ToAddresses)).toEqual([['admin@example.com']]);
    expect(sent[0]?.Content?.Simple?.Body?.Text?.Data).toContain(label);
    expect(url.origin).toBe('https://api.example.com');
    expect(url.pathname).toMatch(/^\/uploads\/upl_[a-z2-7]{26}$/);
    const items = (await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tableName }))).Items ?? [];
    expect(JSON.stringify(items)).not.toContain(taskToken);
  });

  it('refuses an input that is not the wait task payload', async () => {
    await expect(
      requestUpload({ tokenId: 'tok_x', generation: 1, requestId: 'req_x', taskToken: 't' }, lambdaContext),
    ).rejects.toMatchObject({ name: 'TaskInputError' });
    const { tokenId, requestId } = await awaitingUpload('extra');
    await expect(
      requestUpload({ tokenId, generation: 1, requestId, taskToken: 't', token: 'no' }, lambdaContext),
    ).rejects.toMatchObject({ name: 'TaskInputError' });
  });
});

describe('the upload page (GET/POST /uploads/{uploadId})', () => {
  it('shows what to create on GET with no-referrer, no-store and a strict CSP, and changes nothing', async () => {
    const { url, label } = await awaitingUpload('page');
    const page = await open(url);
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': expect.stringContaining("default-src 'none'"),
    });
    expect(page.body).toContain(label);
    expect(page.body).toContain('type="password"');
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('stores a posted token as AWSPENDING, resumes the workflow with {} and never echoes the value', async () => {
    const { url, name, tokenId, taskToken, expected, label } = await awaitingUpload('upload');
    const created = await adminCreates(label, expected);
    const spy = ['debug', 'info', 'warn', 'error'].map((level) =>
      jest.spyOn(logger, level as 'info').mockImplementation(() => undefined),
    );
    try {
      const csrf = csrfOf((await open(url)).body);
      const res = await post(url, { sig: url.searchParams.get('sig') ?? '', csrf, token: created.token });
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({ 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
      expect(res.body).toContain('Token received');
      expect(secrets.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input)).toEqual([
        {
          SecretId: secretNameFor('jenkins-bot', name),
          ClientRequestToken: secretVersionId(tokenId, 1),
          SecretString: created.token,
          VersionStages: ['AWSPENDING'],
        },
      ]);
      expect(sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([
        { taskToken, output: '{}' },
      ]);
      // The value is in the PutSecretValue call only: not in the page, the table, the events or the logs.
      const items = [
        ...((await dynamo.doc.send(new ScanCommand({ TableName: dynamo.tableName }))).Items ?? []),
        ...((await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName }))).Items ?? []),
      ];
      const observed = JSON.stringify([
        res,
        items,
        eventBridge.calls().map((c) => c.args[0].input),
        sfn.calls().map((c) => c.args[0].input),
        ses.calls().map((c) => c.args[0].input),
        spy.flatMap((s) => s.mock.calls),
      ]);
      expect(observed).not.toContain(created.token);
      expect(JSON.stringify(eventBridge.calls().map((c) => c.args[0].input))).toContain('Token Uploaded');
      // Single use.
      const again = await post(url, { sig: url.searchParams.get('sig') ?? '', csrf, token: created.token });
      expect(again.status).toBe(409);
      expect(again.body).not.toContain(created.token);
    } finally {
      for (const s of spy) s.mockRestore();
    }
  });

  it.each([
    ['a missing csrf', (f: Record<string, string>) => ({ ...f, csrf: '' }), 403],
    ['a wrong csrf', (f: Record<string, string>) => ({ ...f, csrf: 'x'.repeat(43) }), 403],
    [
      'a tampered sig',
      (f: Record<string, string>) => ({ ...f, sig: f.sig!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }),
      403,
    ],
    ['a value with a space', (f: Record<string, string>) => ({ ...f, token: `${f.token} x` }), 400],
    ['an empty value', (f: Record<string, string>) => ({ ...f, token: '' }), 400],
    ['a value over 1024 characters', (f: Record<string, string>) => ({ ...f, token: 'x'.repeat(1025) }), 400],
  ])('refuses %s, stores nothing, and the genuine form works afterwards', async (_what, change, status) => {
    const { url, expected, label } = await awaitingUpload(`bad-${cryptoRandom.id().slice(0, 8)}`);
    const created = await adminCreates(label, expected);
    const csrf = csrfOf((await open(url)).body);
    const form = { sig: url.searchParams.get('sig') ?? '', csrf, token: created.token };
    const res = await post(url, change(form));
    expect(res.status).toBe(status);
    expect(res.body).not.toContain(created.token);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    expect((await post(url, form)).status).toBe(200);
  });

  it('answers 400 naming the label when Atlassian lists no token with it', async () => {
    const { url, label } = await awaitingUpload('missing');
    const csrf = csrfOf((await open(url)).body);
    const res = await post(url, { sig: url.searchParams.get('sig') ?? '', csrf, token: 'ATATT-not-created-yet-0123' });
    expect(res.status).toBe(400);
    expect(res.body).toContain(label);
    expect(res.body).not.toContain('ATATT-not-created-yet-0123');
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('refuses another media type with 415 and an unknown link with 403', async () => {
    const { url } = await awaitingUpload('media');
    expect((await post(url, { token: 'x' }, 'application/json')).status).toBe(415);
    const unknown = new URL(url);
    unknown.pathname = '/uploads/upl_aaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect((await open(unknown)).status).toBe(403);
    expect((await post(unknown, { sig: url.searchParams.get('sig') ?? '', csrf: 'x', token: 'x' })).status).toBe(403);
  });

  it('gives the link back and leaks nothing when storing fails', async () => {
    const { url, expected, label } = await awaitingUpload('store-fails');
    const created = await adminCreates(label, expected);
    secrets
      .on(PutSecretValueCommand)
      .rejects(Object.assign(new Error('access denied'), { name: 'AccessDeniedException' }));
    const error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const csrf = csrfOf((await open(url)).body);
      const form = { sig: url.searchParams.get('sig') ?? '', csrf, token: created.token };
      const res = await post(url, form);
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
      expect(JSON.stringify(error.mock.calls)).not.toContain(created.token);
      expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
      // The link was given back: once storing works again, the same form succeeds.
      secrets.on(PutSecretValueCommand).resolves({});
      expect((await post(url, form)).status).toBe(200);
    } finally {
      error.mockRestore();
    }
  });
});
