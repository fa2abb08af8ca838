import { conflict, notFound } from '../domain/errors';
import { TOKEN_ID } from '../domain/ids';
import { type Caller, canSeeToken, toTokenRepresentation } from '../domain/model';
import { findServiceAccount, type Policy } from '../domain/policy';
import { type Clock, isoSeconds } from '../domain/ports';
import { type StoredToken, tokenAuditRecord } from '../domain/records';
import { graceEndsAt, isWorkflowLock, lockRotation, nextRotation, rotationEligibility } from '../domain/rotation';
import type { Atlassian, AuditTrail, TokenRepository, WorkflowEngine } from './ports';

/** The repositories these use cases read and write. */
export type RotationStore = TokenRepository;

export interface RotationDeps {
  store: RotationStore;
  audit: AuditTrail;
  workflows: WorkflowEngine;
  clock: Clock;
  policy: Policy;
  rotationStateMachineArn: string;
}

export type StartOutcome =
  | { started: true; token: StoredToken; executionName: string }
  | { started: false; token: StoredToken; reason: 'not-active' | 'rotating' | 'expired' | 'too-many-live' };

/**
 * Starts a rotation of `tokenId` now (manual rotate, the sweep): takes the rotation lock with a conditional write,
 * then starts the execution `<tokenId>-g<generation>-a<attempt>`. Two triggers at once: one wins the lock.
 */
export async function startRotation(
  deps: RotationDeps,
  tokenId: string,
  opts: { takeOverStale: boolean; staleAfterMs?: number },
): Promise<StartOutcome> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = await deps.store.getToken(tokenId);
    if (!token) throw notFound('token not found');
    const now = deps.clock.now();
    const eligibility = rotationEligibility(token, now, opts.takeOverStale, opts.staleAfterMs);
    if (eligibility !== 'eligible') return { started: false, token, reason: eligibility };
    const plan = nextRotation(token);
    const locked = await deps.store.saveToken({ ...token, ...lockRotation(token, plan, isoSeconds(now)) });
    if (!locked) continue;
    try {
      await deps.workflows.start(deps.rotationStateMachineArn, plan.executionName, {
        tokenId,
        generation: plan.generation,
        attempt: plan.attempt,
      });
    } catch (error) {
      // Nothing started: give the lock back so the next trigger can try.
      await releaseLock(deps.store, tokenId, plan.generation, plan.attempt);
      throw error;
    }
    return { started: true, token: locked, executionName: plan.executionName };
  }
  throw conflict('the token changed concurrently; retry');
}

async function releaseLock(store: RotationStore, tokenId: string, generation: number, attempt: number) {
  for (let i = 0; i < 5; i++) {
    const token = await store.getToken(tokenId);
    if (!token?.rotation || token.rotation.generation !== generation || token.rotation.attempt !== attempt) return;
    const { rotation: _rotation, ...rest } = token;
    if (await store.saveToken({ ...rest, status: token.status === 'ROTATING' ? 'ACTIVE' : token.status })) return;
  }
}

/**
 * `POST /tokens/{id}/rotate` (owner or admin): 202 with the token, `ROTATING`. Refused (409) while the previous
 * generation is still in its grace period: each rotation keeps one more token live until its grace period ends, so
 * rotating again before then would pile up live tokens.
 */
export async function rotateNow(deps: RotationDeps, caller: Caller, tokenId: string) {
  const token = TOKEN_ID.test(tokenId) ? await deps.store.getToken(tokenId) : undefined;
  if (!token || !canSeeToken(caller, token)) throw notFound('token not found');
  const graceEnd = graceEndsAt(token, deps.policy.gracePeriodHours);
  if (graceEnd && graceEnd.getTime() > deps.clock.now().getTime() && !token.rotation) {
    throw conflict(`the previous token is in its grace period until ${isoSeconds(graceEnd)}; rotate after that`);
  }
  const outcome = await startRotation(deps, tokenId, { takeOverStale: false });
  if (!outcome.started) {
    throw conflict(
      outcome.reason === 'rotating'
        ? 'a rotation of this token is already running'
        : outcome.reason === 'too-many-live'
          ? 'too many generations of this token are still live at Atlassian; rotate once the previous one is revoked'
          : `the token is ${outcome.token.status}`,
    );
  }
  return toTokenRepresentation(outcome.token);
}

export interface RotationInput {
  tokenId: string;
  generation: number;
  attempt: number;
}

/**
 * Workflow task `Begin rotation`: makes sure this execution holds the token's rotation lock. Executions started
 * by a schedule arrive without it and take it here; a token already rotated past this generation, or locked by
 * another attempt, is left alone (`proceed: false`).
 */
