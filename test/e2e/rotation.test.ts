/**
 * End to end: the rotation lifecycle — automatic rotation ahead of expiry with a grace period, rotate now, revoke,
 * the daily sweep as the safety net for a lost schedule, Atlassian faults during rotation, and expiry after
 * rotations that keep failing — driven over HTTP (and the AWS SDK, as an operator would) against the real local
 * runtime on the simulated clock.
 *
 * One runtime serves every scenario, and the simulated clock only moves forward, so a token left live by one
 * scenario would rotate (and consume injected faults) during the next one's clock moves: after each test every
 * token still live is revoked and the injected faults are cleared. Token values are captured before a secret is
 * scheduled for deletion, so the final secret scan also looks for the values of revoked tokens.
 */

import { LocalRuntime, type RequestView, requestBody, SEED, type StoredEmail, waitFor } from '../../local/driver';
import { collectArtifacts, findSecretValues, type SecretValue, scanForLeaks } from './support/leaks';
import {
  type AuditView,
  clearFaults,
  deleteRotationSchedule,
  fakeTokensOf,
  injectFault,
  type LifecycleEventView,
  myself,
  REVOCATION_STATE_MACHINE_ARN,
  readSecret,
  readSecretError,
  rotationExecutions,
  rotationSchedule,
  scheduleNames,
  secretState,
  secretVersions,
  type TokenView,
} from './support/rotation';

jest.setTimeout(600_000);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LEAD_DAYS = 7;
const LIFETIME_DAYS = 30;

let rt: LocalRuntime;

beforeAll(async () => {
  rt = await LocalRuntime.start('rotation');
});

afterAll(async () => {
  await rt?.dispose();
});

/** Bearer tokens by email, minted again before their (wall-clock) hour runs out. */
const bearers = new Map<string, { token: string; mintedAt: number }>();
async function as(email: string): Promise<string> {
  const cached = bearers.get(email);
  if (cached && Date.now() - cached.mintedAt < 30 * 60_000) return cached.token;
  const token = await rt.memberToken(email);
  bearers.set(email, { token, mintedAt: Date.now() });
  return token;
}

/** Every token value seen, kept for the final scan (a revoked token's secret can no longer be read). */
const captured = new Map<string, SecretValue>();
async function capture(secretName: string): Promise<void> {
  for (const version of await secretVersions(rt, secretName)) captured.set(version.value, version);
}

async function getToken(tokenId: string, email: string = SEED.admin): Promise<TokenView> {
  const answer = await rt.api('GET', `/tokens/${tokenId}`, { token: await as(email) });
  if (answer.status !== 200) throw new Error(`GET /tokens/${tokenId} answered ${answer.status}: ${answer.text}`);
  return answer.json as TokenView;
}

/** Alice asks for a 30-day token named `name`; approver1 approves; resolves with the issued token. */
async function issue(name: string): Promise<TokenView> {
  const alice = await as(SEED.alice);
  const created = await rt.api('POST', '/token-requests', { token: alice, body: requestBody(name) });
  expect(created.status).toBe(202);
  const { requestId } = created.json as RequestView;
  const links = await rt.waitForApprovalLinks(requestId, 2);
  const { answer } = await rt.decide(links.find((l) => l.to === SEED.approver1)!.link, 'approve');
  expect(answer.status).toBe(200);
  const issued = await rt.waitForStatus(alice, requestId, 'ISSUED');
  const token = await getToken(issued.tokenId!, SEED.alice);
  expect(token).toMatchObject({ status: 'ACTIVE', generation: 1, owner: SEED.alice, name });
  expect(token.scopes).toContain('read:jira-user');
  await capture(token.secretName);
  return token;
}

async function now(): Promise<number> {
  return Date.parse(((await rt.api('GET', '/local/clock')).json as { now: string }).now);
}

/** Moves the simulated clock and expects the work it started to have settled. */
async function advance(by: { days: number } | { hours: number }): Promise<void> {
  const answer = await rt.advance(by);
  expect({ by, settled: answer.settled }).toEqual({ by, settled: true });
}

/** Moves the clock in whole hours to between 10 and 70 minutes before `atMs`. */
async function advanceToJustBefore(atMs: number): Promise<void> {
  const hours = Math.floor((atMs - (await now()) - 10 * 60_000) / HOUR);
  if (hours > 0) await advance({ hours });
  const left = atMs - (await now());
  expect(left).toBeGreaterThan(5 * 60_000);
  expect(left).toBeLessThan(71 * 60_000);
}

