/**
 * Property-based fuzzing of every HTTP route handler (functions/api/*.ts), in-process, against dynalite, a fake
 * Atlassian over HTTP, and mocked AWS clients. For each route, hundreds of hostile payload-format-2.0 events; for
 * each answer the contract of /work/shared/notes/product.md must hold:
 * - the handler never throws and never answers 5xx (no AWS failure is simulated here);
 * - JSON errors are exactly `{"error": {"code", "message", "field"?}}`, with a contract code and its status;
 * - approval routes answer an HTML page with a 4xx, `Referrer-Policy: no-referrer`, `Cache-Control: no-store`;
 * - no answer carries a stack trace, a source path, or a secret (link key, org key, token values);
 * - callers without a string `email` claim, with one that is not plain ASCII, or with `email_verified` false get 401;
 *   members on admin routes 403 and admins not; admin only through a group named exactly `token-warden-admins`;
 *   others' records stay invisible;
 * - a refused request (4xx) and every GET start nothing (Step Functions, SES, EventBridge, Scheduler) and leave the
 *   tables and the fake Atlassian's tokens (service accounts' and members' alike) byte-for-byte unchanged;
 * - `GET /tokens` and `GET /token-requests` refuse unknown query parameters and invalid filter values by name, refuse a
 *   member naming another owner or requester with 403, and answer at most `limit` items, all matching the filters;
 * - the personal-token routes refuse every unknown query parameter by name, answer only records matching their
 *   filters (a member's `/me/personal-tokens` only their own), never revoke a governed token, and start exactly one
 *   scan at a time;
 * - the access-exception routes answer members only their own exceptions (others' are 404), in the representation
 *   only; an accepted create starts exactly its own workflow and only for a member holding no live exception, a
 *   cancel resumes exactly the sealed task token of that exception, an end starts exactly its `<id>-end` execution;
 * - the console routes answer the catalog of the policy exactly (no approver, no Atlassian id or email), list and show
 *   only the caller's own approvals (anyone else's is 404), and a decision accepted in the console uses up exactly that
 *   approval of the caller, resumes exactly its subject's sealed task token once the outcome is known, and is audited
 *   once with `via: "console"`;
 * - `Object.prototype` stays unpolluted.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SendTaskSuccessCommand, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import { loadPolicy } from '../../../functions/composition/policy-loader';
import { cryptoRandom } from '../../../functions/composition/random';
import type { StoredException } from '../../../functions/domain/access-exceptions';
import { approvalIdFor, mintLabel, secretNameFor, secretVersionId, tokenIdFor } from '../../../functions/domain/naming';
import type { StoredToken } from '../../../functions/domain/records';
import type { ApiEvent, ApiResult } from '../../../functions/edge/http';
import { catalogOf } from '../../../functions/use-cases/catalog';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian } from '../../../local/fake-atlassian';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { apiEvent, lambdaContext } from '../../support/events';
import {
  approvalAwsMocks,
  createPersonalTokenAt,
  movePolicyMemberAt,
  notifierEventOf,
  seedAccessException,
  setHandlerEnvironment,
} from '../../support/handler-env';
import { policyFileWith } from '../../support/policy-json';
import {
  ADMIN_GROUP,
  BODY_LIMIT,
  bodyBytes,
  bodyEncoding,
  callerClaims,
  checkHtmlAnswer,
  checkJsonAnswer,
  claims,
  contentType,
  EMAILS,
  emailUnverified,
  type FuzzEvent,
  forgedNextToken,
  formContentType,
  fuzzEvent,
  hostileString,
  idempotencyKey,
  isAdminCaller,
  jsonBodyText,
  leaksInternals,
  limitParam,
  lookAlikeGroup,
  nextTokenParam,
  Tally,
  topLevelKeys,
  validEmailOf,
  weirdString,
} from '../../support/security-http';

const { sfn, eventBridge, ses, secrets } = approvalAwsMocks();
const scheduler = mockClient(SchedulerClient);

type Api = (event: ApiEvent, context: typeof lambdaContext) => Promise<ApiResult>;
type Task = (event: unknown, context: typeof lambdaContext) => Promise<unknown>;

const LINK_KEY_ID = 'token-warden/link-signing-key';
const ORG_KEY_ID = 'token-warden/atlassian-org-key';
const LINK_KEY = 'link-signing-key-for-http-fuzz-0123456789abcdef-0123456789abcdef';
const ORG_KEY = 'org-key-for-http-fuzz-0123456789';
const ATLASSIAN_ID = '712020:00000000-0000-4000-8000-000000000001';
const RUNS = Number(process.env.TW_FUZZ_RUNS ?? 200);

let dynamo: LocalDynamo;
let fake: FakeAtlassian;
let fakeServer: Server;
let store: RecordStore;
const api: Record<
  'requests' | 'tokens' | 'approvals' | 'admin' | 'health' | 'personal' | 'exceptions' | 'console',
  Api
> = {} as never;
const tally = new Tally();
/** Secret values no answer may ever contain. */
const secretsNeverShown: string[] = [LINK_KEY, ORG_KEY];

/** What the seed created: genuine ids of several owners, and genuine approval links. */
const seeded = {
  requests: { alice: [] as string[], bob: [] as string[] },
  tokens: { alice: [] as string[], bob: [] as string[] },
  links: [] as { approvalId: string; sig: string; approver: string }[],
};

const SCAN_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:PersonalTokenScan';
/** What the personal-token seed created: members' Atlassian token ids, governed ones, scans, genuine page tokens. */
const personal = {
  ids: { alice: [] as string[], bob: [] as string[], others: [] as string[] },
  governed: [] as string[],
  scans: [] as string[],
  pages: [] as { partition: string; token: string }[],
};
/** Finishes a scan as its workflow would (set in `beforeAll`, once the handlers' environment is there). */
let finishScan: (scanId: string) => Promise<void>;

const EXCEPTION_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:AccessException';
const EXCEPTION_APPROVER = 'security@example.com';
/** What the access-exception seed created, and what the routes have done to it since. */
const exc = {
  /** Every genuine exception id, with its member. */
  owners: new Map<string, string>(),
  /** The clear task token behind each sealed one. */
  taskTokens: new Map<string, string>(),
  /** Members holding a live (pending, approved or active) exception. */
  live: new Set<string>(),
  /** Genuine page tokens of each listing partition. */
  pages: [] as { partition: string; token: string }[],
  /** The latest seeded exception of each `<member> <status>`. */
  latest: new Map<string, string>(),
};
const allExceptionIds = () => [...exc.owners.keys()];

function installMocks() {
  for (const m of [sfn, eventBridge, ses, secrets, scheduler]) m.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:x:y' });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(StopExecutionCommand).resolves({});
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  secrets.on(GetSecretValueCommand, { SecretId: LINK_KEY_ID }).resolves({ SecretString: LINK_KEY, Name: LINK_KEY_ID });
  secrets.on(GetSecretValueCommand, { SecretId: ORG_KEY_ID }).resolves({ SecretString: ORG_KEY, Name: ORG_KEY_ID });
  scheduler.on(CreateScheduleCommand).resolves({});
  scheduler.on(UpdateScheduleCommand).resolves({});
  scheduler.on(DeleteScheduleCommand).resolves({});
}

function resetHistories() {
  for (const m of [sfn, eventBridge, ses, secrets, scheduler]) m.resetHistory();
}

/** Calls that change the world outside the tables. */
function sideEffectCalls(): string[] {
  const calls = [
    ...sfn.commandCalls(StartExecutionCommand).map(() => 'SFN.StartExecution'),
    ...sfn.commandCalls(SendTaskSuccessCommand).map(() => 'SFN.SendTaskSuccess'),
    ...sfn.commandCalls(StopExecutionCommand).map(() => 'SFN.StopExecution'),
    ...ses.commandCalls(SendEmailCommand).map(() => 'SES.SendEmail'),
    ...eventBridge.commandCalls(PutEventsCommand).map(() => 'EventBridge.PutEvents'),
    ...scheduler.calls().map(() => 'Scheduler'),
  ];
  return calls;
}

/**
 * Everything a request could half-write: both tables and the fake Atlassian's tokens. `exceptRateLimiter` leaves out
 * the shared Atlassian rate limiter's queue item (see the revoke route's case for why).
 */
async function snapshot(opts: { exceptRateLimiter?: boolean } = {}): Promise<string> {
  const scan = async (TableName: string) => {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await dynamo.doc.send(new ScanCommand({ TableName, ExclusiveStartKey, ConsistentRead: true }));
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items
      .filter((i) => !(opts.exceptRateLimiter && typeof i.pk === 'string' && i.pk.startsWith('RATE#')))
      .map((i) => JSON.stringify(i))
      .sort();
  };
  return JSON.stringify([
    await scan(dynamo.tableName),
    await scan(dynamo.auditTableName),
    fake.tokens().map((t) => [t.id, t.status]),
    fake.personalTokens().map((t) => [t.id, t.status]),
  ]);
}

const j = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v));
/** Valid and nearly valid values per field of `POST /token-requests`, to get past the schema to the policy checks. */
const PLAUSIBLE_CREATE: Record<string, fc.Arbitrary<string>> = {
  serviceAccount: j(fc.constantFrom('jenkins-bot', 'JENKINS-BOT', 'jenkins-bot ', 'ghost', 'jenkins-bot\u0000')),
  name: j(
    fc.oneof(fc.stringMatching(/^[a-zA-Z0-9_.-]{1,64}$/), fc.constantFrom('.', '..', '...', '-', 'a'.repeat(65))),
  ),
  scopes: j(
    fc.subarray(['read:jira-work', 'write:jira-work', 'read:jira-user', 'manage:jira-project', 'READ:JIRA-WORK'], {
      minLength: 0,
    }),
  ),
  lifetimeDays: j(fc.oneof(fc.integer({ min: -2, max: 400 }), fc.constantFrom(7, 8, 90, 91, 365, 366))),
  justification: j(fc.oneof(hostileString, fc.string({ maxLength: 2_100 }))),
  consumers: j(
    fc.oneof(
      fc.constantFrom([], ['arn:aws:iam::000000000000:role/jenkins'], ['arn:aws:iam::111111111111:role/x']),
      fc.array(hostileString, { maxLength: 3 }),
    ),
  ),
};

const VALID_CREATE = {
  serviceAccount: 'jenkins-bot',
  name: 'fuzz-ok',
  scopes: ['read:jira-work'],
  lifetimeDays: 30,
  justification: 'fuzzing the request API',
};

async function seedRequest(email: string, name: string, withApproval: boolean): Promise<string> {
  const res = await api.requests(
    apiEvent({
      routeKey: 'POST /token-requests',
      body: JSON.stringify({ ...VALID_CREATE, name }),
      headers: { 'content-type': 'application/json' },
      claims: { email, groups: [] },
    }),
    lambdaContext,
  );
  if (res.statusCode !== 202) throw new Error(`seed request answered ${res.statusCode}: ${res.body}`);
  const requestId = JSON.parse(res.body).requestId as string;
  if (withApproval) {
    ses.resetHistory();
    eventBridge.resetHistory();
    await requestApproval({ requestId, taskToken: `task-token-${requestId}` }, lambdaContext);
    // The approvers' emails come from the notifier, fed the events the step published.
    const published = eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input);
    const { batchItemFailures } = await notifier(notifierEventOf(published), lambdaContext);
    if (batchItemFailures.length > 0) throw new Error('the notifier did not tell every event');
    for (const call of ses.commandCalls(SendEmailCommand)) {
      const text = call.args[0].input.Content?.Simple?.Body?.Text?.Data ?? '';
      const line = text.split('\n').find((l) => l.startsWith('https://'));
      if (!line) continue;
      const url = new URL(line);
      seeded.links.push({
        approvalId: url.pathname.split('/').pop() ?? '',
        sig: url.searchParams.get('sig') ?? '',
        approver: call.args[0].input.Destination?.ToAddresses?.[0] ?? '',
      });
    }
  }
  return requestId;
}