export async function beginRotation(deps: Pick<RotationDeps, 'store' | 'clock'>, input: RotationInput) {
  for (let i = 0; i < 5; i++) {
    const token = await deps.store.getToken(input.tokenId);
    if (!token) return { ...input, proceed: false, reason: 'token not found' };
    if (token.generation >= input.generation) return { ...input, proceed: false, reason: 'already rotated' };
    // Revoked or expired meanwhile: nothing rotates, whoever holds the lock.
    if (token.status !== 'ACTIVE' && token.status !== 'ROTATING')
      return { ...input, proceed: false, reason: 'not-active' };
    const lock = token.rotation;
    // Only a workflow lock can be this execution's: Secrets Manager's rotation of the same generation is not ours.
    if (lock && isWorkflowLock(lock) && lock.generation === input.generation && lock.attempt === input.attempt) {
      return { ...input, proceed: true };
    }
    const eligibility = rotationEligibility(token, deps.clock.now(), false);
    if (eligibility !== 'eligible') return { ...input, proceed: false, reason: eligibility };
    const plan = { ...input, executionName: '' };
    if (await deps.store.saveToken({ ...token, ...lockRotation(token, plan, isoSeconds(deps.clock.now())) })) {
      return { ...input, proceed: true };
    }
  }
  return { ...input, proceed: false, reason: 'token changed concurrently' };
}

export interface FailureDeps {
  store: RotationStore;
  audit: AuditTrail;
  clock: Clock;
  policy: Policy;
}

/**
 * Workflow task `Record rotation failure`: the current token stays `AWSCURRENT` and working; the token returns to
 * `ACTIVE` with `lastRotationError`, the failure is recorded (the notifier tells owner and admins), and the next sweep
 * retries.
 */
export async function recordRotationFailure(
  deps: FailureDeps,
  input: RotationInput & { error?: { Error?: string; Cause?: string } },
) {
  const code = /^[A-Za-z0-9_.]{1,64}$/.test(input.error?.Error ?? '') ? (input.error?.Error as string) : 'Unknown';
  const at = isoSeconds(deps.clock.now());
  let token: StoredToken | undefined;
  for (let i = 0; i < 5; i++) {
    token = await deps.store.getToken(input.tokenId);
    // Revoked meanwhile: the rotation was meant to fail; revoke told the owner.
    if (!token || token.status === 'REVOKED') return { recorded: false };
    const lock = token.rotation;
    const ours =
      lock !== undefined &&
      isWorkflowLock(lock) &&
      lock.generation === input.generation &&
      lock.attempt === input.attempt;
    if (!ours && token.lastRotationError?.at) break;
    const { rotation: _r, ...rest } = token;
    const next: StoredToken = {
      ...(ours ? rest : token),
      status: ours && token.status === 'ROTATING' ? 'ACTIVE' : token.status,
      lastRotationError: { code, message: `rotation to generation ${input.generation} failed (${code})`, at },
    };
    const saved = await deps.store.saveToken(next);
    if (saved) {
      token = saved;
      break;
    }
  }
  if (!token) return { recorded: false };
  await deps.audit.append(
    tokenAuditRecord(token, 'ROTATION_FAILED', at, { generation: input.generation, attempt: input.attempt, code }),
    `g${input.generation}a${input.attempt}`,
  );
  return { recorded: true, code };
}

export interface RevokePreviousDeps {
  store: RotationStore;
  audit: AuditTrail;
  atlassian: Atlassian;
  clock: Clock;
  policy: Policy;
}

/**
 * Workflow task `Revoke previous token` (after the grace period): revokes every older generation still live at
 * Atlassian and records the rotation (the notifier tells the owner).
 */
export async function revokePreviousGenerations(
  deps: RevokePreviousDeps,
  input: { tokenId: string; generation: number },
) {
  const token = await deps.store.getToken(input.tokenId);
  // Revoked meanwhile: revoke took every generation down and told the owner; this rotation reports nothing more.
  if (!token || token.status === 'REVOKED') return { revoked: 0 };
  // Generation N is not current (a retiring run started for a promotion that did not happen): every generation
  // below it includes the current one, which is never revoked here.
  if (token.generation < input.generation) return { revoked: 0 };
  const account = findServiceAccount(deps.policy, token.serviceAccount);
  if (!account) throw new Error(`service account ${token.serviceAccount} is no longer in the policy`);
  let revoked = 0;
  const at = isoSeconds(deps.clock.now());
  for (const g of token.generations.filter((g) => g.generation < input.generation && !g.revokedAt)) {
    await deps.atlassian.revokeToken(account.atlassianId, g.atlassianTokenId);
    revoked++;
    await markGenerationRevoked(deps.store, token.tokenId, g.generation, at);
  }
  await deps.audit.append(
    tokenAuditRecord(token, 'ROTATED', at, { generation: input.generation, expiresAt: token.expiresAt }),
    `g${input.generation}`,
  );
  return { revoked };
}

export async function markGenerationRevoked(store: TokenRepository, tokenId: string, generation: number, at: string) {
  for (let i = 0; i < 5; i++) {
    const token = await store.getToken(tokenId);
    if (!token) return;
    const generations = token.generations.map((g) =>
      g.generation === generation ? { ...g, revokedAt: g.revokedAt ?? at } : g,
    );
    if (await store.saveToken({ ...token, generations })) return;
  }
}
