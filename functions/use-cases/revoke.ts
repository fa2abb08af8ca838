import { conflict, forbidden, notFound, validationError } from '../domain/errors';
import { TOKEN_ID } from '../domain/ids';
import { type Caller, toTokenRepresentation } from '../domain/model';
import { mintLabelPrefix, revocationExecutionName, rotationExecutionName, TOKEN_ID_TAG } from '../domain/naming';
import { findServiceAccount, type Policy } from '../domain/policy';
import { type Clock, isoSeconds } from '../domain/ports';
import { type StoredToken, tokenAuditRecord } from '../domain/records';
import { hasUnsafeCharacters } from '../domain/text';
import type {
  Atlassian,
  AuditTrail,
  NameLockRepository,
  RotationScheduler,
  SecretVault,
  TokenRepository,
} from './ports';
import { markGenerationRevoked } from './rotation';

/** The repositories these use cases read and write. */
export type RevokeStore = TokenRepository & NameLockRepository;

/** What revoking needs: the records, Atlassian, the secret, the schedule, and the rotations to stop. */
export interface FinishRevocationDeps {
  store: RevokeStore;
  audit: AuditTrail;
  atlassian: Atlassian;
  vault: SecretVault;
  schedules: RotationScheduler;
  stopRotation: (executionName: string) => Promise<void>;
  clock: Clock;
  policy: Policy;
}

export interface RevokeDeps extends FinishRevocationDeps {
  /** Starts the revocation workflow, which finishes what the call left and sweeps again after steps in flight. */
  startRevocation: (executionName: string, input: RevocationInput) => Promise<void>;
}

/** Input of the revocation workflow's steps. `final` marks the sweep after every step in flight has ended. */
export interface RevocationInput {
  tokenId: string;
  final?: boolean;
}

export interface RevocationProgress {
  tokenId: string;
  /** True once nothing of the token is left live (as far as this pass could see). */
  done: boolean;
  /** Generations revoked at Atlassian by this pass. */
  revoked: number;
}

/** How long the API call itself spends revoking at Atlassian before leaving the rest to the revocation workflow. */
export const REVOKE_API_BUDGET_MS = 8_000;
/** How long one pass of the workflow's `Finish revocation` step spends at Atlassian before it loops. */
export const REVOKE_STEP_BUDGET_MS = 40_000;

/** Parses `{"reason"?}` (≤ 500 characters; `unspecified` when absent). */
export function parseRevokeBody(body: unknown): string {
  if (body === undefined) return 'unspecified';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationError(undefined, 'body must be a JSON object');
  }
  const unknown = Object.keys(body).find((k) => k !== 'reason');
  if (unknown !== undefined) throw validationError(unknown, `unknown property '${unknown}'`);
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) return 'unspecified';
  if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 500) {
    throw validationError('reason', 'reason must be a non-empty string of at most 500 characters');
  }
  if (hasUnsafeCharacters(reason)) {
    throw validationError('reason', 'reason must be one line without control, format or direction characters');
  }
  return reason.trim();
}

/**
 * `POST /tokens/{id}/revoke` (admins). The record turns `REVOKED` first, with one conditional write: from then on no
 * rotation starts, no rotation step goes on (each checks the status after what it does, and undoes it), and
 * promotion never moves the record forward. The revocation workflow is started at once; then this call closes the
 * secret (no readers, scheduled for deletion), stops the rotations the record names, deletes the schedule and revokes
 * live generations at Atlassian (current first, each one's `revokedAt` saved as it goes) until
 * {@link REVOKE_API_BUDGET_MS} is spent. The workflow finishes whatever is left and sweeps Atlassian once more for the
 * token's labels after every step that was in flight has ended. A repeated revoke does all of it again (each step is
 * idempotent) and starts another round of the workflow, so whatever an earlier one left is finished.
 */
