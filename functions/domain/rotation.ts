/** Rotation planning: pure decisions over a token record and the clock. */
import type { TokenRecord } from './model';
import { rotationExecutionName } from './naming';

/** A rotation lock older than this is considered abandoned and may be taken over by the sweep. */
export const STALE_ROTATION_MS = 2 * 3_600_000;

/**
 * At most this many generations of one token are live at Atlassian at once: the current one, the previous one in
 * its grace period, and the one a rotation is minting. A rotation that would mint a fourth does not start.
 */
export const MAX_LIVE_GENERATIONS = 3;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface RotationPlan {
  generation: number;
  attempt: number;
  executionName: string;
}

/** The next rotation of `token`: the next generation, and an attempt number never used before for it. */
export function nextRotation(token: TokenRecord): RotationPlan {
  const generation = token.generation + 1;
  const last = token.lastRotationAttempt;
  const attempt = last && last.generation === generation ? last.attempt + 1 : 1;
  return { generation, attempt, executionName: rotationExecutionName(token.tokenId, generation, attempt) };
}

export type RotationEligibility = 'eligible' | 'not-active' | 'rotating' | 'expired' | 'too-many-live';

/** Generations not yet revoked at Atlassian (as far as the record knows). */
export function liveGenerations(token: TokenRecord): TokenRecord['generations'] {
  return token.generations.filter((g) => !g.revokedAt);
}

/**
 * When the token's latest rotation's grace period ends, while an older generation is still live; undefined when no
 * older generation is live (nothing is in its grace period).
 */
export function graceEndsAt(token: TokenRecord, gracePeriodHours: number): Date | undefined {
  if (!token.lastRotatedAt) return undefined;
  if (!token.generations.some((g) => g.generation < token.generation && !g.revokedAt)) return undefined;
  return new Date(Date.parse(token.lastRotatedAt) + gracePeriodHours * HOUR_MS);
}

/**
 * When the generation expiring at `expiresAt` (minted `now` for `lifetimeDays`) is rotated next: `expiry −
 * rotationLeadDays`, the policy's rule. Applied to a token the policy no longer fits (a lead raised to or beyond the
 * token's lifetime), the lead becomes half the lifetime; and the result is never sooner than the grace period (or
 * half the remaining life, if that is shorter) from now. So a policy change never makes a token rotate again at once,
 * and never more often than once per grace period: rotation cannot loop.
 */
export function nextRotationDue(
  expiresAt: Date,
  lifetimeDays: number,
  now: Date,
  policy: { rotationLeadDays: number; gracePeriodHours: number },
): Date {
  const leadMs =
    policy.rotationLeadDays < lifetimeDays ? policy.rotationLeadDays * DAY_MS : (lifetimeDays * DAY_MS) / 2;
  const remainingMs = Math.max(0, expiresAt.getTime() - now.getTime());
  const floorMs = Math.min(policy.gracePeriodHours * HOUR_MS, remainingMs / 2);
  return new Date(Math.floor(Math.max(expiresAt.getTime() - leadMs, now.getTime() + floorMs) / 1000) * 1000);
}

/**
 * The `AutomaticallyAfterDays` shown to Secrets Manager for a token of `lifetimeDays`: one day more than the interval
 * at which Token Warden rotates it (`lifetime − lead`, the lead as {@link nextRotationDue} applies it). Secrets Manager
 * counts the days from the secret's last rotation, and a new value stored by Token Warden's own rotation counts as one
 * (the API reference: "Manually updating the secret value by calling PutSecretValue or UpdateSecret is considered a
 * valid rotation"), so its window opens only when Token Warden's rotation is a day overdue: it is a backstop that
 * runs through the same lock, never a second timetable. Within Secrets Manager's range, 1 to 1,000.
 */
export function secretsManagerRotationDays(lifetimeDays: number, policy: { rotationLeadDays: number }): number {
  const leadDays = policy.rotationLeadDays < lifetimeDays ? policy.rotationLeadDays : lifetimeDays / 2;
  return Math.min(1000, Math.max(1, Math.floor(lifetimeDays - leadDays) + 1));
}

/**
 * How long a rotation lock may be held before the sweep takes it over: {@link STALE_ROTATION_MS}, plus, for a
 * manually issued token, the time the rotation may wait for an admin's upload (`approvalExpiryHours`), so the sweep
 * never starts a second attempt while the first still waits.
 */
export function staleRotationAfterMs(manual: boolean, approvalExpiryHours: number): number {
  return STALE_ROTATION_MS + (manual ? approvalExpiryHours * 3_600_000 : 0);
}

/** Whether a rotation may start now; a stale lock does not block when `takeOverStale` is set (the sweep). */
export function rotationEligibility(
  token: TokenRecord,
  now: Date,
  takeOverStale: boolean,
  staleAfterMs = STALE_ROTATION_MS,
): RotationEligibility {
  if (token.status === 'REVOKED' || token.status === 'EXPIRED') return 'not-active';
  if (Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  if (token.rotation) {
    const age = now.getTime() - Date.parse(token.rotation.startedAt);
    if (!(takeOverStale && age >= staleAfterMs)) return 'rotating';
  }
  if (liveGenerations(token).length >= MAX_LIVE_GENERATIONS) return 'too-many-live';
  return 'eligible';
}

/** Who takes a rotation lock other than the workflow: Secrets Manager, for the rotation staging one version. */
export interface LockHolder {
  source: 'secretsmanager';
  clientRequestToken: string;
}

/** Whether the lock is held by the rotation workflow (a lock without `source` is the workflow's). */
export function isWorkflowLock(lock: NonNullable<TokenRecord['rotation']>): boolean {
  return lock.source === undefined || lock.source === 'workflow';
}

/** Takes the rotation lock: the token becomes `ROTATING`. Without `holder` the workflow holds it. */
export function lockRotation(token: TokenRecord, plan: RotationPlan, now: string, holder?: LockHolder): TokenRecord {
  return {
    ...token,
    status: 'ROTATING',
    rotation: { generation: plan.generation, attempt: plan.attempt, startedAt: now, ...holder },
    lastRotationAttempt: { generation: plan.generation, attempt: plan.attempt },
  };
}

/** Whether the sweep should act: rotation due (`nextRotationAt` passed) or expiry passed. */
export function isDue(token: TokenRecord, now: Date): boolean {
  return token.nextRotationAt !== undefined && Date.parse(token.nextRotationAt) <= now.getTime();
}