async function seedToken(owner: string, name: string, status: StoredToken['status']): Promise<string> {
  const requestId = `req_${cryptoRandom.id()}`;
  const tokenId = tokenIdFor(requestId);
  const now = new Date();
  const expiresAt = new Date(now.getTime() + 30 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const atlassian = new AtlassianClient({
    apiBaseUrl: fakeUrl(),
    siteBaseUrl: fakeUrl(),
    orgApiKey: async () => ORG_KEY,
    sleep: async () => {},
  });
  const minted = await atlassian.mintToken(ATLASSIAN_ID, {
    label: mintLabel(tokenId, 1),
    scopes: ['read:jira-work'],
    expiry: new Date(expiresAt),
  });
  secretsNeverShown.push(minted.token, minted.id);
  const token: StoredToken = {
    tokenId,
    requestId,
    serviceAccount: 'jenkins-bot',
    name,
    owner,
    secretName: secretNameFor('jenkins-bot', name),
    secretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretNameFor('jenkins-bot', name)}-AbCdEf`,
    status,
    scopes: ['read:jira-work'],
    lifetimeDays: 30,
    consumers: ['arn:aws:iam::000000000000:role/jenkins'],
    expiresAt,
    generation: 1,
    createdAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(status === 'ACTIVE' ? { nextRotationAt: new Date(now.getTime() + 23 * 86_400_000).toISOString() } : {}),
    generations: [
      {
        generation: 1,
        label: mintLabel(tokenId, 1),
        atlassianTokenId: minted.id,
        expiresAt,
        versionId: secretVersionId(tokenId, 1),
        mintedAt: now.toISOString(),
      },
    ],
    correlationId: requestId,
    version: 1,
  };
  if (!(await store.createToken(token))) throw new Error('seed token exists');
  return tokenId;
}

/**
 * Members' personal tokens at the fake (alice's demo one, bob's two while his policy allows tokens, an exempt
 * member's, the admin's own, and one of alice's that is deleted between two scans), recorded by two real scans;
 * one of bob's revoked by an admin; genuine page tokens of each listing partition.
 */
async function seedPersonalTokens(): Promise<void> {
  const admin = { email: EMAILS.admin, groups: [ADMIN_GROUP] };
  const send = async (routeKey: string, extra: Partial<ApiEvent> = {}, who: Record<string, unknown> = admin) => {
    const res = await api.personal({ ...apiEvent({ routeKey, claims: who }), ...extra } as ApiEvent, lambdaContext);
    if (res.statusCode >= 300) throw new Error(`seed ${routeKey} answered ${res.statusCode}: ${res.body}`);
    return JSON.parse(res.body);
  };
  const create = async (owner: string[], email: string, label: string, extra: Record<string, unknown> = {}) => {
    const created = await createPersonalTokenAt(fakeUrl(), { email, label, ...extra });
    secretsNeverShown.push(created.token);
    owner.push(created.id);
    return created.id;
  };
  const alicesDemo = fake.personalTokens().find((t) => t.label === 'my laptop scripts');
  if (!alicesDemo) throw new Error('the demo seed has no personal token of alice');
  personal.ids.alice.push(alicesDemo.id);
  await movePolicyMemberAt(fakeUrl(), 'policy-allow', EMAILS.bob);
  await create(personal.ids.bob, EMAILS.bob, 'bob ci', { scopes: ['read:jira-work'], expiresInDays: 30 });
  const bobsLaptop = await create(personal.ids.bob, EMAILS.bob, 'bob laptop');
  await create(personal.ids.others, EMAILS.approver1, 'break glass', { createdDaysAgo: 5 });
  await create(personal.ids.others, EMAILS.admin, 'admin cli', { createdDaysAgo: 3 });
  const deleted = await create(personal.ids.alice, EMAILS.alice, 'old script', { createdDaysAgo: 10 });
  personal.governed.push(...fake.tokens().map((t) => t.id));
  for (let round = 0; round < 2; round++) {
    const { scanId } = await send('POST /inventory/scan');
    await finishScan(scanId);
    personal.scans.push(scanId);
    const owner = fake.personalTokens().find((t) => t.id === deleted)?.accountId ?? '';
    if (round === 0) fake.state.revoke(owner, deleted, new Date());
  }
  await send('POST /inventory/personal-tokens/{atlassianTokenId}/revoke', {
    pathParameters: { atlassianTokenId: bobsLaptop },
  });
  const page = async (partition: string, routeKey: string, query: Record<string, string>, who = admin) => {
    const body = await send(routeKey, { queryStringParameters: { ...query, limit: '1' } }, who);
    if (typeof body.nextToken !== 'string') throw new Error(`no second page of ${routeKey} ${JSON.stringify(query)}`);
    personal.pages.push({ partition, token: body.nextToken });
  };
  await page('PERSONAL_TOKEN', 'GET /inventory/personal-tokens', {});
  await page('PERSONAL_TOKEN', 'GET /inventory/personal-tokens', { state: 'OPEN' });
  await page(`PTOWNER#${EMAILS.bob}`, 'GET /inventory/personal-tokens', { owner: EMAILS.bob });
  await page(`PTOWNER#${EMAILS.alice}`, 'GET /me/personal-tokens', {}, { email: EMAILS.alice, groups: [] });
}

let exceptionsSeeded = 0;
/** An exception of `member` in `status`; a pending one with a sealed approval task token, as the workflow stores it. */
async function seedException(member: string, status: StoredException['status'], days = 7): Promise<string> {
  const exceptionId = `exc_${cryptoRandom.id()}`;
  const taskToken = status === 'PENDING_APPROVAL' ? `exception-task-token-${exceptionId}` : undefined;
  await seedAccessException(store, {
    policy: loadPolicy(),
    member,
    status,
    exceptionId,
    // A few days ago, a minute apart, so an active one still runs.
    createdAt: new Date(Date.now() - 2 * 86_400_000 + exceptionsSeeded++ * 60_000),
    days,
    ...(taskToken ? { taskToken, linkKey: Buffer.from(LINK_KEY, 'utf8') } : {}),
  });
  exc.owners.set(exceptionId, member);
  exc.latest.set(`${member} ${status}`, exceptionId);
  if (taskToken) {
    exc.taskTokens.set(exceptionId, taskToken);
    secretsNeverShown.push(taskToken);
  }
  if (['PENDING_APPROVAL', 'APPROVED', 'ACTIVE'].includes(status)) exc.live.add(member);
  return exceptionId;
}

/** Exceptions of alice, bob, others and the admin in every status, and genuine page tokens of both listings. */
async function seedExceptions(): Promise<void> {
  await seedException(EMAILS.alice, 'ENDED', 1);
  await seedException(EMAILS.alice, 'PENDING_APPROVAL');
  await seedException(EMAILS.bob, 'REJECTED');
  await seedException(EMAILS.bob, 'ACTIVE');
  await seedException('carol@example.com', 'PENDING_APPROVAL');
  await seedException('dave@example.com', 'APPROVED');
  await seedException('erin@example.com', 'EXPIRED');
  await seedException('erin@example.com', 'FAILED');
  await seedException('frank@example.com', 'ACTIVE', 30);
  await seedException(EMAILS.admin, 'ENDED', 1);
  const page = async (partition: string, who: Record<string, unknown>) => {
    const res = await api.exceptions(
      apiEvent({ routeKey: 'GET /access-exceptions', claims: who, query: { limit: '1' } }),
      lambdaContext,
    );
    const body = JSON.parse(res.body) as { nextToken?: unknown };
    if (res.statusCode !== 200 || typeof body.nextToken !== 'string') throw new Error(`no second page: ${res.body}`);
    exc.pages.push({ partition, token: body.nextToken });
  };
  await page('ACCESS_EXCEPTION', { email: EMAILS.admin, groups: [ADMIN_GROUP] });
  await page(`EXCMEMBER#${EMAILS.alice}`, { email: EMAILS.alice, groups: [] });
  await page(`EXCMEMBER#${EMAILS.bob}`, { email: EMAILS.bob, groups: [] });
}

/** What the console routes' seed created: exception approvals (requests' ones are in `seeded.links`). */
const consoleSeed = {
  /** The approver of each exception approval. */
  exceptionApprovals: new Map<string, string>(),
  /** The clear task token of each exception behind one. */
  taskTokens: new Map<string, string>(),
  /** Requests and exceptions seeded since, to decide again. */
  reseeded: 0,
};

/**
 * A pending exception of a member no other case uses, with its approval created by the workflow's step (the
 * exception approver's, decidable in the console).
 */
async function seedExceptionApproval(): Promise<void> {
  const exceptionId = `exc_${cryptoRandom.id()}`;
  const taskToken = `exception-task-token-${exceptionId}`;
  await seedAccessException(store, {
    policy: loadPolicy(),
    member: `console-member${consoleSeed.reseeded++}@example.com`,
    status: 'PENDING_APPROVAL',
    exceptionId,
    createdAt: new Date(),
    taskToken,
    linkKey: Buffer.from(LINK_KEY, 'utf8'),
  });
  await requestApproval({ exceptionId, taskToken }, lambdaContext);
  consoleSeed.exceptionApprovals.set(approvalIdFor(exceptionId, EXCEPTION_APPROVER), EXCEPTION_APPROVER);
  consoleSeed.taskTokens.set(exceptionId, taskToken);
  secretsNeverShown.push(taskToken);
}

let requestApproval: Task;
let notifier: (event: ReturnType<typeof notifierEventOf>, context: typeof lambdaContext) => Promise<SQSBatchResponse>;
const fakeUrl = () => `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;

beforeAll(async () => {
  dynamo = await startDynamo();
  fake = createFakeAtlassian({ now: () => new Date(), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  fakeServer = await fake.listen(0);
  await setHandlerEnvironment(dynamo, {
    // Every accepted request stays pending: room for them all under the per-member limit (its own suite tests it).
    // Personal tokens: one member exempt (EXEMPT records), and Atlassian calls unpaced (the revoke route calls it).
    POLICY_FILE: policyFileWith({
      maxPendingRequestsPerMember: 1000,
      atlassianRequestsPerSecond: 1000,
      personalTokens: {
        mode: 'report',
        revokeAfterDays: 14,
        staleAfterDays: 90,
        maxLifetimeDays: 90,
        exemptUsers: [EMAILS.approver1],
        maxRevocationsPerScan: 50,
        exceptions: { approvers: [EXCEPTION_APPROVER], approvalsRequired: 1, maxDays: 30 },
      },
    }),
    LINK_SIGNING_SECRET_ID: LINK_KEY_ID,
    ORG_API_KEY_SECRET_ID: ORG_KEY_ID,
    ATLASSIAN_API_BASE_URL: fakeUrl(),
    ATLASSIAN_SITE_BASE_URL: fakeUrl(),
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/scheduler',
    SCHEDULE_GROUP_NAME: 'token-warden',
  });
  installMocks();
  api.requests = (await import('../../../functions/api/token-requests')).handler;
  api.tokens = (await import('../../../functions/api/tokens')).handler;
  api.approvals = (await import('../../../functions/api/approvals')).handler;
  api.admin = (await import('../../../functions/api/admin')).handler;
  api.health = (await import('../../../functions/api/health')).handler;
  api.personal = (await import('../../../functions/api/personal-tokens')).handler;
  api.exceptions = (await import('../../../functions/api/access-exceptions')).handler;
  api.console = (await import('../../../functions/api/console')).handler;
  const { runScan } = await import('../../../functions/use-cases/personal-tokens');
  const { personalTokenDeps } = await import('../../../functions/composition/deps');
  finishScan = async (scanId) => {
    const { scan } = await runScan(personalTokenDeps(), scanId);
    if (scan.status !== 'COMPLETE') throw new Error(`scan ${scanId} ended ${scan.status}: ${scan.error ?? ''}`);
  };
  requestApproval = (await import('../../../functions/workflow/request-approval')).handler;
  notifier = (await import('../../../functions/events/notifier')).handler as unknown as typeof notifier;
  store = createRecordStore(dynamo.doc, dynamo.tableName);

  seeded.requests.alice.push(await seedRequest(EMAILS.alice, 'seed-alice-1', true));
  seeded.requests.alice.push(await seedRequest(EMAILS.alice, 'seed-alice-2', false));
  seeded.requests.bob.push(await seedRequest(EMAILS.bob, 'seed-bob-1', true));
  seeded.tokens.alice.push(await seedToken(EMAILS.alice, 'tok-alice-1', 'ACTIVE'));
  seeded.tokens.alice.push(await seedToken(EMAILS.alice, 'tok-alice-2', 'REVOKED'));
  seeded.tokens.bob.push(await seedToken(EMAILS.bob, 'tok-bob-1', 'ACTIVE'));
  seeded.tokens.bob.push(await seedToken(EMAILS.bob, 'tok-bob-2', 'ACTIVE'));
  await store.putDriftReport({ generatedAt: new Date().toISOString(), findings: [] });
  await seedPersonalTokens();
  await seedExceptions();
  await seedExceptionApproval();
  if (seeded.links.length < 4) throw new Error(`expected 4 approval links, got ${seeded.links.length}`);
}, 60_000);

afterAll(async () => {
  console.log(
    [
      `http-fuzz: ${tally.total.inputs} inputs, ${tally.total.fiveXX} 5xx (numRuns ${RUNS} per property)`,
      ...tally.lines(),
    ].join('\n'),
  );
  await new Promise((r) => fakeServer.close(r));
  await dynamo.close();
});

afterEach(() => {
  // Whatever ran, nothing may have been added to every object.
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
});

// ---------------------------------------------------------------- generators of route inputs

const allRequestIds = () => [...seeded.requests.alice, ...seeded.requests.bob];
const allTokenIds = () => [...seeded.tokens.alice, ...seeded.tokens.bob];

/** Path/query ids: genuine ones of several owners, well-formed unknown ones, traversal, NUL, huge, junk. */
function idParam(
  prefix: 'req' | 'tok' | 'apv' | 'scan' | 'exc',
  genuine: () => string[],
): fc.Arbitrary<string | undefined> {
  const shape = new RegExp(`^${prefix}_[a-z2-7]{26}$`);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constant(null)
        .map(() => genuine())
        .chain((ids) => fc.constantFrom(...ids)),
    },
    { weight: 2, arbitrary: fc.stringMatching(shape) },
    {
      weight: 2,
      arbitrary: fc
        .constant(null)
        .map(() => genuine())
        .chain((ids) =>
          fc
            .constantFrom(...ids)
            .chain((id) =>
              fc.constantFrom(
                `${id}/../x`,
                `../${id}`,
                id.toUpperCase(),
                `${id}\u0000`,
                ` ${id}`,
                `${id}%00`,
                `${id}#`,
                id.slice(0, -1),
                `${id}a`,
                id.replace(/^[a-z]+_/, ''),
                id.replace(/^[a-z]+_/, prefix === 'req' ? 'tok_' : 'req_'),
                encodeURIComponent(`${id}/`),
              ),
            ),
        ),
    },
    { weight: 2, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(undefined, '', `${prefix}_`, `${prefix}_${'a'.repeat(100_000)}`) },
  );
}

const junkBody = fc.record({
  body: fc.option(fc.oneof(jsonBodyText({ x: 1 }, 'x'), weirdString(100)), { nil: undefined }),
  encoding: bodyEncoding,
  contentType,
});

// ---------------------------------------------------------------- the generic runner

interface RouteCase {
  route: string;
  handler: () => Api;
  kind: 'json' | 'html';
  /** Routes that refuse members (403). */
  adminOnly?: boolean;
  /** Routes whose request carries a body the handler reads. */
  readsBody?: boolean;
  authenticated: boolean;
  /** Field names the route may report besides the body's own top-level keys. */
  fields: string[];
  events: fc.Arbitrary<FuzzEvent>;
  /** Known-interesting inputs, tried before the random ones. */
  examples?: () => FuzzEvent[];
  /** Extra contract checks of a 2xx answer. */
  onSuccess?: (event: FuzzEvent, body: unknown) => string | undefined;
  /** Extra contract checks of every answer (its status and parsed body). */
  onAnswer?: (event: FuzzEvent, status: number, body: unknown) => string | undefined;
  /** Checks that need the world after a 2xx answer (and put back what the next input needs). */
  after?: (event: FuzzEvent, body: unknown) => Promise<string | undefined>;
  /** Field names this event may report besides {@link fields} (the query parameters it sent). */
  fieldsOf?: (event: FuzzEvent) => string[];
  /** Leave the shared rate limiter's item out of the "a refusal changes nothing" comparison (see its case). */
  exceptRateLimiter?: boolean;
  runs?: number;
}

