/**
 * The personal-token scan and routes against the fake Atlassian over HTTP, with dynalite behind the real record
 * store and audit log: what the scan records, what each mode does, and what a partial listing must not do.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { cryptoRandom } from '../../../functions/composition/random';
import type { PersonalTokenPolicy, Policy } from '../../../functions/domain/policy';
import {
  beginScan,
  getPersonalToken,
  getScan,
  listPersonalTokens,
  type PersonalTokenDeps,
  revokePersonalToken,
  runScan,
} from '../../../functions/use-cases/personal-tokens';
import type { Email } from '../../../functions/use-cases/ports';
import { ORG_KEY, policy, useHarness } from '../../support/harness';
import { notifyingAudit } from '../../support/inline-notifier';

const ses = mockClient(SESv2Client);
const h = useHarness(ses);
// Each test runs several whole scans over HTTP and dynalite: on a loaded two-core machine that can pass 5 s.
jest.setTimeout(30_000);
const DAY = 24 * 3600 * 1000;
const ADMIN = { email: 'admin@example.com', isAdmin: true };
const ALICE = { email: 'alice@example.com', isAdmin: false };

let sent: Email[];

/** Every item of both tables. */
async function dump(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (const TableName of [h.dynamo.tableName, h.dynamo.auditTableName]) {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await h.dynamo.doc.send(new ScanCommand({ TableName, ExclusiveStartKey }));
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return items;
}

/** Empties the records table (the audit table is keyed by token id, which never repeats). */
async function clearRecords(): Promise<void> {
  for (const item of await dump()) {
    if (typeof item.pk !== 'string') continue;
    await h.dynamo.doc.send(new DeleteCommand({ TableName: h.dynamo.tableName, Key: { pk: item.pk, sk: item.sk } }));
  }
}

function withSettings(over: Partial<PersonalTokenPolicy>): Policy {
  return { ...policy, personalTokens: { ...(policy.personalTokens as PersonalTokenPolicy), ...over } };
}

/**
 * The scan's ports over the harness: the fake over HTTP, dynalite, and an audit trail whose events the notifier's
 * planners tell at once through a mailer that records.
 */
function deps(over: Partial<PersonalTokenDeps> = {}): PersonalTokenDeps {
  const d: PersonalTokenDeps = {
    store: h.deps.store,
    audit: notifyingAudit(h.dynamo.doc, h.dynamo.auditTableName, () => ({
      store: h.deps.store,
      mailer: {
        send: async (email: Email) => {
          sent.push(email);
          return undefined;
        },
      },
      clock: h.clock,
      policy: d.policy,
      consoleUrl: 'https://warden.example.com/console/',
    })),
    atlassian: h.deps.atlassian,
    clock: h.clock,
    random: cryptoRandom,
    policy,
    ...over,
  };
  return d;
}

async function scan(d: PersonalTokenDeps) {
  const begun = await beginScan(d, { caller: ADMIN });
  return runScan(d, begun.scanId);
}

/** Creates a personal token at the fake as the member would (one that predates the block). */
async function personalToken(email: string, label: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${h.fakeUrl}/__control/personal-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, label, createdDaysAgo: 1, ...extra }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const tokenAt = (id: string) => h.fake.personalTokens().find((t) => t.id === id);

beforeEach(async () => {
  sent = [];
  // Each test starts from the seeded org and an empty records table.
  h.fake.reset();
  await clearRecords();
});

describe('Use case: personal-token scan', () => {
  it('records each personal token once, skips service accounts, and digests the admins once', async () => {
    // Prepare
    const governed = await h.issuedToken();
    const bobToken = await personalToken('bob@example.com', 'bob cli', { scopes: ['read:jira-work'] });
    // Act
    const first = await scan(deps());
    // Assess
    expect(first.scan).toMatchObject({ status: 'COMPLETE', listed: 2, new: 2, skipped: 1, revoked: 0, gone: 0 });
    const all = await listPersonalTokens(deps(), ADMIN, {}, 'all');
    expect(all.items.map((t) => t.owner.email).sort()).toEqual(['alice@example.com', 'bob@example.com']);
    expect(all.scannedAt).toBe(first.scan.finishedAt);
    const bob = await getPersonalToken(deps(), ADMIN, bobToken);
    expect(bob).toMatchObject({ label: 'bob cli', scopes: ['read:jira-work'], unscoped: false, state: 'OPEN' });
    expect(all.items.some((t) => t.label.startsWith(`token-warden:${governed.tokenId}`))).toBe(false);
    expect(sent.map((e) => e.to)).toEqual(['admin@example.com']);
    expect(sent[0]?.subject).toBe('Personal tokens: 2 new, 0 gone, 0 revoked');
    expect(sent[0]?.text).toContain(`- bob@example.com "bob cli" (${bobToken}) OPEN`);
    // The digest's event carries counts and ids only.
    const completed = await h.deps.audit.list(`personal-token-scan:${first.scan.scanId}`);
    expect(completed.map((r) => r.event)).toEqual(['PERSONAL_TOKEN_SCAN_COMPLETED']);
    const { atlassianTokenIds, ...counts } = completed[0]?.details ?? {};
    expect(counts).toEqual({ listed: 2, new: 2, gone: 0, revoked: 0, capped: 0, mode: 'report' });
    expect([...(atlassianTokenIds as string[])].sort()).toEqual(all.items.map((t) => t.atlassianTokenId).sort());
    // A rescan with nothing new: no digest, nothing new.
    const second = await scan(deps());
    expect(second.scan).toMatchObject({ status: 'COMPLETE', listed: 2, new: 0 });
    expect(sent).toHaveLength(1);
  });

  it('a 500 part-way through paging marks nothing GONE, revokes nothing, and the retry completes', async () => {
    // Prepare: a listing of two pages (1,100 exempt tokens first), bob's token due for revocation on page two, and a
    // record of a token the fake no longer has.
    const members = h.fake.state.addGeneratedPersonalTokens({
      members: 11,
      tokensPerMember: 100,
      now: h.clock.now(),
      prefix: 'p',
    });
    const settings = {
      mode: 'revoke' as const,
      revokeAfterDays: 0,
      exemptUsers: members.map((m) => m.email.toLowerCase()),
    };
    const doomed = await personalToken('bob@example.com', 'soon gone');
    const kept = await personalToken('bob@example.com', 'due now');
    await scan(deps({ policy: withSettings(settings) }));
    expect((await getPersonalToken(deps(), ADMIN, kept)).revokeAt).toBeDefined();
    h.fake.state.revoke(tokenAt(doomed)?.accountId ?? '', doomed, h.clock.now());
    let pages = 0;
    const real = h.deps.atlassian as AtlassianClient;
    const flaky = deps({
      policy: withSettings(settings),
      atlassian: {
        revokeToken: (a, b) => real.revokeToken(a, b),
        orgTokens: async (orgId, query) => {
          pages++;
          if (pages === 2) await h.control('/__control/faults', { route: 'inventory', status: 500, count: 10 });
          return real.orgTokens(orgId, query);
        },
      },
    });
    // Act
    const begun = await beginScan(flaky, { caller: ADMIN });
    const attempt = await runScan(flaky, begun.scanId);
    // Assess
    expect(attempt.retry).toBe(true);
    expect(attempt.scan.status).toBe('INCOMPLETE');
    expect(attempt.scan.error).toMatch(/AtlassianTransientError 500/);
    expect((await getScan(flaky, ADMIN, begun.scanId)).status).toBe('INCOMPLETE');
    expect((await getPersonalToken(flaky, ADMIN, doomed)).state).toBe('OPEN');
    expect((await getPersonalToken(flaky, ADMIN, kept)).state).toBe('OPEN');
    expect(tokenAt(kept)?.status).toBe('ACTIVE');
    // Another scan cannot start while this one waits to retry.
    await expect(beginScan(flaky, { caller: ADMIN })).rejects.toMatchObject({ code: 'CONFLICT' });
    // The retry lists everything, and only then acts.
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    const retried = await runScan(flaky, begun.scanId);
    expect(retried.scan).toMatchObject({ status: 'COMPLETE', attempts: 2, gone: 1, listed: 1102 });
    expect((await getPersonalToken(flaky, ADMIN, doomed)).state).toBe('GONE');
    expect((await getPersonalToken(flaky, ADMIN, kept)).state).toBe('REVOKED');
    expect(tokenAt(kept)?.status).toBe('REVOKED');
  }, 60_000);

  it('counts the tokens an incomplete attempt found as new in the scan that completes', async () => {
    // Prepare: two pages; the listing fails on the second the first time.
    h.fake.state.addGeneratedPersonalTokens({ members: 11, tokensPerMember: 100, now: h.clock.now(), prefix: 'n' });
    let pages = 0;
    const real = h.deps.atlassian as AtlassianClient;
    const flaky = deps({
      atlassian: {
        revokeToken: (a, b) => real.revokeToken(a, b),
        orgTokens: async (orgId, query) => {
          pages++;
          if (pages === 2) await h.control('/__control/faults', { route: 'inventory', status: 500, count: 10 });
          return real.orgTokens(orgId, query);
        },
      },
    });
    const begun = await beginScan(flaky, { caller: ADMIN });
    const first = await runScan(flaky, begun.scanId);
    expect(first).toMatchObject({ retry: true, scan: { new: 1000 } });
    expect(sent).toEqual([]);
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    // Act
    const retried = await runScan(flaky, begun.scanId);
    // Assess: every token of the org is new in this scan, and the one digest says so.
    expect(retried.scan).toMatchObject({ status: 'COMPLETE', listed: 1101, new: 1101 });
    expect(sent.map((e) => e.subject)).toEqual(['Personal tokens: 1101 new, 0 gone, 0 revoked']);
  }, 60_000);

  it('rides out 429s from the listing (Retry-After honoured by the client)', async () => {
    // Prepare
    await h.control('/__control/faults', { route: 'inventory', status: 429, count: 2, retryAfterSeconds: 1 });
    // Act
    const result = await scan(deps());
    // Assess
    expect(result.scan).toMatchObject({ status: 'COMPLETE', listed: 1 });
  });

  it('gives up after its last attempt: INCOMPLETE, the lock released', async () => {
    // Prepare
    await h.control('/__control/faults', { route: 'inventory', status: 503, count: 1000 });
    const d = deps();
    const begun = await beginScan(d, { caller: ADMIN });
    // Act
    let last = await runScan(d, begun.scanId);
    while (last.retry) last = await runScan(d, begun.scanId);
    // Assess
    expect(last.scan).toMatchObject({ status: 'INCOMPLETE', attempts: 3 });
    expect(last.scan.error).toMatch(/AtlassianTransientError 503/);
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    await expect(scan(d)).resolves.toMatchObject({ scan: { status: 'COMPLETE' } });
  });

  it('notify mode: one notice per token with the way out, never a second', async () => {
    // Prepare
    const d = deps({ policy: withSettings({ mode: 'notify' }) });
    // Act
    await scan(d);
    await scan(d);
    // Assess
    const notices = sent.filter((e) => e.to === 'alice@example.com');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.text).toContain('request a governed service-account token: https://warden.example.com/console/');
    expect(notices[0]?.text).toContain('access exception');
    const alice = (await listPersonalTokens(d, ALICE, {}, 'mine')).items[0];
    expect(alice?.noticeSentAt).toBeDefined();
    expect(alice?.revokeAt).toBeUndefined();
  });

  it('a step that stops between a notice and its record records it again on retry, and tells the owner once', async () => {
    // Prepare: the first save of a notice fails as a step that stopped there would.
    const d = deps({ policy: withSettings({ mode: 'notify' }) });
    let stopped = false;
    const store = Object.assign(Object.create(h.deps.store) as typeof h.deps.store, {
      savePersonalToken: async (record: Parameters<typeof h.deps.store.savePersonalToken>[0]) => {
        if (record.noticeSentAt !== undefined && !stopped) {
          stopped = true;
          throw new Error('the step stopped');
        }
        return h.deps.store.savePersonalToken(record);
      },
    });
    const flaky = { ...d, store };
    const begun = await beginScan(flaky, { caller: ADMIN });
    await expect(runScan(flaky, begun.scanId)).rejects.toThrow('the step stopped');
    const id = (await listPersonalTokens(d, ALICE, {}, 'mine')).items[0]?.atlassianTokenId ?? '';
    expect((await getPersonalToken(d, ADMIN, id)).noticeSentAt).toBeUndefined();
    // Act: the workflow retries the step, then a later scan runs
    const retried = await runScan(flaky, begun.scanId);
    await scan(d);
    // Assess
    expect(retried.scan.status).toBe('COMPLETE');
    expect((await getPersonalToken(d, ADMIN, id)).noticeSentAt).toBeDefined();
    expect(sent.filter((e) => e.to === 'alice@example.com').map((e) => e.subject)).toEqual([
      expect.stringMatching(/was found by Token Warden$/),
    ]);
    const audit = (await h.deps.audit.list(`personal-token:${id}`)).map((r) => r.event);
    expect(audit).toEqual(['PERSONAL_TOKEN_FOUND', 'PERSONAL_TOKEN_NOTICE_SENT']);
  });

  it('revoke mode: revokes after the notice period with the single-token DELETE and tells the owner', async () => {
    // Prepare
    const d = deps({ policy: withSettings({ mode: 'revoke', revokeAfterDays: 14 }) });
    await scan(d);
    const alice = (await listPersonalTokens(d, ALICE, {}, 'mine')).items[0];
    expect(alice?.revokeAt).toBeDefined();
    const id = alice?.atlassianTokenId ?? '';
    await scan(d);
    expect(tokenAt(id)?.status).toBe('ACTIVE');
    // Act
    h.clock.advance(14 * DAY + 60_000);
    const result = await scan(d);
    // Assess
    expect(result.scan.revoked).toBe(1);
    expect(tokenAt(id)?.status).toBe('REVOKED');
    const record = await getPersonalToken(d, ADMIN, id);
    expect(record).toMatchObject({ state: 'REVOKED', revokedBy: 'token-warden', revokeReason: 'NOTICE_PERIOD_ENDED' });
    const told = sent.filter((e) => e.to === 'alice@example.com').map((e) => e.subject);
    expect(told).toEqual([expect.stringMatching(/will be revoked on/), expect.stringMatching(/was revoked$/)]);
    const audit = (await h.deps.audit.list(`personal-token:${id}`)).map((r) => r.event);
    expect(audit).toEqual(['PERSONAL_TOKEN_FOUND', 'PERSONAL_TOKEN_NOTICE_SENT', 'PERSONAL_TOKEN_REVOKED']);
  });

  it('keeps an exempt user’s token, listed EXEMPT, in revoke mode', async () => {
    // Prepare
    const d = deps({
      policy: withSettings({ mode: 'revoke', revokeAfterDays: 0, exemptUsers: ['alice@example.com'] }),
    });
    // Act
    await scan(d);
    h.clock.advance(DAY);
    await scan(d);
    // Assess
    const alice = (await listPersonalTokens(d, ADMIN, { state: 'EXEMPT' }, 'all')).items;
    expect(alice).toHaveLength(1);
    expect(tokenAt(alice[0]?.atlassianTokenId ?? '')?.status).toBe('ACTIVE');
    expect(sent.filter((e) => e.to === 'alice@example.com')).toEqual([]);
  });

  it('revokes none and alerts the admins when more are due than maxRevocationsPerScan', async () => {
    // Prepare
    await personalToken('bob@example.com', 'one');
    await personalToken('bob@example.com', 'two');
    const d = deps({ policy: withSettings({ mode: 'revoke', revokeAfterDays: 0, maxRevocationsPerScan: 2 }) });
    await scan(d);
    // Act
    const result = await scan(d);
    // Assess
    expect(result.scan).toMatchObject({ revoked: 0, revocationsCapped: 3 });
    expect(h.fake.personalTokens().every((t) => t.status === 'ACTIVE')).toBe(true);
    expect(sent.some((e) => e.to === 'admin@example.com' && /none made \(over the cap of 2\)/.test(e.subject))).toBe(
      true,
    );
  });

  it('keeps a token whose owner got an exception between the listing and the revocation', async () => {
    // Prepare
    let excepted = false;
    const d = deps({
      policy: withSettings({ mode: 'revoke', revokeAfterDays: 0 }),
      exceptions: {
        activeHolders: async () => {
          const now = excepted ? new Set(['alice@example.com']) : new Set<string>();
          excepted = true;
          return now;
        },
      },
    });
    // Act: the first read of the holders (listing) has nobody, the second (just before revoking) has alice.
    excepted = false;
    const first = await scan(d);
    // Assess
    expect(first.scan.revoked).toBe(0);
    expect(h.fake.personalTokens().every((t) => t.status === 'ACTIVE')).toBe(true);
  });
});

