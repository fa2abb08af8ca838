/**
 * Reminder timing (`notifications.reminders`): which mark, if any, a pending approval or an expiring token has
 * reached, and whether a token will be rotated by itself before it expires. Pure: the sweep applies it and records
 * one audit event per mark; the notifier's planners turn those events into emails.
 *
 * Marks are passed, never replayed: when several are due at once (the sweep did not run for a while, or a token
 * became at risk only after its first marks), only the latest one reached is due, the earlier ones count as passed.
 * So at most one reminder per subject goes out at a time, and each mark at most once (its audit discriminator).
 */
import type { TokenRecord } from './model';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** What an approval reminder looks at. */
export interface PendingApproval {
  status: 'OPEN' | 'DECIDED' | 'CLOSED';
  /** When the approver was asked. */
  createdAt: string;
  expiresAt: string;
}

/**
 * The `pendingApprovalHours` mark `approval` has reached at `now`: the largest mark no later than the approval's age
 * in hours, while it is open and not expired; undefined before the first mark, or with no marks (reminders off).
 */
export function dueApprovalMark(approval: PendingApproval, marks: readonly number[], now: Date): number | undefined {
  if (approval.status !== 'OPEN') return undefined;
  if (Date.parse(approval.expiresAt) <= now.getTime()) return undefined;
  const ageHours = (now.getTime() - Date.parse(approval.createdAt)) / HOUR_MS;
  const reached = marks.filter((mark) => mark <= ageHours);
  return reached.length === 0 ? undefined : Math.max(...reached);
}

/**
 * Why a token will not be rotated by itself before it expires:
 * - `awaiting-upload`: its service account is issued manually and the rotation holds the lock while it waits for an
 *   admin to upload the new token;
 * - `rotation-failing`: its last rotation failed (`lastRotationError`, cleared only by a successful rotation);
 * - `no-rotation-planned`: no rotation is planned before it expires.
 */
export type ExpiryRisk = 'awaiting-upload' | 'rotation-failing' | 'no-rotation-planned';

/**
 * Whether `token` will not be rotated by itself before it expires, and why; undefined when it is not `ACTIVE` or
 * `ROTATING` (nothing to renew) or its next rotation is on track: planned before expiry, no failure recorded, and
 * not waiting for a person.
 */
export function expiryRisk(token: TokenRecord, manualIssuance: boolean): ExpiryRisk | undefined {
  if (token.status !== 'ACTIVE' && token.status !== 'ROTATING') return undefined;
  if (manualIssuance && token.rotation) return 'awaiting-upload';
  if (token.lastRotationError) return 'rotation-failing';
  if (token.nextRotationAt === undefined || Date.parse(token.nextRotationAt) >= Date.parse(token.expiresAt)) {
    return 'no-rotation-planned';
  }
  return undefined;
}

/** A token's due expiry reminder: the `expiryDays` mark reached and why the token is at risk. */
export interface DueExpiryReminder {
  days: number;
  why: ExpiryRisk;
}

/**
 * The `expiryDays` mark `token` has reached at `now`: the smallest mark at or above the days left until its expiry,
 * while it has not expired and will not be rotated by itself before then ({@link expiryRisk}); undefined otherwise,
 * or with no marks (reminders off).
 */
export function dueExpiryReminder(
  token: TokenRecord,
  manualIssuance: boolean,
  marks: readonly number[],
  now: Date,
): DueExpiryReminder | undefined {
  const leftMs = Date.parse(token.expiresAt) - now.getTime();
  if (!(leftMs > 0)) return undefined;
  const why = expiryRisk(token, manualIssuance);
  if (!why) return undefined;
  const reached = marks.filter((days) => leftMs <= days * DAY_MS);
  return reached.length === 0 ? undefined : { days: Math.min(...reached), why };
}

/** Whole days left until `expiresAt` at `now`, rounded down (0 on its last day). */
export function daysLeft(expiresAt: string, now: Date): number {
  return Math.max(0, Math.floor((Date.parse(expiresAt) - now.getTime()) / DAY_MS));
}
