import type { TokenRecord } from '../../../functions/domain/model';
import {
  daysLeft,
  dueApprovalMark,
  dueExpiryReminder,
  expiryRisk,
  type PendingApproval,
} from '../../../functions/domain/reminders';
import { tokenRecord } from '../fixtures/token-record';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = new Date('2026-12-03T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** An approval asked `ageHours` ago, open for 72 hours from then. */
const approval = (ageHours: number, over: Partial<PendingApproval> = {}): PendingApproval => ({
  status: 'OPEN',
  createdAt: iso(now.getTime() - ageHours * HOUR),
  expiresAt: iso(now.getTime() - ageHours * HOUR + 72 * HOUR),
  ...over,
});

/** A token expiring in `days` days whose rotation failed (so it will not renew itself). */
const failing = (days: number, over: Partial<TokenRecord> = {}): TokenRecord =>
  tokenRecord({
    expiresAt: iso(now.getTime() + days * DAY),
    nextRotationAt: iso(now.getTime() - DAY),
    lastRotationError: {
      code: 'AtlassianUnavailable',
      message: 'rotation to generation 2 failed',
      at: iso(now.getTime() - DAY),
    },
    ...over,
  });

describe('dueApprovalMark', () => {
  it('is undefined before the first mark and the mark once the approval is that many hours old', () => {
    // Prepare
    const marks = [24, 48];
    // Act
    const before = dueApprovalMark(approval(23.9), marks, now);
    const at = dueApprovalMark(approval(24), marks, now);
    const between = dueApprovalMark(approval(30), marks, now);
    // Assess
    expect([before, at, between]).toEqual([undefined, 24, 24]);
  });

  it('gives only the latest mark reached when several are due at once: the earlier ones count as passed', () => {
    // Prepare
    const marks = [4, 24, 48];
    // Act
    const due = dueApprovalMark(approval(50), marks, now);
    // Assess
    expect(due).toBe(48);
  });

  it('reminds nobody about an approval decided, closed or expired, nor with the reminder off', () => {
    // Prepare
    const marks = [24];
    // Act
    const decided = dueApprovalMark(approval(30, { status: 'DECIDED' }), marks, now);
    const closed = dueApprovalMark(approval(30, { status: 'CLOSED' }), marks, now);
    const expired = dueApprovalMark(approval(30, { expiresAt: iso(now.getTime()) }), marks, now);
    const off = dueApprovalMark(approval(30), [], now);
    // Assess
    expect([decided, closed, expired, off]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('expiryRisk', () => {
  const onTrack = (over: Partial<TokenRecord> = {}) =>
    tokenRecord({ expiresAt: iso(now.getTime() + 10 * DAY), nextRotationAt: iso(now.getTime() + 3 * DAY), ...over });
  const lock = { generation: 2, attempt: 1, startedAt: iso(now.getTime() - HOUR) };

  it('is undefined for a token whose next rotation is planned before expiry, rotating or not', () => {
    // Prepare
    const planned = onTrack();
    const rotating = onTrack({ status: 'ROTATING', rotation: lock, nextRotationAt: iso(now.getTime() - HOUR) });
    // Act
    const risks = [expiryRisk(planned, false), expiryRisk(rotating, false), expiryRisk(planned, true)];
    // Assess
    expect(risks).toEqual([undefined, undefined, undefined]);
  });

  it('is awaiting-upload for a manually issued token whose rotation holds the lock', () => {
    // Prepare
    const waiting = onTrack({ status: 'ROTATING', rotation: lock, nextRotationAt: iso(now.getTime() - HOUR) });
    // Act
    const risk = expiryRisk(waiting, true);
    // Assess
    expect(risk).toBe('awaiting-upload');
  });

  it('is rotation-failing once a rotation failed, and no-rotation-planned without a rotation before expiry', () => {
    // Prepare
    const failed = failing(5);
    const unplanned = onTrack({ nextRotationAt: undefined });
    const tooLate = onTrack({ nextRotationAt: iso(now.getTime() + 10 * DAY) });
    // Act
    const risks = [
      expiryRisk(failed, false),
      expiryRisk(failed, true),
      expiryRisk(unplanned, false),
      expiryRisk(tooLate, false),
    ];
    // Assess
    expect(risks).toEqual(['rotation-failing', 'rotation-failing', 'no-rotation-planned', 'no-rotation-planned']);
  });

  it('is undefined for a token no longer ACTIVE or ROTATING', () => {
    // Prepare
    const tokens = (['REVOKED', 'EXPIRED'] as const).map((status) => failing(5, { status }));
    // Act
    const risks = tokens.map((t) => expiryRisk(t, true));
    // Assess
    expect(risks).toEqual([undefined, undefined]);
  });
});

describe('dueExpiryReminder', () => {
  const marks = [14, 3];

  it('is due at a mark once the days left are at or below it, with why', () => {
    // Prepare
    const early = failing(14.1);
    const atMark = failing(14);
    const later = failing(5);
    // Act
    const due = [early, atMark, later].map((t) => dueExpiryReminder(t, false, marks, now));
    // Assess
    expect(due).toEqual([undefined, { days: 14, why: 'rotation-failing' }, { days: 14, why: 'rotation-failing' }]);
  });

  it('gives only the smallest mark reached when several are due at once', () => {
    // Prepare
    const late = failing(2);
    // Act
    const due = dueExpiryReminder(late, false, [14, 7, 3, 1], now);
    // Assess
    expect(due).toEqual({ days: 3, why: 'rotation-failing' });
  });

  it('is none for a token on track, one already expired, or with the reminder off', () => {
    // Prepare
    const onTrack = tokenRecord({ expiresAt: iso(now.getTime() + 2 * DAY), nextRotationAt: iso(now.getTime() + DAY) });
    const expired = failing(0);
    const soon = failing(2);
    // Act
    const due = [
      dueExpiryReminder(onTrack, false, marks, now),
      dueExpiryReminder(expired, false, marks, now),
      dueExpiryReminder(soon, false, [], now),
    ];
    // Assess
    expect(due).toEqual([undefined, undefined, undefined]);
  });

  it('reminds about a manually issued token waiting for its upload', () => {
    // Prepare
    const waiting = tokenRecord({
      status: 'ROTATING',
      expiresAt: iso(now.getTime() + 6 * DAY),
      nextRotationAt: iso(now.getTime() - DAY),
      rotation: { generation: 2, attempt: 1, startedAt: iso(now.getTime() - DAY) },
    });
    // Act
    const manual = dueExpiryReminder(waiting, true, marks, now);
    const api = dueExpiryReminder(waiting, false, marks, now);
    // Assess
    expect(manual).toEqual({ days: 14, why: 'awaiting-upload' });
    expect(api).toBeUndefined();
  });
});

describe('daysLeft', () => {
  it('counts whole days left, rounded down, never below 0', () => {
    // Prepare
    const expiries = [now.getTime() + 3 * DAY - 1, now.getTime() + 3 * DAY, now.getTime() + HOUR, now.getTime() - DAY];
    // Act
    const left = expiries.map((ms) => daysLeft(iso(ms), now));
    // Assess
    expect(left).toEqual([2, 3, 0, 0]);
  });
});
