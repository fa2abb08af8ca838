/** The operations on secret values and their staging labels. */
import { AwsError } from '../protocol';
import { DAY_MS, dedupeTags, type SecretRecord, type SecretStore, type VersionRecord } from './store';
import {
  AWSCURRENT,
  addVersion,
  assertNotBoth,
  attachLabel,
  fillVersion,
  hasValue,
  holderOf,
  MAX_LABELS_PER_VERSION,
  moveCurrent,
  readValue,
  type SecretValue,
  sameValue,
  tokenInUse,
} from './versions';
import { type Body, epochSeconds, Input } from './wire';

const NAME_PATTERN = /^[A-Za-z0-9/_+=.@!-]+$/;

export function createSecret(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const name = input.string('Name', { required: true, min: 1, max: 512 });
  const token = input.string('ClientRequestToken', { min: 32, max: 64 });
  const description = input.string('Description', { max: 2048 });
  const kmsKeyId = input.string('KmsKeyId', { max: 2048 });
  const value = readValue(input);
  const tags = input.tags('Tags');
  input.finish();
  if (name === undefined) throw new Error('unreachable: Name is required');
  if (!NAME_PATTERN.test(name)) {
    throw new AwsError(
      'ValidationException',
      'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
    );
  }
  assertNotBoth(value);

  const existing = store.state.secrets.find((s) => s.name === name);
  if (existing) {
    if (existing.deletionMs !== undefined) {
      throw new AwsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    return repeatedCreate(existing, token, value);
  }

  return store.transact((doc) => {
    const nowMs = store.nowMs();
    const secret: SecretRecord = {
      name,
      arn: store.newArn(doc, name),
      tags: dedupeTags(tags ?? []),
      createdMs: nowMs,
      lastChangedMs: nowMs,
      versions: [],
      ...(description !== undefined ? { description } : {}),
      ...(kmsKeyId !== undefined ? { kmsKeyId } : {}),
    };
    doc.secrets.push(secret);
    if (!value.string && !value.binary) {
      if (token !== undefined) secret.createToken = token;
      return { ARN: secret.arn, Name: secret.name };
    }
    const version = addVersion(secret, token ?? store.newVersionId(), value, [AWSCURRENT], store.nowMs());
    return { ARN: secret.arn, Name: secret.name, VersionId: version.id };
  });
}

/** A `CreateSecret` for a name that exists: a retry with the same token and value succeeds unchanged. */
function repeatedCreate(existing: SecretRecord, token: string | undefined, value: SecretValue): unknown {
  if (token !== undefined) {
    const version = existing.versions.find((v) => v.id === token);
    if (version) {
      if (!sameValue(version, value)) throw tokenInUse(token, existing.arn);
      return { ARN: existing.arn, Name: existing.name, VersionId: version.id };
    }
    if (existing.createToken === token && !value.string && !value.binary) {
      return { ARN: existing.arn, Name: existing.name };
    }
  }
  throw new AwsError(
    'ResourceExistsException',
    `The operation failed because the secret ${existing.name} already exists.`,
  );
}

export function putSecretValue(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const token = input.string('ClientRequestToken', { min: 32, max: 64 });
  const value = readValue(input);
  const stages = input.stringList('VersionStages', { min: 1, max: 20, itemMin: 1, itemMax: 256 });
  input.finish();
  assertNotBoth(value);
  if (!value.string && !value.binary) {
    throw new AwsError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
  }
  const secret = store.requireActive(store.state, secretId);
  const existing = token !== undefined ? secret.versions.find((v) => v.id === token) : undefined;
  if (existing && hasValue(existing)) {
    if (!sameValue(existing, value)) throw tokenInUse(existing.id, secret.arn);
    return { ARN: secret.arn, Name: secret.name, VersionId: existing.id, VersionStages: [...existing.stages] };
  }
  return store.transact((doc) => {
    const target = store.requireActive(doc, secretId);
    const labels = stages ?? [AWSCURRENT];
    const nowMs = store.nowMs();
    // The version RotateSecret created for this token has no value yet: the rotation function's createSecret
    // step stores it here, under the same token.
    const empty = existing ? target.versions.find((v) => v.id === existing.id) : undefined;
    // The first version of a secret always becomes AWSCURRENT.
    if (!empty && target.versions.length === 0 && !labels.includes(AWSCURRENT)) labels.unshift(AWSCURRENT);
    let version: VersionRecord;
    if (empty) {
      fillVersion(target, empty, value, labels, nowMs);
      version = empty;
    } else {
      version = addVersion(target, token ?? store.newVersionId(), value, labels, nowMs);
    }
    // The rotation schedule counts a new AWSCURRENT value as a rotation (RotationRulesType documents it).
    if (version.stages.includes(AWSCURRENT)) target.valueChangedMs = nowMs;
    return { ARN: target.arn, Name: target.name, VersionId: version.id, VersionStages: [...version.stages] };
  });
}

export function getSecretValue(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const versionId = input.string('VersionId', { min: 32, max: 64 });
  const versionStage = input.string('VersionStage', { min: 1, max: 256 });
  input.finish();
  const secret = store.requireActive(store.state, secretId);
  let version: VersionRecord | undefined;
  if (versionId !== undefined) {
    version = secret.versions.find((v) => v.id === versionId);
    if (!version) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      );
    }
    if (versionStage !== undefined && !version.stages.includes(versionStage)) {
      // The reference only says both must refer to the same version; code and wording follow moto's.
      throw new AwsError(
        'InvalidRequestException',
        'You provided a VersionStage that is not associated to the provided VersionId.',
      );
    }
  } else {
    const stage = versionStage ?? AWSCURRENT;
    version = holderOf(secret, stage);
    if (!version) {
      throw new AwsError(
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    }
  }
  if (!hasValue(version)) {
    // A rotation's AWSPENDING version before its createSecret step stored a value.
    throw new AwsError(
      'ResourceNotFoundException',
      versionId !== undefined
        ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
        : `Secrets Manager can't find the specified secret value for staging label: ${versionStage ?? AWSCURRENT}`,
    );
  }
  recordAccess(store, secret, version);
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.id,
    ...(version.string !== undefined ? { SecretString: version.string } : {}),
    ...(version.binary !== undefined ? { SecretBinary: version.binary } : {}),
    VersionStages: [...version.stages],
    CreatedDate: epochSeconds(version.createdMs),
  };
}

