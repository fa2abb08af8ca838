/**
 * The personal-token routes (functions/api/personal-tokens.ts) in-process, against dynalite, the fake Atlassian over
 * HTTP and mocked AWS clients: who may call what, the filters and pages of the listings, revoking, and starting a
 * scan (exactly one execution, one scan at a time). The scans themselves run through the use case, as the workflow
 * would run them, and the lifecycle events each call published are told by email as the notifier would tell them.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import type { LifecycleDetail } from '../../../functions/adapters/aws/lifecycle-events';
import { SesMailer } from '../../../functions/adapters/aws/mailer';
import { createRecordStore } from '../../../functions/adapters/aws/record-store';
import type { Policy } from '../../../functions/domain/policy';
import { systemClock } from '../../../functions/domain/ports';
import type { ApiEvent, ApiResult } from '../../../functions/edge/http';
import type { PersonalTokenDeps } from '../../../functions/use-cases/personal-tokens';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian } from '../../../local/fake-atlassian';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';
import { admin, apiEvent, type EventSpec, lambdaContext, member } from '../../support/events';
import {
  approvalAwsMocks,
  createPersonalTokenAt,
  movePolicyMemberAt,
  setHandlerEnvironment,
} from '../../support/handler-env';
import { inlineEmail } from '../../support/inline-notifier';
import { policyFileWith } from '../../support/policy-json';
import { tokenRecord } from '../fixtures/token-record';

const { sfn, eventBridge, ses, secrets } = approvalAwsMocks();

const ORG_KEY_ID = 'token-warden/atlassian-org-key';
const ORG_KEY = 'org-key-for-personal-token-routes-0123';
const SCAN_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:PersonalTokenScan';
const JENKINS_BOT = '712020:00000000-0000-4000-8000-000000000001';
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const EXEMPT = 'approver1@example.com';

let dynamo: LocalDynamo;
let fake: FakeAtlassian;
let fakeServer: Server;
let handler: (event: ApiEvent, context: typeof lambdaContext) => Promise<ApiResult>;
let scanDeps: () => PersonalTokenDeps;
let runScan: typeof import('../../../functions/use-cases/personal-tokens').runScan;
let notifierPolicy: Policy;
/** How many of the recorded `PutEvents` calls the notifier has told. */
let told = 0;

const fakeUrl = () => `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;

/** Atlassian ids of what the seed created. */
const ids = { alice: '', aliceGone: '', bobCi: '', bobLaptop: '', exempt: '', admin: '', governed: '' };
const scans: { first: string; second: string; secondFinishedAt: string } = {
  first: '',
  second: '',
  secondFinishedAt: '',
};

function stubAws() {
  for (const m of [sfn, eventBridge, ses, secrets]) m.reset();
  told = 0;
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${SCAN_ARN.replace(':stateMachine:', ':execution:')}:x` });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  secrets.on(GetSecretValueCommand, { SecretId: ORG_KEY_ID }).resolves({ SecretString: ORG_KEY, Name: ORG_KEY_ID });
}

/** The notifier's email delivery over every lifecycle event published since it last ran, as it runs off the bus. */
async function notify() {
  const tell = inlineEmail(() => ({
    store: createRecordStore(dynamo.doc, dynamo.tableName),
    mailer: new SesMailer('token-warden@example.com', new SESv2Client({ region: 'us-east-1' })),
    clock: systemClock,
    policy: notifierPolicy,
  }));
  const calls = eventBridge.commandCalls(PutEventsCommand);
  for (const published of calls.slice(told)) {
    for (const entry of published.args[0].input.Entries ?? []) {
      await tell(JSON.parse(entry.Detail ?? '{}') as LifecycleDetail);
    }
  }
  told = calls.length;
}

