import {
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import type { Workflows } from '../../../functions/adapters/aws/workflow';
import { runInventory } from '../../../functions/use-cases/inventory';
import { discardToken, mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { promoteToken } from '../../../functions/use-cases/promote';
import { finishRevocation, parseRevokeBody, revokeToken } from '../../../functions/use-cases/revoke';
import {
  beginRotation,
  recordRotationFailure,
  revokePreviousGenerations,
  rotateNow,
  startRotation,
} from '../../../functions/use-cases/rotation';
import { sweep } from '../../../functions/use-cases/sweep';
import { policy, useHarness } from '../../support/harness';

const ses = mockClient(SESv2Client);
const started: { name: string; input: object }[] = [];
const stopped: string[] = [];
const workflows = {
  start: async (_arn: string, name: string, input: object) => {
    started.push({ name, input });
    return `arn:execution:${name}`;
  },
  succeed: async () => true,
  stop: async (arn: string) => {
    stopped.push(arn);
  },
} as unknown as Workflows;

const alice = { email: 'alice@example.com', isAdmin: false };
const admin = { email: 'admin@example.com', isAdmin: true };
const DAY = 86_400_000;

function rotationDeps() {
  return { ...h.deps, workflows, rotationStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:rot' };
}

const h = useHarness(ses, () => {
  started.length = 0;
  stopped.length = 0;
});

const issued = () => h.issuedToken();

const secretValue = async (secretName: string, stage = 'AWSCURRENT') =>
  (await h.sm.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: stage }))).SecretString ?? '';

/** The rotation workflow's steps for one attempt, up to promotion. */
async function rotateToPromotion(tokenId: string, generation: number, attempt: number) {
  const begun = await beginRotation(h.deps, { tokenId, generation, attempt });
  expect(begun.proceed).toBe(true);
  const minted = await mintToken(h.deps, { tokenId, generation });
  await verifyToken(h.deps, minted);
  await promoteToken(h.deps, minted);
}