export async function revokeToken(deps: RevokeDeps, caller: Caller, tokenId: string, reason: string) {
  if (!caller.isAdmin) throw forbidden('only admins can revoke tokens');
  const token = await markRevoked(deps, caller, tokenId, reason);
  await deps.audit.append(
    {
      correlationId: token.correlationId,
      event: 'REVOKED',
      at: token.revokedAt ?? isoSeconds(deps.clock.now()),
      actor: token.revokedBy ?? caller.email,
      requestId: token.requestId,
      tokenId: token.tokenId,
      details: { reason: token.revokeReason ?? reason, generation: token.generation },
    },
    'revoked',
  );
  // Always started, even when this call leaves nothing: a rotation step in flight may still mint, and only the
  // workflow's final sweep, after every such step has ended, can see that.
  await deps.startRevocation(revocationExecutionName(tokenId, token.revokeRounds ?? 1), { tokenId });
  await closeRevoked(deps, token);
  try {
    await revokeAtAtlassian(deps, token, deps.clock.now().getTime() + REVOKE_API_BUDGET_MS);
  } catch (error) {
    // Atlassian refused or failed for now: the record is REVOKED and the secret closed; the workflow retries.
    if (!(error instanceof Error && error.name.startsWith('Atlassian'))) throw error;
  }
  return toTokenRepresentation((await deps.store.getToken(tokenId)) ?? token);
}

/**
 * Turns the record `REVOKED` (or, already revoked, counts one more revoke round) with a conditional write, dropping
 * the rotation lock and the next rotation, and releases the name. Returns the record as saved.
 */
async function markRevoked(deps: RevokeDeps, caller: Caller, tokenId: string, reason: string): Promise<StoredToken> {
  if (!TOKEN_ID.test(tokenId)) throw notFound('token not found');
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await deps.store.getToken(tokenId);
    if (!current) throw notFound('token not found');
    const revokeRounds = (current.revokeRounds ?? (current.status === 'REVOKED' ? 1 : 0)) + 1;
    let next: StoredToken;
    if (current.status === 'REVOKED') {
      next = { ...current, revokeRounds };
    } else {
      const { nextRotationAt: _next, rotation: _rotation, ...rest } = current;
      next = {
        ...rest,
        status: 'REVOKED',
        revokedAt: isoSeconds(deps.clock.now()),
        revokedBy: caller.email,
        revokeReason: reason,
        revokeRounds,
        // The rotation holding the lock when the record turned REVOKED: the one the revocation must stop.
        ...(current.rotation ? { stoppedRotation: current.rotation } : {}),
      };
    }
    const saved = await deps.store.saveToken(next);
    if (!saved) continue;
    await deps.store.releaseName(saved.serviceAccount, saved.name, saved.requestId);
    return saved;
  }
  throw conflict('the token changed concurrently; retry');
}

/**
 * Workflow task `Finish revocation`: everything a revoked token still needs, idempotent and resumable — the secret
 * closed, the rotations stopped, the schedule gone, then every generation still live at Atlassian revoked (current
 * first, each `revokedAt` saved as it goes), then every token listed under one of the token's labels. Stops before
 * another Atlassian call once `budgetMs` is spent and says so (`done: false`); the workflow then runs it again.
 */
export async function finishRevocation(
  deps: FinishRevocationDeps,
  input: RevocationInput,
  budgetMs = REVOKE_STEP_BUDGET_MS,
): Promise<RevocationProgress> {
  const deadline = deps.clock.now().getTime() + budgetMs;
  const token = await deps.store.getToken(input.tokenId);
  if (token?.status !== 'REVOKED') return { tokenId: input.tokenId, done: true, revoked: 0 };
  await closeRevoked(deps, token);
  const progress = await revokeAtAtlassian(deps, token, deadline);
  if (progress.done && input.final) {
    await deps.audit.append(
      tokenAuditRecord(token, 'REVOCATION_COMPLETED', isoSeconds(deps.clock.now()), {
        round: token.revokeRounds ?? 1,
        revokedByFinalSweep: progress.revoked,
      }),
      `r${token.revokeRounds ?? 1}`,
    );
  }
  return progress;
}

