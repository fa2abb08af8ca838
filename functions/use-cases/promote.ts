/**
 * Task `Promote token`, the last minting step: the verified generation becomes current, the token and the issued
 * request are recorded, the next rotation is scheduled, and the requester and approvers are told.
 */
import { rotationExecutionName, TOKEN_ID_TAG } from '../domain/naming';
import { findServiceAccount } from '../domain/policy';
import { isoSeconds } from '../domain/ports';
import type { MintRecord, StoredRequest, StoredToken } from '../domain/records';
import { nextRotationDue, secretsManagerRotationDays } from '../domain/rotation';
import { type IssuanceDeps, loadMint, loadRequest, type PromoteDeps, requireRotatable } from './issuance';
import { IssuanceRefusedError } from './port-errors';

/**
 * Task `Promote token`: makes the verified generation `AWSCURRENT` and records the token and the issued request
 * (`ISSUED`, which the notifier tells the requester and approvers). Each write is idempotent, so a retry completes what
 * a failed attempt began.
 */
export async function promoteToken(
  deps: PromoteDeps,
  input: { tokenId: string; generation: number },
  options: { configureRotation?: boolean } = {},
) {
  const { mint, request, secretName } = await loadMint(deps, input.tokenId, input.generation);
  if (mint.state !== 'VERIFIED' && mint.state !== 'PROMOTED') {
    throw new IssuanceRefusedError(`generation ${input.generation} is ${mint.state}, not VERIFIED`);
  }
  if (input.generation > 1 && mint.state !== 'PROMOTED') {
    await requireRotatable(deps.store, input.tokenId, input.generation);
  }
  await deps.vault.promote(secretName, mint.versionId);
  const described = await deps.vault.describe(secretName);
  const secretArn = described?.ARN ?? '';
  const now = isoSeconds(deps.clock.now());
  const expiresAt = mint.expiresAt!;
  const nextRotationAt = isoSeconds(
    nextRotationDue(new Date(expiresAt), request.lifetimeDays, deps.clock.now(), deps.policy),
  );

  if (input.generation === 1) {
    const token: StoredToken = {
      tokenId: input.tokenId,
      requestId: request.requestId,
      serviceAccount: request.serviceAccount,
      name: request.name,
      owner: request.requester,
      secretName,
      secretArn,
      status: 'ACTIVE',
      scopes: [...request.scopes],
      lifetimeDays: request.lifetimeDays,
      consumers: [...request.consumers],
      expiresAt,
      generation: 1,
      createdAt: now,
      nextRotationAt,
      generations: [
        {
          generation: 1,
          label: mint.label,
          atlassianTokenId: mint.atlassianTokenId!,
          expiresAt,
          versionId: mint.versionId,
          mintedAt: mint.mintedAt ?? now,
        },
      ],
      correlationId: request.correlationId,
      version: 1,
    };
    // A retried step finds the token created already: then the stored record is the one to schedule from.
    const created = await deps.store.createToken(token);
    // Scheduled before the request reads ISSUED: an issued token always has its next rotation planned.
    await scheduleNextRotation(deps, input.tokenId, created ? token : undefined);
    const _issued = await markIssued(deps, request, { tokenId: input.tokenId, secretName, secretArn, expiresAt });
    await deps.audit.append(
      {
        correlationId: request.correlationId,
        event: 'ISSUED',
        at: now,
        actor: 'token-warden',
        requestId: request.requestId,
        tokenId: input.tokenId,
        details: { secretName, expiresAt, generation: 1, verifiedBy: mint.verifiedBy ?? 'myself' },
      },
      'g1',
    );
  } else {
    const token = await recordRotatedGeneration(deps, mint, nextRotationAt);
    await scheduleNextRotation(deps, input.tokenId, token);
  }
  await deps.store.putMint({ ...mint, state: 'PROMOTED' });
  if (options.configureRotation !== false) await configureSecretRotation(deps, secretName, request.lifetimeDays);
  return { expiresAt };
}

/**
 * Shows Secrets Manager the token's rotation (Security Hub's SecretsManager.1 and .4 read it): the secret is to be
 * rotated by the rotation function every {@link secretsManagerRotationDays} days. Only accounts issued by API are
 * configured (an account issued by hand rotates through an admin's upload, which Secrets Manager cannot start). A
 * secret already configured so is left alone. It runs after the promotion is complete and never fails it: a
 * configuration Secrets Manager refuses (a rotation in progress, a permission not yet in place) is reported as a
 * warning, and the next promotion tries again.
 */