describe('rotation', () => {
  it('mints the next generation, promotes it, keeps the previous as AWSPREVIOUS through the grace period, then revokes it', async () => {
    const { tokenId, secretName } = await issued();
    const oldValue = await secretValue(secretName);

    const outcome = await startRotation(rotationDeps(), tokenId, { takeOverStale: false });
    expect(outcome).toMatchObject({ started: true, executionName: `${tokenId}-g2-a1` });
    expect(started).toEqual([{ name: `${tokenId}-g2-a1`, input: { tokenId, generation: 2, attempt: 1 } }]);
    expect((await h.deps.store.getToken(tokenId))?.status).toBe('ROTATING');

    await rotateToPromotion(tokenId, 2, 1);
    const newValue = await secretValue(secretName);
    expect(newValue).not.toBe(oldValue);
    expect(await secretValue(secretName, 'AWSPREVIOUS')).toBe(oldValue);
    expect(await h.myself(newValue)).toBe(200);
    expect(await h.myself(oldValue)).toBe(200);
    const token = await h.deps.store.getToken(tokenId);
    expect(token).toMatchObject({ status: 'ACTIVE', generation: 2, lastRotatedAt: expect.any(String) });
    expect(token?.rotation).toBeUndefined();
    expect(Date.parse(token!.nextRotationAt!)).toBe(Date.parse(token!.expiresAt) - policy.rotationLeadDays * DAY);
    expect(h.schedules.schedules.get(tokenId)?.executionName).toBe(`${tokenId}-g3-a1`);

    await revokePreviousGenerations(h.deps, { tokenId, generation: 2 });
    expect(await h.myself(oldValue)).toBe(401);
    expect(await h.myself(newValue)).toBe(200);
    expect(h.fakeTokens(tokenId).map((t) => [t.label.split(':').pop(), t.status])).toEqual([
      ['g1', 'REVOKED'],
      ['g2', 'ACTIVE'],
    ]);
    const rotatedMail = ses
      .commandCalls(SendEmailCommand)
      .filter((c) => /Token rotated/.test(c.args[0].input.Content?.Simple?.Subject?.Data ?? ''));
    expect(rotatedMail.map((c) => c.args[0].input.Destination?.ToAddresses)).toEqual([['alice@example.com']]);
  });

  it('a failed verification leaves the current token AWSCURRENT and working, records the error, and leaves no orphan', async () => {
    const { tokenId, secretName } = await issued();
    const current = await secretValue(secretName);
    await startRotation(rotationDeps(), tokenId, { takeOverStale: false });
    await beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 });
    const minted = await mintToken(h.deps, { tokenId, generation: 2 });
    await h.control('/__control/faults', { route: 'myself', status: 401, count: 1 });
    await expect(verifyToken(h.deps, minted)).rejects.toMatchObject({ name: 'TokenVerificationError' });
    await discardToken(h.deps, { tokenId, generation: 2 });
    await recordRotationFailure(h.deps, {
      tokenId,
      generation: 2,
      attempt: 1,
      error: { Error: 'TokenVerificationError', Cause: 'x' },
    });

    expect(await secretValue(secretName)).toBe(current);
    expect(await h.myself(current)).toBe(200);
    const described = await h.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(Object.values(described.VersionIdsToStages ?? {}).flat()).not.toContain('AWSPENDING');
    expect(described.DeletedDate).toBeUndefined();
    const token = await h.deps.store.getToken(tokenId);
    expect(token).toMatchObject({
      status: 'ACTIVE',
      generation: 1,
      lastRotationError: {
        code: 'TokenVerificationError',
        message: expect.stringContaining('generation 2'),
        at: expect.any(String),
      },
    });
    expect(
      h
        .fakeTokens(tokenId)
        .filter((t) => t.status === 'ACTIVE')
        .map((t) => t.label),
    ).toEqual([`token-warden:${tokenId}:g1`]);
    const notified = ses
      .commandCalls(SendEmailCommand)
      .filter((c) => /rotation failed/.test(c.args[0].input.Content?.Simple?.Subject?.Data ?? ''))
      .flatMap((c) => c.args[0].input.Destination?.ToAddresses ?? []);
    expect(notified.sort()).toEqual(['admin@example.com', 'alice@example.com']);

    // The next attempt gets a fresh execution name.
    const retry = await startRotation(rotationDeps(), tokenId, { takeOverStale: false });
    expect(retry).toMatchObject({ started: true, executionName: `${tokenId}-g2-a2` });
  });

  it('two triggers at once start one rotation', async () => {
    const { tokenId } = await issued();
    const results = await Promise.all([
      startRotation(rotationDeps(), tokenId, { takeOverStale: false }),
      startRotation(rotationDeps(), tokenId, { takeOverStale: false }),
      rotateNow(rotationDeps(), alice, tokenId).then(
        () => ({ started: true }),
        (e: Error & { code?: string }) => ({ started: false, code: e.code }),
      ),
    ]);
    expect(results.filter((r) => r.started)).toHaveLength(1);
    expect(started).toHaveLength(1);
  });

  it('a scheduled execution takes the lock itself; a stale or superseded one does nothing', async () => {
    const { tokenId } = await issued();
    expect(await beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 })).toMatchObject({ proceed: true });
    expect(await beginRotation(h.deps, { tokenId, generation: 2, attempt: 9 })).toMatchObject({
      proceed: false,
      reason: 'rotating',
    });
    await rotateToPromotion(tokenId, 2, 1);
    expect(await beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 })).toMatchObject({
      proceed: false,
      reason: 'already rotated',
    });
  });

  it('refuses manual rotation of another member’s token and of a rotating token', async () => {
    const { tokenId } = await issued();
    await expect(
      rotateNow(rotationDeps(), { email: 'bob@example.com', isAdmin: false }, tokenId),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await rotateNow(rotationDeps(), admin, tokenId);
    await expect(rotateNow(rotationDeps(), alice, tokenId)).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});

describe('rotation bounds', () => {
  it('a policy change raising rotationLeadDays to the token’s lifetime or past it does not make rotation loop', async () => {
    const { tokenId } = await issued();
    const raised = { ...policy, rotationLeadDays: 45 };
    const deps = { ...h.deps, policy: raised };
    const begun = await beginRotation(deps, { tokenId, generation: 2, attempt: 1 });
    expect(begun.proceed).toBe(true);
    const minted = await mintToken(deps, { tokenId, generation: 2 });
    await verifyToken(deps, minted);
    await promoteToken(deps, minted);
    const token = (await h.deps.store.getToken(tokenId))!;
    const now = h.clock.now().getTime();
    // Half the 30-day lifetime as lead, so about 15 days ahead: never at once, never in a loop.
    expect(Date.parse(token.nextRotationAt!) - now).toBeGreaterThan(14 * DAY);
    expect(Date.parse(token.nextRotationAt!)).toBe(Date.parse(token.expiresAt) - 15 * DAY);
    expect(h.schedules.schedules.get(tokenId)!.at.getTime()).toBeGreaterThan(now + policy.gracePeriodHours * 3_600_000);
  });

  it('refuses rotate now while the previous token is in its grace period, and caps live generations at three', async () => {
    const { tokenId } = await issued();
    await rotateNow(rotationDeps(), admin, tokenId);
    await rotateToPromotion(tokenId, 2, 1);
    await expect(rotateNow(rotationDeps(), admin, tokenId)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/grace period until/),
    });
    // The grace period passed but generation 1 was not retired yet (a failed revoke step): one more rotation only.
    h.clock.advance(policy.gracePeriodHours * 3_600_000 + 60_000);
    await rotateNow(rotationDeps(), admin, tokenId);
    await rotateToPromotion(tokenId, 3, 1);
    h.clock.advance(policy.gracePeriodHours * 3_600_000 + 60_000);
    await expect(rotateNow(rotationDeps(), admin, tokenId)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/too many generations/),
    });
    expect(h.fakeTokens(tokenId).filter((t) => t.status === 'ACTIVE')).toHaveLength(3);
  });

  it('grants a rotated secret only to the consumers the current policy still allows', async () => {
    const { tokenId, secretName } = await issued();
    const readers = async () =>
      (await h.sm.send(new GetResourcePolicyCommand({ SecretId: secretName }))).ResourcePolicy ?? '';
    expect(await readers()).toContain('role/jenkins');
    const account = policy.serviceAccounts[0]!;
    const narrowed = {
      ...policy,
      serviceAccounts: [
        { ...account, allowedConsumers: ['arn:aws:iam::000000000000:role/other'], defaultConsumers: [] },
      ],
    };
    const deps = { ...h.deps, policy: narrowed };
    await beginRotation(deps, { tokenId, generation: 2, attempt: 1 });
    const minted = await mintToken(deps, { tokenId, generation: 2 });
    await verifyToken(deps, minted);
    await promoteToken(deps, minted);
    expect(await readers()).toBe('');
    expect((await h.deps.store.getToken(tokenId))?.consumers).toEqual([]);
    // Restoring the consumer in the policy later does not grant it again either: a rotation never widens readers.
    await beginRotation(h.deps, { tokenId, generation: 3, attempt: 1 });
    const again = await mintToken(h.deps, { tokenId, generation: 3 });
    await verifyToken(h.deps, again);
    await promoteToken(h.deps, again);
    expect(await readers()).toBe('');
  });
});

