/**
 * Versions of a secret and their staging labels, as the Secrets Manager API reference documents them:
 * `AWSCURRENT`/`AWSPREVIOUS`/`AWSPENDING` and custom labels, each on at most one version; up to 100 versions, never
 * pruning one younger than 24 hours.
 */
import { AwsError } from '../protocol';
import { DAY_MS, type SecretRecord, type VersionRecord } from './store';
import type { Input } from './wire';

export const AWSCURRENT = 'AWSCURRENT';
const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';
/** Secrets Manager keeps up to 100 versions and never prunes one younger than 24 hours. */
const MAX_VERSIONS = 100;
export const MAX_LABELS_PER_VERSION = 20;

/** Adds a version carrying `labels` (moving each from any other version), pruning old deprecated ones. */
export function addVersion(
  secret: SecretRecord,
  id: string,
  value: SecretValue,
  labels: string[],
  nowMs: number,
): VersionRecord {
  pruneDeprecated(secret, nowMs);
  if (secret.versions.length >= MAX_VERSIONS) {
    throw new AwsError(
      'LimitExceededException',
      `The secret has ${MAX_VERSIONS} versions, and Secrets Manager removes only deprecated versions older than 24 hours.`,
    );
  }
  const version: VersionRecord = {
    id,
    stages: [],
    createdMs: nowMs,
    ...(value.string !== undefined ? { string: value.string } : {}),
    ...(value.binary !== undefined ? { binary: value.binary } : {}),
  };
  secret.versions.push(version);
  applyLabels(secret, version, labels);
  secret.lastChangedMs = nowMs;
  return version;
}

/** Attaches `labels` to `version`, moving each from any other version. */
function applyLabels(secret: SecretRecord, version: VersionRecord, labels: string[]): void {
  // AWSCURRENT first, so an explicitly requested AWSPREVIOUS wins over the automatic one.
  const ordered = [...new Set(labels)].sort((a, b) => Number(b === AWSCURRENT) - Number(a === AWSCURRENT));
  for (const label of ordered) {
    if (label === AWSCURRENT) moveCurrent(secret, version);
    else attachLabel(secret, version, label);
  }
}

/**
 * Gives a version that has no value yet (the `AWSPENDING` version `RotateSecret` creates before the rotation
 * function's `createSecret` step) its value and `labels`.
 */
export function fillVersion(
  secret: SecretRecord,
  version: VersionRecord,
  value: SecretValue,
  labels: string[],
  nowMs: number,
): void {
  if (value.string !== undefined) version.string = value.string;
  if (value.binary !== undefined) version.binary = value.binary;
  applyLabels(secret, version, labels);
  secret.lastChangedMs = nowMs;
}

/** Whether a version holds a value (a rotation's `AWSPENDING` version has none until `createSecret` stores it). */
export function hasValue(version: VersionRecord): boolean {
  return version.string !== undefined || version.binary !== undefined;
}

export function holderOf(secret: SecretRecord, label: string): VersionRecord | undefined {
  return secret.versions.find((v) => v.stages.includes(label));
}

/** A label is on at most one version: attaching it removes it from any other. */
export function attachLabel(secret: SecretRecord, version: VersionRecord, label: string): void {
  for (const other of secret.versions) {
    if (other !== version && other.stages.includes(label)) other.stages = other.stages.filter((s) => s !== label);
  }
  if (!version.stages.includes(label)) version.stages.push(label);
}

/** Moving AWSCURRENT moves AWSPREVIOUS to the version AWSCURRENT left. */
export function moveCurrent(secret: SecretRecord, version: VersionRecord): void {
  const previous = holderOf(secret, AWSCURRENT);
  attachLabel(secret, version, AWSCURRENT);
  if (previous && previous !== version) attachLabel(secret, previous, AWSPREVIOUS);
}

/** Drops the oldest versions without labels once there are too many, never one younger than a day. */
function pruneDeprecated(secret: SecretRecord, nowMs: number): void {
  while (secret.versions.length >= MAX_VERSIONS) {
    const oldest = secret.versions
      .filter((v) => v.stages.length === 0 && v.createdMs <= nowMs - DAY_MS)
      .sort((a, b) => a.createdMs - b.createdMs)[0];
    if (!oldest) return;
    secret.versions = secret.versions.filter((v) => v !== oldest);
  }
}

export interface SecretValue {
  string?: string;
  /** base64, normalised */
  binary?: string;
}

export function readValue(input: Input): SecretValue {
  const string = input.string('SecretString', { min: 1, max: 65536, sensitive: true });
  const binary = input.blob('SecretBinary', { min: 1, max: 65536 });
  return {
    ...(string !== undefined ? { string } : {}),
    ...(binary !== undefined ? { binary } : {}),
  };
}

export function assertNotBoth(value: SecretValue): void {
  if (value.string !== undefined && value.binary !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
}

export function sameValue(version: VersionRecord, value: SecretValue): boolean {
  return version.string === value.string && version.binary === value.binary;
}

export function tokenInUse(token: string, arn: string): AwsError {
  return new AwsError(
    'ResourceExistsException',
    `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${arn}.`,
  );
}
