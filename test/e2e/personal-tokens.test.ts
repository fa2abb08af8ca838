/**
 * End to end: members' personal Atlassian API tokens — found by the scan, the owner told once, revoked at
 * Atlassian after the notice period and the owner told again; an exempt user's token listed and kept; the governed
 * `jenkins-bot` token never touched — driven over HTTP against the real local runtime on the simulated clock.
 *
 * Two runtimes: one on the shipped policy (`personalTokens.mode: report`) for what the first scan finds in the
 * seeded org, and one on a copy of it in `revoke` mode (`revokeAfterDays: 3`, `exemptUsers: [security@example.com]`)
 * for everything Token Warden does to the tokens. Members create their tokens through the fake's test controls, as
 * they would in id.atlassian.com; the token values those answers carry are the member's, so they are read straight
 * from `fetch` and kept out of `rt.received`, where the final scan looks for them.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { type HttpAnswer, LocalRuntime, type RequestView, requestBody, SEED, waitFor } from '../../local/driver';
import { collectArtifacts, findSecretValues, type SecretValue, scanForLeaks } from './support/leaks';
import { fakeTokensOf, myself, readSecret } from './support/rotation';

jest.setTimeout(180_000);

const DAY = 86_400_000;
const SECURITY = 'security@example.com';
const REVOKE_AFTER_DAYS = 3;
const SCAN_ID = /^scan_[a-z2-7]{26}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** A personal-token record as the API represents it. */
interface PersonalTokenView {
  atlassianTokenId: string;
  owner: { accountId: string; email: string; name: string };
  label: string;
  scopes: string[];
  unscoped: boolean;
  atlassianStatus: 'ALLOWED' | 'BLOCKED';
  createdAt: string;
  expiresAt?: string;
  lastActiveAt?: string;
  flags: string[];
  state: 'OPEN' | 'EXEMPT' | 'REVOKED' | 'GONE';
  firstSeenAt: string;
  lastSeenAt: string;
  noticeSentAt?: string;
  revokeAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
}

interface PersonalTokenPage {
  items: PersonalTokenView[];
  nextToken?: string;
  scannedAt?: string;
}

interface ScanView {
  scanId: string;
  status: 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
  startedAt: string;
  finishedAt?: string;
  listed: number;
  new: number;
  revoked: number;
  gone: number;
  error?: string;
}

/** A token a member created in id.atlassian.com (the fake's control), with its value. */
interface MemberToken {
  id: string;
  token: string;
  email: string;
  label: string;
}

const revokePolicy = join(tmpdir(), `token-warden-e2e-personal-tokens-policy-${process.pid}.yaml`);