describe('sweep', () => {
  it('starts due rotations from the due-date index, takes over stale locks, and expires tokens past expiry', async () => {
    const a = await issued();
    const b = await issued();
    // Move into the lead window of both tokens (30-day lifetime, 7-day lead).
    h.clock.advance(24 * DAY);
    const first = await sweep({ ...rotationDeps(), atlassian: h.deps.atlassian });
    expect(first.started).toBeGreaterThanOrEqual(2);
    expect(started.map((s) => s.name)).toEqual(expect.arrayContaining([`${a.tokenId}-g2-a1`, `${b.tokenId}-g2-a1`]));

    // The rotation of `a` hangs; hours later the sweep takes over its stale lock with a new attempt.
    started.length = 0;
    h.clock.advance(3 * 3_600_000);
    await sweep({ ...rotationDeps(), atlassian: h.deps.atlassian });
    expect(started.map((s) => s.name)).toEqual(expect.arrayContaining([`${a.tokenId}-g2-a2`]));

    // Past expiry without a successful rotation: EXPIRED, owner and admins told.
    h.clock.advance(7 * DAY);
    const late = await sweep({ ...rotationDeps(), atlassian: h.deps.atlassian });
    expect(late.expired).toBeGreaterThanOrEqual(2);
    expect((await h.deps.store.getToken(a.tokenId))?.status).toBe('EXPIRED');
    expect((await h.deps.store.getToken(a.tokenId))?.nextRotationAt).toBeUndefined();
    // The sweep records the expiry; the notifier's planner tells the owner and the admins, once.
    const expiredMail = ses
      .commandCalls(SendEmailCommand)
      .filter((c) => (c.args[0].input.Content?.Simple?.Body?.Text?.Data ?? '').includes(`Token ${a.tokenId} `))
      .filter((c) => /^Token expired: /.test(c.args[0].input.Content?.Simple?.Subject?.Data ?? ''));
    expect(expiredMail.map((c) => c.args[0].input.Destination?.ToAddresses)).toEqual([
      ['alice@example.com'],
      ['admin@example.com'],
    ]);
    // Its secret holds only dead tokens: no readers, scheduled for deletion, so the name can never hand another
    // member a secret that old CI still reads.
    const expiredSecret = await h.sm.send(new DescribeSecretCommand({ SecretId: a.secretName }));
    expect(expiredSecret.DeletedDate).toBeDefined();
    expect((await h.sm.send(new GetResourcePolicyCommand({ SecretId: a.secretName }))).ResourcePolicy).toBeUndefined();
    // An expired token leaves the due index: the next sweep reads nothing for it.
    const after = await sweep({ ...rotationDeps(), atlassian: h.deps.atlassian });
    expect(after.due).toBe(0);
  });
});