async function call(spec: EventSpec) {
  const result = await handler(apiEvent(spec), lambdaContext);
  await notify();
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

/**
 * Both tables and the fake's tokens (service accounts' and members'), to show a refusal changed nothing;
 * `exceptRateLimiter` leaves out the shared Atlassian rate limiter's queue item.
 */
async function snapshot(opts: { exceptRateLimiter?: boolean } = {}): Promise<string> {
  const scan = async (TableName: string) => {
    const out = await dynamo.doc.send(new ScanCommand({ TableName, ConsistentRead: true }));
    return (out.Items ?? [])
      .filter((i) => !(opts.exceptRateLimiter && String(i.pk).startsWith('RATE#')))
      .map((i) => JSON.stringify(i))
      .sort();
  };
  return JSON.stringify([
    await scan(dynamo.tableName),
    await scan(dynamo.auditTableName),
    [...fake.tokens(), ...fake.personalTokens()].map((t) => [t.id, t.status]),
  ]);
}

const started = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

/** `POST /inventory/scan` as the admin, then the scan's work as the workflow runs it. */
async function scanNow(): Promise<{ scanId: string; finishedAt: string }> {
  const res = await call({ routeKey: 'POST /inventory/scan', claims: admin() });
  if (res.status !== 202) throw new Error(`scan answered ${res.status}: ${JSON.stringify(res.body)}`);
  const { scan } = await runScan(scanDeps(), res.body.scanId);
  await notify();
  return { scanId: scan.scanId, finishedAt: scan.finishedAt ?? '' };
}

beforeAll(async () => {
  dynamo = await startDynamo();
  fake = createFakeAtlassian({ now: () => new Date(), orgApiKey: ORG_KEY, seed: DEMO_SEED });
  fakeServer = await fake.listen(0);
  await setHandlerEnvironment(dynamo, {
    POLICY_FILE: policyFileWith({
      atlassianRequestsPerSecond: 1000,
      personalTokens: {
        mode: 'report',
        revokeAfterDays: 14,
        staleAfterDays: 90,
        maxLifetimeDays: 90,
        exemptUsers: [EXEMPT],
        maxRevocationsPerScan: 50,
      },
    }),
    ORG_API_KEY_SECRET_ID: ORG_KEY_ID,
    ATLASSIAN_API_BASE_URL: fakeUrl(),
    ATLASSIAN_SITE_BASE_URL: fakeUrl(),
  });
  stubAws();
  ({ handler } = await import('../../../functions/api/personal-tokens'));
  ({ runScan } = await import('../../../functions/use-cases/personal-tokens'));
  const { personalTokenDeps } = await import('../../../functions/composition/deps');
  scanDeps = personalTokenDeps;
  notifierPolicy = (await import('../../../functions/composition/policy-loader')).loadPolicy();

  // Prepare the org: bob's policy allows API tokens (his are UNAPPROVED_ACCESS), approver1 is exempt, jenkins-bot
  // holds a governed token, and one of alice's tokens disappears between the two scans (GONE).
  ids.alice = fake.personalTokens().find((t) => t.label === 'my laptop scripts')?.id ?? '';
  await movePolicyMemberAt(fakeUrl(), 'policy-allow', BOB);
  ids.bobCi = (
    await createPersonalTokenAt(fakeUrl(), {
      email: BOB,
      label: 'bob ci',
      scopes: ['read:jira-work'],
      expiresInDays: 30,
    })
  ).id;
  ids.bobLaptop = (await createPersonalTokenAt(fakeUrl(), { email: BOB, label: 'bob laptop' })).id;
  ids.exempt = (await createPersonalTokenAt(fakeUrl(), { email: EXEMPT, label: 'break glass', createdDaysAgo: 5 })).id;
  ids.admin = (
    await createPersonalTokenAt(fakeUrl(), { email: 'admin@example.com', label: 'admin cli', createdDaysAgo: 3 })
  ).id;
  ids.aliceGone = (
    await createPersonalTokenAt(fakeUrl(), { email: ALICE, label: 'old script', createdDaysAgo: 10 })
  ).id;
  const atlassian = new AtlassianClient({
    apiBaseUrl: fakeUrl(),
    siteBaseUrl: fakeUrl(),
    orgApiKey: async () => ORG_KEY,
  });
  ids.governed = (
    await atlassian.mintToken(JENKINS_BOT, {
      label: 'token-warden:tok_aaaaaaaaaaaaaaaaaaaaaaaaaa:g1',
      scopes: ['read:jira-work'],
      expiry: new Date(Date.now() + 30 * 86_400_000),
    })
  ).id;
  // Token Warden's record of that governed token (what issuance writes): its generation names the Atlassian id.
  await createRecordStore(dynamo.doc, dynamo.tableName).createToken({
    ...tokenRecord({ tokenId: 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa', requestId: 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa' }),
    generations: [
      {
        generation: 1,
        label: 'token-warden:tok_aaaaaaaaaaaaaaaaaaaaaaaaaa:g1',
        atlassianTokenId: ids.governed,
        expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        versionId: 'v1',
        mintedAt: new Date().toISOString(),
      },
    ],
    version: 1,
  });
  scans.first = (await scanNow()).scanId;
  await atlassian.revokeToken(
    fake.personalTokens().find((t) => t.id === ids.aliceGone)?.accountId ?? '',
    ids.aliceGone,
  );
  const second = await scanNow();
  scans.second = second.scanId;
  scans.secondFinishedAt = second.finishedAt;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => fakeServer.close(r));
  await dynamo.close();
});