/** The secret closed, the rotations the record names stopped, the schedule deleted. */
async function closeRevoked(deps: FinishRevocationDeps, token: StoredToken): Promise<void> {
  await closeSecret(deps.vault, token);
  for (const name of rotationsToStop(token)) await deps.stopRotation(name);
  await deps.schedules.remove(token.tokenId);
}

/** Thrown when a revoked token's service account left the policy: its Atlassian account id is unknown. */
export class RevocationBlockedError extends Error {
  override readonly name = 'RevocationBlockedError';
}

async function revokeAtAtlassian(
  deps: FinishRevocationDeps,
  token: StoredToken,
  deadline: number,
): Promise<RevocationProgress> {
  const account = findServiceAccount(deps.policy, token.serviceAccount);
  if (!account) {
    throw new RevocationBlockedError(
      `service account ${token.serviceAccount} is not in the policy: the token's generations cannot be revoked`,
    );
  }
  const outOfTime = () => deps.clock.now().getTime() >= deadline;
  const unfinished = (revoked: number) => ({ tokenId: token.tokenId, done: false, revoked });
  let revoked = 0;
  const live = token.generations.filter((g) => !g.revokedAt);
  const currentFirst = [
    ...live.filter((g) => g.generation === token.generation),
    ...live.filter((g) => g.generation !== token.generation),
  ];
  for (const g of currentFirst) {
    if (outOfTime()) return unfinished(revoked);
    if ((await deps.atlassian.revokeToken(account.atlassianId, g.atlassianTokenId)) === 'revoked') revoked++;
    await markGenerationRevoked(deps.store, token.tokenId, g.generation, isoSeconds(deps.clock.now()));
  }
  if (outOfTime()) return unfinished(revoked);
  // Generations the record does not hold (a rotation's mint in flight, a lost mint response) are found by label.
  const prefix = mintLabelPrefix(token.tokenId);
  for (const listed of await deps.atlassian.listTokens(account.atlassianId)) {
    if (!listed.label.startsWith(prefix)) continue;
    if (outOfTime()) return unfinished(revoked);
    if ((await deps.atlassian.revokeToken(account.atlassianId, listed.id)) === 'revoked') revoked++;
  }
  return { tokenId: token.tokenId, done: true, revoked };
}

/**
 * The rotation executions that may still run for a revoked token: the one whose lock the record held when it turned
 * `REVOKED`, and the last one started (after promotion it may still be waiting out its grace period).
 */
function rotationsToStop(token: StoredToken): string[] {
  const attempts = [token.stoppedRotation, token.lastRotationAttempt].filter(
    (a): a is { generation: number; attempt: number } => !!a,
  );
  return [...new Set(attempts.map((a) => rotationExecutionName(token.tokenId, a.generation, a.attempt)))];
}

/**
 * The secret loses its readers, then is scheduled for deletion (so `GetSecretValue` fails for everyone). A secret by
 * that name that another token took later is left alone. Used for revoked and expired tokens alike.
 */
export async function closeSecret(vault: SecretVault, token: StoredToken): Promise<void> {
  const described = await vault.describe(token.secretName);
  if (!described || described.DeletedDate) return;
  const owner = described.Tags?.find((t) => t.Key === TOKEN_ID_TAG)?.Value;
  if (owner !== undefined && owner !== token.tokenId) return;
  try {
    await vault.removeReaders(token.secretName);
    await vault.scheduleDeletion(token.secretName);
  } catch (error) {
    // The API call and the workflow close the secret concurrently: whichever comes second finds it marked for
    // deletion (Secrets Manager then refuses changes), after the first removed its readers.
    if (!(error instanceof Error && error.name === 'InvalidRequestException')) throw error;
    if (!(await vault.describe(token.secretName))?.DeletedDate) throw error;
  }
}
