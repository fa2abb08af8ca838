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
 *   tables and the fake Atlassian's tokens byte-for-byte unchanged;
 * - `Object.prototype` stays unpolluted.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import { cryptoRandom } from '../../../functions/composition/random';
import { mintLabel, secretNameFor, secretVersionId, tokenIdFor } from '../../../functions/domain/naming';
import type { StoredToken } from '../../../functions/domain/records';
import type { ApiEvent, ApiResult } from '../../../functions/edge/http';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian } from '../../../local/fake-atlassian';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { apiEvent, lambdaContext } from '../../support/events';
import { approvalAwsMocks, setHandlerEnvironment } from '../../support/handler-env';
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
const api: Record<'requests' | 'tokens' | 'approvals' | 'admin' | 'health', Api> = {} as never;
const tally = new Tally();
/** Secret values no answer may ever contain. */
const secretsNeverShown: string[] = [LINK_KEY, ORG_KEY];

/** What the seed created: genuine ids of several owners, and genuine approval links. */
const seeded = {
  requests: { alice: [] as string[], bob: [] as string[] },
  tokens: { alice: [] as string[], bob: [] as string[] },
  links: [] as { approvalId: string; sig: string }[],
};

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

/** Everything a request could half-write: both tables and the fake Atlassian's tokens. */
async function snapshot(): Promise<string> {
  const scan = async (TableName: string) => {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await dynamo.doc.send(new ScanCommand({ TableName, ExclusiveStartKey, ConsistentRead: true }));
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items.map((i) => JSON.stringify(i)).sort();
  };
  return JSON.stringify([
    await scan(dynamo.tableName),
    await scan(dynamo.auditTableName),
    fake.tokens().map((t) => [t.id, t.status]),
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
    await requestApproval({ requestId, taskToken: `task-token-${requestId}` }, lambdaContext);
    for (const call of ses.commandCalls(SendEmailCommand)) {
      const text = call.args[0].input.Content?.Simple?.Body?.Text?.Data ?? '';
      const line = text.split('\n').find((l) => l.startsWith('https://'));
      if (!line) continue;
      const url = new URL(line);
      seeded.links.push({ approvalId: url.pathname.split('/').pop() ?? '', sig: url.searchParams.get('sig') ?? '' });
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

let requestApproval: Task;
const fakeUrl = () => `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;

beforeAll(async () => {
  dynamo = await startDynamo();
  fake = createFakeAtlassian({ now: () => new Date(), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  fakeServer = await fake.listen(0);
  await setHandlerEnvironment(dynamo, {
    // Every accepted request stays pending: room for them all under the per-member limit (its own suite tests it).
    POLICY_FILE: policyFileWith({ maxPendingRequestsPerMember: 1000 }),
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
  requestApproval = (await import('../../../functions/workflow/request-approval')).handler;
  store = createRecordStore(dynamo.doc, dynamo.tableName);

  seeded.requests.alice.push(await seedRequest(EMAILS.alice, 'seed-alice-1', true));
  seeded.requests.alice.push(await seedRequest(EMAILS.alice, 'seed-alice-2', false));
  seeded.requests.bob.push(await seedRequest(EMAILS.bob, 'seed-bob-1', true));
  seeded.tokens.alice.push(await seedToken(EMAILS.alice, 'tok-alice-1', 'ACTIVE'));
  seeded.tokens.alice.push(await seedToken(EMAILS.alice, 'tok-alice-2', 'REVOKED'));
  seeded.tokens.bob.push(await seedToken(EMAILS.bob, 'tok-bob-1', 'ACTIVE'));
  seeded.tokens.bob.push(await seedToken(EMAILS.bob, 'tok-bob-2', 'ACTIVE'));
  await store.putDriftReport({ generatedAt: new Date().toISOString(), findings: [] });
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
function idParam(prefix: 'req' | 'tok' | 'apv', genuine: () => string[]): fc.Arbitrary<string | undefined> {
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
  runs?: number;
}

const COMMON_FIELDS = ['authorization', 'content-type', 'Content-Type', 'Idempotency-Key', 'limit', 'nextToken'];

/** A 2xx record must be the caller's own unless the caller may be an admin. */
function ownedBy(key: 'requester' | 'owner') {
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
      const before = await snapshot();
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
          ? checkJsonAnswer(result, new Set([...COMMON_FIELDS, ...rc.fields, ...keys]))
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

      if (status >= 400 || isGet) {
        const effects = sideEffectCalls();
        if (effects.length > 0) throw new Error(`${status} answer but side effects: ${effects.join(', ')}`);
        const after = await snapshot();
        if (after !== before) {
          throw new Error(`${status} answer ${mutating ? 'to a refused request' : 'to a GET'} changed stored state`);
        }
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
    fields: [],
    events: authed({ limit: limitParam, next: nextTokenParam, junk: junkBody }).map(
      ({ claims: c, withAuthorizer, limit, next, junk }) => ({
        routeKey: 'GET /token-requests',
        claims: c,
        withAuthorizer,
        query: { limit, nextToken: next },
        body: junk.body,
        encoding: junk.encoding,
        headers: { 'content-type': junk.contentType },
      }),
    ),
    onSuccess: ownedBy('requester'),
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
    fields: [],
    events: authed({ limit: limitParam, next: nextTokenParam }).map(({ claims: c, withAuthorizer, limit, next }) => ({
      routeKey: 'GET /tokens',
      claims: c,
      withAuthorizer,
      query: { limit, nextToken: next },
    })),
    onSuccess: ownedBy('owner'),
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