const revocations: { name: string; input: object }[] = [];
const revokeDeps = (stopRotation: (name: string) => Promise<void> = async () => {}) => ({
  ...h.deps,
  stopRotation,
  startRevocation: async (name: string, input: object) => void revocations.push({ name, input }),
});

describe('revoke', () => {
  it('revokes every live generation, stops the rotation, removes the schedule and readers, schedules deletion', async () => {
    const { tokenId, secretName } = await issued();
    await startRotation(rotationDeps(), tokenId, { takeOverStale: false });
    await beginRotation(h.deps, { tokenId, generation: 2, attempt: 1 });
    await mintToken(h.deps, { tokenId, generation: 2 });
    const current = await secretValue(secretName);

    const revoked = await revokeToken(
      revokeDeps(async (n) => void stopped.push(n)),
      admin,
      tokenId,
      'leaked in a build log',
    );
    expect(revoked).toMatchObject({ status: 'REVOKED', tokenId });
    expect(revoked).not.toHaveProperty('nextRotationAt');
    expect(stopped).toEqual([`${tokenId}-g2-a1`]);
    expect(h.schedules.schedules.has(tokenId)).toBe(false);
    expect(h.fakeTokens(tokenId).every((t) => t.status === 'REVOKED')).toBe(true);
    expect(h.fakeTokens(tokenId)).toHaveLength(2);
    expect(await h.myself(current)).toBe(401);
    await expect(h.sm.send(new GetSecretValueCommand({ SecretId: secretName }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    const described = await h.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(described.DeletedDate).toBeDefined();

    const again = await revokeToken(revokeDeps(), admin, tokenId, 'again');
    expect(again).toEqual(revoked);
    // Each call starts a round of the revocation workflow, which finishes what is left after steps in flight.
    expect(revocations.slice(-2).map((r) => r.name)).toEqual([`${tokenId}-revoke-1`, `${tokenId}-revoke-2`]);
    const audit = await h.deps.audit.list(revoked.requestId);
    expect(audit.filter((r) => r.event === 'REVOKED')).toEqual([
      expect.objectContaining({
        actor: 'admin@example.com',
        details: { reason: 'leaked in a build log', generation: 1 },
      }),
    ]);
  });

  it('makes progress on a token with many live generations: REVOKED and unreadable at once, the rest by the workflow', async () => {
    const { tokenId, secretName } = await issued();
    const account = policy.serviceAccounts[0]!;
    // 60 more generations live at Atlassian and on the record (as rotate now could once leave them).
    const token = (await h.deps.store.getToken(tokenId))!;
    const extra = [];
    for (let g = 2; g <= 61; g++) {
      const label = `token-warden:${tokenId}:g${g}`;
      const minted = await h.deps.atlassian.mintToken(account.atlassianId, {
        label,
        scopes: ['read:jira-work'],
        expiry: new Date(h.clock.now().getTime() + 20 * DAY),
      });
      extra.push({
        generation: g,
        label,
        atlassianTokenId: minted.id,
        expiresAt: token.expiresAt,
        versionId: `v${g}`,
        mintedAt: token.createdAt,
      });
    }
    await h.deps.store.saveToken({ ...token, generation: 61, generations: [...token.generations, ...extra] });
    // Every Atlassian call takes 200 ms of the clock.
    const slow = new Proxy(h.deps.atlassian, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          h.clock.advance(200);
          return value.apply(target, args);
        };
      },
    });
    const deps = { ...revokeDeps(), atlassian: slow };
    const revoked = await revokeToken(deps, admin, tokenId, 'too many');
    expect(revoked.status).toBe('REVOKED');
    await expect(h.sm.send(new GetSecretValueCommand({ SecretId: secretName }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    // Within its budget (8 s at 200 ms a call), the current generation (61) first, each revokedAt saved as it went.
    const after = (await h.deps.store.getToken(tokenId))!;
    const saved = after.generations.filter((g) => g.revokedAt);
    expect(saved.length).toBeGreaterThanOrEqual(35);
    expect(saved.length).toBeLessThan(61);
    expect(after.generations.find((g) => g.generation === 61)?.revokedAt).toBeDefined();
    const live = () => h.fakeTokens(tokenId).filter((t) => t.status === 'ACTIVE').length;
    expect(live()).toBe(61 - saved.length);
    expect(revocations.at(-1)).toEqual({ name: `${tokenId}-revoke-1`, input: { tokenId } });
    // The workflow's passes finish the rest, each within its own budget.
    const passes = [];
    for (let i = 0; i < 5; i++) {
      const progress = await finishRevocation({ ...deps }, { tokenId }, 2_000);
      passes.push(progress.done);
      if (progress.done) break;
    }
    expect(passes.at(-1)).toBe(true);
    expect(passes.length).toBeGreaterThan(1);
    expect(live()).toBe(0);
    expect((await h.deps.store.getToken(tokenId))?.generations.every((g) => g.revokedAt)).toBe(true);
  });

  it('is for admins only, and validates the reason', async () => {
    const { tokenId } = await issued();
    await expect(revokeToken(revokeDeps(), alice, tokenId, 'x')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(parseRevokeBody(undefined)).toBe('unspecified');
    expect(parseRevokeBody({})).toBe('unspecified');
    expect(() => parseRevokeBody({ reason: 'x'.repeat(501) })).toThrow(expect.objectContaining({ field: 'reason' }));
    expect(() => parseRevokeBody({ why: 'x' })).toThrow(expect.objectContaining({ field: 'why' }));
    // The reason goes into the owner's email: it cannot add lines or links of its own.
    for (const reason of ['leaked\nOpen https://evil.example/x', 'a\u202Eb', 'tab\there', 'zero\u200Bwidth']) {
      expect(() => parseRevokeBody({ reason })).toThrow(expect.objectContaining({ field: 'reason' }));
    }
  });
});

describe('inventory', () => {
  it('stores a drift report with tokens made outside Token Warden and tokens revoked behind its back', async () => {
    const { tokenId } = await issued();
    // Someone creates a token by hand, and someone revokes ours outside Token Warden.
    const account = policy.serviceAccounts[0]!;
    const manual = await h.deps.atlassian.mintToken(account.atlassianId, {
      label: 'made by hand',
      scopes: ['read:jira-work'],
      expiry: new Date(h.clock.now().getTime() + 10 * DAY),
    });
    const ours = h.fakeTokens(tokenId)[0]!;
    await h.deps.atlassian.revokeToken(account.atlassianId, ours.id);

    const report = await runInventory(h.deps);
    expect(report.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'UNKNOWN_TOKEN', atlassianTokenId: manual.id }),
        expect.objectContaining({ kind: 'MISSING_TOKEN', tokenId, generation: 1 }),
      ]),
    );
    expect(await h.deps.store.getDriftReport()).toMatchObject({ generatedAt: report.generatedAt });
    expect(JSON.stringify(report)).not.toContain(manual.token);
    const audit = await h.deps.audit.list('inventory');
    expect(audit.map((r) => r.event)).toContain('DRIFT_DETECTED');
    const mailed = ses
      .commandCalls(SendEmailCommand)
      .filter((c) => /inventory/.test(c.args[0].input.Content?.Simple?.Subject?.Data ?? ''));
    expect(mailed.map((c) => c.args[0].input.Destination?.ToAddresses?.[0])).toEqual(['admin@example.com']);
  });
});