async function auditOf(tokenId: string): Promise<AuditView[]> {
  const answer = await rt.api('GET', `/audit?tokenId=${tokenId}`, { token: await as(SEED.admin) });
  expect(answer.status).toBe(200);
  return (answer.json as { items: AuditView[] }).items;
}

async function eventsOf(tokenId: string): Promise<LifecycleEventView[]> {
  const answer = await rt.api('GET', '/local/events');
  expect(answer.status).toBe(200);
  return (answer.json as { events: LifecycleEventView[] }).events.filter((e) => e.detail.tokenId === tokenId);
}

/** Waits until `count` emails whose subject matches `subject` mention `tokenId`. */
async function mailsAbout(tokenId: string, subject: RegExp, count: number): Promise<StoredEmail[]> {
  return waitFor(
    async () => {
      const mails = (await rt.emailsAbout(tokenId)).filter((e) => subject.test(e.subject));
      return mails.length >= count ? mails : undefined;
    },
    30_000,
    `${count} email(s) "${subject.source}" about ${tokenId}`,
  );
}

const recipients = (mails: StoredEmail[]) => [...new Set(mails.flatMap((m) => m.destination.to))].sort();

/** The fake's tokens of `tokenId` as `label: status`, sorted. */
async function fakeStatuses(tokenId: string): Promise<string[]> {
  return (await fakeTokensOf(rt, tokenId))
    .map((t) => `${t.label.replace(`token-warden:${tokenId}:`, '')}: ${t.status}`)
    .sort();
}

/** Waits until `rotate-<tokenId>` is scheduled to start `generation` (promote-token's last step). */
async function waitForNextSchedule(tokenId: string, generation: number) {
  return waitFor(
    async () => {
      const schedule = await rotationSchedule(rt, tokenId);
      return schedule?.Target?.Input?.includes(`${tokenId}-g${generation}-a1`) ? schedule : undefined;
    },
    30_000,
    `the schedule of ${tokenId}'s generation ${generation}`,
  );
}

afterEach(async () => {
  // Leave no live token and no pending fault behind for the next scenario's clock moves.
  await clearFaults(rt);
  const admin = await as(SEED.admin);
  const listed = await rt.api('GET', '/tokens?limit=100', { token: admin });
  expect(listed.status).toBe(200);
  for (const token of (listed.json as { items: TokenView[] }).items) {
    // Revoked and expired tokens' secrets are scheduled for deletion (their values were captured when issued).
    if (token.status === 'REVOKED' || token.status === 'EXPIRED') continue;
    await capture(token.secretName);
    const revoked = await rt.api('POST', `/tokens/${token.tokenId}/revoke`, {
      token: admin,
      body: { reason: 'end of test scenario' },
    });
    expect({ tokenId: token.tokenId, status: revoked.status }).toEqual({ tokenId: token.tokenId, status: 200 });
  }
});