/** The shipped policy with the personal-token section switched to revoke mode. */
function writeRevokePolicy(): void {
  const doc = parseDocument(readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8'));
  // The copy changes these three settings only; the shipped file must still have them to be a faithful copy.
  expect(doc.getIn(['personalTokens', 'mode'])).toBe('report');
  expect(doc.getIn(['organization', 'orgId'])).toBe('demo-org');
  doc.setIn(['personalTokens', 'mode'], 'revoke');
  doc.setIn(['personalTokens', 'revokeAfterDays'], REVOKE_AFTER_DAYS);
  doc.setIn(['personalTokens', 'exemptUsers'], doc.createNode([SECURITY]));
  writeFileSync(revokePolicy, doc.toString());
}

let reporting: LocalRuntime | undefined;
let rt: LocalRuntime;

beforeAll(async () => {
  writeRevokePolicy();
  // Started side by side: the revoke-mode runtime may need its own synthesis while the other one is ready.
  const [shipped, revoking] = await Promise.allSettled([
    LocalRuntime.start('personal-tokens-report'),
    LocalRuntime.start('personal-tokens', { policy: revokePolicy }),
  ]);
  if (shipped.status === 'fulfilled') reporting = shipped.value;
  if (revoking.status === 'fulfilled') rt = revoking.value;
  for (const started of [shipped, revoking]) if (started.status === 'rejected') throw started.reason;
});

afterAll(async () => {
  await reporting?.dispose();
  await rt?.dispose();
  rmSync(revokePolicy, { force: true });
});

/** Bearer tokens per runtime and email (the test is far shorter than their hour). */
const bearers = new Map<string, string>();
async function as(runtime: LocalRuntime, email: string): Promise<string> {
  const key = `${runtime.urls.api} ${email}`;
  const cached = bearers.get(key);
  if (cached) return cached;
  const token = await runtime.memberToken(email);
  bearers.set(key, token);
  return token;
}

/** `{error: {code, field}}` of a refusal, with the status. */
function refusal(answer: HttpAnswer) {
  const error = (answer.json as { error?: { code?: string; field?: string } } | undefined)?.error;
  return { status: answer.status, code: error?.code, field: error?.field };
}

async function listAll(runtime: LocalRuntime, query = ''): Promise<PersonalTokenPage> {
  const answer = await runtime.api('GET', `/inventory/personal-tokens${query}`, {
    token: await as(runtime, SEED.admin),
  });
  if (answer.status !== 200) throw new Error(`GET /inventory/personal-tokens${query} answered ${answer.status}`);
  return answer.json as PersonalTokenPage;
}

async function mine(runtime: LocalRuntime, email: string): Promise<PersonalTokenView[]> {
  const answer = await runtime.api('GET', '/me/personal-tokens', { token: await as(runtime, email) });
  expect({ email, status: answer.status }).toEqual({ email, status: 200 });
  return (answer.json as PersonalTokenPage).items;
}

async function record(runtime: LocalRuntime, id: string): Promise<PersonalTokenView> {
  const answer = await runtime.api('GET', `/inventory/personal-tokens/${id}`, { token: await as(runtime, SEED.admin) });
  if (answer.status !== 200) throw new Error(`GET /inventory/personal-tokens/${id} answered ${answer.status}`);
  return answer.json as PersonalTokenView;
}

async function getScan(runtime: LocalRuntime, scanId: string): Promise<ScanView> {
  const answer = await runtime.api('GET', `/inventory/scans/${scanId}`, { token: await as(runtime, SEED.admin) });
  if (answer.status !== 200) throw new Error(`GET /inventory/scans/${scanId} answered ${answer.status}`);
  return answer.json as ScanView;
}

/** Waits until the scan has ended, and expects it complete. */
async function scanEnded(runtime: LocalRuntime, scanId: string): Promise<ScanView> {
  const scan = await waitFor(
    async () => {
      const view = await getScan(runtime, scanId);
      return view.status === 'RUNNING' ? undefined : view;
    },
    60_000,
    `scan ${scanId} to end`,
  );
  expect({ scanId, status: scan.status, error: scan.error }).toEqual({ scanId, status: 'COMPLETE', error: undefined });
  return scan;
}

/** `POST /inventory/scan`, again while a scheduled scan holds the lock; resolves with the 202's body. */
async function startScan(runtime: LocalRuntime): Promise<{ scanId: string; startedAt: string }> {
  const admin = await as(runtime, SEED.admin);
  const answer = await waitFor(
    async () => {
      const started = await runtime.api('POST', '/inventory/scan', { token: admin });
      if (started.status === 409) return undefined;
      return started;
    },
    60_000,
    'POST /inventory/scan to be accepted',
  );
  expect(answer.status).toBe(202);
  const body = answer.json as { scanId: string; startedAt: string };
  expect(body.scanId).toMatch(SCAN_ID);
  expect(body.startedAt).toMatch(ISO);
  return body;
}

/** Waits until a scan has completed since the runtime started (the schedule fires on start-up). */
async function firstScanDone(runtime: LocalRuntime): Promise<PersonalTokenPage> {
  return waitFor(
    async () => {
      const page = await listAll(runtime);
      return page.scannedAt === undefined ? undefined : page;
    },
    60_000,
    'the start-up scan to complete',
  );
}

/** The next listing request the fake serves is held: a scan started now is still running a moment later. */
async function holdNextListing(runtime: LocalRuntime, delayMs: number): Promise<void> {
  const answer = await runtime.http(`${runtime.urls.atlassian}/__control/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ route: 'inventory', delayMs, count: 1 }),
  });
  expect(answer.status).toBe(200);
}

/**
 * A member creates a token (`POST /__control/personal-tokens`). Read with `fetch`: a 201 holds the value, which the
 * member, not Token Warden, received; any other answer is kept for the secret scan like every other response.
 */
async function createToken(
  runtime: LocalRuntime,
  input: { email: string; label: string; scopes?: string[]; expiresInDays?: number; createdDaysAgo?: number },
): Promise<{ status: number; created?: MemberToken }> {
  const res = await fetch(`${runtime.urls.atlassian}/__control/personal-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const text = await res.text();
  if (res.status !== 201) {
    runtime.received.push(text);
    return { status: res.status };
  }
  const { id, token } = JSON.parse(text) as { id: string; token: string };
  expect(typeof id).toBe('string');
  expect(token.length).toBeGreaterThanOrEqual(20);
  return { status: 201, created: { id, token, email: input.email, label: input.label } };
}

/** An admin moves a member into an authentication policy in admin.atlassian.com. */
async function moveMember(runtime: LocalRuntime, policyId: string, email: string): Promise<void> {
  const answer = await runtime.http(`${runtime.urls.atlassian}/__control/policies/${policyId}/members`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  expect({ policyId, email, status: answer.status }).toEqual({ policyId, email, status: 200 });
}

async function policyOf(runtime: LocalRuntime, email: string): Promise<string[]> {
  const answer = await runtime.http(`${runtime.urls.atlassian}/__control/policies`);
  expect(answer.status).toBe(200);
  return (answer.json as { policyId: string; members: { email: string }[] }[])
    .filter((p) => p.members.some((m) => m.email === email))
    .map((p) => p.policyId);
}

/** `GET /rest/api/3/myself` at the site with the member's Basic credential. */
async function memberMyself(runtime: LocalRuntime, member: MemberToken): Promise<number> {
  const basic = Buffer.from(`${member.email}:${member.token}`).toString('base64');
  return (
    await runtime.http(`${runtime.urls.atlassian}/rest/api/3/myself`, { headers: { authorization: `Basic ${basic}` } })
  ).status;
}

async function fakeStatus(runtime: LocalRuntime, id: string): Promise<string | undefined> {
  return (await runtime.fakeTokens()).find((t) => t.id === id)?.status;
}

/** The emails to `email`, optionally only those whose text names `id`. */
async function mailTo(runtime: LocalRuntime, email: string, id?: string) {
  return (await runtime.emails()).filter(
    (e) => e.destination.to.includes(email) && (id === undefined || (e.body.text ?? '').includes(id)),
  );
}

const subjects = (mails: { subject: string }[]) => mails.map((m) => m.subject);

/**
 * The emails to `email` (about `id`), once at least `count` have arrived: the notifier sends them from the scan's
 * events off its queue, a moment after the scan has ended.
 */
async function mailArrived(runtime: LocalRuntime, email: string, id: string | undefined, count: number) {
  return waitFor(
    async () => {
      const mails = await mailTo(runtime, email, id);
      return mails.length >= count ? mails : undefined;
    },
    30_000,
    `${count} email(s) to ${email}${id === undefined ? '' : ` about ${id}`}`,
  );
}

describe('Personal tokens on the shipped policy (report mode)', () => {
  afterAll(async () => {
    // Nothing below needs it: give its processes back.
    await reporting?.dispose();
    reporting = undefined;
  });

  it('lists the seeded token of alice from the first scan, tells only the admins, and runs one scan at a time', async () => {
    const report = reporting!;
    // Prepare: the schedule's start-up scan.
    const page = await firstScanDone(report);

    // Assess: alice's 200-day-old, never-used token, blocked by her policy; nothing acted on.
    expect(page.items).toHaveLength(1);
    const seeded = page.items[0]!;
    expect(seeded).toMatchObject({
      owner: { email: SEED.alice, name: 'Alice', accountId: expect.stringMatching(/^712020:/) },
      label: 'my laptop scripts',
      scopes: [],
      unscoped: true,
      atlassianStatus: 'BLOCKED',
      flags: ['UNSCOPED', 'STALE', 'NEVER_USED', 'OVER_LIFETIME'],
      state: 'OPEN',
    });
    expect(seeded).not.toHaveProperty('noticeSentAt');
    expect(seeded).not.toHaveProperty('revokeAt');
    expect(seeded).not.toHaveProperty('lastActiveAt');
    const now = Date.parse(((await report.api('GET', '/local/clock')).json as { now: string }).now);
    expect(Math.abs(now - 200 * DAY - Date.parse(seeded.createdAt))).toBeLessThan(10 * 60_000);
    expect(await record(report, seeded.atlassianTokenId)).toEqual(seeded);
    expect(await fakeStatus(report, seeded.atlassianTokenId)).toBe('ACTIVE');

    // One digest to the admins names the scan; report mode mails nobody else.
    const digests = await waitFor(
      async () => {
        const all = (await mailTo(report, SEED.admin)).filter((m) => m.subject.startsWith('Personal tokens:'));
        return all.length > 0 ? all : undefined;
      },
      30_000,
      'the admins’ digest',
    );
    expect(subjects(digests)).toEqual(['Personal tokens: 1 new, 0 gone, 0 revoked']);
    expect(digests[0]!.body.text).toContain(seeded.atlassianTokenId);
    const firstScanId = /The scan (scan_[a-z2-7]{26}) /.exec(digests[0]!.body.text ?? '')?.[1];
    expect(firstScanId).toMatch(SCAN_ID);
    expect(await getScan(report, firstScanId!)).toMatchObject({
      scanId: firstScanId,
      status: 'COMPLETE',
      listed: 1,
      new: 1,
      revoked: 0,
      gone: 0,
      finishedAt: expect.stringMatching(ISO),
    });

    // Act: an admin scans now; while that scan lists, a second is refused.
    await holdNextListing(report, 2_000);
    const { scanId } = await startScan(report);
    expect(scanId).not.toBe(firstScanId);
    const second = await report.api('POST', '/inventory/scan', { token: await as(report, SEED.admin) });
    expect(refusal(second)).toMatchObject({ status: 409 });
    expect(second.text).toContain(scanId);
    expect((await getScan(report, scanId)).status).toBe('RUNNING');

    // Assess: the same token, nothing new, so no second digest; still nobody else mailed.
    expect(await scanEnded(report, scanId)).toMatchObject({ listed: 1, new: 0, revoked: 0, gone: 0 });
    const after = await listAll(report);
    expect(after.items.map((i) => [i.atlassianTokenId, i.state])).toEqual([[seeded.atlassianTokenId, 'OPEN']]);
    expect(Date.parse(after.scannedAt!)).toBeGreaterThanOrEqual(Date.parse(page.scannedAt!));
    const mails = await report.emails();
    expect(mails.filter((m) => !m.destination.to.includes(SEED.admin))).toEqual([]);
    expect(subjects(mails.filter((m) => m.subject.startsWith('Personal tokens:')))).toHaveLength(1);
    expect(await mine(report, SEED.alice)).toEqual(after.items);
  });

  it('answers bad input with a 4xx naming the field, and changes nothing', async () => {
    const report = reporting!;
    const admin = await as(report, SEED.admin);
    const alice = await as(report, SEED.alice);
    const [seeded] = (await listAll(report)).items;
    const id = seeded!.atlassianTokenId;

    // Members on the admins' routes.
    for (const [method, path] of [
      ['GET', '/inventory/personal-tokens'],
      ['GET', `/inventory/personal-tokens/${id}`],
      ['POST', `/inventory/personal-tokens/${id}/revoke`],
      ['POST', '/inventory/scan'],
      ['GET', `/inventory/scans/scan_${'a'.repeat(26)}`],
    ] as const) {
      const answer = await report.api(method, path, { token: alice });
      expect({ method, path, ...refusal(answer) }).toEqual({ method, path, status: 403, code: 'FORBIDDEN' });
    }
    expect((await report.api('GET', '/me/personal-tokens')).status).toBe(401);

    // Bad filters and bodies name their field.
    const cases: Array<[string, string, unknown, string]> = [
      ['GET', '/inventory/personal-tokens?state=bogus', undefined, 'state'],
      ['GET', '/inventory/personal-tokens?flag=bogus', undefined, 'flag'],
      ['GET', '/inventory/personal-tokens?owner=not-an-email', undefined, 'owner'],
      ['GET', '/inventory/personal-tokens?limit=0', undefined, 'limit'],
      ['GET', '/inventory/personal-tokens?limit=101', undefined, 'limit'],
      ['GET', '/inventory/personal-tokens?colour=red', undefined, 'colour'],
      ['POST', `/inventory/personal-tokens/${id}/revoke`, { reason: 'leaked', force: true }, 'force'],
      ['POST', `/inventory/personal-tokens/${id}/revoke`, { reason: '' }, 'reason'],
      ['POST', `/inventory/personal-tokens/${id}/revoke`, { reason: 'two\nlines' }, 'reason'],
    ];
    for (const [method, path, body, field] of cases) {
      const answer = await report.api(method, path, { token: admin, ...(body === undefined ? {} : { body }) });
      expect({ method, path, ...refusal(answer) }).toEqual({
        method,
        path,
        status: 400,
        code: 'VALIDATION_ERROR',
        field,
      });
    }
    const ownerOnMine = await report.api('GET', `/me/personal-tokens?owner=${SEED.bob}`, { token: alice });
    expect(refusal(ownerOnMine)).toEqual({ status: 400, code: 'VALIDATION_ERROR', field: 'owner' });

    // Unknown ids.
    expect((await report.api('GET', '/inventory/personal-tokens/no-such-token', { token: admin })).status).toBe(404);
    expect(
      (await report.api('POST', '/inventory/personal-tokens/no-such-token/revoke', { token: admin, body: {} })).status,
    ).toBe(404);
    expect((await report.api('GET', `/inventory/scans/scan_${'a'.repeat(26)}`, { token: admin })).status).toBe(404);
    expect((await report.api('GET', '/inventory/scans/not-a-scan-id', { token: admin })).status).toBe(404);

    // The refused revocations revoked nothing.
    expect(await record(report, id)).toMatchObject({ state: 'OPEN' });
    expect(await fakeStatus(report, id)).toBe('ACTIVE');
  });
});

describe('Personal tokens in revoke mode', () => {
  /** What the scenarios share, in the order they build it. */
  const members: Record<'bob' | 'aliceScoped' | 'security', MemberToken> = {} as never;
  let seededId: string;
  let governed: { tokenId: string; atlassianId: string; secretName: string; value: string };
  const secrets: SecretValue[] = [];

  it('finds the tokens members created and tells each open token’s owner once, with the way out', async () => {
    // Prepare: the start-up scan found the seeded token and, in revoke mode, gave alice her notice.
    const initial = await firstScanDone(rt);
    expect(initial.items).toHaveLength(1);
    const seeded = initial.items[0]!;
    seededId = seeded.atlassianTokenId;
    expect(seeded).toMatchObject({ owner: { email: SEED.alice }, state: 'OPEN', atlassianStatus: 'BLOCKED' });
    expect(Date.parse(seeded.revokeAt!) - Date.parse(seeded.noticeSentAt!)).toBe(REVOKE_AFTER_DAYS * DAY);

    // A governed token for jenkins-bot, issued as usual.
    const alice = await as(rt, SEED.alice);
    const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody('ci-personal-tokens') });
    expect(created.status).toBe(202);
    const { requestId } = created.json as RequestView;
    const links = await rt.waitForApprovalLinks(requestId, 2);
    const { answer } = await rt.decide(links.find((l) => l.to === SEED.approver1)!.link, 'approve');
    expect(answer.status).toBe(200);
    const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
    const minted = await fakeTokensOf(rt, issued.tokenId!);
    expect(minted.map((t) => t.status)).toEqual(['ACTIVE']);
    governed = {
      tokenId: issued.tokenId!,
      atlassianId: minted[0]!.id,
      secretName: issued.secretName!,
      value: await readSecret(rt, issued.secretName!),
    };
    secrets.push({ label: `governed ${governed.secretName}`, value: governed.value });
    expect((await myself(rt, governed.value)).status).toBe(200);

    // Members create tokens. Bob's policy blocks API tokens until an admin moves him into the allowing one.
    expect((await createToken(rt, { email: SEED.bob, label: 'bob jenkins job' })).status).toBe(403);
    await moveMember(rt, 'policy-allow', SEED.bob);
    const bob = await createToken(rt, { email: SEED.bob, label: 'bob jenkins job', expiresInDays: 60 });
    expect(bob.status).toBe(201);
    members.bob = bob.created!;
    expect(await memberMyself(rt, members.bob)).toBe(200);
    // Alice's predates the block that now stops it working.
    const aliceScoped = await createToken(rt, {
      email: SEED.alice,
      label: 'alice jira export',
      scopes: ['read:jira-user', 'read:jira-work'],
      expiresInDays: 30,
      createdDaysAgo: 10,
    });
    expect(aliceScoped.status).toBe(201);
    members.aliceScoped = aliceScoped.created!;
    expect(await memberMyself(rt, members.aliceScoped)).toBe(401);
    // The break-glass admin is exempt.
    await moveMember(rt, 'policy-allow', SECURITY);
    const security = await createToken(rt, { email: SECURITY, label: 'break glass', expiresInDays: 60 });
    expect(security.status).toBe(201);
    members.security = security.created!;
    expect(await memberMyself(rt, members.security)).toBe(200);
    for (const member of Object.values(members)) {
      secrets.push({ label: `personal token ${member.label}`, value: member.token });
      // As a Basic credential of its owner, as `/myself` was called with it.
      secrets.push({
        label: `personal token ${member.label} (Basic)`,
        value: Buffer.from(`${member.email}:${member.token}`).toString('base64'),
      });
    }

    // Act
    const { scanId } = await startScan(rt);

    // Assess: three new personal tokens beside the seeded one; the governed token is not one of them.
    expect(await scanEnded(rt, scanId)).toMatchObject({ listed: 4, new: 3, revoked: 0, gone: 0 });
    const page = await listAll(rt);
    expect(page.items.map((i) => i.atlassianTokenId).sort()).toEqual(
      [seededId, members.bob.id, members.aliceScoped.id, members.security.id].sort(),
    );
    expect(page.items.filter((i) => i.owner.email.endsWith('@serviceaccount.atlassian.com'))).toEqual([]);
    expect(
      (await rt.api('GET', `/inventory/personal-tokens/${governed.atlassianId}`, { token: await as(rt, SEED.admin) }))
        .status,
    ).toBe(404);

    const byId = new Map(page.items.map((i) => [i.atlassianTokenId, i]));
    const bobRecord = byId.get(members.bob.id)!;
    expect(bobRecord).toMatchObject({
      owner: { email: SEED.bob, name: 'Bob' },
      label: 'bob jenkins job',
      scopes: [],
      unscoped: true,
      atlassianStatus: 'ALLOWED',
      flags: ['UNSCOPED', 'UNAPPROVED_ACCESS'],
      state: 'OPEN',
      lastActiveAt: expect.stringMatching(ISO),
      expiresAt: expect.stringMatching(ISO),
    });
    const aliceRecord = byId.get(members.aliceScoped.id)!;
    expect(aliceRecord).toMatchObject({
      owner: { email: SEED.alice },
      scopes: ['read:jira-user', 'read:jira-work'],
      unscoped: false,
      atlassianStatus: 'BLOCKED',
      flags: ['NEVER_USED'],
      state: 'OPEN',
    });
    for (const open of [bobRecord, aliceRecord]) {
      expect(open.noticeSentAt).toMatch(ISO);
      expect(Date.parse(open.revokeAt!) - Date.parse(open.noticeSentAt!)).toBe(REVOKE_AFTER_DAYS * DAY);
    }
    const securityRecord = byId.get(members.security.id)!;
    expect(securityRecord).toMatchObject({
      owner: { email: SECURITY },
      atlassianStatus: 'ALLOWED',
      flags: ['UNSCOPED'],
      state: 'EXEMPT',
    });
    expect(securityRecord).not.toHaveProperty('noticeSentAt');
    expect(securityRecord).not.toHaveProperty('revokeAt');

    // One notice per open token, to its owner, with the way out; none to the exempt user.
    for (const [email, id] of [
      [SEED.bob, members.bob.id],
      [SEED.alice, members.aliceScoped.id],
      [SEED.alice, seededId],
    ] as const) {
      const notices = await mailArrived(rt, email, id, 1);
      expect({ id, subjects: subjects(notices) }).toEqual({
        id,
        subjects: [
          expect.stringMatching(/^Action needed: your Atlassian API token ".+" will be revoked on \d{4}-\d\d-\d\d$/),
        ],
      });
      expect(notices[0]!.destination.to).toEqual([email]);
      expect(notices[0]!.body.text).toContain('POST /token-requests');
      expect(notices[0]!.body.text).toContain('access exception');
    }
    expect(subjects(await mailTo(rt, SEED.bob))).toHaveLength(1);
    expect(await mailTo(rt, SECURITY)).toEqual([]);
    const digests = await waitFor(
      async () => {
        const all = (await mailTo(rt, SEED.admin)).filter((m) => m.subject.startsWith('Personal tokens: 3 new,'));
        return all.length > 0 ? all : undefined;
      },
      30_000,
      'the digest of the scan',
    );
    expect(subjects(digests)).toContain('Personal tokens: 3 new, 0 gone, 0 revoked');
  });

  it('shows each member only their own records, and filters the admins’ list', async () => {
    const ownRecords = async (email: string) => (await mine(rt, email)).map((i) => i.atlassianTokenId).sort();
    expect(await ownRecords(SEED.bob)).toEqual([members.bob.id]);
    expect(await ownRecords(SEED.alice)).toEqual([seededId, members.aliceScoped.id].sort());
    expect(await ownRecords(SECURITY)).toEqual([members.security.id]);
    expect(await ownRecords(SEED.approver1)).toEqual([]);
    expect(await ownRecords(SEED.admin)).toEqual([]);
    // A member's view is the admins' view of the same records.
    expect(await mine(rt, SEED.bob)).toEqual((await listAll(rt, `?owner=${SEED.bob}`)).items);
    const bobAsAdmin = await rt.api('GET', '/inventory/personal-tokens', { token: await as(rt, SEED.bob) });
    expect(refusal(bobAsAdmin)).toEqual({ status: 403, code: 'FORBIDDEN', field: undefined });

    const ids = async (query: string) => (await listAll(rt, query)).items.map((i) => i.atlassianTokenId).sort();
    expect(await ids('?state=EXEMPT')).toEqual([members.security.id]);
    expect(await ids('?state=OPEN')).toEqual([seededId, members.bob.id, members.aliceScoped.id].sort());
    expect(await ids('?flag=UNAPPROVED_ACCESS')).toEqual([members.bob.id]);
    expect(await ids('?owner=ALICE@example.com')).toEqual([seededId, members.aliceScoped.id].sort());
    expect(await ids('?state=OPEN&owner=security@example.com')).toEqual([]);

    // Pages of one, followed to the end, hold every record once.
    const paged: string[] = [];
    let next: string | undefined;
    do {
      const page = await listAll(rt, `?limit=1${next ? `&nextToken=${encodeURIComponent(next)}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(1);
      paged.push(...page.items.map((i) => i.atlassianTokenId));
      next = page.nextToken;
    } while (next !== undefined && paged.length < 10);
    expect(paged.sort()).toEqual(await ids(''));
    expect(paged).toHaveLength(4);
  });

  it('sends no second notice when a scan finds nothing new', async () => {
    const before = (await rt.emails()).length;
    const { scanId } = await startScan(rt);
    expect(await scanEnded(rt, scanId)).toMatchObject({ listed: 4, new: 0, revoked: 0, gone: 0 });
    expect((await rt.emails()).length).toBe(before);
    expect((await record(rt, members.bob.id)).state).toBe('OPEN');
  });

  it('lets an admin revoke a personal token at once, answers a repeat unchanged, and refuses the governed token', async () => {
    const admin = await as(rt, SEED.admin);
    const path = `/inventory/personal-tokens/${members.aliceScoped.id}/revoke`;

    // Act
    const revoked = await rt.api('POST', path, { token: admin, body: { reason: 'seen in a build log' } });
    const again = await rt.api('POST', path, { token: admin, body: { reason: 'a second time' } });

    // Assess
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({
      atlassianTokenId: members.aliceScoped.id,
      state: 'REVOKED',
      revokedBy: SEED.admin,
      revokeReason: 'seen in a build log',
      revokedAt: expect.stringMatching(ISO),
    });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(revoked.json);
    expect(await record(rt, members.aliceScoped.id)).toEqual(revoked.json);
    expect(await fakeStatus(rt, members.aliceScoped.id)).toBe('REVOKED');
    const told = await waitFor(
      async () => {
        const all = (await mailTo(rt, SEED.alice, members.aliceScoped.id)).filter((m) =>
          / was revoked$/.test(m.subject),
        );
        return all.length > 0 ? all : undefined;
      },
      30_000,
      'the revocation email to alice',
    );
    expect(subjects(told)).toEqual(['Your Atlassian API token "alice jira export" was revoked']);
    expect(told[0]!.body.text).toContain('seen in a build log');

    // The governed token is not Token Warden's to revoke this way.
    const refused = await rt.api('POST', `/inventory/personal-tokens/${governed.atlassianId}/revoke`, {
      token: admin,
      body: { reason: 'not a personal token' },
    });
    expect(refusal(refused)).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect(await fakeStatus(rt, governed.atlassianId)).toBe('ACTIVE');
    // A refused body changes nothing either.
    const bad = await rt.api('POST', `/inventory/personal-tokens/${members.bob.id}/revoke`, {
      token: admin,
      body: { reason: 'x', now: true },
    });
    expect(refusal(bad)).toEqual({ status: 400, code: 'VALIDATION_ERROR', field: 'now' });
    expect((await record(rt, members.bob.id)).state).toBe('OPEN');
    expect(await fakeStatus(rt, members.bob.id)).toBe('ACTIVE');
  });

  it('revokes the open tokens at Atlassian after the notice period and tells their owners; the exempt token stays', async () => {
    // Prepare: a day before the end of the notice period (the daily scans run on the way), nothing is revoked.
    const bobBefore = await record(rt, members.bob.id);
    expect((await rt.advance({ days: REVOKE_AFTER_DAYS - 1 })).settled).toBe(true);
    const early = await startScan(rt);
    expect(await scanEnded(rt, early.scanId)).toMatchObject({ listed: 3, new: 0, revoked: 0, gone: 0 });
    for (const id of [members.bob.id, seededId]) {
      expect({ id, state: (await record(rt, id)).state, atlassian: await fakeStatus(rt, id) }).toEqual({
        id,
        state: 'OPEN',
        atlassian: 'ACTIVE',
      });
    }
    expect(await memberMyself(rt, members.bob)).toBe(200);
    expect((await rt.emails()).filter((m) => / was revoked$/.test(m.subject))).toHaveLength(1);

    // Act: past the end of the notice period, one more scan.
    expect((await rt.advance({ days: 1 })).settled).toBe(true);
    const { scanId } = await startScan(rt);
    await scanEnded(rt, scanId);

    // Assess: bob's and the seeded token are revoked at their time, by Token Warden.
    for (const id of [members.bob.id, seededId]) {
      const revoked = await record(rt, id);
      expect(revoked).toMatchObject({
        state: 'REVOKED',
        revokedBy: 'token-warden',
        revokeReason: 'NOTICE_PERIOD_ENDED',
      });
      expect(Date.parse(revoked.revokedAt!)).toBeGreaterThanOrEqual(Date.parse(revoked.revokeAt!));
      expect({ id, status: await fakeStatus(rt, id) }).toEqual({ id, status: 'REVOKED' });
    }
    expect(Date.parse((await record(rt, members.bob.id)).revokeAt!)).toBe(Date.parse(bobBefore.revokeAt!));
    // Bob is still in the allowing policy: his token stopped because it was revoked.
    expect(await policyOf(rt, SEED.bob)).toEqual(['policy-allow']);
    expect(await memberMyself(rt, members.bob)).toBe(401);
    // The admin's revocation stands as it was.
    expect(await record(rt, members.aliceScoped.id)).toMatchObject({ state: 'REVOKED', revokedBy: SEED.admin });

    // The exempt user's token is listed, kept and still works.
    const kept = await record(rt, members.security.id);
    expect(kept).toMatchObject({ state: 'EXEMPT', atlassianStatus: 'ALLOWED' });
    expect(kept).not.toHaveProperty('revokedAt');
    expect(await fakeStatus(rt, members.security.id)).toBe('ACTIVE');
    expect(await memberMyself(rt, members.security)).toBe(200);
    expect(await mailTo(rt, SECURITY)).toEqual([]);

    // Each owner: one notice and one revocation email per token.
    const bobMail = await mailArrived(rt, SEED.bob, members.bob.id, 2);
    expect(subjects(bobMail)).toEqual([
      expect.stringMatching(/will be revoked on/),
      'Your Atlassian API token "bob jenkins job" was revoked',
    ]);
    expect(bobMail[1]!.body.text).toContain('notice period ended');
    expect(subjects(await mailTo(rt, SEED.bob))).toHaveLength(2);
    expect(subjects(await mailArrived(rt, SEED.alice, seededId, 2))).toEqual([
      expect.stringMatching(/will be revoked on/),
      'Your Atlassian API token "my laptop scripts" was revoked',
    ]);
    expect(subjects(await mailTo(rt, SEED.alice, members.aliceScoped.id))).toEqual([
      expect.stringMatching(/will be revoked on/),
      'Your Atlassian API token "alice jira export" was revoked',
    ]);
    const states = (await listAll(rt)).items.map((i) => `${i.label}: ${i.state}`).sort();
    expect(states).toEqual([
      'alice jira export: REVOKED',
      'bob jenkins job: REVOKED',
      'break glass: EXEMPT',
      'my laptop scripts: REVOKED',
    ]);
  });

  it('never touches the governed jenkins-bot token, which still works', async () => {
    expect(await fakeStatus(rt, governed.atlassianId)).toBe('ACTIVE');
    expect(await readSecret(rt, governed.secretName)).toBe(governed.value);
    expect((await myself(rt, governed.value)).status).toBe(200);
    const token = await rt.api('GET', `/tokens/${governed.tokenId}`, { token: await as(rt, SEED.admin) });
    expect(token.status).toBe(200);
    expect(token.json).toMatchObject({ tokenId: governed.tokenId, status: 'ACTIVE' });
    const missing = await rt.api('GET', `/inventory/personal-tokens/${governed.atlassianId}`, {
      token: await as(rt, SEED.admin),
    });
    expect(missing.status).toBe(404);
    expect((await listAll(rt)).items.map((i) => i.atlassianTokenId)).not.toContain(governed.atlassianId);
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no personal or governed token value in anything the run produced', async () => {
    const report = await scanForLeaks(rt);
    expect(report.secrets.map((s) => s.value)).toContain(governed.value);
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);

    // The personal tokens' values are not Secrets Manager's: looked for by value, after checking the detector.
    expect(secrets).toHaveLength(7);
    const planted = [{ source: 'planted', text: secrets.map((s) => `<${s.value}>`).join(' ') }];
    expect(findSecretValues(planted, secrets)).toHaveLength(secrets.length);
    const artifacts = await collectArtifacts(rt);
    expect(artifacts.map((a) => a.source)).toEqual(
      expect.arrayContaining([
        'data dir: runtime-output.log',
        expect.stringMatching(/^GetExecutionHistory .*personal-token-scan/),
        expect.stringMatching(/^Scan /),
        'GET mail /store',
        'GET /local/calls',
        'GET atlassian /__control/tokens',
        expect.stringMatching(/^response #/),
      ]),
    );
    expect(findSecretValues(artifacts, secrets)).toEqual([]);
  });
});
