/**
 * Secrets Manager's rotation of the link-signing key (`LINK_SIGNING_SECRET_ID`), the four steps of its protocol as
 * AWS documents them for a generic rotation function. Secrets Manager labels a new version T (the
 * `ClientRequestToken`) `AWSPENDING` and invokes each step with T:
 *
 * - `createSecret`: a new key (64 alphanumeric characters) stored under T, unless T holds a value already.
 * - `setSecret`: nothing; the key is used only by Token Warden, which reads it from the secret.
 * - `testSecret`: T holds a key of the right shape. A `RotateSecret` with `RotateImmediately: false` tests the
 *   configuration with an `AWSPENDING` version that holds the current value: that passes.
 * - `finishSecret`: `AWSCURRENT` moves to T; Secrets Manager moves `AWSPREVIOUS` to the version that was current,
 *   and the version before it keeps no label. Links signed with it expired before this rotation
 *   (`LINK_KEY_ROTATION_DAYS` is longer than any link lives); links of the version now `AWSPREVIOUS` still verify.
 *
 * Each step reads the labels first and is idempotent per T: a step run again, or a rotation that stopped between
 * steps and is run again from `createSecret` with the same T, completes without making a second key. A T that is
 * already `AWSCURRENT` is a finished rotation: every step answers `already-current`. No outcome, log or error
 * carries a key.
 */
import { isLinkKey, newLinkKey } from '../domain/links';
import type { Random } from '../domain/ports';
import { RotationRefusedError } from './port-errors';

/** The steps of Secrets Manager's rotation protocol, in the order it invokes them. */
export const LINK_KEY_ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type LinkKeyRotationStepName = (typeof LINK_KEY_ROTATION_STEPS)[number];

/** What Secrets Manager invokes the rotation function with (its `RotationToken` is not needed). */
export interface LinkKeyRotationEvent {
  Step: LinkKeyRotationStepName;
  /** The secret's ARN. */
  SecretId: string;
  /** The id of the version this rotation stages. */
  ClientRequestToken: string;
}

/** The secret operations the steps use (the token vault's, `../adapters/aws/token-vault`). */
export interface LinkKeyVault {
  /** The secret, or undefined if it does not exist. */
  describe(
    secretId: string,
  ): Promise<{ ARN?: string; DeletedDate?: Date; VersionIdsToStages?: Record<string, string[]> } | undefined>;
  /** The value of version `versionId`; a `ResourceNotFoundException` when it holds none. */
  read(secretId: string, versionId: string): Promise<string>;
  /** Stores `value` as version `versionId`, labelled `AWSPENDING` (a repeat with the same value is a no-op). */
  stage(secretId: string, versionId: string, value: string): Promise<void>;
  /** Moves `AWSCURRENT` to `versionId` and drops its `AWSPENDING` label. */
  promote(secretId: string, versionId: string): Promise<{ previousVersionId?: string }>;
}

export interface LinkKeyRotationDeps {
  vault: LinkKeyVault;
  random: Pick<Random, 'secret'>;
  /** The one secret this function rotates (`LINK_SIGNING_SECRET_ID`: its name or ARN). */
  secretId: string;
}

export type LinkKeyRotationOutcome =
  | { step: LinkKeyRotationStepName; versionId: string; outcome: 'already-current' }
  | { step: 'createSecret'; versionId: string; outcome: 'created' | 'already-created' }
  | { step: 'setSecret'; versionId: string; outcome: 'nothing-to-set' }
  | { step: 'testSecret'; versionId: string; outcome: 'tested' | 'configuration-test' }
  | { step: 'finishSecret'; versionId: string; outcome: 'finished'; previousVersionId?: string };

