/**
 * Secrets Manager's rotation protocol over Token Warden's own rotation: `RotateSecret` (the console's "Rotate secret
 * immediately", `aws secretsmanager rotate-secret`) invokes the rotation function for `createSecret`, `setSecret`,
 * `testSecret` and `finishSecret`, each naming the secret and the `ClientRequestToken` T of the version it stages.
 * Each step delegates to the steps the rotation workflow runs (mint, verify, promote), for the token's next
 * generation N, staged under T. Both share one lock on the token record, one generation counter and one history, so
 * a rotation started by Secrets Manager and one started by the workflow never run at once or mint twice.
 *
 * Every step reloads the record, the mint and the version labels first and is idempotent per T: Secrets Manager may
 * invoke a step again, and a rotation that stopped between steps completes when it is run again from `createSecret`
 * with the same T.
 */
import { retireExecutionName, TOKEN_ID_TAG } from '../domain/naming';
import { findServiceAccount } from '../domain/policy';
import { isoSeconds } from '../domain/ports';
import { type MintRecord, type StoredToken, tokenAuditRecord } from '../domain/records';
import { graceEndsAt, lockRotation, nextRotation, rotationEligibility } from '../domain/rotation';
import { discardToken, type IssuanceDeps, mintToken, verifyToken } from './issuance';
import { RotationRefusedError } from './port-errors';
import type { WorkflowEngine } from './ports';
import { promoteToken } from './promote';

/**
 * What the steps use: everything the minting steps do, and the rotation workflow, whose retiring run revokes the
 * previous generation once its grace period is over.
 */
export interface SecretRotationDeps extends IssuanceDeps {
  workflows: Pick<WorkflowEngine, 'start'>;
  rotationStateMachineArn: string;
}

/** The steps of Secrets Manager's rotation protocol, in the order it invokes them. */
export const SECRET_ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type SecretRotationStepName = (typeof SECRET_ROTATION_STEPS)[number];

/** What Secrets Manager invokes the rotation function with (its `RotationToken` is not needed). */
export interface SecretRotationEvent {
  Step: SecretRotationStepName;
  /** The secret's ARN (or name). */
  SecretId: string;
  /** The id of the secret version this rotation stages. */
  ClientRequestToken: string;
}

export type SecretRotationOutcome =
  | { step: SecretRotationStepName; tokenId: string; generation: number; outcome: 'already-rotated' }
  | { step: 'createSecret'; tokenId: string; generation: number; outcome: 'minted' | 'already-minted' }
  | { step: 'setSecret'; tokenId: string; generation: number; outcome: 'staged' }
  | { step: 'testSecret'; tokenId: string; generation: number; outcome: 'verified' | 'configuration-test' }
  | {
      step: 'finishSecret';
      tokenId: string;
      generation: number;
      outcome: 'promoted';
      /** The rotation workflow's run that revokes the previous generation once its grace period is over. */
      retiredBy: string;
    };

const STAGED_OR_LATER: readonly MintRecord['state'][] = ['STAGED', 'VERIFIED', 'PROMOTED'];