beforeEach(() => stubAws());

const list = (claims: Record<string, unknown>, query?: Record<string, string>) =>
  call({ routeKey: 'GET /inventory/personal-tokens', claims, ...(query ? { query } : {}) });
const mine = (claims: Record<string, unknown>, query?: Record<string, string>) =>
  call({ routeKey: 'GET /me/personal-tokens', claims, ...(query ? { query } : {}) });
const idsOf = (body: { items: { atlassianTokenId: string }[] }) => body.items.map((t) => t.atlassianTokenId).sort();

describe('GET /inventory/personal-tokens', () => {
  it('lists every personal token (never the governed one) with the latest complete scan time, to admins', async () => {
    // Act
    const res = await list(admin());
    // Assess
    expect(res.status).toBe(200);
    expect(idsOf(res.body)).toEqual([ids.alice, ids.aliceGone, ids.bobCi, ids.bobLaptop, ids.exempt, ids.admin].sort());
    expect(res.body.scannedAt).toBe(scans.secondFinishedAt);
    expect(res.body).not.toHaveProperty('nextToken');
    const bobCi = res.body.items.find((t: { atlassianTokenId: string }) => t.atlassianTokenId === ids.bobCi);
    expect(bobCi).toMatchObject({
      owner: { email: BOB, accountId: expect.any(String), name: 'Bob' },
      label: 'bob ci',
      scopes: ['read:jira-work'],
      unscoped: false,
      atlassianStatus: 'ALLOWED',
      flags: ['NEVER_USED', 'UNAPPROVED_ACCESS'],
      state: 'OPEN',
    });
    expect(bobCi).not.toHaveProperty('version');
  });

  it('refuses members with 403 and changes nothing', async () => {
    // Prepare
    const before = await snapshot();
    // Act
    const res = await list(member(ALICE), { owner: ALICE });
    // Assess
    expect(res).toEqual({ status: 403, body: { error: { code: 'FORBIDDEN', message: expect.any(String) } } });
    expect(await snapshot()).toBe(before);
    expect(started()).toEqual([]);
  });

  it.each([
    ['state=EXEMPT', { state: 'EXEMPT' }, () => [ids.exempt]],
    ['state=GONE', { state: 'GONE' }, () => [ids.aliceGone]],
    ['state=REVOKED (none yet)', { state: 'REVOKED' }, () => []],
    ['flag=UNAPPROVED_ACCESS', { flag: 'UNAPPROVED_ACCESS' }, () => [ids.bobCi, ids.bobLaptop]],
    ['flag=STALE', { flag: 'STALE' }, () => [ids.alice]],
    ['flag=UNSCOPED and state=OPEN', { flag: 'UNSCOPED', state: 'OPEN' }, () => [ids.alice, ids.bobLaptop, ids.admin]],
    ['owner, in another case and padded', { owner: ' BOB@Example.com ' }, () => [ids.bobCi, ids.bobLaptop]],
    ['owner with no tokens', { owner: 'security@example.com' }, () => []],
  ])('filters by %s', async (_what, query, expected) => {
    // Act
    const res = await list(admin(), query);
    // Assess
    expect(res.status).toBe(200);
    expect(idsOf(res.body)).toEqual(expected().sort());
  });

  it('pages with limit and nextToken: every record once, newest first', async () => {
    // Act
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const res = await list(admin(), { limit: '2', ...(nextToken ? { nextToken } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((t: { atlassianTokenId: string }) => t.atlassianTokenId));
      nextToken = res.body.nextToken;
      pages++;
    } while (nextToken && pages < 10);
    // Assess
    expect(nextToken).toBeUndefined();
    expect([...seen].sort()).toEqual(idsOf((await list(admin())).body));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('pages a filtered listing without skipping or repeating', async () => {
    // Act
    const first = await list(admin(), { flag: 'NEVER_USED', limit: '1' });
    const second = await list(admin(), { flag: 'NEVER_USED', limit: '100', nextToken: first.body.nextToken });
    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const all = idsOf((await list(admin(), { flag: 'NEVER_USED' })).body);
    expect([...idsOf(first.body), ...idsOf(second.body)].sort()).toEqual(all);
  });

  it.each([
    ['an unknown parameter', { status: 'OPEN' }, 'status'],
    ['a parameter in another case', { State: 'OPEN' }, 'State'],
    ['a prototype key', Object.fromEntries([['__proto__', 'x']]), '__proto__'],
    ['a state not in the contract', { state: 'open' }, 'state'],
    ['an empty state', { state: '' }, 'state'],
    ['a flag not in the contract', { flag: 'UNUSED' }, 'flag'],
    ['an owner that is not an email', { owner: 'bob' }, 'owner'],
    ['a blank owner', { owner: '   ' }, 'owner'],
    ['limit 0', { limit: '0' }, 'limit'],
    ['limit 101', { limit: '101' }, 'limit'],
    ['limit 1.5', { limit: '1.5' }, 'limit'],
    ['a nextToken that is not one', { nextToken: 'junk!' }, 'nextToken'],
    [
      'a nextToken of another partition',
      {
        nextToken: Buffer.from(
          JSON.stringify({ pk: 'PT#x', sk: 'PT', gsi1pk: `PTOWNER#${BOB}`, gsi1sk: 'x' }),
        ).toString('base64url'),
      },
      'nextToken',
    ],
  ])('refuses %s with 400 naming the parameter, changing nothing', async (_what, query, field) => {
    // Prepare
    const before = await snapshot();
    // Act
    const res = await list(admin(), query as Record<string, string>);
    // Assess
    expect(res).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', message: expect.any(String), field } },
    });
    expect(await snapshot()).toBe(before);
  });
});

describe('GET /me/personal-tokens', () => {
  it.each([
    ['alice', member(ALICE), () => [ids.alice, ids.aliceGone]],
    ['bob, in another case', member('Bob@Example.com'), () => [ids.bobCi, ids.bobLaptop]],
    ['an admin (their own only)', admin(), () => [ids.admin]],
    ['a member without tokens', member('approver2@example.com'), () => []],
  ])('shows %s only their own records', async (_who, claims, expected) => {
    // Act
    const res = await mine(claims);
    // Assess
    expect(res.status).toBe(200);
    expect(idsOf(res.body)).toEqual(expected().sort());
    expect(res.body.scannedAt).toBe(scans.secondFinishedAt);
  });

  it('filters the caller’s own records by state and flag', async () => {
    // Act
    const gone = await mine(member(ALICE), { state: 'GONE' });
    const stale = await mine(member(ALICE), { flag: 'STALE', limit: '1' });
    // Assess
    expect(idsOf(gone.body)).toEqual([ids.aliceGone]);
    expect(idsOf(stale.body)).toEqual([ids.alice]);
  });

  it.each([
    ['owner (the caller is the owner)', { owner: BOB }, 'owner'],
    ['an unknown parameter', { mine: 'true' }, 'mine'],
  ])('refuses %s with 400 naming it', async (_what, query, field) => {
    // Act
    const res = await mine(member(ALICE), query);
    // Assess
    expect(res).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_ERROR', message: expect.any(String), field } },
    });
  });

  it("refuses another listing's nextToken: the admin's, or another member's", async () => {
    // Prepare
    const adminPage = await list(admin(), { limit: '1' });
    const alicePage = await mine(member(ALICE), { limit: '1' });
    expect(adminPage.body.nextToken).toEqual(expect.any(String));
    expect(alicePage.body.nextToken).toEqual(expect.any(String));
    // Act
    const withAdmins = await mine(member(ALICE), { nextToken: adminPage.body.nextToken });
    const withAlices = await mine(member(BOB), { nextToken: alicePage.body.nextToken });
    const ownNext = await mine(member(ALICE), { nextToken: alicePage.body.nextToken });
    // Assess
    for (const res of [withAdmins, withAlices]) {
      expect(res).toEqual({
        status: 400,
        body: { error: { code: 'VALIDATION_ERROR', message: expect.any(String), field: 'nextToken' } },
      });
    }
    expect(ownNext.status).toBe(200);
    expect(ownNext.body.items.every((t: { owner: { email: string } }) => t.owner.email === ALICE)).toBe(true);
  });

  it('answers 401 without an email claim', async () => {
    // Act
    const res = await call({ routeKey: 'GET /me/personal-tokens', authorizerClaims: { sub: 'x' } });
    // Assess
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', field: 'authorization' });
  });
});