/** Runs one step of Secrets Manager's rotation of the link-signing key (see the module's description). */
export async function linkKeyRotationStep(
  deps: LinkKeyRotationDeps,
  event: LinkKeyRotationEvent,
): Promise<LinkKeyRotationOutcome> {
  const { Step: step, SecretId: secretId, ClientRequestToken: versionId } = event;
  const stages = await versionStages(deps, secretId);
  const labels = stages[versionId];
  if (!labels) throw new RotationRefusedError(`secret ${secretId} has no version ${versionId} to rotate to`);
  if (labels.includes('AWSCURRENT')) return { step, versionId, outcome: 'already-current' };
  if (!labels.includes('AWSPENDING')) {
    throw new RotationRefusedError(`version ${versionId} of secret ${secretId} is not AWSPENDING`);
  }

  switch (step) {
    case 'createSecret': {
      if ((await storedValue(deps, secretId, versionId)) !== undefined) {
        return { step, versionId, outcome: 'already-created' };
      }
      try {
        await deps.vault.stage(secretId, versionId, newLinkKey(deps.random));
      } catch (error) {
        // A concurrent run of this step stored its key under T first: T keeps that one.
        if (!(error instanceof Error && error.name === 'ResourceExistsException')) throw error;
        if (!isLinkKey((await storedValue(deps, secretId, versionId)) ?? '')) throw error;
        return { step, versionId, outcome: 'already-created' };
      }
      return { step, versionId, outcome: 'created' };
    }
    case 'setSecret':
      return { step, versionId, outcome: 'nothing-to-set' };
    case 'testSecret': {
      const pending = await requireValue(deps, secretId, versionId);
      const currentId = holderOf(stages, 'AWSCURRENT');
      if (currentId && pending === (await storedValue(deps, secretId, currentId))) {
        return { step, versionId, outcome: 'configuration-test' };
      }
      requireLinkKey(pending, secretId, versionId);
      return { step, versionId, outcome: 'tested' };
    }
    case 'finishSecret': {
      // An empty or malformed AWSCURRENT would refuse every link: only a tested key becomes current.
      requireLinkKey(await requireValue(deps, secretId, versionId), secretId, versionId);
      const { previousVersionId } = await deps.vault.promote(secretId, versionId);
      return { step, versionId, outcome: 'finished', ...(previousVersionId ? { previousVersionId } : {}) };
    }
  }
}

/** The labels of each version of `secretId`, after checking it is the link-signing key secret. */
async function versionStages(deps: LinkKeyRotationDeps, secretId: string): Promise<Record<string, string[]>> {
  const described = await deps.vault.describe(secretId);
  if (!described || described.DeletedDate) {
    throw new RotationRefusedError(`secret ${secretId} does not exist or is scheduled for deletion`);
  }
  if (secretId !== deps.secretId) {
    // Secrets Manager names the secret by ARN; the configuration may name it by name.
    const configured = await deps.vault.describe(deps.secretId);
    if (!described.ARN || described.ARN !== configured?.ARN) {
      throw new RotationRefusedError(`secret ${secretId} is not the link-signing key this function rotates`);
    }
  }
  return described.VersionIdsToStages ?? {};
}

const holderOf = (stages: Record<string, string[]>, label: string) =>
  Object.entries(stages).find(([, labels]) => labels.includes(label))?.[0];

/** The value of `versionId`, or undefined while it holds none (Secrets Manager's own `AWSPENDING` version). */
async function storedValue(
  deps: LinkKeyRotationDeps,
  secretId: string,
  versionId: string,
): Promise<string | undefined> {
  try {
    return await deps.vault.read(secretId, versionId);
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function requireValue(deps: LinkKeyRotationDeps, secretId: string, versionId: string): Promise<string> {
  const value = await storedValue(deps, secretId, versionId);
  if (value === undefined) {
    throw new RotationRefusedError(
      `version ${versionId} of secret ${secretId} holds no value: createSecret did not complete`,
    );
  }
  return value;
}

function requireLinkKey(value: string, secretId: string, versionId: string) {
  if (!isLinkKey(value)) {
    throw new RotationRefusedError(
      `version ${versionId} of secret ${secretId} does not hold a link-signing key (64 alphanumeric characters)`,
    );
  }
}