/** Stamps the last-access date (date only, as AWS reports it) on the secret and the version read. */
function recordAccess(store: SecretStore, secret: SecretRecord, version: VersionRecord): void {
  const day = Math.floor(store.nowMs() / DAY_MS) * DAY_MS;
  if (secret.lastAccessedMs === day && version.lastAccessedMs === day) return;
  const name = secret.name;
  const versionId = version.id;
  store.transact((doc) => {
    const stored = store.find(doc, name);
    const storedVersion = stored?.versions.find((v) => v.id === versionId);
    if (stored) stored.lastAccessedMs = day;
    if (storedVersion) storedVersion.lastAccessedMs = day;
  });
}

export function updateSecretVersionStage(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const stage = input.string('VersionStage', { required: true, min: 1, max: 256 });
  const removeFrom = input.string('RemoveFromVersionId', { min: 32, max: 64 });
  const moveTo = input.string('MoveToVersionId', { min: 32, max: 64 });
  input.finish();
  if (stage === undefined) throw new Error('unreachable: VersionStage is required');
  return store.transact((doc) => {
    const secret = store.requireActive(doc, secretId);
    // Unknown version ids and a call naming neither version are InvalidParameterException (undocumented).
    const versionById = (id: string) => {
      const found = secret.versions.find((v) => v.id === id);
      if (!found) throw new AwsError('InvalidParameterException', `Not a valid version: ${id}`);
      return found;
    };
    const target = moveTo !== undefined ? versionById(moveTo) : undefined;
    const source = removeFrom !== undefined ? versionById(removeFrom) : undefined;
    const holder = holderOf(secret, stage);
    if (!target && !source) {
      throw new AwsError(
        'InvalidParameterException',
        'You must specify MoveToVersionId, RemoveFromVersionId, or both.',
      );
    }
    if (source && holder !== source) {
      throw new AwsError(
        'InvalidParameterException',
        target
          ? `When you move staging label ${stage}, if you specify RemoveFromVersionId, it must be set to the version that currently has the staging label ${stage}.`
          : `The staging label ${stage} is not attached to version ${source.id}.`,
      );
    }
    if (target && holder && holder !== target && !source) {
      throw new AwsError(
        'InvalidParameterException',
        `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    if (!target && stage === AWSCURRENT) {
      // Every secret with a value keeps exactly one AWSCURRENT version: the label can move but not vanish.
      throw new AwsError(
        'InvalidParameterException',
        `You can't remove the staging label ${AWSCURRENT} from a version without moving it to another version: specify MoveToVersionId.`,
      );
    }
    if (target && !target.stages.includes(stage) && target.stages.length >= MAX_LABELS_PER_VERSION) {
      throw new AwsError(
        'LimitExceededException',
        `A version of a secret can have at most ${MAX_LABELS_PER_VERSION} staging labels.`,
      );
    }
    if (target) {
      if (stage === AWSCURRENT) moveCurrent(secret, target);
      else attachLabel(secret, target, stage);
    } else if (source) {
      source.stages = source.stages.filter((s) => s !== stage);
    }
    secret.lastChangedMs = store.nowMs();
    return { ARN: secret.arn, Name: secret.name };
  });
}