describe('GET /inventory/personal-tokens/{atlassianTokenId}', () => {
  const get = (claims: Record<string, unknown>, id: string) =>
    call({
      routeKey: 'GET /inventory/personal-tokens/{atlassianTokenId}',
      claims,
      pathParameters: { atlassianTokenId: id },
    });

  it('answers one record to admins', async () => {
    // Act
    const res = await get(admin(), ids.exempt);
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ atlassianTokenId: ids.exempt, owner: { email: EXEMPT }, state: 'EXEMPT' });
    expect(res.body.lastSeenAt).toBe(
      // A listed token was seen by the latest complete scan.
      (
        await call({
          routeKey: 'GET /inventory/scans/{scanId}',
          claims: admin(),
          pathParameters: { scanId: scans.second },
        })
      ).body.startedAt,
    );
  });

  it("refuses members with 403, even for their own token's id", async () => {
    // Act
    const res = await get(member(ALICE), ids.alice);
    // Assess
    expect(res.status).toBe(403);
  });

  it.each([
    ['junk', '../../etc/passwd'],
    ['an id that is too long', 'a'.repeat(129)],
    ['a huge id', 'a'.repeat(100_000)],
    ['an empty id', ''],
    ['a well-formed unknown id', '00000000-0000-4000-8000-00000000dead'],
    ['the governed token', () => ids.governed],
    ['a scan id', () => scans.first],
  ])('answers 404 for %s', async (_what, id) => {
    // Act
    const res = await get(admin(), typeof id === 'function' ? id() : id);
    // Assess
    expect(res).toEqual({ status: 404, body: { error: { code: 'NOT_FOUND', message: expect.any(String) } } });
  });
});