const COMMON_FIELDS = ['authorization', 'content-type', 'Content-Type', 'Idempotency-Key', 'limit', 'nextToken'];

/** A 2xx record must be the caller's own unless the caller may be an admin. */
function ownedBy(key: 'requester' | 'owner' | 'member') {
  return (event: FuzzEvent, body: unknown): string | undefined => {
    if (isAdminCaller(event)) return undefined;
    const email = typeof event.claims?.email === 'string' ? event.claims.email.toLowerCase() : undefined;
    const records =
      typeof body === 'object' && body !== null && 'items' in body
        ? ((body as { items: Record<string, unknown>[] }).items ?? [])
        : [body as Record<string, unknown>];
    const foreign = records.find((r) => r?.[key] !== email);
    return foreign ? `a member saw ${key} ${String(foreign[key])} as ${String(email)}` : undefined;
  };
}

async function runCase(rc: RouteCase): Promise<void> {
  await fc.assert(
    fc.asyncProperty(rc.events, async (spec) => {
      const event = fuzzEvent(spec);
      const isGet = rc.route.startsWith('GET ');
      const mutating = !isGet;
      resetHistories();
      const before = await snapshot({ exceptRateLimiter: rc.exceptRateLimiter });
      let result: ApiResult;
      try {
        result = await rc.handler()(event, lambdaContext);
      } catch (error) {
        tally.add(rc.route, 599);
        throw new Error(`handler threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
      tally.add(rc.route, result.statusCode);
      const status = result.statusCode;

      const keys = rc.readsBody
        ? topLevelKeys(event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString() : event.body)
        : [];
      const shape =
        rc.kind === 'json'
          ? checkJsonAnswer(result, new Set([...COMMON_FIELDS, ...rc.fields, ...keys, ...(rc.fieldsOf?.(spec) ?? [])]))
          : checkHtmlAnswer(result);
      if (shape) throw new Error(`bad answer (${shape}): ${status} ${result.body.slice(0, 300)}`);
      const leak = leaksInternals(result.body, secretsNeverShown);
      if (leak) throw new Error(`answer leaks ${leak}: ${result.body.slice(0, 300)}`);
      if (rc.kind === 'html' && /<script/i.test(result.body)) throw new Error('page carries a <script>');

      const code = rc.kind === 'json' && status >= 400 ? JSON.parse(result.body).error.code : undefined;
      const who = callerClaims(spec);
      const admin = isAdminCaller(spec);
      const unverified = emailUnverified(who);
      const plainEmail =
        typeof who?.email === 'string' &&
        who.email.length <= 254 &&
        /^[a-z0-9.]+@example\.com$/.test(who.email) &&
        !unverified;
      if (rc.authenticated) {
        const email = who?.email;
        if (typeof email !== 'string' && (status !== 401 || code !== 'UNAUTHORIZED')) {
          throw new Error(`no string email claim but ${status} ${code ?? ''}`);
        }
        if (typeof email === 'string' && /[^\x21-\x7e]/.test(email) && (status !== 401 || code !== 'UNAUTHORIZED')) {
          throw new Error(`an email claim that is not plain ASCII (${JSON.stringify(email)}) got ${status}`);
        }
        if (unverified && (status !== 401 || code !== 'UNAUTHORIZED')) {
          throw new Error(`email_verified ${JSON.stringify(who?.email_verified)} but ${status} ${code ?? ''}`);
        }
        if (plainEmail && status === 401) {
          throw new Error(`a plain email claim ${email} was refused as unauthenticated`);
        }
      }
      if (rc.adminOnly && status < 400 && !admin) {
        throw new Error(`a caller without the admin group got ${status} on an admin route`);
      }
      if (rc.adminOnly && plainEmail && !admin && status !== 403) {
        throw new Error(`a member on an admin route got ${status}, not 403`);
      }
      if (rc.adminOnly && plainEmail && admin && status === 403) {
        throw new Error(`an admin (groups ${JSON.stringify(who?.groups)}) was refused with 403`);
      }
      if (rc.readsBody && bodyBytes(event) > BODY_LIMIT && status !== 413 && status !== 415 && status !== 401) {
        const refusedEarlier = rc.adminOnly && (status === 403 || status === 404);
        if (!refusedEarlier) throw new Error(`a ${bodyBytes(event)}-byte body answered ${status}, not 413`);
      }
      if (status < 300 && rc.onSuccess) {
        const problem = rc.onSuccess({ ...spec, claims: who }, JSON.parse(result.body));
        if (problem) throw new Error(problem);
      }
      if (rc.kind === 'json' && rc.onAnswer) {
        const problem = rc.onAnswer(spec, status, JSON.parse(result.body));
        if (problem) throw new Error(`${status} ${result.body.slice(0, 300)}: ${problem}`);
      }

      if (status >= 400 || isGet) {
        const effects = sideEffectCalls();
        if (effects.length > 0) throw new Error(`${status} answer but side effects: ${effects.join(', ')}`);
        const after = await snapshot({ exceptRateLimiter: rc.exceptRateLimiter });
        if (after !== before) {
          throw new Error(`${status} answer ${mutating ? 'to a refused request' : 'to a GET'} changed stored state`);
        }
      }
      if (status < 300 && rc.after) {
        const problem = await rc.after(spec, JSON.parse(result.body));
        if (problem) throw new Error(`${status} ${result.body.slice(0, 300)}: ${problem}`);
      }
      return true;
    }),
    { numRuns: rc.runs ?? RUNS, examples: (rc.examples?.() ?? []).map((e) => [e] as [FuzzEvent]) },
  );
}

// ---------------------------------------------------------------- routes

const withAuthorizer: fc.Arbitrary<FuzzEvent['withAuthorizer']> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<FuzzEvent['withAuthorizer']>(true) },
  { weight: 1, arbitrary: fc.constant<FuzzEvent['withAuthorizer']>('claims-only') },
  { weight: 1, arbitrary: fc.constant<FuzzEvent['withAuthorizer']>(false) },
);
/** The route's own pieces, plus the caller's claims (and, rarely, no authorizer context at all). */
function authed<T extends object>(rest: { [K in keyof T]: fc.Arbitrary<T[K]> }) {
  return fc
    .tuple(fc.record(rest), claims, withAuthorizer)
    .map(([r, c, w]) => ({ ...(r as T), claims: c, withAuthorizer: w }));
}

const requestPartitions = () => [
  { attr: 'gsi1pk', value: `REQUESTER#${EMAILS.alice}` },
  { attr: 'gsi1pk', value: `REQUESTER#${EMAILS.bob}` },
  { attr: 'gsi1pk', value: `OWNER#${EMAILS.alice}` },
  { attr: 'kind', value: 'REQUEST' },
  { attr: 'kind', value: 'TOKEN' },
];
const tokenPartitions = () => [
  { attr: 'gsi1pk', value: `OWNER#${EMAILS.alice}` },
  { attr: 'gsi1pk', value: `OWNER#${EMAILS.bob}` },
  { attr: 'gsi1pk', value: `REQUESTER#${EMAILS.alice}` },
  { attr: 'kind', value: 'TOKEN' },
];

/** A member's list call with a nextToken forged from their own partition (see the reproducers at the end). */
const forgedPage = (routeKey: string, key: Record<string, string>): FuzzEvent => ({
  routeKey,
  claims: { email: EMAILS.bob, groups: [] },
  withAuthorizer: true,
  query: { nextToken: Buffer.from(JSON.stringify(key)).toString('base64url') },
});

// The governed listings' filters (product.md, GET /tokens and GET /token-requests), written out.
const TOKEN_STATUSES = ['ACTIVE', 'ROTATING', 'REVOKED', 'EXPIRED'];
const REQUEST_STATUSES = ['PENDING_APPROVAL', 'APPROVED', 'ISSUED', 'REJECTED', 'EXPIRED', 'FAILED'];
/** Well-formed aliases: the seeded one, one the policy does not list, and the pattern's edges. */
const LIST_ACCOUNTS = ['jenkins-bot', 'retired-bot', 'a', 'A_b-9', 'x'.repeat(64)];
/** Person filters that are plain email addresses (in any case, padded): never refused as values. */
const LIST_PEOPLE = [
  EMAILS.alice,
  EMAILS.bob,
  EMAILS.admin,
  'nobody@example.com',
  'BOB@Example.COM',
  ` ${EMAILS.alice} `,
];

const maybe = (values: string[], near: string[], junk: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom<string | undefined>(undefined, undefined, undefined, ...values) },
    { weight: 1, arbitrary: fc.constantFrom(...near) },
    { weight: 1, arbitrary: junk },
  );
const listExtraParams: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 2,
    arbitrary: fc.dictionary(
      fc.oneof(
        fc.constantFrom('Status', 'state', 'owner ', 'service_account', 'serviceaccount', 'page', 'cursor', 'sort'),
        fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
        weirdString(8),
      ),
      weirdString(20),
      { minKeys: 1, maxKeys: 2 },
    ),
  },
);

/**
 * A governed listing's contract: unknown parameters refused by name; invalid filter values refused on their name; a
 * member naming anyone but themselves refused with 403 on the person parameter; a valid listing never refused; every
 * item answered matches the filters, a member's only their own, and no page holds more than `limit`.
 */
function governedListing(route: 'GET /tokens' | 'GET /token-requests') {
  const person = route === 'GET /tokens' ? 'owner' : 'requester';
  const statuses = route === 'GET /tokens' ? TOKEN_STATUSES : REQUEST_STATUSES;
  const known = ['status', 'serviceAccount', person, 'limit', 'nextToken'];
  const unknownOf = (spec: FuzzEvent) =>
    Object.entries(spec.query ?? {})
      .filter(([k, v]) => v !== undefined && !known.includes(k))
      .map(([k]) => k);
  const onAnswer = (spec: FuzzEvent, status: number, body: unknown): string | undefined => {
    const error = (body as { error?: { code?: string; field?: string } }).error;
    const unknown = unknownOf(spec);
    if (unknown.length > 0 && status !== 401) {
      if (status !== 400 || error?.code !== 'VALIDATION_ERROR' || !unknown.includes(error.field ?? '')) {
        return `unknown parameters ${JSON.stringify(unknown)} were not refused by name`;
      }
    }
    const q = spec.query ?? {};
    const caller = plainCaller(spec);
    const named = q[person] === undefined ? undefined : q[person].trim().toLowerCase();
    const valuesValid =
      unknown.length === 0 &&
      (q.status === undefined || statuses.includes(q.status)) &&
      (q.serviceAccount === undefined || LIST_ACCOUNTS.includes(q.serviceAccount)) &&
      (q[person] === undefined || LIST_PEOPLE.includes(q[person])) &&
      (q.limit === undefined || /^(?:[1-9]\d?|100)$/.test(q.limit)) &&
      q.nextToken === undefined;
    if (valuesValid && caller !== undefined) {
      const foreign = !isAdminCaller(spec) && named !== undefined && named !== caller;
      if (foreign && (status !== 403 || error?.code !== 'FORBIDDEN' || error.field !== person)) {
        return `a member naming ${person} ${named} got ${status}, not 403 on ${person}`;
      }
      if (!foreign && status !== 200) return 'a valid listing was refused';
    }
    if (status !== 200) return undefined;
    const page = body as { items?: Record<string, unknown>[] };
    if (!Array.isArray(page.items)) return 'a listing without items';
    const limit = q.limit === undefined ? 50 : Number(q.limit);
    if (page.items.length > limit) return `${page.items.length} items for limit ${limit}`;
    const whose = isAdminCaller(spec) ? named : validEmailOf(callerClaims(spec));
    for (const item of page.items) {
      if (whose !== undefined && item[person] !== whose) return `${person} ${String(item[person])} listed for ${whose}`;
      if (q.status !== undefined && item.status !== q.status)
        return `a ${String(item.status)} item for status=${q.status}`;
      if (q.serviceAccount !== undefined && item.serviceAccount !== q.serviceAccount) {
        return `an item of ${String(item.serviceAccount)} for serviceAccount=${q.serviceAccount}`;
      }
    }
    return undefined;
  };
  return {
    fields: known,
    fieldsOf: unknownOf,
    onAnswer,
    query: {
      extra: listExtraParams,
      status: maybe(statuses, ['active', ' ACTIVE', 'ACTIVE,REVOKED', 'PENDING', 'CANCELLED', ''], weirdString(12)),
      serviceAccount: maybe(
        LIST_ACCOUNTS,
        ['jenkins bot', 'jenkins.bot', '../jenkins-bot', 'x'.repeat(65), '', '*'],
        weirdString(20),
      ),
      person: maybe(
        LIST_PEOPLE,
        ['', '   ', 'bob', '@', 'a@b@c', `OWNER#${EMAILS.bob}`, `${EMAILS.alice}\u0000`, '\ud800@example.com'],
        weirdString(40),
      ),
      limit: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(undefined, undefined, '1', '2', '50', '100') },
        { weight: 1, arbitrary: limitParam },
      ),
      // Mostly none, so that the filters behind it are reached (the forged-token cases below try hostile ones).
      next: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: nextTokenParam }),
    },
  };
}
const tokenListing = governedListing('GET /tokens');
const requestListing = governedListing('GET /token-requests');

