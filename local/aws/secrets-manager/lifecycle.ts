/** The operations on a secret's resource policy and on its deletion and restoration. */
import { AwsError } from '../protocol';
import { DAY_MS, MARKED_FOR_DELETION, SECRET_NOT_FOUND, type SecretStore } from './store';
import { type Body, epochSeconds, Input, parseJsonObject } from './wire';

export function putResourcePolicy(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const policy = input.string('ResourcePolicy', { required: true, min: 1, max: 20480 });
  const blockPublic = input.boolean('BlockPublicPolicy') ?? false;
  input.finish();
  if (policy === undefined) throw new Error('unreachable: ResourcePolicy is required');
  store.requireActive(store.state, secretId);
  const document = parsePolicy(policy);
  if (blockPublic && grantsPublicAccess(document)) {
    throw new AwsError(
      'PublicPolicyException',
      'The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret.',
    );
  }
  return store.transact((doc) => {
    const secret = store.requireActive(doc, secretId);
    secret.policy = policy;
    secret.lastChangedMs = store.nowMs();
    return { ARN: secret.arn, Name: secret.name };
  });
}

export function getResourcePolicy(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  input.finish();
  const secret = store.require(store.state, secretId);
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.policy !== undefined ? { ResourcePolicy: secret.policy } : {}),
  };
}

export function deleteResourcePolicy(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  input.finish();
  return store.transact((doc) => {
    const secret = store.requireActive(doc, secretId);
    delete secret.policy;
    secret.lastChangedMs = store.nowMs();
    return { ARN: secret.arn, Name: secret.name };
  });
}

export function deleteSecret(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const windowDays = input.integer('RecoveryWindowInDays');
  const force = input.boolean('ForceDeleteWithoutRecovery') ?? false;
  input.finish();
  if (force && windowDays !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    );
  }
  if (windowDays !== undefined && (windowDays < 7 || windowDays > 30)) {
    throw new AwsError(
      'InvalidParameterException',
      'The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).',
    );
  }
  const nowMs = store.nowMs();
  const secret = store.find(store.state, secretId);
  if (!secret) {
    // Documented: forcibly deleting an already deleted or nonexistent secret does not fail.
    if (force) return { ...store.identityOf(secretId), DeletionDate: epochSeconds(nowMs) };
    throw new AwsError('ResourceNotFoundException', SECRET_NOT_FOUND);
  }
  if (secret.deletionMs !== undefined && !force) throw new AwsError('InvalidRequestException', MARKED_FOR_DELETION);
  return store.transact((doc) => {
    const target = store.require(doc, secretId);
    if (force) {
      doc.secrets = doc.secrets.filter((s) => s !== target);
      return { ARN: target.arn, Name: target.name, DeletionDate: epochSeconds(nowMs) };
    }
    target.deletionMs = nowMs + (windowDays ?? 30) * DAY_MS;
    target.lastChangedMs = nowMs;
    return { ARN: target.arn, Name: target.name, DeletionDate: epochSeconds(target.deletionMs) };
  });
}

export function restoreSecret(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  input.finish();
  store.require(store.state, secretId);
  return store.transact((doc) => {
    const secret = store.require(doc, secretId);
    if (secret.deletionMs !== undefined) {
      delete secret.deletionMs;
      secret.lastChangedMs = store.nowMs();
    }
    return { ARN: secret.arn, Name: secret.name };
  });
}

function parsePolicy(policy: string): Record<string, unknown> {
  return parseJsonObject(policy, 'MalformedPolicyDocumentException', {
    syntax: 'This resource policy contains a syntax error.',
    shape: 'The resource policy must be a JSON object.',
  });
}

/** An unconditional `Allow` to the `*` principal (directly or as `{"AWS": "*"}`) is broad access. */
function grantsPublicAccess(policy: Record<string, unknown>): boolean {
  const raw = policy.Statement;
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return statements.some((statement) => {
    if (statement === null || typeof statement !== 'object') return false;
    const { Effect, Principal, Condition } = statement as Record<string, unknown>;
    if (Effect !== 'Allow' || Condition !== undefined) return false;
    if (Principal === '*') return true;
    if (Principal === null || typeof Principal !== 'object') return false;
    const aws = (Principal as Record<string, unknown>).AWS;
    return aws === '*' || (Array.isArray(aws) && aws.includes('*'));
  });
}