describe('POST /inventory/personal-tokens/{atlassianTokenId}/revoke', () => {
  const revoke = (claims: Record<string, unknown>, id: string, body?: string, contentType = 'application/json') =>
    call({
      routeKey: 'POST /inventory/personal-tokens/{atlassianTokenId}/revoke',
      claims,
      pathParameters: { atlassianTokenId: id },
      ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }),
    });
  const atFake = (id: string) => fake.personalTokens().find((t) => t.id === id)?.status;

  it('refuses members with 403: nothing changes, nothing is revoked', async () => {
    // Prepare
    const before = await snapshot();
    // Act
    const res = await revoke(member(BOB), ids.bobLaptop, JSON.stringify({ reason: 'mine' }));
    // Assess
    expect(res.status).toBe(403);
    expect(await snapshot()).toBe(before);
    expect(ses.commandCalls(SendEmailCommand)).toEqual([]);
  });

  it.each([
    ['an unknown property', JSON.stringify({ reason: 'x', force: true }), 'application/json', 400, 'force'],
    ['a reason over 500 characters', JSON.stringify({ reason: 'x'.repeat(501) }), 'application/json', 400, 'reason'],
    ['a blank reason', JSON.stringify({ reason: '  ' }), 'application/json', 400, 'reason'],
    ['a reason that is not a string', JSON.stringify({ reason: 5 }), 'application/json', 400, 'reason'],
    ['a two-line reason', JSON.stringify({ reason: 'a\nb' }), 'application/json', 400, 'reason'],
    ['a body that is not JSON', '{', 'application/json', 400, undefined],
    ['an array body', '[]', 'application/json', 400, undefined],
    ['another media type', JSON.stringify({ reason: 'x' }), 'text/plain', 415, 'content-type'],
  ])('refuses %s, revoking nothing', async (_what, body, contentType, status, field) => {
    // Prepare
    const before = await snapshot();
    // Act
    const res = await revoke(admin(), ids.bobLaptop, body, contentType);
    // Assess
    expect(res.status).toBe(status);
    expect(res.body.error.field).toBe(field);
    expect(await snapshot()).toBe(before);
    expect(atFake(ids.bobLaptop)).toBe('ACTIVE');
  });

  // Both refusals below read Token Warden's own token records, never Atlassian: nothing is written.
  it("answers 409 for a governed service account's token and leaves it live", async () => {
    // Prepare
    const before = await snapshot();
    // Act
    const res = await revoke(admin(), ids.governed);
    // Assess
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CONFLICT');
    expect(fake.tokens().find((t) => t.id === ids.governed)?.status).toBe('ACTIVE');
    expect(await snapshot()).toBe(before);
  });

  it('answers 404 for an unknown or malformed id, changing nothing', async () => {
    // Prepare
    const before = await snapshot();
    // Act
    const unknown = await revoke(admin(), '00000000-0000-4000-8000-00000000dead');
    const junk = await revoke(admin(), 'a/../b');
    // Assess
    expect(unknown.status).toBe(404);
    expect(junk.status).toBe(404);
    expect(await snapshot()).toBe(before);
  });

  it('revokes: 200 REVOKED with who and why, the token gone at Atlassian, audited, the owner told; a repeat is 200 unchanged', async () => {
    // Act
    const res = await revoke(admin(), ids.bobLaptop, JSON.stringify({ reason: ' leaked in a build log ' }));
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      atlassianTokenId: ids.bobLaptop,
      state: 'REVOKED',
      revokedBy: 'admin@example.com',
      revokeReason: 'leaked in a build log',
      revokedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(atFake(ids.bobLaptop)).toBe('REVOKED');
    const audit = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName, ConsistentRead: true }));
    expect(
      (audit.Items ?? []).filter(
        (i) => i.event === 'PERSONAL_TOKEN_REVOKED' && i.correlationId === `personal-token:${ids.bobLaptop}`,
      ),
    ).toHaveLength(1);
    const mails = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(mails.map((m) => m.Destination?.ToAddresses)).toEqual([[BOB]]);
    // Act: the repeat
    ses.resetHistory();
    const again = await revoke(admin(), ids.bobLaptop, JSON.stringify({ reason: 'another reason' }));
    // Assess
    expect(again).toEqual({ status: 200, body: res.body });
    expect(ses.commandCalls(SendEmailCommand)).toEqual([]);
    expect(idsOf((await list(admin(), { state: 'REVOKED' })).body)).toEqual([ids.bobLaptop]);
  });

  it('a revoked token stays REVOKED through the next scan', async () => {
    // Act
    await scanNow();
    // Assess
    const res = await list(admin(), { state: 'REVOKED' });
    expect(idsOf(res.body)).toEqual([ids.bobLaptop]);
  });

  it('a revoke whose DELETE fails holds and is audited; its repeat revokes the token and tells the owner', async () => {
    // Prepare: every attempt of the next DELETE fails.
    await fetch(`${fakeUrl()}/__control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ route: 'revoke', status: 500, count: 4 }),
    });
    // Act
    const failed = await revoke(admin(), ids.bobCi, JSON.stringify({ reason: 'moved to a governed token' }));
    const mailsAfterFailure = ses.commandCalls(SendEmailCommand).length;
    const again = await revoke(admin(), ids.bobCi);
    // Assess
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ state: 'REVOKED', revokeReason: 'moved to a governed token' });
    expect(atFake(ids.bobCi)).toBe('REVOKED');
    const audit = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName, ConsistentRead: true }));
    expect(
      (audit.Items ?? []).filter(
        (i) => i.event === 'PERSONAL_TOKEN_REVOKED' && i.correlationId === `personal-token:${ids.bobCi}`,
      ),
    ).toEqual([expect.objectContaining({ actor: 'admin@example.com' })]);
    expect(mailsAfterFailure).toBe(0);
    expect(ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses)).toEqual([[BOB]]);
  }, 20_000);

  it('revoking the token of a member whose Atlassian account is gone turns the record REVOKED and audits it', async () => {
    // Prepare: a record of a member who has since left the org (Atlassian no longer knows the account).
    const store = createRecordStore(dynamo.doc, dynamo.tableName);
    const at = '2026-12-01T00:00:00Z';
    const id = 'f0f0f0f0-0000-4000-8000-00000000beef';
    await store.createPersonalToken({
      atlassianTokenId: id,
      owner: { accountId: '712020:00000000-0000-4000-8000-0000000000ff', email: 'leaver@example.com', name: 'Leaver' },
      label: 'old laptop',
      scopes: [],
      unscoped: true,
      atlassianStatus: 'BLOCKED',
      createdAt: at,
      flags: ['UNSCOPED', 'NEVER_USED'],
      state: 'GONE',
      firstSeenAt: at,
      lastSeenAt: at,
      version: 1,
    });
    // Act
    const res = await revoke(admin(), id);
    const again = await revoke(admin(), id);
    // Assess: nothing of theirs is left at Atlassian, which is what was asked.
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'REVOKED', revokedBy: 'admin@example.com' });
    expect(again).toEqual(res);
    expect(await store.getPersonalToken(id)).toMatchObject({ state: 'REVOKED', revokedBy: 'admin@example.com' });
    const audit = await dynamo.doc.send(new ScanCommand({ TableName: dynamo.auditTableName, ConsistentRead: true }));
    expect((audit.Items ?? []).filter((i) => i.correlationId === `personal-token:${id}`)).toHaveLength(1);
  });
});

describe('POST /inventory/scan and GET /inventory/scans/{scanId}', () => {
  const getScan = (claims: Record<string, unknown>, scanId: string) =>
    call({ routeKey: 'GET /inventory/scans/{scanId}', claims, pathParameters: { scanId } });

  it('refuses members with 403: no scan recorded, no execution started', async () => {
    // Prepare
    const before = await snapshot();
    // Act
    const res = await call({ routeKey: 'POST /inventory/scan', claims: member(ALICE) });
    // Assess
    expect(res.status).toBe(403);
    expect(started()).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it('starts exactly one execution; a second request while it runs is 409 and starts nothing', async () => {
    // Act
    const res = await call({ routeKey: 'POST /inventory/scan', claims: admin() });
    // Assess
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      scanId: expect.stringMatching(/^scan_[a-z2-7]{26}$/),
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(started()).toEqual([
      {
        stateMachineArn: SCAN_ARN,
        name: res.body.scanId,
        input: JSON.stringify({ action: 'begin', scanId: res.body.scanId }),
      },
    ]);
    const running = await getScan(admin(), res.body.scanId);
    expect(running.body).toMatchObject({ scanId: res.body.scanId, status: 'RUNNING', startedAt: res.body.startedAt });
    // Act: a second one while the first runs
    sfn.resetHistory();
    const before = await snapshot();
    const second = await call({ routeKey: 'POST /inventory/scan', claims: admin() });
    // Assess
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('CONFLICT');
    expect(started()).toEqual([]);
    expect(await snapshot()).toBe(before);
    // Act: the workflow runs it; then another may start
    await runScan(scanDeps(), res.body.scanId);
    const done = await getScan(admin(), res.body.scanId);
    const third = await call({ routeKey: 'POST /inventory/scan', claims: admin() });
    // Assess
    expect(done.body).toMatchObject({ status: 'COMPLETE', finishedAt: expect.any(String), listed: expect.any(Number) });
    expect(third.status).toBe(202);
    await runScan(scanDeps(), third.body.scanId);
  });

  it('gives the lock back when the execution does not start', async () => {
    // Prepare
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    // Act
    const failed = await call({ routeKey: 'POST /inventory/scan', claims: admin() });
    stubAws();
    const next = await call({ routeKey: 'POST /inventory/scan', claims: admin() });
    // Assess
    expect(failed.status).toBe(500);
    expect(next.status).toBe(202);
    await runScan(scanDeps(), next.body.scanId);
  });

  it('shows a finished scan with its counts', async () => {
    // Act
    const res = await getScan(admin(), scans.first);
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      scanId: scans.first,
      status: 'COMPLETE',
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      listed: 6,
      new: 6,
      revoked: 0,
      gone: 0,
    });
    expect((await getScan(admin(), scans.second)).body).toMatchObject({ listed: 5, new: 0, gone: 1 });
  });

  it.each([
    ['a member', member(ALICE), () => scans.first, 403],
    ['a wrong-shaped id', admin(), () => 'scan_1', 404],
    ['an upper-case id', admin(), () => scans.first.toUpperCase(), 404],
    ['a personal token id', admin(), () => ids.alice, 404],
    ['a well-formed unknown id', admin(), () => `scan_${'a'.repeat(26)}`, 404],
    ['a huge id', admin(), () => `scan_${'a'.repeat(100_000)}`, 404],
  ])('GET refuses %s', async (_what, claims, id, status) => {
    // Act
    const res = await getScan(claims, id());
    // Assess
    expect(res.status).toBe(status);
  });
});
