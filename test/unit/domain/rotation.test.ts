import type { TokenRecord } from '../../../functions/domain/model';
import {
  graceEndsAt,
  isWorkflowLock,
  lockRotation,
  MAX_LIVE_GENERATIONS,
  nextRotationDue,
  rotationEligibility,
  secretsManagerRotationDays,
} from '../../../functions/domain/rotation';
import { tokenRecord } from '../fixtures/token-record';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const now = new Date('2026-12-03T12:00:00Z');
const policy = { rotationLeadDays: 7, gracePeriodHours: 24 };

const generation = (n: number, revoked = false) => ({
  generation: n,
  label: `token-warden:tok_x:g${n}`,
  atlassianTokenId: `at-${n}`,
  expiresAt: '2027-01-01T00:00:00Z',
  versionId: `v${n}`,
  mintedAt: '2026-11-01T00:00:00Z',
  ...(revoked ? { revokedAt: '2026-11-02T00:00:00Z' } : {}),
});

const token = (over: Partial<TokenRecord> = {}): TokenRecord =>
  tokenRecord({ expiresAt: new Date(now.getTime() + 20 * DAY).toISOString(), generations: [generation(1)], ...over });

describe('nextRotationDue', () => {
  it('is expiry − rotationLeadDays while the lead is below the lifetime', () => {
    const expiry = new Date(now.getTime() + 30 * DAY);
    expect(nextRotationDue(expiry, 30, now, policy)).toEqual(new Date(expiry.getTime() - 7 * DAY));
  });

  it('takes half the lifetime as the lead when the policy lead reaches or passes the token’s lifetime', () => {
    const expiry = new Date(now.getTime() + 30 * DAY);
    for (const rotationLeadDays of [30, 31, 90]) {
      expect(nextRotationDue(expiry, 30, now, { ...policy, rotationLeadDays })).toEqual(
        new Date(expiry.getTime() - 15 * DAY),
      );
    }
  });

  it('is never sooner than the grace period ahead, nor than half the remaining life', () => {
    // A generation that expires soon (a manual upload with a short expiry): due no sooner than the grace period.
    const soon = new Date(now.getTime() + 5 * DAY);
    expect(nextRotationDue(soon, 30, now, policy)).toEqual(new Date(now.getTime() + 24 * HOUR));
    const verySoon = new Date(now.getTime() + 10 * HOUR);
    expect(nextRotationDue(verySoon, 30, now, policy)).toEqual(new Date(now.getTime() + 5 * HOUR));
  });

  it('cannot loop: rotating at each due time under any lead moves forward by at least the grace period', () => {
    for (const rotationLeadDays of [1, 7, 29, 30, 60, 365]) {
      let at = now;
      for (let i = 0; i < 20; i++) {
        const due = nextRotationDue(new Date(at.getTime() + 30 * DAY), 30, at, { ...policy, rotationLeadDays });
        expect(due.getTime() - at.getTime()).toBeGreaterThanOrEqual(24 * HOUR - 1000);
        at = due;
      }
    }
  });
});

describe('rotation limits', () => {
  it('refuses a rotation once three generations are live', () => {
    expect(MAX_LIVE_GENERATIONS).toBe(3);
    const two = token({ generation: 2, generations: [generation(1), generation(2)] });
    expect(rotationEligibility(two, now, false)).toBe('eligible');
    const three = token({ generation: 3, generations: [generation(1), generation(2), generation(3)] });
    expect(rotationEligibility(three, now, false)).toBe('too-many-live');
    const retired = token({ generation: 3, generations: [generation(1, true), generation(2), generation(3)] });
    expect(rotationEligibility(retired, now, false)).toBe('eligible');
  });

  it('knows when the previous generation’s grace period ends', () => {
    const rotated = token({
      generation: 2,
      lastRotatedAt: '2026-12-03T10:00:00Z',
      generations: [generation(1), generation(2)],
    });
    expect(graceEndsAt(rotated, 24)).toEqual(new Date('2026-12-04T10:00:00Z'));
    expect(graceEndsAt({ ...rotated, generations: [generation(1, true), generation(2)] }, 24)).toBeUndefined();
    expect(graceEndsAt(token(), 24)).toBeUndefined();
  });
});

describe('lockRotation', () => {
  const plan = { generation: 2, attempt: 1, executionName: 'x' };

  it('takes the lock for the workflow unless another holder is named', () => {
    // Act
    const workflow = lockRotation(token(), plan, '2026-12-03T12:00:00Z');
    const secretsManager = lockRotation(token(), plan, '2026-12-03T12:00:00Z', {
      source: 'secretsmanager',
      clientRequestToken: 'aaaaaaaa-0000-4000-8000-000000000001',
    });

    // Assess
    expect(workflow.rotation).toEqual({ generation: 2, attempt: 1, startedAt: '2026-12-03T12:00:00Z' });
    expect(isWorkflowLock(workflow.rotation!)).toBe(true);
    expect(isWorkflowLock({ ...workflow.rotation!, source: 'workflow' })).toBe(true);
    expect(secretsManager.rotation).toMatchObject({ source: 'secretsmanager', generation: 2, attempt: 1 });
    expect(isWorkflowLock(secretsManager.rotation!)).toBe(false);
    expect(secretsManager.status).toBe('ROTATING');
    expect(rotationEligibility(secretsManager, now, false)).toBe('rotating');
  });
});

describe('secretsManagerRotationDays', () => {
  it('is one day more than Token Warden rotates at: lifetime − lead, plus one', () => {
    expect(secretsManagerRotationDays(90, { rotationLeadDays: 14 })).toBe(77);
    expect(secretsManagerRotationDays(30, { rotationLeadDays: 14 })).toBe(17);
  });

  it('counts half the lifetime as the lead when the lead is not below the lifetime, as nextRotationDue does', () => {
    expect(secretsManagerRotationDays(10, { rotationLeadDays: 14 })).toBe(6);
    expect(secretsManagerRotationDays(14, { rotationLeadDays: 14 })).toBe(8);
    expect(secretsManagerRotationDays(1, { rotationLeadDays: 14 })).toBe(1);
  });

  it('stays within what Secrets Manager accepts, 1 to 1,000 days', () => {
    expect(secretsManagerRotationDays(5000, { rotationLeadDays: 1 })).toBe(1000);
    expect(secretsManagerRotationDays(0, { rotationLeadDays: 1 })).toBe(1);
  });
});