/** Whether version `versionId` of the secret holds a value (Secrets Manager's own pending version holds none). */
async function holdsValue(deps: SecretRotationDeps, secretName: string, versionId: string): Promise<boolean> {
  try {
    await deps.vault.read(secretName, versionId);
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

/**
 * Runs one step of Secrets Manager's rotation of the token secret `SecretId`, staging version `ClientRequestToken`:
 *
 * - `createSecret`: for a new T, the same rules as `POST /tokens/{id}/rotate` apply (no rotation running, the
 *   previous generation out of its grace period, the token neither revoked nor expired, an account issued by API);
 *   then the lock is taken for Secrets Manager with T and generation N is minted and staged under T. A refused
 *   rotation drops `AWSPENDING` from T (an empty pending version would block every later rotation) and throws
 *   {@link RotationRefusedError}; a failed mint is discarded, the lock released and `AWSPENDING` dropped.
 * - `setSecret`: nothing to do (Atlassian made the value when it was minted); checks that T is staged.
 * - `testSecret`: verifies generation N at Atlassian. For a T no rotation of ours minted or holds the lock for
 *   (`RotateImmediately: false`, Secrets Manager testing the configuration) it succeeds without calling Atlassian.
 * - `finishSecret`: starts the rotation workflow's retiring run, then promotes generation N (T becomes `AWSCURRENT`,
 *   the previous one `AWSPREVIOUS`), records it, schedules the next rotation and releases the lock. The retiring run
 *   revokes the previous generation once the grace period is over.
 *
 * After `createSecret`, every step acts only while T holds the token's rotation lock (else it refuses and changes
 * nothing); a failure abandons the rotation as the workflow's Catch path does (see `abandonOnFailure`). A T that is
 * `AWSCURRENT` and recorded as a generation of the token is a finished rotation: every step answers
 * `already-rotated`.
 */
export async function rotationStep(
  deps: SecretRotationDeps,
  event: SecretRotationEvent,
): Promise<SecretRotationOutcome> {
  const { Step: step, SecretId: secretId, ClientRequestToken: versionId } = event;
  const described = await deps.vault.describe(secretId);
  if (!described || described.DeletedDate) {
    throw new RotationRefusedError(`secret ${secretId} does not exist or is scheduled for deletion`);
  }
  const tokenId = described.Tags?.find((t) => t.Key === TOKEN_ID_TAG)?.Value;
  const token = tokenId ? await deps.store.getToken(tokenId) : undefined;
  if (!tokenId || !token) throw new RotationRefusedError(`secret ${secretId} holds no token Token Warden issued`);
  // The tag names the token; the token names its secret: a secret carrying a copied tag rotates nothing.
  if (described.ARN !== token.secretArn) {
    throw new RotationRefusedError(`secret ${secretId} is not the secret of token ${tokenId}`);
  }
  const current = described.VersionIdsToStages?.[versionId]?.includes('AWSCURRENT') ?? false;
  const recorded = token.generations.find((g) => g.versionId === versionId);
  if (recorded && current) {
    // A promotion that recorded the generation but stopped before scheduling the next rotation finishes here.
    if (step === 'finishSecret' && recorded.generation > 1 && recorded.generation === token.generation) {
      await promoteToken(deps, { tokenId, generation: recorded.generation }, { configureRotation: false });
      await retireAfterGrace(deps, tokenId, recorded.generation);
    }
    return { step, tokenId, generation: recorded.generation, outcome: 'already-rotated' };
  }

  const generation = token.generation + 1;
  const mint = await deps.store.getMint(tokenId, generation);
  const known = mint?.versionId === versionId && mint.state !== 'DISCARDED';
  const lock = token.rotation;
  const ourLock = lock?.source === 'secretsmanager' && lock.clientRequestToken === versionId;

  switch (step) {
    case 'createSecret':
      if (known && !ourLock) throw await withoutLock(deps, token, generation, versionId);
      if (known && mint && STAGED_OR_LATER.includes(mint.state)) {
        return { step, tokenId, generation, outcome: 'already-minted' };
      }
      // Stopped after the value was written under T, before the mint was marked staged: T can never take another
      // value, so minting again would fail; the value there is this mint's token, so it is staged.
      if (known && mint?.state === 'MINTED' && ourLock && (await holdsValue(deps, token.secretName, versionId))) {
        await deps.store.putMint({ ...mint, state: 'STAGED' });
        return { step, tokenId, generation, outcome: 'already-minted' };
      }
      await createSecret(deps, secretId, versionId, token, ourLock);
      return { step, tokenId, generation, outcome: 'minted' };
    case 'setSecret':
      requireStaged(mint, known, tokenId, generation, versionId);
      if (!ourLock) throw await withoutLock(deps, token, generation, versionId);
      return { step, tokenId, generation, outcome: 'staged' };
    case 'testSecret':
      // A version no rotation of ours minted nor holds the lock for: Secrets Manager testing the configuration
      // (`RotateImmediately: false`). Nothing to check, and nothing is changed.
      if (!known && !ourLock) return { step, tokenId, generation, outcome: 'configuration-test' };
      requireStaged(mint, known, tokenId, generation, versionId);
      if (!ourLock) throw await withoutLock(deps, token, generation, versionId);
      await abandonOnFailure(deps, secretId, versionId, tokenId, generation, () =>
        verifyToken(deps, { tokenId, generation }),
      );
      return { step, tokenId, generation, outcome: 'verified' };
    case 'finishSecret': {
      requireStaged(mint, known, tokenId, generation, versionId);
      if (!ourLock) throw await withoutLock(deps, token, generation, versionId);
      // Started before the promotion, so a promotion is never left without its retiring run; the run retires nothing
      // until the record names generation N current, and is started again (a no-op) afterwards.
      const retiredBy = await abandonOnFailure(deps, secretId, versionId, tokenId, generation, async () => {
        const name = await retireAfterGrace(deps, tokenId, generation);
        await promoteToken(deps, { tokenId, generation }, { configureRotation: false });
        return name;
      });
      await retireAfterGrace(deps, tokenId, generation);
      return { step, tokenId, generation, outcome: 'promoted', retiredBy };
    }
  }
}

/**
 * The refusal of a step of a rotation that no longer holds the token's lock (the sweep took a stale one over for the
 * workflow, the rotation was abandoned, or the token was revoked): it changes nothing, so it can never discard or
 * promote what another rotation owns; only for a revoked token is what the rotation minted discarded.
 */
async function withoutLock(deps: SecretRotationDeps, token: StoredToken, generation: number, versionId: string) {
  if (token.status === 'REVOKED') {
    // Revoke dropped the lock: no rotation can own generation N any more, so what it minted is revoked now rather
    // than at the revocation workflow's final sweep.
    await discardToken(deps, { tokenId: token.tokenId, generation });
    return new RotationRefusedError(`token ${token.tokenId} is REVOKED: generation ${generation} is not promoted`);
  }
  return new RotationRefusedError(
    `the rotation of token ${token.tokenId} under version ${versionId} no longer holds the token's rotation lock; rotate again`,
  );
}

/**
 * Starts the rotation workflow's retiring run for `generation` (`<tokenId>-g<N>-retire`): it waits out the grace
 * period, revokes every older generation still live at Atlassian and records the rotation. Starting it again is a
 * no-op (the execution name is taken). Answers the execution's name.
 */
async function retireAfterGrace(deps: SecretRotationDeps, tokenId: string, generation: number): Promise<string> {
  const name = retireExecutionName(tokenId, generation);
  await deps.workflows.start(deps.rotationStateMachineArn, name, { tokenId, generation, retire: true });
  return name;
}

function requireStaged(
  mint: MintRecord | undefined,
  known: boolean,
  tokenId: string,
  generation: number,
  versionId: string,
): asserts mint is MintRecord {
  if (!known || !mint || !STAGED_OR_LATER.includes(mint.state)) {
    throw new RotationRefusedError(
      `version ${versionId} of token ${tokenId} is not staged as generation ${generation}: createSecret did not complete`,
    );
  }
}

/** Takes the lock for Secrets Manager (unless this T holds it already), then mints generation N under T. */
async function createSecret(
  deps: SecretRotationDeps,
  secretId: string,
  versionId: string,
  loaded: StoredToken,
  ourLock: boolean,
) {
  const tokenId = loaded.tokenId;
  const generation = loaded.generation + 1;
  if (!ourLock) await takeLock(deps, secretId, versionId, loaded);
  await abandonOnFailure(deps, secretId, versionId, tokenId, generation, async () => {
    const minted = await mintToken(deps, { tokenId, generation, versionId });
    if (minted.versionId !== versionId) {
      throw new RotationRefusedError(`generation ${generation} of token ${tokenId} is staged under another version`);
    }
  });
}

/**
 * Runs `work` (minting, verifying or promoting generation N under T); if it fails, the rotation is abandoned as the
 * workflow's Catch path abandons one: what generation N minted is discarded (revoked at Atlassian, `AWSCURRENT`
 * given back to the recorded generation; a generation recorded current already is kept), the lock released,
 * `AWSPENDING` dropped from T (so Secrets Manager accepts the next rotation), and the failure recorded on the token
 * and in the audit trail (`ROTATION_FAILED`: the notifier tells the owner and the admins). The error is rethrown:
 * Secrets Manager marks the rotation failed, and the current token stays current and working.
 */
async function abandonOnFailure<T>(
  deps: SecretRotationDeps,
  secretId: string,
  versionId: string,
  tokenId: string,
  generation: number,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // Only while this rotation holds the lock: what another rotation took over is not ours to discard.
    const token = await deps.store.getToken(tokenId);
    const lock = token?.rotation;
    if (lock?.source !== 'secretsmanager' || lock.clientRequestToken !== versionId) throw error;
    // Each clean-up runs whatever the others did: Atlassian down (why the mint failed, often) must not leave the lock
    // held or the failure unrecorded. A mint the discard could not revoke is named by the inventory (ORPHANED_MINT).
    const cleanups = [
      () => discardToken(deps, { tokenId, generation }),
      () => releaseLock(deps, tokenId, versionId),
      () => deps.vault.dropPending(secretId, versionId),
      () => recordFailure(deps, tokenId, generation, versionId, error),
    ];
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    throw error;
  }
}

/**
 * Records a failed Secrets Manager rotation on the token (`lastRotationError`, which the sweep and the console show)
 * and in the audit trail, once per rotation (T). A token revoked meanwhile records nothing: its rotation was meant to
 * fail, and revoke told the owner. A generation recorded current meanwhile is no failure.
 */
async function recordFailure(
  deps: SecretRotationDeps,
  tokenId: string,
  generation: number,
  versionId: string,
  error: unknown,
) {
  const name = error instanceof Error ? error.name : '';
  const code = /^[A-Za-z0-9_.]{1,64}$/.test(name) ? name : 'Unknown';
  const at = isoSeconds(deps.clock.now());
  let token: StoredToken | undefined;
  for (let attempt = 0; attempt < 5 && !token; attempt++) {
    const loaded = await deps.store.getToken(tokenId);
    if (!loaded || loaded.status === 'REVOKED' || loaded.generation >= generation) return;
    token = await deps.store.saveToken({
      ...loaded,
      lastRotationError: { code, message: `rotation to generation ${generation} failed (${code})`, at },
    });
  }
  if (!token) return;
  await deps.audit.append(
    tokenAuditRecord(token, 'ROTATION_FAILED', at, { generation, code, source: 'secretsmanager' }),
    `g${generation}-${versionId}`,
  );
}

async function takeLock(deps: SecretRotationDeps, secretId: string, versionId: string, loaded: StoredToken) {
  let token: StoredToken | undefined = loaded;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) token = await deps.store.getToken(loaded.tokenId);
    const reason = token ? refusal(deps, token) : 'it no longer exists';
    if (reason || !token) {
      await deps.vault.dropPending(secretId, versionId);
      throw new RotationRefusedError(`token ${loaded.tokenId} is not rotated now: ${reason}`);
    }
    const now = deps.clock.now();
    const locked = lockRotation(token, nextRotation(token), isoSeconds(now), {
      source: 'secretsmanager',
      clientRequestToken: versionId,
    });
    if (await deps.store.saveToken({ ...token, ...locked })) return;
  }
  await deps.vault.dropPending(secretId, versionId);
  throw new RotationRefusedError(`token ${loaded.tokenId} changed concurrently; rotate again`);
}