const cases: RouteCase[] = [
  {
    route: 'POST /token-requests',
    handler: () => api.requests,
    kind: 'json',
    readsBody: true,
    authenticated: true,
    fields: Object.keys(VALID_CREATE).concat('consumers'),
    events: authed({
      body: jsonBodyText(VALID_CREATE, 'justification', PLAUSIBLE_CREATE),
      encoding: bodyEncoding,
      ct: contentType,
      key: idempotencyKey,
    }).map(({ claims: c, withAuthorizer, body, encoding, ct, key }) => ({
      routeKey: 'POST /token-requests',
      claims: c,
      withAuthorizer,
      body,
      encoding,
      headers: { 'content-type': ct, 'idempotency-key': key },
    })),
    onSuccess: (event, body) => ownedBy('requester')({ ...event, claims: { ...event.claims, groups: [] } }, body),
  },
  {
    route: 'GET /token-requests',
    handler: () => api.requests,
    kind: 'json',
    authenticated: true,
    fields: requestListing.fields,
    fieldsOf: requestListing.fieldsOf,
    events: authed({ ...requestListing.query, junk: junkBody }).map(
      ({ claims: c, withAuthorizer, extra, status, serviceAccount, person, limit, next, junk }) => ({
        routeKey: 'GET /token-requests',
        claims: c,
        withAuthorizer,
        query: { ...extra, status, serviceAccount, requester: person, limit, nextToken: next },
        body: junk.body,
        encoding: junk.encoding,
        headers: { 'content-type': junk.contentType },
      }),
    ),
    onSuccess: ownedBy('requester'),
    onAnswer: requestListing.onAnswer,
  },
  {
    route: 'GET /token-requests/{requestId}',
    handler: () => api.requests,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: authed({ id: idParam('req', allRequestIds) }).map(({ claims: c, withAuthorizer, id }) => ({
      routeKey: 'GET /token-requests/{requestId}',
      claims: c,
      withAuthorizer,
      pathParameters: { requestId: id },
    })),
    onSuccess: ownedBy('requester'),
  },
  {
    route: 'POST /token-requests/{requestId}/cancel',
    handler: () => api.requests,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: authed({ id: idParam('req', allRequestIds), junk: junkBody }).map(
      ({ claims: c, withAuthorizer, id, junk }) => ({
        routeKey: 'POST /token-requests/{requestId}/cancel',
        claims: c,
        withAuthorizer,
        pathParameters: { requestId: id },
        body: junk.body,
        encoding: junk.encoding,
        headers: { 'content-type': junk.contentType },
      }),
    ),
    onSuccess: ownedBy('requester'),
  },
  {
    route: 'GET /tokens',
    handler: () => api.tokens,
    kind: 'json',
    authenticated: true,
    fields: tokenListing.fields,
    fieldsOf: tokenListing.fieldsOf,
    events: authed(tokenListing.query).map(
      ({ claims: c, withAuthorizer, extra, status, serviceAccount, person, limit, next }) => ({
        routeKey: 'GET /tokens',
        claims: c,
        withAuthorizer,
        query: { ...extra, status, serviceAccount, owner: person, limit, nextToken: next },
      }),
    ),
    onSuccess: ownedBy('owner'),
    onAnswer: tokenListing.onAnswer,
  },
  {
    route: 'GET /tokens/{tokenId}',
    handler: () => api.tokens,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: authed({ id: idParam('tok', allTokenIds) }).map(({ claims: c, withAuthorizer, id }) => ({
      routeKey: 'GET /tokens/{tokenId}',
      claims: c,
      withAuthorizer,
      pathParameters: { tokenId: id },
    })),
    onSuccess: ownedBy('owner'),
  },
  {
    route: 'POST /tokens/{tokenId}/rotate',
    handler: () => api.tokens,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: authed({ id: idParam('tok', allTokenIds), junk: junkBody }).map(
      ({ claims: c, withAuthorizer, id, junk }) => ({
        routeKey: 'POST /tokens/{tokenId}/rotate',
        claims: c,
        withAuthorizer,
        pathParameters: { tokenId: id },
        body: junk.body,
        encoding: junk.encoding,
        headers: { 'content-type': junk.contentType },
      }),
    ),
    onSuccess: ownedBy('owner'),
  },
  {
    route: 'POST /tokens/{tokenId}/revoke',
    handler: () => api.tokens,
    kind: 'json',
    adminOnly: true,
    readsBody: true,
    authenticated: true,
    fields: ['reason'],
    events: authed({
      id: idParam('tok', allTokenIds),
      body: jsonBodyText({ reason: 'leaked in a build log' }, 'reason', {
        reason: j(
          fc.oneof(
            hostileString,
            fc.string({ maxLength: 600 }),
            fc.constantFrom('   ', 'x'.repeat(500), 'x'.repeat(501), ` ${'x'.repeat(500)} `, '😀'.repeat(300)),
          ),
        ),
      }),
      encoding: bodyEncoding,
      ct: contentType,
    }).map(({ claims: c, withAuthorizer, id, body, encoding, ct }) => ({
      routeKey: 'POST /tokens/{tokenId}/revoke',
      claims: c,
      withAuthorizer,
      pathParameters: { tokenId: id },
      body,
      encoding,
      headers: { 'content-type': ct },
    })),
  },
  {
    route: 'GET /audit',
    handler: () => api.admin,
    kind: 'json',
    adminOnly: true,
    authenticated: true,
    fields: ['requestId', 'tokenId'],
    events: authed({ requestId: idParam('req', allRequestIds), tokenId: idParam('tok', allTokenIds) }).map(
      ({ claims: c, withAuthorizer, requestId, tokenId }) => ({
        routeKey: 'GET /audit',
        claims: c,
        withAuthorizer,
        query: { requestId, tokenId },
      }),
    ),
  },
  {
    route: 'GET /inventory/drift',
    handler: () => api.admin,
    kind: 'json',
    adminOnly: true,
    authenticated: true,
    fields: [],
    events: authed({ q: fc.dictionary(weirdString(10), weirdString(20), { maxKeys: 3 }) }).map(
      ({ claims: c, withAuthorizer, q }) => ({
        routeKey: 'GET /inventory/drift',
        claims: c,
        withAuthorizer,
        query: q,
      }),
    ),
  },
];

/** `sig` values: genuine ones of other links, tampered, expiry-shifted, truncated, junk. */
const sigParam = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null).chain(() => fc.constantFrom(...seeded.links.map((l) => l.sig))) },
  {
    weight: 3,
    arbitrary: fc.constant(null).chain(() =>
      fc.constantFrom(...seeded.links.map((l) => l.sig)).chain((sig) =>
        fc.constantFrom(
          sig.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
          sig.replace(/^\d+/, (d) => String(Number(d) + 1)),
          sig.replace(/^\d+/, '99999999999'),
          sig.replace(/^\d+/, '0000000000'),
          sig.slice(0, -1),
          `${sig}=`,
          ` ${sig}`,
          sig.toUpperCase(),
          sig.split('.').reverse().join('.'),
          `${sig}\u0000`,
        ),
      ),
    ),
  },
  { weight: 2, arbitrary: fc.stringMatching(/^\d{9,11}\.[A-Za-z0-9_-]{43}$/) },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const approvalIds = () => seeded.links.map((l) => l.approvalId);

cases.push(
  {
    route: 'GET /approvals/{approvalId}',
    handler: () => api.approvals,
    kind: 'html',
    authenticated: false,
    fields: [],
    events: fc
      .record({
        id: idParam('apv', approvalIds),
        sig: sigParam,
        claims,
        withAuthorizer: fc.boolean(),
        extra: fc.dictionary(weirdString(8), weirdString(20), { maxKeys: 2 }),
      })
      // A genuine (id, sig) pair is a real link: it may show the form (200). Every other pairing must not decide.
      .filter(({ id, sig }) => !seeded.links.some((l) => l.approvalId === id && l.sig === sig))
      .map(({ id, sig, claims: c, withAuthorizer, extra }) => ({
        routeKey: 'GET /approvals/{approvalId}',
        claims: c,
        withAuthorizer,
        pathParameters: { approvalId: id },
        query: { ...extra, sig },
      })),
  },
  {
    route: 'POST /approvals/{approvalId}',
    handler: () => api.approvals,
    kind: 'html',
    readsBody: true,
    authenticated: false,
    fields: [],
    events: fc
      .record({
        id: idParam('apv', approvalIds),
        form: fc.oneof(
          {
            weight: 6,
            arbitrary: fc
              .record(
                {
                  decision: fc.oneof(fc.constantFrom('approve', 'reject', 'APPROVE', 'approve ', ''), weirdString(10)),
                  sig: sigParam,
                  csrf: fc.oneof(
                    fc.constantFrom('', 'x'.repeat(43), 'undefined', 'null'),
                    fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
                    weirdString(50),
                  ),
                },
                { requiredKeys: [] },
              )
              .chain((fields) =>
                fc.constantFrom(
                  new URLSearchParams(
                    Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined),
                  ).toString(),
                  // Duplicated fields: the first and the last value disagree.
                  `decision=reject&${new URLSearchParams(
                    Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined),
                  ).toString()}&decision=approve`,
                ),
              ),
          },
          { weight: 1, arbitrary: jsonBodyText({ decision: 'approve' }, 'decision') },
          { weight: 1, arbitrary: fc.constant(null).map(() => `decision=approve&csrf=${'x'.repeat(BODY_LIMIT)}`) },
          { weight: 1, arbitrary: weirdString(200) },
        ),
        encoding: fc.constantFrom<FuzzEvent['encoding']>('base64', 'base64', 'base64', 'text', 'base64-flag-on-text'),
        ct: formContentType,
        claims,
        withAuthorizer: fc.boolean(),
      })
      .map(({ id, form, encoding, ct, claims: c, withAuthorizer }) => ({
        routeKey: 'POST /approvals/{approvalId}',
        claims: c,
        withAuthorizer,
        pathParameters: { approvalId: id },
        body: form,
        encoding,
        headers: { 'content-type': ct },
      })),
  },
);

// ---------------------------------------------------------------- personal tokens

/** The contract's filter values (personal-tokens.md), written out rather than taken from the product. */
const PT_STATES = ['OPEN', 'EXEMPT', 'REVOKED', 'GONE'];
const PT_FLAGS = ['UNSCOPED', 'STALE', 'NEVER_USED', 'OVER_LIFETIME', 'UNAPPROVED_ACCESS'];
const PT_QUERY = ['state', 'flag', 'owner', 'limit', 'nextToken'];
/** Owner filters that are email addresses (in any case, padded): a listing by one of them is never refused. */
const PT_OWNERS = [
  EMAILS.alice,
  EMAILS.bob,
  EMAILS.admin,
  'security@example.com',
  'BOB@Example.COM',
  ` ${EMAILS.alice} `,
];
const PT_PARTITIONS = [
  { attr: 'kind', value: 'PERSONAL_TOKEN' },
  { attr: 'gsi1pk', value: `PTOWNER#${EMAILS.alice}` },
  { attr: 'gsi1pk', value: `PTOWNER#${EMAILS.bob}` },
  { attr: 'gsi1pk', value: `OWNER#${EMAILS.alice}` },
  { attr: 'kind', value: 'TOKEN' },
];
const allPersonalIds = () => [...personal.ids.alice, ...personal.ids.bob, ...personal.ids.others];
const later = (list: () => string[]) => fc.constant(null).chain(() => fc.constantFrom(...list()));

/** Path ids: every owner's genuine ones, governed tokens' and scans' ids, well-formed unknown ones, variants, junk. */
const personalTokenIdParam: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 4, arbitrary: later(allPersonalIds) },
  { weight: 1, arbitrary: later(() => personal.governed) },
  { weight: 1, arbitrary: later(() => personal.scans) },
  { weight: 2, arbitrary: fc.uuid() },
  {
    weight: 2,
    arbitrary: later(allPersonalIds).chain((id) =>
      fc.constantFrom(
        id.toUpperCase(),
        `${id}/../x`,
        `../${id}`,
        `${id}\u0000`,
        ` ${id}`,
        `${id}%00`,
        id.slice(0, -1),
        `${id}:`,
        `PT#${id}`,
        encodeURIComponent(`${id}/`),
      ),
    ),
  },
  { weight: 2, arbitrary: hostileString },
  {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, '', '.', '..', 'a'.repeat(128), 'a'.repeat(129), 'a'.repeat(100_000)),
  },
);

const ptStateParam = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(undefined, undefined, undefined, ...PT_STATES) },
  { weight: 1, arbitrary: fc.constantFrom('open', 'Open', ' OPEN', 'OPEN ', 'OPEN,EXEMPT', 'ACTIVE', 'DELETED', '') },
  { weight: 1, arbitrary: weirdString(12) },
);
const ptFlagParam = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(undefined, undefined, undefined, ...PT_FLAGS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('stale', 'STALE ', 'UNUSED', 'NEVER USED', 'UNSCOPED,STALE', 'UNSCOPED STALE', ''),
  },
  { weight: 1, arbitrary: weirdString(12) },
);
const ptOwnerParam = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(undefined, undefined, undefined, ...PT_OWNERS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '   ',
      'bob',
      '@',
      'a@',
      '@b',
      'a@b@c',
      'bob @example.com',
      `${'a'.repeat(250)}@example.com`,
      `PTOWNER#${EMAILS.bob}`,
      '*',
      `${EMAILS.alice}\u0000`,
      '\ud800@example.com',
    ),
  },
  { weight: 1, arbitrary: weirdString(40) },
);
/** A forged key with exactly the attributes of a listing's page token, in a listing partition. */
const ptForgedFullKey = fc
  .record({
    partition: fc.constantFrom(...PT_PARTITIONS),
    pk: fc.oneof(
      later(allPersonalIds).map((id) => `PT#${id}`),
      weirdString(30),
      fc.constantFrom('REQ#x', 'PT_SCAN_LOCK', 'x'.repeat(512)),
    ),
    sk: fc.constantFrom('PT', 'SCAN', 'LOCK', 'x'),
    sort: fc.oneof(weirdString(30), fc.constantFrom('2026-01-01T00:00:00Z#x', '~', '0')),
  })
  .map(({ partition, pk, sk, sort }) =>
    Buffer.from(
      JSON.stringify(
        partition.attr === 'kind'
          ? { pk, sk, kind: partition.value, kindSk: sort }
          : { pk, sk, gsi1pk: partition.value, gsi1sk: sort },
      ),
    ).toString('base64url'),
  );