describe('organization API key expiry', () => {
  it('records ORG_KEY_EXPIRING once a day from 14 days before the key expires, and not before; admins are emailed', async () => {
    const deps = () => ({
      ...rotationDeps(),
      atlassian: h.deps.atlassian,
      orgKeyExpiry: async () => new Date(h.clock.now().getTime() + daysLeft * DAY + 3_600_000),
    });
    let daysLeft = 20;
    await sweep(deps());
    const warnings = () =>
      ses
        .commandCalls(SendEmailCommand)
        .filter((c) => /organization API key/.test(c.args[0].input.Content?.Simple?.Subject?.Data ?? ''));
    expect(warnings()).toHaveLength(0);
    daysLeft = 10;
    await sweep(deps());
    await sweep(deps());
    expect(warnings().map((c) => c.args[0].input.Destination?.ToAddresses)).toEqual([['admin@example.com']]);
    expect(warnings()[0]?.args[0].input.Content?.Simple?.Subject?.Data).toBe(
      'Atlassian organization API key expires in 10 day(s)',
    );
    const recorded = (await h.deps.audit.list('org-key')).filter((r) => r.event === 'ORG_KEY_EXPIRING');
    expect(recorded).toEqual([
      expect.objectContaining({
        actor: 'token-warden',
        requestId: 'org-key',
        details: expect.objectContaining({ daysLeft: 10 }),
      }),
    ]);
    // The next day: one more.
    h.clock.advance(DAY);
    daysLeft = 9;
    await sweep(deps());
    expect((await h.deps.audit.list('org-key')).filter((r) => r.event === 'ORG_KEY_EXPIRING')).toHaveLength(2);
    expect(warnings()).toHaveLength(2);
  });
});