describe('Use case: personal-token routes', () => {
  it('lets a member see only their own records, and refuses them the org-wide list', async () => {
    // Prepare
    await personalToken('bob@example.com', 'bob cli');
    await scan(deps());
    // Act
    const mine = await listPersonalTokens(deps(), ALICE, {}, 'mine');
    // Assess
    expect(mine.items.map((t) => t.owner.email)).toEqual(['alice@example.com']);
    await expect(listPersonalTokens(deps(), ALICE, {}, 'all')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(listPersonalTokens(deps(), ALICE, { owner: 'bob@example.com' }, 'mine')).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      field: 'owner',
    });
    await expect(getPersonalToken(deps(), ALICE, mine.items[0]?.atlassianTokenId ?? '')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('filters by state and flag, pages with nextToken, and names a bad filter', async () => {
    // Prepare
    for (const label of ['a', 'b', 'c']) await personalToken('bob@example.com', label, { scopes: ['read:jira-work'] });
    await scan(deps());
    // Act
    const first = await listPersonalTokens(deps(), ADMIN, { limit: '2' }, 'all');
    const rest = await listPersonalTokens(deps(), ADMIN, { limit: '2', nextToken: first.nextToken }, 'all');
    const unscoped = await listPersonalTokens(deps(), ADMIN, { flag: 'UNSCOPED' }, 'all');
    // Assess
    expect(first.items).toHaveLength(2);
    expect([...first.items, ...rest.items].map((t) => t.atlassianTokenId).sort()).toHaveLength(4);
    expect(new Set([...first.items, ...rest.items].map((t) => t.atlassianTokenId)).size).toBe(4);
    expect(unscoped.items.map((t) => t.owner.email)).toEqual(['alice@example.com']);
    await expect(listPersonalTokens(deps(), ADMIN, { state: 'open' }, 'all')).rejects.toMatchObject({ field: 'state' });
    await expect(listPersonalTokens(deps(), ADMIN, { flag: 'X' }, 'all')).rejects.toMatchObject({ field: 'flag' });
    await expect(listPersonalTokens(deps(), ADMIN, { sort: 'x' }, 'all')).rejects.toMatchObject({ field: 'sort' });
    await expect(listPersonalTokens(deps(), ADMIN, { nextToken: 'bogus' }, 'all')).rejects.toMatchObject({
      field: 'nextToken',
    });
  });

  it('an admin revokes a personal token at once; a repeat answers it unchanged; a governed token is 409', async () => {
    // Prepare
    const governed = await h.issuedToken();
    await scan(deps());
    const alice = (await listPersonalTokens(deps(), ALICE, {}, 'mine')).items[0];
    const id = alice?.atlassianTokenId ?? '';
    // Act
    const revoked = await revokePersonalToken(deps(), ADMIN, id, 'leaked in a gist');
    const again = await revokePersonalToken(deps(), ADMIN, id, 'another reason');
    // Assess
    expect(revoked).toMatchObject({
      state: 'REVOKED',
      revokedBy: 'admin@example.com',
      revokeReason: 'leaked in a gist',
    });
    expect(again).toEqual(revoked);
    expect(tokenAt(id)?.status).toBe('REVOKED');
    const mint = h.fakeTokens(governed.tokenId)[0];
    await expect(revokePersonalToken(deps(), ADMIN, mint?.id ?? '', 'x')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(h.fakeTokens(governed.tokenId)[0]?.status).toBe('ACTIVE');
    await expect(revokePersonalToken(deps(), ADMIN, 'no-such-token', 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The scan that still sees nothing of it leaves it REVOKED (not GONE).
    await scan(deps());
    expect((await getPersonalToken(deps(), ADMIN, id)).state).toBe('REVOKED');
  });

  it('a revoke whose DELETE failed is repeated by the next scan that still lists the token', async () => {
    // Prepare
    await scan(deps());
    const id = (await listPersonalTokens(deps(), ALICE, {}, 'mine')).items[0]?.atlassianTokenId ?? '';
    // A 429 is refused before it is processed (a 5xx would revoke and lose the answer).
    await h.control('/__control/faults', { route: 'revoke', status: 429, count: 10 });
    await expect(revokePersonalToken(deps(), ADMIN, id, 'x')).rejects.toMatchObject({
      name: 'AtlassianTransientError',
    });
    expect((await getPersonalToken(deps(), ADMIN, id)).state).toBe('REVOKED');
    expect(tokenAt(id)?.status).toBe('ACTIVE');
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    expect(sent.filter((e) => e.to === 'alice@example.com')).toEqual([]);
    // Act
    await scan(deps());
    await scan(deps());
    // Assess: the DELETE went through, so the owner is told, once.
    expect(tokenAt(id)?.status).toBe('REVOKED');
    expect((await h.deps.store.getPersonalToken(id))?.deletePending).toBeUndefined();
    expect(sent.filter((e) => e.to === 'alice@example.com').map((e) => e.subject)).toEqual([
      'Your Atlassian API token "my laptop scripts" was revoked',
    ]);
  });

  it('never puts a token value in records, audit, scans or emails', async () => {
    // Prepare
    const res = await fetch(`${h.fakeUrl}/__control/personal-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bob@example.com', label: 'secret check', createdDaysAgo: 3 }),
    });
    const { id, token } = (await res.json()) as { id: string; token: string };
    const d = deps({ policy: withSettings({ mode: 'revoke', revokeAfterDays: 0 }) });
    // Act
    await scan(d);
    await scan(d);
    // Assess
    const everything = JSON.stringify([await dump(), await h.deps.audit.list(`personal-token:${id}`), sent]);
    expect(everything).toContain(id);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(ORG_KEY);
  });
});

describe('Use case: the audit of a personal token', () => {
  it('is read by atlassianTokenId, and a revoke whose DELETE failed is already audited', async () => {
    // Prepare
    const { readAudit } = await import('../../../functions/use-cases/audit');
    await scan(deps());
    const id = (await listPersonalTokens(deps(), ALICE, {}, 'mine')).items[0]?.atlassianTokenId ?? '';
    await h.control('/__control/faults', { route: 'revoke', status: 429, count: 10 });
    await expect(revokePersonalToken(deps(), ADMIN, id, 'leaked')).rejects.toMatchObject({
      name: 'AtlassianTransientError',
    });
    // Act
    const audit = await readAudit(h.deps.audit, ADMIN, { atlassianTokenId: id });
    // Assess
    expect(audit.items.map((r) => [r.event, r.actor])).toEqual([
      ['PERSONAL_TOKEN_FOUND', 'token-warden'],
      ['PERSONAL_TOKEN_REVOKED', 'admin@example.com'],
    ]);
    expect(sent.filter((e) => e.to === 'alice@example.com')).toEqual([]);
    await fetch(`${h.fakeUrl}/__control/faults`, { method: 'DELETE' });
    await revokePersonalToken(deps(), ADMIN, id, 'again');
    expect(sent.filter((e) => e.to === 'alice@example.com').map((e) => e.subject)).toEqual([
      expect.stringMatching(/was revoked$/),
    ]);
    await expect(readAudit(h.deps.audit, ADMIN, { atlassianTokenId: 'bad id!' })).rejects.toMatchObject({
      field: 'atlassianTokenId',
    });
    await expect(readAudit(h.deps.audit, ALICE, { atlassianTokenId: id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