const ptNextParam = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: nextTokenParam },
  { weight: 2, arbitrary: later(() => personal.pages.map((p) => p.token)) },
  { weight: 1, arbitrary: forgedNextToken(PT_PARTITIONS) },
  { weight: 1, arbitrary: ptForgedFullKey },
);
/** `limit`s, valid more often than not (so the filters behind it are reached), and the hostile ones. */
const ptLimitParam = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(undefined, undefined, '1', '2', '50', '100') },
  { weight: 1, arbitrary: limitParam },
);
/** Query parameters no listing knows: near misses of the real ones, other APIs' paging names, prototype keys. */
const ptExtraParams: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 2,
    arbitrary: fc.dictionary(
      fc.oneof(
        fc.constantFrom('State', 'status', 'owner ', 'FLAG', 'flags', 'page', 'cursor', 'pageSize', 'mine', 'limit[]'),
        fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty'),
        weirdString(8),
      ),
      weirdString(20),
      { minKeys: 1, maxKeys: 2 },
    ),
  },
);

/** The query parameters of `spec` that the listing does not know (`owner` included on the member's own listing). */
function ptUnknownParams(spec: FuzzEvent, scope: 'all' | 'mine'): string[] {
  return Object.entries(spec.query ?? {})
    .filter(([k, v]) => v !== undefined && (!PT_QUERY.includes(k) || (scope === 'mine' && k === 'owner')))
    .map(([k]) => k);
}

/** The caller's email when it is one the contract accepts beyond doubt (plain, verified); else undefined. */
function plainCaller(spec: FuzzEvent): string | undefined {
  const who = callerClaims(spec);
  const plain = typeof who?.email === 'string' && /^[a-z0-9.]+@example\.com$/.test(who.email) && !emailUnverified(who);
  return plain ? validEmailOf(who) : undefined;
}

/** What is wrong with a personal-token representation, if anything. */
function ptRecordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'a record is not an object';
  const r = value as Record<string, unknown>;
  const owner = r.owner as Record<string, unknown> | undefined;
  if (typeof r.atlassianTokenId !== 'string') return 'a record has no atlassianTokenId';
  if (typeof owner?.email !== 'string' || typeof owner.accountId !== 'string' || typeof owner.name !== 'string') {
    return `record ${r.atlassianTokenId} has no owner {accountId, email, name}`;
  }
  for (const key of ['label', 'createdAt', 'firstSeenAt', 'lastSeenAt']) {
    if (typeof r[key] !== 'string') return `record ${r.atlassianTokenId} has no ${key}`;
  }
  if (!Array.isArray(r.scopes) || typeof r.unscoped !== 'boolean') return `record ${r.atlassianTokenId}: scopes`;
  if (r.atlassianStatus !== 'ALLOWED' && r.atlassianStatus !== 'BLOCKED') return 'atlassianStatus not in the contract';
  if (!PT_STATES.includes(String(r.state))) return `state ${String(r.state)} not in the contract`;
  if (!Array.isArray(r.flags) || r.flags.some((f) => !PT_FLAGS.includes(f))) return 'flags not in the contract';
  const internal = Object.keys(r).filter((k) => ['version', 'noticeRound', 'pk', 'sk', 'gsi1pk', 'kind'].includes(k));
  if (internal.length > 0) return `record ${r.atlassianTokenId} shows ${internal.join(', ')}`;
  return undefined;
}

/**
 * A listing's contract: unknown parameters refused by name; a valid listing by a caller allowed to see it never
 * refused; every record answered matches the filters, and a member's own listing holds only the caller's records.
 */
function checkPersonalListing(spec: FuzzEvent, status: number, body: unknown, scope: 'all' | 'mine') {
  const unknown = ptUnknownParams(spec, scope);
  const error = (body as { error?: { code?: string; field?: string } }).error;
  if (unknown.length > 0 && status !== 401 && status !== 403) {
    if (status !== 400 || error?.code !== 'VALIDATION_ERROR' || !unknown.includes(error.field ?? '')) {
      return `unknown parameters ${JSON.stringify(unknown)} were not refused by name`;
    }
  }
  const q = spec.query ?? {};
  const caller = plainCaller(spec);
  const partition =
    scope === 'mine'
      ? `PTOWNER#${caller}`
      : q.owner === undefined
        ? 'PERSONAL_TOKEN'
        : `PTOWNER#${q.owner.trim().toLowerCase()}`;
  const valid =
    unknown.length === 0 &&
    (q.state === undefined || PT_STATES.includes(q.state)) &&
    (q.flag === undefined || PT_FLAGS.includes(q.flag)) &&
    (q.owner === undefined || PT_OWNERS.includes(q.owner)) &&
    (q.limit === undefined || /^(?:[1-9]\d?|100)$/.test(q.limit)) &&
    (q.nextToken === undefined || personal.pages.some((p) => p.token === q.nextToken && p.partition === partition));
  if (valid && caller !== undefined && (scope === 'mine' || isAdminCaller(spec)) && status !== 200) {
    return 'a valid listing was refused';
  }
  if (status !== 200) return undefined;
  // The product's own reading of the caller (any plain address, lower-cased): the owner of every record.
  const owner = scope === 'mine' ? validEmailOf(callerClaims(spec)) : q.owner?.trim().toLowerCase();
  if (scope === 'mine' && owner === undefined) return 'a caller without an email address got a listing';
  const page = body as { items?: unknown; scannedAt?: unknown };
  if (!Array.isArray(page.items)) return 'a listing without items';
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  if (page.items.length > limit) return `${page.items.length} items for limit ${limit}`;
  if (typeof page.scannedAt !== 'string') return 'no scannedAt although complete scans exist';
  for (const item of page.items as Record<string, unknown>[]) {
    const problem = ptRecordProblem(item);
    if (problem) return problem;
    const email = (item.owner as { email: string }).email;
    if (owner !== undefined && email !== owner) return `a record of ${email} in a listing of ${owner}'s`;
    if (q.state !== undefined && item.state !== q.state) return `a ${String(item.state)} record for state=${q.state}`;
    if (q.flag !== undefined && !(item.flags as string[]).includes(q.flag)) return `a record without flag ${q.flag}`;
  }
  return undefined;
}

function personalListingCase(route: 'GET /inventory/personal-tokens' | 'GET /me/personal-tokens'): RouteCase {
  const scope = route === 'GET /me/personal-tokens' ? 'mine' : 'all';
  const owner =
    scope === 'all' ? ptOwnerParam : fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, ptOwnerParam);
  return {
    route,
    handler: () => api.personal,
    kind: 'json',
    adminOnly: scope === 'all',
    authenticated: true,
    fields: PT_QUERY,
    fieldsOf: (spec) => ptUnknownParams(spec, scope),
    events: authed({
      extra: ptExtraParams,
      state: ptStateParam,
      flag: ptFlagParam,
      owner,
      limit: ptLimitParam,
      next: ptNextParam,
      junk: junkBody,
    }).map(({ claims: c, withAuthorizer, extra, state, flag, owner: o, limit, next, junk }) => ({
      routeKey: route,
      claims: c,
      withAuthorizer,
      query: { ...extra, state, flag, owner: o, limit, nextToken: next },
      body: junk.body,
      encoding: junk.encoding,
      headers: { 'content-type': junk.contentType },
    })),
    onAnswer: (spec, status, body) => checkPersonalListing(spec, status, body, scope),
  };
}

const PT_REVOKE = 'POST /inventory/personal-tokens/{atlassianTokenId}/revoke';

cases.push(
  personalListingCase('GET /inventory/personal-tokens'),
  personalListingCase('GET /me/personal-tokens'),
  {
    route: 'GET /inventory/personal-tokens/{atlassianTokenId}',
    handler: () => api.personal,
    kind: 'json',
    adminOnly: true,
    authenticated: true,
    fields: [],
    events: authed({ id: personalTokenIdParam }).map(({ claims: c, withAuthorizer, id }) => ({
      routeKey: 'GET /inventory/personal-tokens/{atlassianTokenId}',
      claims: c,
      withAuthorizer,
      pathParameters: { atlassianTokenId: id },
    })),
    onAnswer: (spec, status, body) => {
      const id = spec.pathParameters?.atlassianTokenId ?? '';
      if (plainCaller(spec) && isAdminCaller(spec) && allPersonalIds().includes(id) && status !== 200) {
        return 'an admin was refused a genuine record';
      }
      if (status !== 200) return undefined;
      if ((body as { atlassianTokenId?: unknown }).atlassianTokenId !== id) return 'another record than the one asked';
      return ptRecordProblem(body);
    },
  },
  {
    route: PT_REVOKE,
    handler: () => api.personal,
    kind: 'json',
    adminOnly: true,
    readsBody: true,
    authenticated: true,
    fields: ['reason'],
    events: authed({
      id: personalTokenIdParam,
      body: fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom(undefined, '{}', '{"reason":"leaked in a build log"}') },
        {
          weight: 3,
          arbitrary: jsonBodyText({ reason: 'leaked in a build log' }, 'reason', {
            reason: j(
              fc.oneof(
                hostileString,
                fc.string({ maxLength: 600 }),
                fc.constantFrom('   ', 'x'.repeat(500), 'x'.repeat(501), ` ${'x'.repeat(500)} `, 'a\nb', 'a\u202eb'),
              ),
            ),
          }),
        },
      ),
      encoding: bodyEncoding,
      ct: contentType,
    }).map(({ claims: c, withAuthorizer, id, body, encoding, ct }) => ({
      routeKey: PT_REVOKE,
      claims: c,
      withAuthorizer,
      pathParameters: { atlassianTokenId: id },
      body,
      encoding,
      headers: { 'content-type': ct },
    })),
    onAnswer: (spec, status, body) => {
      const id = spec.pathParameters?.atlassianTokenId ?? '';
      if (personal.governed.includes(id) && status < 300) return 'a governed token was revoked as a personal one';
      if (status !== 200) return undefined;
      const record = body as { atlassianTokenId?: unknown; state?: unknown };
      if (record.atlassianTokenId !== id || record.state !== 'REVOKED') return 'not the record asked, REVOKED';
      return ptRecordProblem(body);
    },
    after: async (spec, body) => {
      const id = spec.pathParameters?.atlassianTokenId ?? '';
      if (fake.personalTokens().find((t) => t.id === id)?.status === 'ACTIVE') return 'the token is still live';
      // A repeat answers the record unchanged, stores and tells nothing more, and at most publishes the revocation's
      // lifecycle event again under the same id (events are at least once; consumers deduplicate on eventId).
      const before = await snapshot({ exceptRateLimiter: true });
      resetHistories();
      const again = await api.personal(
        fuzzEvent({ ...spec, body: undefined, headers: {}, pathParameters: { atlassianTokenId: id } }),
        lambdaContext,
      );
      if (again.statusCode !== 200 || !isDeepStrictEqual(JSON.parse(again.body), body)) {
        return `the repeat answered ${again.statusCode} ${again.body.slice(0, 300)}`;
      }
      const replayed = `personal-token:${id}:PERSONAL_TOKEN_REVOKED#revoked`;
      const events = eventBridge
        .commandCalls(PutEventsCommand)
        .flatMap((c) => c.args[0].input.Entries ?? [])
        .map((e) => (JSON.parse(e.Detail ?? '{}') as { eventId?: string }).eventId);
      if (events.some((e) => e !== replayed)) return `the repeat published ${JSON.stringify(events)}`;
      const effects = sideEffectCalls().filter((e) => e !== 'EventBridge.PutEvents');
      if (effects.length > 0) return `the repeat had side effects: ${effects.join(', ')}`;
      return (await snapshot({ exceptRateLimiter: true })) === before ? undefined : 'the repeat changed stored state';
    },
  },
  {
    route: 'POST /inventory/scan',
    handler: () => api.personal,
    kind: 'json',
    adminOnly: true,
    authenticated: true,
    fields: [],
    events: authed({ junk: junkBody }).map(({ claims: c, withAuthorizer, junk }) => ({
      routeKey: 'POST /inventory/scan',
      claims: c,
      withAuthorizer,
      body: junk.body,
      encoding: junk.encoding,
      headers: { 'content-type': junk.contentType },
    })),
    onAnswer: (_spec, status, body) => {
      if (status === 409 && (body as { error: { code: string } }).error.code !== 'CONFLICT')
        return 'a 409 not CONFLICT';
      if (status < 300 && status !== 202) return `accepted with ${status}, not 202`;
      if (status !== 202) return undefined;
      const { scanId, startedAt, ...rest } = body as Record<string, unknown>;
      if (typeof scanId !== 'string' || !/^scan_[a-z2-7]{26}$/.test(scanId)) return 'no scanId';
      if (typeof startedAt !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(startedAt)) return 'no startedAt';
      return Object.keys(rest).length > 0 ? `extra keys ${Object.keys(rest).join(', ')}` : undefined;
    },
    after: async (_spec, body) => {
      const { scanId } = body as { scanId: string };
      const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
      const expected = [
        { stateMachineArn: SCAN_ARN, name: scanId, input: JSON.stringify({ action: 'begin', scanId }) },
      ];
      if (!isDeepStrictEqual(starts, expected)) return `started ${JSON.stringify(starts)}, not exactly one scan`;
      // A second one while it runs: 409, and nothing started or written.
      resetHistories();
      const before = await snapshot();
      const second = await api.personal(
        fuzzEvent({
          routeKey: 'POST /inventory/scan',
          claims: { email: EMAILS.admin, groups: [ADMIN_GROUP] },
          withAuthorizer: true,
        }),
        lambdaContext,
      );
      if (second.statusCode !== 409 || JSON.parse(second.body).error?.code !== 'CONFLICT') {
        return `a second scan while one runs answered ${second.statusCode} ${second.body.slice(0, 200)}`;
      }
      const effects = sideEffectCalls();
      if (effects.length > 0) return `the refused second scan had side effects: ${effects.join(', ')}`;
      if ((await snapshot()) !== before) return 'the refused second scan changed stored state';
      // The workflow's work, so the next request may start one.
      await finishScan(scanId);
      personal.scans.push(scanId);
      return undefined;
    },
  },
  {
    route: 'GET /inventory/scans/{scanId}',
    handler: () => api.personal,
    kind: 'json',
    adminOnly: true,
    authenticated: true,
    fields: [],
    events: authed({ id: idParam('scan', () => personal.scans) }).map(({ claims: c, withAuthorizer, id }) => ({
      routeKey: 'GET /inventory/scans/{scanId}',
      claims: c,
      withAuthorizer,
      pathParameters: { scanId: id },
    })),
    onAnswer: (spec, status, body) => {
      const id = spec.pathParameters?.scanId ?? '';
      if (plainCaller(spec) && isAdminCaller(spec) && personal.scans.includes(id) && status !== 200) {
        return 'an admin was refused a genuine scan';
      }
      if (status !== 200) return undefined;
      const scan = body as Record<string, unknown>;
      if (scan.scanId !== id) return 'another scan than the one asked';
      if (!['RUNNING', 'COMPLETE', 'INCOMPLETE'].includes(String(scan.status))) return 'status not in the contract';
      const counts = ['listed', 'new', 'revoked', 'gone'].filter((k) => !Number.isInteger(scan[k]));
      if (counts.length > 0 || typeof scan.startedAt !== 'string') return `no startedAt or ${counts.join(', ')}`;
      return undefined;
    },
  },
);

