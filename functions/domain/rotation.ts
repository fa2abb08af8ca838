/** Rotation planning: pure decisions over a token record and the clock. */
import type { TokenRecord } from './model';
import { rotationExecutionName } from './naming';

/** A rotation lock older than this is considered abandoned and may be taken over by the sweep. */
export const STALE_ROTATION_MS = 2 * 3_600_000;

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

export type RotationEligibility = 'eligible' | 'not-active' | 'rotating' | 'expired';

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
  return 'eligible';
}

/** Takes the rotation lock: the token becomes `ROTATING`. */
export function lockRotation(token: TokenRecord, plan: RotationPlan, now: string): TokenRecord {
  return {
    ...token,
    status: 'ROTATING',
    rotation: { generation: plan.generation, attempt: plan.attempt, startedAt: now },
    lastRotationAttempt: { generation: plan.generation, attempt: plan.attempt },
  };
}

/** Whether the sweep should act: rotation due (`nextRotationAt` passed) or expiry passed. */
export function isDue(token: TokenRecord, now: Date): boolean {
  return token.nextRotationAt !== undefined && Date.parse(token.nextRotationAt) <= now.getTime();
}