/** Why a new rotation of `token` may not start now, or undefined if it may (the rules of rotate-now). */
function refusal(deps: SecretRotationDeps, token: StoredToken): string | undefined {
  const account = findServiceAccount(deps.policy, token.serviceAccount);
  if (!account) return `service account ${token.serviceAccount} is no longer in the policy`;
  if (account.issuance === 'manual') return 'its service account is issued by hand, through an admin upload';
  const now = deps.clock.now();
  const graceEnd = graceEndsAt(token, deps.policy.gracePeriodHours);
  if (graceEnd && graceEnd.getTime() > now.getTime()) {
    return `the previous token is in its grace period until ${isoSeconds(graceEnd)}`;
  }
  switch (rotationEligibility(token, now, false)) {
    case 'eligible':
      return undefined;
    case 'rotating':
      return 'a rotation of this token is already running';
    case 'too-many-live':
      return 'too many generations of this token are still live at Atlassian';
    case 'expired':
      return 'the token has expired';
    case 'not-active':
      return `the token is ${token.status}`;
  }
}

/** Releases the lock if Secrets Manager's rotation of `versionId` holds it. */
async function releaseLock(deps: SecretRotationDeps, tokenId: string, versionId: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = await deps.store.getToken(tokenId);
    const lock = token?.rotation;
    if (!token || lock?.source !== 'secretsmanager' || lock.clientRequestToken !== versionId) return;
    const { rotation: _rotation, ...rest } = token;
    if (await deps.store.saveToken({ ...rest, status: token.status === 'ROTATING' ? 'ACTIVE' : token.status })) return;
  }
}