// ---------------------------------------------------------------- access exceptions

/** The exception representation of personal-tokens.md, written out rather than taken from the product. */
const EXC_KEYS = [
  'exceptionId',
  'status',
  'member',
  'days',
  'justification',
  'createdAt',
  'approvalsRequired',
  'approvals',
  'startsAt',
  'endsAt',
  'endedAt',
  'reason',
];
const EXC_STATUSES = ['PENDING_APPROVAL', 'APPROVED', 'ACTIVE', 'ENDED', 'REJECTED', 'EXPIRED', 'FAILED'];
/** What the store keeps beside the representation, named so a leak of any of them reads plainly. */
const EXC_NEVER_SHOWN = ['approvers', 'taskTokenSealed', 'accountId', 'bodyHash', 'version', 'correlationId'];
const EXC_QUERY = ['limit', 'nextToken'];
const EXC_PARTITIONS = [
  { attr: 'kind', value: 'ACCESS_EXCEPTION' },
  { attr: 'gsi1pk', value: `EXCMEMBER#${EMAILS.alice}` },
  { attr: 'gsi1pk', value: `EXCMEMBER#${EMAILS.bob}` },
  { attr: 'gsi1pk', value: `REQUESTER#${EMAILS.alice}` },
  { attr: 'kind', value: 'PERSONAL_TOKEN' },
];
const EXC_CANCEL = 'POST /access-exceptions/{exceptionId}/cancel';
const EXC_END = 'POST /access-exceptions/{exceptionId}/end';
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** What is wrong with an exception representation, if anything. */
function excProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'an exception is not an object';
  const e = value as Record<string, unknown>;
  const hidden = EXC_NEVER_SHOWN.filter((k) => k in e);
  if (hidden.length > 0) return `exception ${String(e.exceptionId)} shows ${hidden.join(', ')}`;
  const extra = Object.keys(e).filter((k) => !EXC_KEYS.includes(k));
  if (extra.length > 0) return `exception ${String(e.exceptionId)} shows ${extra.join(', ')}`;
  if (typeof e.exceptionId !== 'string' || !/^exc_[a-z2-7]{26}$/.test(e.exceptionId)) return 'no exceptionId';
  if (!EXC_STATUSES.includes(String(e.status))) return `status ${String(e.status)} not in the contract`;
  if (typeof e.member !== 'string') return 'no member';
  if (!Number.isInteger(e.days) || (e.days as number) < 1 || (e.days as number) > 30) return `days ${String(e.days)}`;
  const why = e.justification;
  if (typeof why !== 'string' || why.trim() !== why || why.length < 10 || why.length > 1000) return 'justification';
  if (typeof e.createdAt !== 'string' || !ISO_SECONDS.test(e.createdAt)) return 'no createdAt';
  if (!Number.isInteger(e.approvalsRequired) || !Array.isArray(e.approvals)) return 'no approvalsRequired, approvals';
  if (e.status === 'ACTIVE' && (typeof e.startsAt !== 'string' || typeof e.endsAt !== 'string')) {
    return 'an ACTIVE exception without startsAt and endsAt';
  }
  return undefined;
}

/** The caller's relation to a genuine exception id: undefined when the id is not one, or the caller not plain. */
function excRelation(spec: FuzzEvent, id: string): 'sees' | 'stranger' | undefined {
  const owner = exc.owners.get(id);
  const caller = plainCaller(spec);
  if (owner === undefined || caller === undefined) return undefined;
  return isAdminCaller(spec) || owner === caller ? 'sees' : 'stranger';
}

/** Which exception routes a genuine id may answer, whoever asks. */
function excAccess(spec: FuzzEvent, status: number, ok: number): string | undefined {
  const id = spec.pathParameters?.exceptionId ?? '';
  const relation = excRelation(spec, id);
  if (relation === 'stranger' && status !== 404) return `another member's exception answered ${status}, not 404`;
  if (relation === 'sees' && status === 404) return 'its member or an admin was answered 404';
  if (status === ok && !exc.owners.has(id)) return `${ok} for an id that is no exception`;
  return undefined;
}

const excError = (body: unknown) => (body as { error?: { code?: string; field?: string } }).error;
const excUnknownParams = (spec: FuzzEvent) =>
  Object.entries(spec.query ?? {})
    .filter(([k, v]) => v !== undefined && !EXC_QUERY.includes(k))
    .map(([k]) => k);

const excNextParam = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: nextTokenParam },
  { weight: 2, arbitrary: later(() => exc.pages.map((p) => p.token)) },
  { weight: 1, arbitrary: forgedNextToken(EXC_PARTITIONS) },
);

const VALID_EXCEPTION = { days: 7, justification: 'The legacy deploy script needs my own token' };
/** Valid and nearly valid values per field of `POST /access-exceptions`. */
const PLAUSIBLE_EXCEPTION: Record<string, fc.Arbitrary<string>> = {
  days: fc.oneof(
    j(fc.oneof(fc.integer({ min: -2, max: 40 }), fc.constantFrom(0, 1, 30, 31, 1.5, 2 ** 53, '7', null))),
    fc.constantFrom('1e400', '1.0', '30.0', '-0', '7e0', '3e1', '0.3e2'),
  ),
  justification: j(
    fc.oneof(
      hostileString,
      fc.string({ maxLength: 1_100 }),
      fc.constantFrom(
        'x'.repeat(9),
        'x'.repeat(10),
        'x'.repeat(1000),
        'x'.repeat(1001),
        ` ${'x'.repeat(1000)} `,
        `   ${'x'.repeat(9)}   `,
        'first line\nsecond line',
        'first line\r\nsecond',
        'needs it \u202efor deploys',
        '😀'.repeat(600),
      ),
    ),
  ),
};

/** `POST …/cancel` or `…/end` with any body, as the routes read none. */
function exceptionActionEvents(routeKey: string) {
  return authed({ id: idParam('exc', allExceptionIds), junk: junkBody }).map(
    ({ claims: c, withAuthorizer, id, junk }) => ({
      routeKey,
      claims: c,
      withAuthorizer,
      pathParameters: { exceptionId: id },
      body: junk.body,
      encoding: junk.encoding,
      headers: { 'content-type': junk.contentType },
    }),
  );
}

/** A plain caller's call, as API Gateway hands it over. */
const excExample = (routeKey: string, email: string, extra: Partial<FuzzEvent> = {}): FuzzEvent => ({
  routeKey,
  claims: email === EMAILS.admin ? { email, groups: [ADMIN_GROUP] } : { email, groups: [] },
  withAuthorizer: true,
  ...extra,
});
const createExample = (email: string, body: object, key?: string) =>
  excExample('POST /access-exceptions', email, {
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
  });
/** A seeded exception's id (see {@link seedExceptions}). */
const seededException = (member: string, status: string) => exc.latest.get(`${member} ${status}`) ?? '';

const startedExecutions = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
const resumedTasks = () => sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input);
const adminCaller = () => ({ email: EMAILS.admin, groups: [ADMIN_GROUP] });

cases.push(
  {
    route: 'POST /access-exceptions',
    handler: () => api.exceptions,
    kind: 'json',
    readsBody: true,
    authenticated: true,
    fields: Object.keys(VALID_EXCEPTION),
    events: authed({
      body: jsonBodyText(VALID_EXCEPTION, 'justification', PLAUSIBLE_EXCEPTION),
      encoding: bodyEncoding,
      ct: contentType,
      key: idempotencyKey,
    }).map(({ claims: c, withAuthorizer, body, encoding, ct, key }) => ({
      routeKey: 'POST /access-exceptions',
      claims: c,
      withAuthorizer,
      body,
      encoding,
      headers: { 'content-type': ct, 'idempotency-key': key },
    })),
    // Valid bodies of members holding a live exception and of members holding none, and a key used three ways.
    examples: () => [
      createExample(EMAILS.alice, VALID_EXCEPTION),
      createExample(EMAILS.bob, { ...VALID_EXCEPTION, days: 30 }),
      createExample(EMAILS.approver1, { ...VALID_EXCEPTION, days: 1 }),
      createExample(EMAILS.admin, VALID_EXCEPTION, 'fuzz-key'),
      createExample(EMAILS.admin, VALID_EXCEPTION, 'fuzz-key'),
      createExample(EMAILS.admin, { ...VALID_EXCEPTION, days: 8 }, 'fuzz-key'),
      createExample(EMAILS.alice, VALID_EXCEPTION, 'fuzz-key'),
    ],
    // Whoever asks, admins included, the exception is the caller's own.
    onSuccess: (event, body) => ownedBy('member')({ ...event, claims: { ...event.claims, groups: [] } }, body),
    onAnswer: (spec, status, body) => {
      const code = excError(body)?.code;
      if (status === 409 && code !== 'CONFLICT' && code !== 'IDEMPOTENCY_KEY_REUSED') return `a 409 ${code}`;
      if (status < 300 && status !== 202) return `accepted with ${status}, not 202`;
      const caller = plainCaller(spec);
      if (status === 409 && code === 'CONFLICT' && caller !== undefined && !exc.live.has(caller)) {
        return `${caller} holds no live exception, yet was refused one`;
      }
      if (status !== 202) return undefined;
      const problem = excProblem(body);
      if (problem) return problem;
      const created = body as { exceptionId: string; status: string };
      if (!exc.owners.has(created.exceptionId) && caller !== undefined && exc.live.has(caller)) {
        return `${caller} already holds a live exception, and was given another`;
      }
      if (!exc.owners.has(created.exceptionId) && created.status !== 'PENDING_APPROVAL') return 'a new one not pending';
      return undefined;
    },
    after: async (_spec, body) => {
      const { exceptionId: id, status, member: who } = body as { exceptionId: string; status: string; member: string };
      // A new or replayed pending exception (re)starts exactly its own workflow; a replay of a closed one nothing.
      const expected =
        status === 'PENDING_APPROVAL'
          ? [{ stateMachineArn: EXCEPTION_ARN, name: id, input: JSON.stringify({ exceptionId: id }) }]
          : [];
      if (!isDeepStrictEqual(startedExecutions(), expected)) return `started ${JSON.stringify(startedExecutions())}`;
      if (resumedTasks().length > 0) return 'a create resumed a task';
      exc.owners.set(id, who);
      if (status !== 'PENDING_APPROVAL') return undefined;
      // Cancelled at once, so the member may ask again in the next input.
      const cancelled = await api.exceptions(
        fuzzEvent({
          routeKey: EXC_CANCEL,
          claims: adminCaller(),
          withAuthorizer: true,
          pathParameters: { exceptionId: id },
        }),
        lambdaContext,
      );
      return cancelled.statusCode === 200 ? undefined : `cancelling it answered ${cancelled.statusCode}`;
    },
  },
  {
    route: 'GET /access-exceptions',
    handler: () => api.exceptions,
    kind: 'json',
    authenticated: true,
    fields: EXC_QUERY,
    fieldsOf: excUnknownParams,
    events: authed({ extra: ptExtraParams, limit: ptLimitParam, next: excNextParam, junk: junkBody }).map(
      ({ claims: c, withAuthorizer, extra, limit, next, junk }) => ({
        routeKey: 'GET /access-exceptions',
        claims: c,
        withAuthorizer,
        query: { ...extra, limit, nextToken: next },
        body: junk.body,
        encoding: junk.encoding,
        headers: { 'content-type': junk.contentType },
      }),
    ),
    onSuccess: ownedBy('member'),
    onAnswer: (spec, status, body) => {
      const unknown = excUnknownParams(spec);
      const error = excError(body);
      if (unknown.length > 0 && status !== 401) {
        if (status !== 400 || error?.code !== 'VALIDATION_ERROR' || !unknown.includes(error.field ?? '')) {
          return `unknown parameters ${JSON.stringify(unknown)} were not refused by name`;
        }
      }
      const q = spec.query ?? {};
      const caller = plainCaller(spec);
      const partition = isAdminCaller(spec) ? 'ACCESS_EXCEPTION' : `EXCMEMBER#${caller}`;
      const valid =
        unknown.length === 0 &&
        (q.limit === undefined || /^(?:[1-9]\d?|100)$/.test(q.limit)) &&
        (q.nextToken === undefined || exc.pages.some((p) => p.token === q.nextToken && p.partition === partition));
      if (valid && caller !== undefined && status !== 200) return 'a valid listing was refused';
      if (status !== 200) return undefined;
      const page = body as { items?: unknown };
      if (!Array.isArray(page.items)) return 'a listing without items';
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (page.items.length > limit) return `${page.items.length} items for limit ${limit}`;
      for (const item of page.items) {
        const problem = excProblem(item);
        if (problem) return problem;
      }
      return undefined;
    },
  },
  {
    route: 'GET /access-exceptions/{exceptionId}',
    handler: () => api.exceptions,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: authed({ id: idParam('exc', allExceptionIds) }).map(({ claims: c, withAuthorizer, id }) => ({
      routeKey: 'GET /access-exceptions/{exceptionId}',
      claims: c,
      withAuthorizer,
      pathParameters: { exceptionId: id },
    })),
    onSuccess: ownedBy('member'),
    onAnswer: (spec, status, body) => {
      const id = spec.pathParameters?.exceptionId ?? '';
      if (excRelation(spec, id) === 'sees' && status !== 200) return `a visible exception answered ${status}`;
      const access = excAccess(spec, status, 200);
      if (access || status !== 200) return access;
      if ((body as { exceptionId?: unknown }).exceptionId !== id) return 'another exception than the one asked';
      return excProblem(body);
    },
  },
  {
    route: EXC_CANCEL,
    handler: () => api.exceptions,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: exceptionActionEvents(EXC_CANCEL),
    examples: () =>
      [
        [EMAILS.bob, seededException(EMAILS.alice, 'PENDING_APPROVAL')],
        [EMAILS.alice, seededException(EMAILS.alice, 'PENDING_APPROVAL')],
        [EMAILS.admin, seededException('carol@example.com', 'PENDING_APPROVAL')],
        [EMAILS.bob, seededException(EMAILS.bob, 'ACTIVE')],
        [EMAILS.admin, seededException('dave@example.com', 'APPROVED')],
      ].map(([who, id]) => excExample(EXC_CANCEL, who as string, { pathParameters: { exceptionId: id } })),
    onSuccess: ownedBy('member'),
    onAnswer: (spec, status, body) => {
      if (status === 409 && excError(body)?.code !== 'CONFLICT') return 'a 409 not CONFLICT';
      if (status < 400 && status !== 200) return `accepted with ${status}, not 200`;
      const access = excAccess(spec, status, 200);
      if (access || status !== 200) return access;
      const cancelled = body as { exceptionId?: unknown; status?: unknown; reason?: unknown };
      if (cancelled.exceptionId !== spec.pathParameters?.exceptionId) return 'another exception than the one asked';
      if (cancelled.status !== 'REJECTED' || cancelled.reason !== 'CANCELLED') return 'not REJECTED, CANCELLED';
      return excProblem(body);
    },
    after: async (spec, body) => {
      const id = spec.pathParameters?.exceptionId ?? '';
      // The waiting workflow resumed exactly once, with this exception's own task token; nothing started.
      const token = exc.taskTokens.get(id);
      const expected = token ? [{ taskToken: token, output: JSON.stringify({ outcome: 'CANCELLED' }) }] : [];
      if (!isDeepStrictEqual(resumedTasks(), expected)) return `resumed ${JSON.stringify(resumedTasks())}`;
      if (startedExecutions().length > 0) return 'a cancel started an execution';
      // A new pending exception of that member, so the next input can cancel one again. A repeated cancel (200
      // unchanged: it resumes the workflow again) of one cancelled before leaves the member's new one in place.
      const who = (body as { member: string }).member;
      if (exc.latest.get(`${who} PENDING_APPROVAL`) !== id) return undefined;
      exc.live.delete(who);
      await seedException(who, 'PENDING_APPROVAL');
      return undefined;
    },
  },
  {
    route: EXC_END,
    handler: () => api.exceptions,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: exceptionActionEvents(EXC_END),
    examples: () =>
      [
        [EMAILS.alice, seededException(EMAILS.bob, 'ACTIVE')],
        [EMAILS.bob, seededException(EMAILS.bob, 'ACTIVE')],
        [EMAILS.bob, seededException(EMAILS.bob, 'ACTIVE')],
        [EMAILS.admin, seededException('frank@example.com', 'ACTIVE')],
        [EMAILS.alice, seededException(EMAILS.alice, 'ENDED')],
        [EMAILS.admin, seededException('erin@example.com', 'FAILED')],
      ].map(([who, id]) => excExample(EXC_END, who as string, { pathParameters: { exceptionId: id } })),
    onSuccess: ownedBy('member'),
    onAnswer: (spec, status, body) => {
      if (status === 409 && excError(body)?.code !== 'CONFLICT') return 'a 409 not CONFLICT';
      if (status < 400 && status !== 202) return `accepted with ${status}, not 202`;
      const access = excAccess(spec, status, 202);
      if (access || status !== 202) return access;
      const ended = body as { exceptionId?: unknown; status?: unknown };
      if (ended.exceptionId !== spec.pathParameters?.exceptionId) return 'another exception than the one asked';
      if (ended.status !== 'ACTIVE') return `status ${String(ended.status)}: still ACTIVE until the move back`;
      return excProblem(body);
    },
    after: async (spec) => {
      const id = spec.pathParameters?.exceptionId ?? '';
      const expected = [
        { stateMachineArn: EXCEPTION_ARN, name: `${id}-end`, input: JSON.stringify({ exceptionId: id, end: true }) },
      ];
      if (!isDeepStrictEqual(startedExecutions(), expected)) return `started ${JSON.stringify(startedExecutions())}`;
      return resumedTasks().length > 0 ? 'an end resumed a task' : undefined;
    },
  },
);