describe('Token rotation through the local runtime', () => {
  it('rotates a 30-day token at expiry − 7 days, keeps the old one working through the grace period, then revokes it', async () => {
    const issued = await issue('rot-auto');
    const { tokenId, secretName } = issued;
    const due = Date.parse(issued.nextRotationAt!);
    expect(due).toBe(Date.parse(issued.expiresAt) - LEAD_DAYS * DAY);
    const firstSchedule = await rotationSchedule(rt, tokenId);
    expect(firstSchedule?.ScheduleExpression).toBe(`at(${issued.nextRotationAt!.slice(0, 19)})`);
    expect(firstSchedule?.Target?.Input).toContain(`${tokenId}-g2-a1`);
    const g1 = await readSecret(rt, secretName);
    expect((await myself(rt, g1)).status).toBe(200);

    // Just before the rotation time nothing has happened yet.
    await advanceToJustBefore(due);
    expect(await getToken(tokenId)).toMatchObject({ status: 'ACTIVE', generation: 1, expiresAt: issued.expiresAt });
    expect(await readSecret(rt, secretName)).toBe(g1);
    expect(await rotationExecutions(rt, tokenId)).toEqual([]);

    // Past it, the schedule has rotated the token.
    await advance({ hours: 2 });
    const rotated = await getToken(tokenId, SEED.alice);
    expect(rotated).toMatchObject({ status: 'ACTIVE', generation: 2, secretName, secretArn: issued.secretArn });
    expect(rotated).not.toHaveProperty('lastRotationError');
    const rotatedAt = Date.parse(rotated.lastRotatedAt!);
    expect(rotatedAt).toBeGreaterThanOrEqual(due);
    expect(rotatedAt - due).toBeLessThan(5 * 60_000);
    expect(Math.abs(Date.parse(rotated.expiresAt) - (rotatedAt + LIFETIME_DAYS * DAY))).toBeLessThan(5 * 60_000);
    expect(Date.parse(rotated.nextRotationAt!)).toBe(Date.parse(rotated.expiresAt) - LEAD_DAYS * DAY);

    // The secret: a new current value that works, the old one as AWSPREVIOUS, nothing pending.
    await capture(secretName);
    const g2 = await readSecret(rt, secretName);
    expect(g2).not.toBe(g1);
    expect((await myself(rt, g2)).status).toBe(200);
    expect(await readSecret(rt, secretName, { stage: 'AWSPREVIOUS' })).toBe(g1);
    expect(await readSecretError(rt, secretName, 'AWSPENDING')).toBe('ResourceNotFoundException');
    // The old token still works: the grace period has begun.
    expect((await myself(rt, g1)).status).toBe(200);
    expect(await fakeStatuses(tokenId)).toEqual(['g1: ACTIVE', 'g2: ACTIVE']);
    const g2AtFake = (await fakeTokensOf(rt, tokenId)).find((t) => t.label.endsWith(':g2'))!;
    expect(Date.parse(g2AtFake.expiry)).toBe(Date.parse(rotated.expiresAt));
    expect((await rotationExecutions(rt, tokenId)).map((e) => [e.name, e.status])).toEqual([
      [`${tokenId}-g2-a1`, 'RUNNING'],
    ]);

    // The next rotation (generation 3) is scheduled at the new nextRotationAt.
    const next = await rotationSchedule(rt, tokenId);
    expect(next?.ScheduleExpression).toBe(`at(${rotated.nextRotationAt!.slice(0, 19)})`);
    expect(next?.Target?.Input).toContain(`${tokenId}-g3-a1`);
    expect(await scheduleNames(rt)).toContain(`rotate-${tokenId}`);

    // Near the end of the grace period the old token still works ...
    await advance({ hours: 22 });
    expect((await myself(rt, g1)).status).toBe(200);
    // ... and after it, it is revoked at Atlassian while the new one keeps working.
    await advance({ hours: 2 });
    expect((await myself(rt, g1)).status).toBe(401);
    expect((await myself(rt, g2)).status).toBe(200);
    expect(await fakeStatuses(tokenId)).toEqual(['g1: REVOKED', 'g2: ACTIVE']);
    expect((await rotationExecutions(rt, tokenId)).map((e) => [e.name, e.status])).toEqual([
      [`${tokenId}-g2-a1`, 'SUCCEEDED'],
    ]);
    expect(await getToken(tokenId)).toMatchObject({ status: 'ACTIVE', generation: 2, expiresAt: rotated.expiresAt });

    // The owner is told once; the audit trail and the lifecycle events tell the story under one correlation id.
    const mails = await mailsAbout(tokenId, /rotated/i, 1);
    expect(mails.map((m) => m.destination.to)).toEqual([[SEED.alice]]);
    expect(mails[0]!.body.text).toContain(secretName);

    const audit = await auditOf(tokenId);
    const lifecycle = audit.filter((r) => r.event === 'ISSUED' || r.event === 'ROTATED');
    expect(lifecycle.map((r) => r.event)).toEqual(['ISSUED', 'ROTATED']);
    expect(new Set(audit.map((r) => r.correlationId))).toEqual(new Set([issued.requestId]));
    expect(lifecycle[1]).toMatchObject({ actor: 'token-warden', tokenId, details: { generation: 2 } });

    const events = await eventsOf(tokenId);
    const issuedEvent = events.find((e) => e['detail-type'] === 'Token Issued');
    const rotatedEvent = events.find((e) => e['detail-type'] === 'Token Rotated');
    expect(issuedEvent?.source).toBe('token-warden');
    expect(rotatedEvent?.detail.correlationId).toBe(issuedEvent?.detail.correlationId);
    expect(rotatedEvent?.detail.correlationId).toBe(issued.requestId);
  });

  it('rotates now at the owner’s request: 202 ROTATING, 404 for another member, 409 while running, then generation 2', async () => {
    const issued = await issue('rot-manual');
    const { tokenId, secretName } = issued;
    const g1 = await readSecret(rt, secretName);
    // A slow mint keeps the rotation running for a few seconds, so the second call finds it running.
    await injectFault(rt, { route: 'mint', delayMs: 3_000, count: 1 });

    const started = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: await as(SEED.alice) });
    expect(started.status).toBe(202);
    const view = started.json as TokenView;
    expect(view).toMatchObject({ tokenId, secretName, owner: SEED.alice });
    expect(['ROTATING', 'ACTIVE']).toContain(view.status);
    if (view.status === 'ACTIVE') expect(view.generation).toBeGreaterThan(1);

    const stranger = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: await as(SEED.bob) });
    expect(stranger.status).toBe(404);
    expect(stranger.json).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await rt.api('GET', `/tokens/${tokenId}`, { token: await as(SEED.bob) })).status).toBe(404);

    const again = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: await as(SEED.alice) });
    if (again.status === 202) {
      // Only possible if the first rotation was already promoted: then the second one is a new generation.
      expect((await getToken(tokenId)).generation).toBeGreaterThanOrEqual(2);
    } else {
      expect(again.status).toBe(409);
      expect(again.json).toMatchObject({ error: { code: 'CONFLICT' } });
    }

    const rotated = await waitFor(
      async () => {
        const token = await getToken(tokenId, SEED.alice);
        return token.generation >= 2 && token.status === 'ACTIVE' ? token : undefined;
      },
      60_000,
      `${tokenId} to reach generation 2`,
    );
    expect(rotated.generation).toBe(2);
    expect(rotated.lastRotatedAt).toEqual(expect.any(String));
    expect(Date.parse(rotated.nextRotationAt!)).toBe(Date.parse(rotated.expiresAt) - LEAD_DAYS * DAY);
    await capture(secretName);
    const g2 = await readSecret(rt, secretName);
    expect(g2).not.toBe(g1);
    expect((await myself(rt, g2)).status).toBe(200);
    // In its grace period: the old one still works, and the execution waits on the simulated clock.
    expect((await myself(rt, g1)).status).toBe(200);
    expect((await rotationExecutions(rt, tokenId)).map((e) => [e.name, e.status])).toEqual([
      [`${tokenId}-g2-a1`, 'RUNNING'],
    ]);
  });

  it('revokes every generation of a token for an admin: secret unreadable, schedule gone, idempotent, audited, owner told', async () => {
    const issued = await issue('rot-revoke');
    const { tokenId, secretName } = issued;
    const admin = await as(SEED.admin);
    // An admin may rotate too; afterwards generation 1 is in its grace period, so two generations are live.
    const rotate = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: admin });
    expect(rotate.status).toBe(202);
    await waitFor(
      async () => {
        const token = await getToken(tokenId);
        return token.generation === 2 && token.status === 'ACTIVE';
      },
      60_000,
      `${tokenId} to reach generation 2`,
    );
    // Promotion has finished once the next rotation (generation 3) is scheduled.
    await waitForNextSchedule(tokenId, 3);
    await capture(secretName);
    const g1 = await readSecret(rt, secretName, { stage: 'AWSPREVIOUS' });
    const g2 = await readSecret(rt, secretName);
    expect(await fakeStatuses(tokenId)).toEqual(['g1: ACTIVE', 'g2: ACTIVE']);

    // Members may not revoke, not even their own token.
    const denied = await rt.api('POST', `/tokens/${tokenId}/revoke`, {
      token: await as(SEED.alice),
      body: { reason: 'no longer needed' },
    });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await getToken(tokenId)).status).toBe('ACTIVE');

    const reason = 'value pasted into a public build log';
    const revoked = await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: admin, body: { reason } });
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ tokenId, status: 'REVOKED', generation: 2, owner: SEED.alice });
    expect(revoked.json).not.toHaveProperty('nextRotationAt');

    // CI can no longer read it; every generation is revoked at Atlassian; the schedule is gone.
    expect(await readSecretError(rt, secretName)).toBe('InvalidRequestException');
    expect(await readSecretError(rt, issued.secretArn, 'AWSPREVIOUS')).toBe('InvalidRequestException');
    expect(await fakeStatuses(tokenId)).toEqual(['g1: REVOKED', 'g2: REVOKED']);
    expect((await myself(rt, g1)).status).toBe(401);
    expect((await myself(rt, g2)).status).toBe(401);
    expect(await rotationSchedule(rt, tokenId)).toBeUndefined();
    expect(await scheduleNames(rt)).not.toContain(`rotate-${tokenId}`);

    // Repeating answers the same; members are still refused; nothing rotates a revoked token.
    const repeated = await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: admin, body: { reason: 'again' } });
    expect(repeated.status).toBe(200);
    expect(repeated.json).toEqual(revoked.json);
    expect((await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: await as(SEED.alice) })).status).toBe(403);
    expect(await getToken(tokenId, SEED.alice)).toEqual(revoked.json);
    const rotateRevoked = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: admin });
    expect(rotateRevoked.status).toBe(409);
    expect(rotateRevoked.json).toMatchObject({ error: { code: 'CONFLICT' } });

    // Audited with who and why, once; the owner is told once.
    const records = (await auditOf(tokenId)).filter((r) => r.event === 'REVOKED');
    expect(records).toEqual([
      expect.objectContaining({
        actor: SEED.admin,
        tokenId,
        correlationId: issued.requestId,
        details: { reason, generation: 2 },
      }),
    ]);
    expect((await eventsOf(tokenId)).map((e) => e['detail-type'])).toContain('Token Revoked');
    const mails = await mailsAbout(tokenId, /revoked/i, 1);
    expect(mails.map((m) => m.destination.to)).toEqual([[SEED.alice]]);
    expect(mails[0]!.body.text).toContain(reason);
    expect(mails[0]!.body.text).toContain(SEED.admin);
  });

  it('ends a rotation in its grace period when the token is revoked: no later "rotated" email or ROTATED record', async () => {
    const issued = await issue('rot-revoke-grace');
    const { tokenId, secretName } = issued;
    const admin = await as(SEED.admin);
    expect((await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: admin })).status).toBe(202);
    await waitForNextSchedule(tokenId, 3);
    await capture(secretName);
    const revoked = await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: admin, body: { reason: 'retired' } });
    expect(revoked.status).toBe(200);

    // The grace period of the rotation that was running passes.
    await advance({ hours: 25 });
    expect(await getToken(tokenId)).toEqual(revoked.json);
    expect(await fakeStatuses(tokenId)).toEqual(['g1: REVOKED', 'g2: REVOKED']);
    const events = (await auditOf(tokenId)).map((r) => r.event);
    // The revocation workflow's final sweep, after the steps in flight, found nothing more.
    expect(events.slice(events.indexOf('REVOKED'))).toEqual(['REVOKED', 'REVOCATION_COMPLETED']);
    const mails = (await rt.emailsAbout(tokenId)).map((m) => m.subject);
    expect(mails.filter((s) => /rotated/i.test(s))).toEqual([]);
    expect((await rotationExecutions(rt, tokenId)).filter((e) => e.status === 'RUNNING')).toEqual([]);
  });

  it('leaves no rotation schedule behind when a token is revoked just as its rotation is promoted', async () => {
    const admin = await as(SEED.admin);
    const leftovers: string[] = [];
    // The window (promotion recorded, next rotation not yet scheduled) is short: try a few times.
    for (const attempt of [1, 2, 3]) {
      const { tokenId, secretName } = await issue(`rot-revoke-race-${attempt}`);
      expect((await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: admin })).status).toBe(202);
      // Poll without pause, and revoke the moment generation 2 shows.
      const deadline = Date.now() + 60_000;
      while ((await getToken(tokenId)).generation < 2) {
        if (Date.now() > deadline) throw new Error(`${tokenId} did not reach generation 2`);
      }
      await capture(secretName);
      const revoked = await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: admin, body: { reason: 'race' } });
      expect(revoked.status).toBe(200);
      // Wait for the promote step to have ended before looking at the schedules.
      await waitFor(
        async () => {
          const calls = (await rt.api('GET', '/local/calls')).json as {
            calls: { operation: string; executionId?: string }[];
          };
          return calls.calls.some(
            (c) => /PromoteToken/.test(c.operation) && c.executionId?.endsWith(`:${tokenId}-g2-a1`),
          );
        },
        30_000,
        `the promote step of ${tokenId}-g2-a1 to end`,
      );
      const schedule = await rotationSchedule(rt, tokenId);
      if (schedule) leftovers.push(`${schedule.Name} ${schedule.ScheduleExpression} (token REVOKED)`);
    }
    expect(leftovers).toEqual([]);
  });

  it.each([
    ['no fault', []],
    ['one 429 on mint', [{ route: 'mint', status: 429, count: 1, retryAfterSeconds: 1 }]],
    [
      'two 429s on mint and a revoke held 3 s at Atlassian',
      [
        { route: 'mint', status: 429, count: 2, retryAfterSeconds: 1 },
        { route: 'revoke', delayMs: 3_000, count: 1 },
      ],
    ],
  ] as const)(
    'a revoke sent 100 ms after rotate now holds (%s): nothing live, secret deleted without readers, nothing restores it',
    async (_case, faults) => {
      const issued = await issue(`rot-race-${faults.length}`);
      const { tokenId, secretName } = issued;
      const admin = await as(SEED.admin);
      for (const fault of faults) await injectFault(rt, fault);
      const rotate = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: admin });
      expect(rotate.status).toBe(202);
      await new Promise((r) => setTimeout(r, 100));
      const revoked = await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: admin, body: { reason: 'race' } });
      expect(revoked.status).toBe(200);
      expect(revoked.json).toMatchObject({ tokenId, status: 'REVOKED' });
      expect(await readSecretError(rt, secretName)).toBe('InvalidRequestException');

      // Every step in flight ends; the revocation workflow's final sweep runs after its wait.
      await waitFor(
        async () => (await rotationExecutions(rt, tokenId)).every((e) => e.status !== 'RUNNING') || undefined,
        60_000,
        `the rotations of ${tokenId} to end`,
      );
      await advance({ hours: 1 });
      const revocations = await rotationExecutions(rt, tokenId, REVOCATION_STATE_MACHINE_ARN);
      expect(revocations.map((e) => [e.name, e.status])).toEqual([[`${tokenId}-revoke-1`, 'SUCCEEDED']]);

      const token = await getToken(tokenId);
      expect(token).toMatchObject({
        status: 'REVOKED',
        generation: revoked.json && (revoked.json as TokenView).generation,
      });
      expect((await fakeStatuses(tokenId)).filter((s) => !s.endsWith('REVOKED'))).toEqual([]);
      expect(await secretState(rt, secretName)).toEqual({ deletionScheduled: true, resourcePolicy: null });
      expect(await rotationSchedule(rt, tokenId)).toBeUndefined();
      // Nothing rotates it again, and a repeated revoke re-checks and finds everything in place.
      expect((await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: admin })).status).toBe(409);
      const again = await rt.api('POST', `/tokens/${tokenId}/revoke`, { token: admin, body: { reason: 'again' } });
      expect(again.status).toBe(200);
      expect(await secretState(rt, secretName)).toEqual({ deletionScheduled: true, resourcePolicy: null });
      expect((await fakeStatuses(tokenId)).filter((s) => !s.endsWith('REVOKED'))).toEqual([]);
    },
  );

  it('rotates a token whose schedule was lost at the next daily sweep', async () => {
    const issued = await issue('rot-lost-schedule');
    const { tokenId, secretName } = issued;
    const due = Date.parse(issued.nextRotationAt!);
    const g1 = await readSecret(rt, secretName);
    expect(await scheduleNames(rt)).toContain(`rotate-${tokenId}`);
    await deleteRotationSchedule(rt, tokenId);
    expect(await rotationSchedule(rt, tokenId)).toBeUndefined();

    await advanceToJustBefore(due);
    expect(await getToken(tokenId)).toMatchObject({ status: 'ACTIVE', generation: 1 });
    // The daily sweep runs once in any 24 hours after the rotation time.
    await advance({ hours: 26 });

    const rotated = await getToken(tokenId);
    expect(rotated).toMatchObject({ status: 'ACTIVE', generation: 2 });
    expect(Date.parse(rotated.lastRotatedAt!)).toBeGreaterThanOrEqual(due);
    expect(Date.parse(rotated.lastRotatedAt!) - due).toBeLessThanOrEqual(DAY + 5 * 60_000);
    const executions = await rotationExecutions(rt, tokenId);
    expect(executions.map((e) => e.name)).toEqual([expect.stringMatching(new RegExp(`^${tokenId}-g2-a\\d+$`))]);
    await capture(secretName);
    const g2 = await readSecret(rt, secretName);
    expect(g2).not.toBe(g1);
    expect((await myself(rt, g2)).status).toBe(200);
    // Promotion scheduled the next rotation again.
    const next = await rotationSchedule(rt, tokenId);
    expect(next?.ScheduleExpression).toBe(`at(${rotated.nextRotationAt!.slice(0, 19)})`);
    expect(next?.Target?.Input).toContain(`${tokenId}-g3-a1`);
  });

  it('rides out Atlassian 500s and a 429 during rotation: generation 2, a working token and no orphan', async () => {
    const issued = await issue('rot-transient');
    const { tokenId, secretName } = issued;
    const g1 = await readSecret(rt, secretName);
    await advanceToJustBefore(Date.parse(issued.nextRotationAt!));
    // The fake processes a request before it answers an injected 5xx: these two mints happen, their answers are lost.
    await injectFault(rt, { route: 'mint', status: 500, count: 2 });
    await injectFault(rt, { route: 'mint', status: 429, count: 1, retryAfterSeconds: 1 });
    await advance({ hours: 2 });

    const faults = await rt.http(`${rt.urls.atlassian}/__control/faults`);
    expect(faults.json).toEqual({ faults: [] });
    const rotated = await getToken(tokenId);
    expect(rotated).toMatchObject({ status: 'ACTIVE', generation: 2 });
    expect(rotated).not.toHaveProperty('lastRotationError');
    await capture(secretName);
    const g2 = await readSecret(rt, secretName);
    expect(g2).not.toBe(g1);
    expect((await myself(rt, g2)).status).toBe(200);
    // During the grace period only the current generation and the previous one are live at Atlassian; the two
    // generation-2 tokens whose mint answers were lost were found by their label and revoked before minting again.
    const during = await fakeTokensOf(rt, tokenId);
    expect(during.filter((t) => t.label.endsWith(':g2')).map((t) => t.status)).toEqual([
      'REVOKED',
      'REVOKED',
      'ACTIVE',
    ]);
    expect(
      during
        .filter((t) => t.status === 'ACTIVE')
        .map((t) => t.label)
        .sort(),
    ).toEqual([`token-warden:${tokenId}:g1`, `token-warden:${tokenId}:g2`]);
    expect(during.filter((t) => t.status !== 'ACTIVE').map((t) => t.status)).toEqual(
      during.filter((t) => t.status !== 'ACTIVE').map(() => 'REVOKED'),
    );

    // After it, only the current generation is.
    await advance({ hours: 25 });
    const after = await fakeTokensOf(rt, tokenId);
    expect(after.filter((t) => t.status === 'ACTIVE').map((t) => t.label)).toEqual([`token-warden:${tokenId}:g2`]);
    expect(new Set(after.filter((t) => t.status !== 'ACTIVE').map((t) => t.status))).toEqual(new Set(['REVOKED']));
    expect((await myself(rt, await readSecret(rt, secretName))).status).toBe(200);
    expect((await rotationExecutions(rt, tokenId)).map((e) => [e.name, e.status])).toEqual([
      [`${tokenId}-g2-a1`, 'SUCCEEDED'],
    ]);
  });

  it('keeps the current token when the new one fails verification, revokes the new one, tells owner and admins, and retries at the sweep', async () => {
    const issued = await issue('rot-verify-fails');
    const { tokenId, secretName } = issued;
    const g1 = await readSecret(rt, secretName);
    await advanceToJustBefore(Date.parse(issued.nextRotationAt!));
    await injectFault(rt, { route: 'myself', status: 401, count: 50 });
    await advance({ hours: 2 });

    const failed = await getToken(tokenId, SEED.alice);
    expect(failed).toMatchObject({ status: 'ACTIVE', generation: 1, expiresAt: issued.expiresAt });
    expect(failed.lastRotationError).toEqual({
      code: expect.any(String),
      message: expect.any(String),
      at: expect.any(String),
    });
    expect(failed.nextRotationAt).toBe(issued.nextRotationAt);
    await capture(secretName);
    expect(await readSecret(rt, secretName)).toBe(g1);
    expect(await readSecretError(rt, secretName, 'AWSPENDING')).toBe('ResourceNotFoundException');
    await clearFaults(rt);
    expect((await myself(rt, g1)).status).toBe(200);
    // The generation that failed verification was revoked: no orphan.
    const fake = await fakeTokensOf(rt, tokenId);
    expect(fake.filter((t) => t.status === 'ACTIVE').map((t) => t.label)).toEqual([`token-warden:${tokenId}:g1`]);
    expect(fake.filter((t) => t.label.endsWith(':g2')).length).toBeGreaterThanOrEqual(1);
    expect(new Set(fake.filter((t) => t.label.endsWith(':g2')).map((t) => t.status))).toEqual(new Set(['REVOKED']));
    const executions = await rotationExecutions(rt, tokenId);
    expect(executions[0]).toMatchObject({ name: `${tokenId}-g2-a1`, status: 'FAILED' });

    const mails = await mailsAbout(tokenId, /rotation failed/i, 2);
    expect(recipients(mails)).toEqual([SEED.admin, SEED.alice].sort());
    expect((await auditOf(tokenId)).map((r) => r.event)).toContain('ROTATION_FAILED');
    expect((await eventsOf(tokenId)).map((e) => e['detail-type'])).toContain('Token Rotation Failed');

    // With Atlassian healthy again, the next daily sweep rotates it.
    await advance({ hours: 25 });
    const rotated = await getToken(tokenId);
    expect(rotated).toMatchObject({ status: 'ACTIVE', generation: 2 });
    expect(rotated).not.toHaveProperty('lastRotationError');
    await capture(secretName);
    expect((await myself(rt, await readSecret(rt, secretName))).status).toBe(200);
    expect((await rotationExecutions(rt, tokenId)).at(-1)?.name).toMatch(
      new RegExp(`^${tokenId}-g2-a([2-9]|\\d\\d+)$`),
    );
  });

  it('marks a token whose rotations keep failing EXPIRED once its expiry passes, and tells owner and admins', async () => {
    const issued = await issue('rot-expiry');
    const { tokenId, secretName } = issued;
    const g1 = await readSecret(rt, secretName);
    // Atlassian refuses every mint from now on.
    await injectFault(rt, { route: 'mint', status: 403, count: 1_000 });
    await advanceToJustBefore(Date.parse(issued.nextRotationAt!));
    await advance({ hours: 2 });
    const failing = await getToken(tokenId);
    expect(failing).toMatchObject({ status: 'ACTIVE', generation: 1 });
    expect(failing.lastRotationError?.code).toEqual(expect.any(String));
    expect((await myself(rt, g1)).status).toBe(200);

    // Past the expiry (+ more than a day, so a daily sweep has run after it).
    await advance({ days: LEAD_DAYS + 1 });
    const expired = await getToken(tokenId, SEED.alice);
    expect(expired).toMatchObject({ status: 'EXPIRED', generation: 1, expiresAt: issued.expiresAt });
    expect(expired).not.toHaveProperty('nextRotationAt');
    expect((await myself(rt, g1)).status).toBe(401);
    expect((await fakeTokensOf(rt, tokenId)).filter((t) => t.status === 'ACTIVE')).toEqual([]);
    // The secret holds only a dead token: no readers, scheduled for deletion.
    expect(await secretState(rt, secretName)).toEqual({ deletionScheduled: true, resourcePolicy: null });
    const executions = await rotationExecutions(rt, tokenId);
    expect(executions.length).toBeGreaterThanOrEqual(2);
    expect(new Set(executions.map((e) => e.status))).toEqual(new Set(['FAILED']));

    const mails = await mailsAbout(tokenId, /expired/i, 2);
    expect(recipients(mails)).toEqual([SEED.admin, SEED.alice].sort());
    expect(mails.length).toBe(2);
    expect((await auditOf(tokenId)).map((r) => r.event)).toContain('TOKEN_EXPIRED');
    const rotate = await rt.api('POST', `/tokens/${tokenId}/rotate`, { token: await as(SEED.admin) });
    expect(rotate.status).toBe(409);
  });

  // Runs last: it reads everything the scenarios above produced.
  it('leaves no token value, of any generation, in anything the run produced', async () => {
    const report = await scanForLeaks(rt);
    for (const secret of report.secrets) captured.set(secret.value, secret);
    const values = [...captured.values()].filter((s) => s.label.startsWith('token-warden.jenkins-bot.'));
    // Eleven tokens, most of them over two or more generations.
    expect(values.length).toBeGreaterThanOrEqual(20);
    for (const { value } of values) expect(value.length).toBeGreaterThanOrEqual(20);
    expect(report.sources).toEqual(
      expect.arrayContaining([
        'data dir: runtime-output.log',
        expect.stringMatching(/^GetExecutionHistory /),
        expect.stringMatching(/^Scan /),
        'GET mail /store',
        'GET /local/events',
        'GET /local/calls',
        expect.stringMatching(/^response #/),
      ]),
    );
    expect(report.secretLeaks).toEqual([]);
    expect(report.taskTokenLeaks).toEqual([]);
    // Revoked tokens' secrets are scheduled for deletion, so the scan above cannot list them: look for them too.
    expect(findSecretValues(await collectArtifacts(rt), values)).toEqual([]);
  });
});