async function configureSecretRotation(deps: PromoteDeps, secretName: string, lifetimeDays: number) {
  const functionArn = deps.secretRotationFunctionArn;
  if (!functionArn) return;
  const described = await deps.vault.describe(secretName);
  const tokenId = described?.Tags?.find((t) => t.Key === TOKEN_ID_TAG)?.Value;
  const token = tokenId ? await deps.store.getToken(tokenId) : undefined;
  if (!described || described.DeletedDate || !token || (token.status !== 'ACTIVE' && token.status !== 'ROTATING')) {
    return;
  }
  if (findServiceAccount(deps.policy, token.serviceAccount)?.issuance !== 'api') return;
  const days = secretsManagerRotationDays(lifetimeDays, deps.policy);
  if (
    described.RotationEnabled &&
    described.RotationLambdaARN === functionArn &&
    described.RotationRules?.AutomaticallyAfterDays === days
  ) {
    return;
  }
  try {
    await deps.vault.configureRotation(secretName, functionArn, days);
  } catch (error) {
    deps.log?.warn('Secrets Manager refused the rotation configuration', {
      secretName,
      errorName: error instanceof Error ? error.name : 'Error',
      errorMessage: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * A promoted rotation: the token moves to the new generation, expiry and rotation time; the lock is released.
 * Answers the token as stored now.
 */
async function recordRotatedGeneration(
  deps: PromoteDeps,
  mint: MintRecord,
  nextRotationAt: string,
): Promise<StoredToken> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = await deps.store.getToken(mint.tokenId);
    if (!token) throw new IssuanceRefusedError(`token ${mint.tokenId} does not exist`);
    if (token.generation >= mint.generation) return token;
    // A revoked (or expired) record never moves forward: the new generation is discarded instead.
    if (token.status !== 'ACTIVE' && token.status !== 'ROTATING') {
      throw new IssuanceRefusedError(
        `token ${mint.tokenId} is ${token.status}: generation ${mint.generation} is not promoted`,
      );
    }
    const now = isoSeconds(deps.clock.now());
    const { rotation: _rotation, lastRotationError: _error, remindedAt: _reminded, ...rest } = token;
    const saved = await deps.store.saveToken({
      ...rest,
      status: token.status === 'ROTATING' ? 'ACTIVE' : token.status,
      generation: mint.generation,
      expiresAt: mint.expiresAt!,
      lastRotatedAt: now,
      nextRotationAt,
      generations: [
        ...token.generations,
        {
          generation: mint.generation,
          label: mint.label,
          atlassianTokenId: mint.atlassianTokenId!,
          expiresAt: mint.expiresAt!,
          versionId: mint.versionId,
          mintedAt: mint.mintedAt ?? now,
        },
      ],
    });
    if (saved) return saved;
  }
  throw new Error(`token ${mint.tokenId} could not be moved to generation ${mint.generation}`);
}

/**
 * One schedule per token, at `expiry − rotationLead`, starting the next generation's first attempt. `written` is
 * the token as this step just stored it, if it did (else it is read).
 */
async function scheduleNextRotation(
  deps: Pick<IssuanceDeps, 'store' | 'schedules'>,
  tokenId: string,
  written?: StoredToken,
) {
  const token = written ?? (await deps.store.getToken(tokenId));
  if (!token?.nextRotationAt || (token.status !== 'ACTIVE' && token.status !== 'ROTATING')) return;
  const generation = token.generation + 1;
  await deps.schedules.upsert(tokenId, new Date(token.nextRotationAt), rotationExecutionName(tokenId, generation, 1), {
    tokenId,
    generation,
    attempt: 1,
  });
  // A revoke may have run between the check above and the upsert: it deletes the schedule before and after saving
  // REVOKED, and this second look removes a schedule created after that.
  const after = await deps.store.getToken(tokenId);
  if (after && after.status !== 'ACTIVE' && after.status !== 'ROTATING') await deps.schedules.remove(tokenId);
}

/** Marks the request ISSUED (starting from `loaded`, re-read on a conflict); answers it as stored. */
async function markIssued(
  deps: Pick<IssuanceDeps, 'store' | 'clock'>,
  loaded: StoredRequest,
  fields: { tokenId: string; secretName: string; secretArn: string; expiresAt: string },
): Promise<StoredRequest> {
  let request = loaded;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) request = await loadRequest(deps.store, loaded.requestId);
    if (request.status === 'ISSUED') return request;
    const saved = await deps.store.saveRequest({
      ...request,
      ...fields,
      status: 'ISSUED',
      updatedAt: isoSeconds(deps.clock.now()),
    });
    if (saved) return saved;
  }
  throw new Error(`request ${loaded.requestId} could not be marked ISSUED`);
}