// ---------------------------------------------------------------- the console's routes

/** Callers of the console routes: the approvers of the seeded approvals often, anyone else as for every route. */
const consoleClaims = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<Record<string, unknown>>(
      { email: EMAILS.approver1, groups: [] },
      { email: 'approver2@example.com', groups: [] },
      { email: EXCEPTION_APPROVER, groups: [] },
      { email: 'APPROVER1@Example.com', groups: [] },
    ),
  },
  { weight: 6, arbitrary: claims },
);
function consoleAuthed<T extends object>(rest: { [K in keyof T]: fc.Arbitrary<T[K]> }) {
  return fc
    .tuple(fc.record(rest), consoleClaims, withAuthorizer)
    .map(([r, c, w]) => ({ ...(r as T), claims: c, withAuthorizer: w }));
}
/** The approver of every genuine approval id. */
const approverOf = (id: string) =>
  seeded.links.find((l) => l.approvalId === id)?.approver ?? consoleSeed.exceptionApprovals.get(id);
const consoleApprovalIds = () => [...seeded.links.map((l) => l.approvalId), ...consoleSeed.exceptionApprovals.keys()];
/** The request representation's fields (product.md); anything else is bookkeeping that must not show. */
const REQUEST_REPRESENTATION = [
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
  'tokenId',
  'secretName',
  'secretArn',
  'expiresAt',
];
/** What is wrong with the subject of an approval (a request or an exception), if anything. */
function subjectProblem(value: Record<string, unknown>): string | undefined {
  if ('request' in value === 'exception' in value) return 'not exactly one of request and exception';
  if ('exception' in value) return excProblem(value.exception);
  const request = value.request as Record<string, unknown>;
  const extra = Object.keys(request ?? {}).filter((k) => !REQUEST_REPRESENTATION.includes(k));
  return extra.length > 0 ? `the request shows ${extra.join(', ')}` : undefined;
}
/** A genuine approval id asked for by someone else than its approver: nothing but 404 (or an earlier refusal). */
function strangerProblem(spec: FuzzEvent, status: number): string | undefined {
  const id = spec.pathParameters?.approvalId ?? '';
  const owner = approverOf(id);
  const caller = plainCaller(spec);
  if (owner === undefined || caller === undefined || owner === caller) return undefined;
  return [200, 403, 409, 410].includes(status) ? `${caller} got ${status} on ${owner}'s approval` : undefined;
}
/** Whom a 2xx answered: the email the handler took (lower-cased), whatever its case. */
const consoleCaller = (spec: FuzzEvent) => validEmailOf(callerClaims(spec));
const CONSOLE_QUERY = ['status', 'limit', 'nextToken'];
const consoleUnknownParams = (spec: FuzzEvent) =>
  Object.entries(spec.query ?? {})
    .filter(([k, v]) => v !== undefined && !CONSOLE_QUERY.includes(k))
    .map(([k]) => k);
const CONSOLE_DECISIONS = ['APPROVED', 'REJECTED'];
const CONSOLE_OUTCOMES = ['PENDING', 'APPROVED', 'REJECTED'];
const consoleExample = (routeKey: string, email: string, extra: Partial<FuzzEvent> = {}): FuzzEvent => ({
  routeKey,
  claims: { email, groups: [] },
  withAuthorizer: true,
  ...extra,
});
const CONSOLE_DECISION = 'POST /approvals/{approvalId}/decision';

/** Everyone the policy names as an approver: of a service account, or of access exceptions. */
const policyApprovers = () => {
  const p = loadPolicy();
  return [...p.serviceAccounts.flatMap((a) => a.approvers), ...(p.personalTokens?.exceptions?.approvers ?? [])];
};

cases.push(
  {
    route: 'GET /me',
    handler: () => api.console,
    kind: 'json',
    authenticated: true,
    fields: [],
    fieldsOf: (spec) => Object.keys(spec.query ?? {}),
    events: consoleAuthed({ extra: ptExtraParams, junk: junkBody }).map(
      ({ claims: c, withAuthorizer, extra, junk }) => ({
        routeKey: 'GET /me',
        claims: c,
        withAuthorizer,
        query: extra,
        body: junk.body,
        encoding: junk.encoding,
        headers: { 'content-type': junk.contentType },
      }),
    ),
    onAnswer: (spec, status, body) => {
      const asked = Object.entries(spec.query ?? {}).filter(([, v]) => v !== undefined);
      if (asked.length > 0 && status !== 401 && status !== 400) return `a query parameter answered ${status}`;
      if (asked.length === 0 && plainCaller(spec) !== undefined && status !== 200) return `refused with ${status}`;
      if (status !== 200) return undefined;
      const email = consoleCaller(spec);
      const expected = {
        email,
        admin: isAdminCaller(spec),
        approver: email !== undefined && policyApprovers().includes(email),
      };
      return isDeepStrictEqual(body, expected) ? undefined : `answered ${JSON.stringify(body)} for ${String(email)}`;
    },
  },
  {
    route: 'GET /catalog',
    handler: () => api.console,
    kind: 'json',
    authenticated: true,
    fields: [],
    fieldsOf: (spec) => Object.keys(spec.query ?? {}),
    events: authed({ extra: ptExtraParams, junk: junkBody }).map(({ claims: c, withAuthorizer, extra, junk }) => ({
      routeKey: 'GET /catalog',
      claims: c,
      withAuthorizer,
      query: extra,
      body: junk.body,
      encoding: junk.encoding,
      headers: { 'content-type': junk.contentType },
    })),
    onAnswer: (spec, status, body) => {
      const asked = Object.entries(spec.query ?? {}).filter(([, v]) => v !== undefined);
      if (asked.length > 0 && status !== 401 && status !== 400) return `a query parameter answered ${status}`;
      if (asked.length === 0 && plainCaller(spec) !== undefined && status !== 200) return `refused with ${status}`;
      if (status !== 200) return undefined;
      if (!isDeepStrictEqual(body, catalogOf(loadPolicy()))) return 'not the catalog of the policy';
      const text = JSON.stringify(body);
      const hidden = loadPolicy().serviceAccounts.flatMap((a) => [a.atlassianId, a.email, a.cloudId, ...a.approvers]);
      const shown = hidden.find((h) => text.includes(h));
      return shown ? `the catalog shows ${shown}` : undefined;
    },
  },
  {
    route: 'GET /approvals',
    handler: () => api.console,
    kind: 'json',
    authenticated: true,
    fields: CONSOLE_QUERY,
    fieldsOf: consoleUnknownParams,
    events: consoleAuthed({
      status: fc.oneof(
        { weight: 6, arbitrary: fc.constant('pending') },
        { weight: 2, arbitrary: fc.constantFrom(undefined, '', 'PENDING', 'pending ', 'open', 'decided', 'all') },
        { weight: 1, arbitrary: weirdString(12) },
      ),
      extra: ptExtraParams,
      limit: ptLimitParam,
      next: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: nextTokenParam }),
    }).map(({ claims: c, withAuthorizer, status, extra, limit, next }) => ({
      routeKey: 'GET /approvals',
      claims: c,
      withAuthorizer,
      query: { ...extra, status, limit, nextToken: next },
    })),
    onAnswer: (spec, status, body) => {
      const q = spec.query ?? {};
      const unknown = consoleUnknownParams(spec);
      const error = excError(body);
      if (status === 200 && (q.status !== 'pending' || unknown.length > 0)) return 'a listing without status=pending';
      if (status === 400 && ![...unknown, ...CONSOLE_QUERY].includes(error?.field ?? '')) {
        return `400 naming ${String(error?.field)}`;
      }
      const valid =
        unknown.length === 0 &&
        q.status === 'pending' &&
        (q.limit === undefined || /^(?:[1-9]\d?|100)$/.test(q.limit)) &&
        q.nextToken === undefined;
      if (valid && plainCaller(spec) !== undefined && status !== 200) return 'a valid listing was refused';
      if (status !== 200) return undefined;
      const page = body as { items?: Record<string, unknown>[] };
      if (!Array.isArray(page.items)) return 'a listing without items';
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (page.items.length > limit) return `${page.items.length} items for limit ${limit}`;
      for (const item of page.items) {
        const extra = Object.keys(item).filter((k) => !['approvalId', 'expiresAt', 'request', 'exception'].includes(k));
        if (extra.length > 0) return `an item shows ${extra.join(', ')}`;
        const owner = approverOf(String(item.approvalId));
        if (owner !== consoleCaller(spec)) return `${String(consoleCaller(spec))} saw ${String(owner)}'s approval`;
        const problem = subjectProblem(item);
        if (problem) return problem;
      }
      return undefined;
    },
  },
  {
    route: 'GET /approvals/{approvalId}/request',
    handler: () => api.console,
    kind: 'json',
    authenticated: true,
    fields: [],
    events: consoleAuthed({ id: idParam('apv', consoleApprovalIds) }).map(({ claims: c, withAuthorizer, id }) => ({
      routeKey: 'GET /approvals/{approvalId}/request',
      claims: c,
      withAuthorizer,
      pathParameters: { approvalId: id },
    })),
    examples: () =>
      [
        [EMAILS.approver1, seeded.links.find((l) => l.approver === EMAILS.approver1)?.approvalId ?? ''],
        [EMAILS.alice, seeded.links.find((l) => l.approver === EMAILS.approver1)?.approvalId ?? ''],
        [EMAILS.admin, [...consoleSeed.exceptionApprovals.keys()][0] ?? ''],
      ].map(([who, id]) =>
        consoleExample('GET /approvals/{approvalId}/request', who as string, { pathParameters: { approvalId: id } }),
      ),
    onAnswer: (spec, status, body) => {
      const stranger = strangerProblem(spec, status);
      if (stranger) return stranger;
      const id = spec.pathParameters?.approvalId ?? '';
      if (approverOf(id) !== undefined && approverOf(id) === plainCaller(spec) && status !== 200) {
        return `the approver's own approval answered ${status}`;
      }
      if (status !== 200) return status === 404 || status === 401 ? undefined : `answered ${status}`;
      const view = body as Record<string, unknown>;
      if (view.approvalId !== id) return 'another approval than the one asked';
      if (!['OPEN', 'DECIDED', 'CLOSED'].includes(String(view.status))) return `status ${String(view.status)}`;
      const { approvalId: _a, status: _s, expiresAt: _e, decision: _d, decidedAt: _t, ...subject } = view;
      return subjectProblem(subject);
    },
  },
  {
    route: CONSOLE_DECISION,
    handler: () => api.console,
    kind: 'json',
    readsBody: true,
    authenticated: true,
    fields: ['decision'],
    events: consoleAuthed({
      id: idParam('apv', consoleApprovalIds),
      body: jsonBodyText({ decision: 'approve' }, 'decision', {
        decision: j(fc.constantFrom('approve', 'reject', 'APPROVE', 'approve ', '', null, true, ['approve'])),
      }),
      encoding: bodyEncoding,
      ct: contentType,
    }).map(({ claims: c, withAuthorizer, id, body, encoding, ct }) => ({
      routeKey: CONSOLE_DECISION,
      claims: c,
      withAuthorizer,
      pathParameters: { approvalId: id },
      body,
      encoding,
      headers: { 'content-type': ct },
    })),
    examples: () => {
      const link = seeded.links.find((l) => l.approver === EMAILS.approver1)?.approvalId ?? '';
      const exception = [...consoleSeed.exceptionApprovals.keys()][0] ?? '';
      const json = (decision: string) => ({
        body: JSON.stringify({ decision }),
        headers: { 'content-type': 'application/json' },
      });
      return [
        consoleExample(CONSOLE_DECISION, EMAILS.alice, { pathParameters: { approvalId: link }, ...json('approve') }),
        consoleExample(CONSOLE_DECISION, EMAILS.admin, { pathParameters: { approvalId: link }, ...json('reject') }),
        consoleExample(CONSOLE_DECISION, EMAILS.approver1, {
          pathParameters: { approvalId: link },
          ...json('approve'),
        }),
        consoleExample(CONSOLE_DECISION, EMAILS.approver1, { pathParameters: { approvalId: link }, ...json('reject') }),
        consoleExample(CONSOLE_DECISION, EXCEPTION_APPROVER, {
          pathParameters: { approvalId: exception },
          ...json('reject'),
        }),
      ];
    },
    onAnswer: (spec, status, body) => {
      const stranger = strangerProblem(spec, status);
      if (stranger) return stranger;
      if (![200, 400, 401, 403, 404, 409, 410, 413, 415].includes(status)) return `answered ${status}`;
      if (status === 409 && excError(body)?.code !== 'CONFLICT') return 'a 409 not CONFLICT';
      if (status === 410 && excError(body)?.code !== 'GONE') return 'a 410 not GONE';
      if (status !== 200) return undefined;
      const { approvalId, decision, outcome, ...subject } = body as Record<string, unknown>;
      if (approvalId !== spec.pathParameters?.approvalId) return 'another approval than the one asked';
      if (!CONSOLE_DECISIONS.includes(String(decision))) return `decision ${String(decision)}`;
      if (!CONSOLE_OUTCOMES.includes(String(outcome))) return `outcome ${String(outcome)}`;
      return subjectProblem(subject);
    },
    after: async (spec, body) => {
      const answer = body as {
        approvalId: string;
        decision: string;
        outcome: string;
        request?: { requestId: string; requester: string };
        exception?: { exceptionId: string };
      };
      const approval = await store.getApproval(answer.approvalId);
      if (!approval) return 'the decided approval is gone';
      if (approval.approver !== consoleCaller(spec)) return `decided ${approval.approver}'s approval`;
      if (approval.status !== 'DECIDED' || approval.decision !== answer.decision) return 'not DECIDED as answered';
      const subjectId = answer.request?.requestId ?? answer.exception?.exceptionId ?? '';
      const taskToken = answer.request ? `task-token-${subjectId}` : consoleSeed.taskTokens.get(subjectId);
      const expected =
        answer.outcome === 'PENDING' ? [] : [{ taskToken, output: JSON.stringify({ outcome: answer.outcome }) }];
      if (!isDeepStrictEqual(resumedTasks(), expected)) return `resumed ${JSON.stringify(resumedTasks())}`;
      if (startedExecutions().length > 0) return 'a decision started an execution';
      const audit = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName, ConsistentRead: true }));
      const recorded = (audit.Items ?? []).filter(
        (r) => r.requestId === subjectId && r.actor === approval.approver && r.details?.via === 'console',
      );
      if (recorded.length !== 1) return `${recorded.length} audit records of the console decision`;
      // Something pending again for the next input to decide.
      if (answer.request) {
        await seedRequest(answer.request.requester, `fuzz-console-${consoleSeed.reseeded++}`, true);
      } else {
        await seedExceptionApproval();
      }
      return undefined;
    },
  },
);

describe('HTTP route handlers under hostile input', () => {
  it.each(cases.map((c) => [c.route, c] as const))(
    '%s: never throws, never 5xx, documented error shape, no leaks, no side effects when refused',
    async (_route, rc) => {
      await runCase(rc);
    },
    120_000,
  );

  it('GET /health: always 200 {"status":"ok"}, whatever the request', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          claims,
          withAuthorizer: fc.boolean(),
          junk: junkBody,
          q: fc.dictionary(weirdString(8), weirdString(20), { maxKeys: 3 }),
        }),
        async ({ claims: c, withAuthorizer, junk, q }) => {
          const event = fuzzEvent({
            routeKey: 'GET /health',
            claims: c,
            withAuthorizer,
            query: q,
            body: junk.body,
            encoding: junk.encoding,
            headers: { 'content-type': junk.contentType },
          });
          const result = await api.health(event, lambdaContext);
          tally.add('GET /health', result.statusCode);
          expect(result.statusCode).toBe(200);
          expect(JSON.parse(result.body)).toEqual({ status: 'ok' });
        },
      ),
      { numRuns: Math.min(RUNS, 100) },
    );
  });
});

describe('admin only through a group named exactly token-warden-admins', () => {
  /** Group lists mixing the admin group, names that hold it beside separators, and ordinary names. */
  const groupLists = fc.array(fc.oneof(fc.constant(ADMIN_GROUP), lookAlikeGroup, fc.constantFrom('devs', 'ops', '')), {
    maxLength: 4,
  });
  const groupsForms = fc.oneof(
    { weight: 4, arbitrary: groupLists },
    // One name as a string, as some IdPs sign a single-valued claim.
    { weight: 1, arbitrary: fc.oneof(fc.constant(ADMIN_GROUP), lookAlikeGroup) },
  );

  it('GET /audit: 200 for a group named exactly token-warden-admins, 403 for any separator, quote or bracket around it', async () => {
    const requestId = seeded.requests.alice[0] as string;
    await fc.assert(
      fc.asyncProperty(
        groupsForms,
        fc.constantFrom<FuzzEvent['withAuthorizer']>(true, true, true, 'claims-only'),
        async (groups, mode) => {
          const spec: FuzzEvent = {
            routeKey: 'GET /audit',
            claims: { email: EMAILS.bob, groups },
            withAuthorizer: mode,
            query: { requestId },
          };
          const result = await api.admin(fuzzEvent(spec), lambdaContext);
          tally.add('GET /audit (groups)', result.statusCode);
          const exact = Array.isArray(groups) ? groups.includes(ADMIN_GROUP) : mode === true && groups === ADMIN_GROUP;
          expect([JSON.stringify(groups), mode, result.statusCode]).toEqual([
            JSON.stringify(groups),
            mode,
            exact ? 200 : 403,
          ]);
        },
      ),
      { numRuns: Math.max(50, RUNS) },
    );
  }, 120_000);
});

describe('forged pagination tokens', () => {
  const forgedCase = (route: 'GET /token-requests' | 'GET /tokens', owner: 'requester' | 'owner'): RouteCase => ({
    route: `${route} (forged nextToken)`,
    handler: () => (route === 'GET /tokens' ? api.tokens : api.requests),
    kind: 'json',
    authenticated: true,
    fields: [],
    events: authed({
      limit: limitParam,
      next: forgedNextToken(route === 'GET /tokens' ? tokenPartitions() : requestPartitions()),
    }).map(({ claims: c, withAuthorizer, limit, next }) => ({
      routeKey: route,
      claims: c,
      withAuthorizer,
      query: { limit, nextToken: next },
    })),
    // The simplest forgery first: the caller's own partition key and nothing else (see the reproducers below).
    examples: () => [forgedPage(route, { gsi1pk: `${route === 'GET /tokens' ? 'OWNER' : 'REQUESTER'}#${EMAILS.bob}` })],
    onSuccess: ownedBy(owner),
    runs: Math.max(20, Math.round(RUNS / 2)),
  });
  it.each([
    ['GET /token-requests', forgedCase('GET /token-requests', 'requester')],
    ['GET /tokens', forgedCase('GET /tokens', 'owner')],
  ])(
    '%s: a nextToken forged from any partition key with any other attributes answers 200 or 400 on nextToken, never 5xx',
    async (_route, rc) => {
      await runCase(rc);
    },
    120_000,
  );
});

describe('Idempotency-Key replays under hostile second bodies', () => {
  let counter = 0;
  it('same caller and key: the same body replays the same request, any other body is refused, nothing is half-written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          key: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 100 }),
          who: fc.constantFrom(EMAILS.alice, EMAILS.bob),
          same: fc.boolean(),
          second: jsonBodyText(VALID_CREATE, 'justification', PLAUSIBLE_CREATE),
          encoding: bodyEncoding,
        }),
        async ({ key, who, same, second, encoding }) => {
          counter++;
          const idem = `${counter}-${key.replace(/[^\x21-\x7e]/g, '_')}`.slice(0, 128);
          const firstBody = JSON.stringify({ ...VALID_CREATE, name: `idem-${counter}` });
          const send = (body: string | undefined, enc: FuzzEvent['encoding']) =>
            api.requests(
              fuzzEvent({
                routeKey: 'POST /token-requests',
                claims: { email: who, groups: [] },
                withAuthorizer: true,
                body,
                encoding: enc,
                headers: { 'content-type': 'application/json', 'idempotency-key': idem },
              }),
              lambdaContext,
            );
          const first = await send(firstBody, 'text');
          tally.add('POST /token-requests (Idempotency-Key)', first.statusCode);
          expect(first.statusCode).toBe(202);
          const requestId = JSON.parse(first.body).requestId as string;

          resetHistories();
          const before = await snapshot();
          const again = await send(same ? firstBody : second, same ? 'text' : encoding);
          tally.add('POST /token-requests (Idempotency-Key)', again.statusCode);
          const sent = same ? firstBody : encoding === 'text' || encoding === 'base64' ? second : undefined;
          const fields = new Set([...COMMON_FIELDS, ...Object.keys(VALID_CREATE), 'consumers', ...topLevelKeys(sent)]);
          expect(checkJsonAnswer(again, fields)).toBeUndefined();
          if (same) expect(again.statusCode).toBe(202);
          if (again.statusCode === 202) {
            // A replay: the same request, its workflow (re)started under the same name, nothing new stored.
            expect(JSON.parse(again.body).requestId).toBe(requestId);
            const names = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
            expect(names.every((n) => n === requestId)).toBe(true);
          } else {
            const code = JSON.parse(again.body).error.code as string;
            if (again.statusCode === 409) expect(code).toBe('IDEMPOTENCY_KEY_REUSED');
            expect(sideEffectCalls()).toEqual([]);
          }
          expect(await snapshot()).toBe(before);
        },
      ),
      { numRuns: Math.max(20, Math.round(RUNS / 3)) },
    );
  }, 120_000);
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('reproducers of what the fuzz found', () => {
  // Bug: functions/adapters/aws/record-store.ts decodeNextToken() only checks that the decoded key names the caller's
  // partition; any other shape reaches DynamoDB as ExclusiveStartKey, which answers ValidationException ("The provided
  // starting key is invalid"), and the API answers 500 instead of 400 on nextToken.
  const alice = { email: EMAILS.alice, groups: [] };
  const adminClaims = { email: EMAILS.admin, groups: [ADMIN_GROUP] };
  const full = (p: string, kind: 'REQ' | 'TOK') => ({
    pk: `${kind}#${kind === 'REQ' ? 'req' : 'tok'}_aaaaaaaaaaaaaaaaaaaaaaaaaa`,
    sk: kind,
    gsi1pk: p,
    gsi1sk: '2026-01-01T00:00:00Z#x',
  });
  it.each([
    ['GET /token-requests', 'only the partition attribute', alice, { gsi1pk: `REQUESTER#${EMAILS.alice}` }],
    ['GET /token-requests', 'the partition of the admin listing', adminClaims, { kind: 'REQUEST' }],
    [
      'GET /token-requests',
      'a full key plus a stray attribute',
      alice,
      { ...full(`REQUESTER#${EMAILS.alice}`, 'REQ'), x: 'y' },
    ],
    [
      'GET /token-requests',
      'a full key with an empty sort key',
      alice,
      { ...full(`REQUESTER#${EMAILS.alice}`, 'REQ'), gsi1sk: '' },
    ],
    ['GET /tokens', 'only the partition attribute', alice, { gsi1pk: `OWNER#${EMAILS.alice}` }],
    ['GET /tokens', 'a full key plus a stray attribute', alice, { ...full(`OWNER#${EMAILS.alice}`, 'TOK'), x: 'y' }],
  ])('%s: a forged nextToken with %s is refused with 400 on nextToken, not 500', async (routeKey, _what, who, key) => {
    const handler = routeKey === 'GET /tokens' ? api.tokens : api.requests;
    const result = await handler(
      fuzzEvent({ routeKey, claims: who, withAuthorizer: true, query: { nextToken: b64(key) } }),
      lambdaContext,
    );
    expect({ status: result.statusCode, body: JSON.parse(result.body) }).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', message: expect.any(String), field: 'nextToken' } },
    });
  });
});
