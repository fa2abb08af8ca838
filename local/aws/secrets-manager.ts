/**
 * Local AWS Secrets Manager (awsJson1.1, `X-Amz-Target: secretsmanager.<Operation>`), built to the behaviour the
 * Secrets Manager API reference documents: staging labels (`AWSCURRENT`/`AWSPREVIOUS`/`AWSPENDING` and custom
 * ones, each on at most one version), `ClientRequestToken` idempotency, recovery windows evaluated against the
 * simulated clock, `SecretId` as name, full ARN or partial ARN, and AWS's error codes.
 *
 * The secrets persist to one JSON file (this is the local secret store, as AWS's own storage is): it holds the
 * secret values, so it is written owner-only, and no value ever appears in an error message.
 *
 * Where the API reference is silent (exact wording of some messages, a few edge cases), the choice made is
 * commented where the code makes it.
 */

import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { JsonLog } from './json-store';
import {
  AwsError,
  type AwsRequest,
  type AwsResponse,
  type AwsService,
  jsonError,
  jsonOk,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
} from './protocol';

/** Constructor options of {@link LocalSecretsManager}. */
export interface LocalSecretsManagerOptions {
  /** The simulated clock: creation dates, recovery windows and last-access dates follow it. */
  now: () => Date;
  /** JSON file the secrets persist to (written on every change); in memory only when absent. */
  file?: string;
  /** @default `us-east-1` */
  region?: string;
  /** @default `000000000000` */
  account?: string;
  /** Random bytes for ARN suffixes and generated version ids. @default `crypto.randomBytes` */
  random?: (size: number) => Buffer;
}

/** The operations this emulator answers; any other `secretsmanager.*` target gets `UnknownOperationException`. */
export const SECRETS_MANAGER_OPERATIONS = [
  'CreateSecret',
  'DeleteResourcePolicy',
  'DeleteSecret',
  'DescribeSecret',
  'GetResourcePolicy',
  'GetSecretValue',
  'ListSecretVersionIds',
  'ListSecrets',
  'PutResourcePolicy',
  'PutSecretValue',
  'RestoreSecret',
  'TagResource',
  'UntagResource',
  'UpdateSecret',
  'UpdateSecretVersionStage',
] as const;

export type SecretsManagerOperation = (typeof SECRETS_MANAGER_OPERATIONS)[number];

const TARGET_PREFIX = 'secretsmanager.';
const AWSCURRENT = 'AWSCURRENT';
const AWSPREVIOUS = 'AWSPREVIOUS';
const DAY_MS = 86_400_000;
/** Secrets Manager keeps up to 100 versions and never prunes one younger than 24 hours. */
const MAX_VERSIONS = 100;
const MAX_LABELS_PER_VERSION = 20;
const DEFAULT_PAGE_SIZE = 100;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@!-]+$/;
const FILTER_VALUE_PATTERN = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/;
const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];
const SORT_BY = ['created-date', 'last-accessed-date', 'last-changed-date', 'name'];
const ARN_PATTERN = /^arn:([^:]+):secretsmanager:([^:]*):([^:]*):secret:(.+)$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
const SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret.";

// ---------------------------------------------------------------------------------------------------------------
// Persisted state

const tagSchema = z.object({ Key: z.string(), Value: z.string() });
const versionSchema = z.object({
  id: z.string(),
  string: z.string().optional(),
  /** base64 */
  binary: z.string().optional(),
  stages: z.array(z.string()),
  createdMs: z.number(),
  lastAccessedMs: z.number().optional(),
});
const secretSchema = z.object({
  name: z.string(),
  arn: z.string(),
  description: z.string().optional(),
  kmsKeyId: z.string().optional(),
  tags: z.array(tagSchema),
  policy: z.string().optional(),
  createdMs: z.number(),
  lastChangedMs: z.number(),
  lastAccessedMs: z.number().optional(),
  /** When the recovery window ends; present while the secret is scheduled for deletion. */
  deletionMs: z.number().optional(),
  /** The `ClientRequestToken` of a `CreateSecret` that stored no value, so its retries stay idempotent. */
  createToken: z.string().optional(),
  versions: z.array(versionSchema),
});
const documentSchema = z.object({ secrets: z.array(secretSchema) });

type Tag = z.infer<typeof tagSchema>;
type VersionRecord = z.infer<typeof versionSchema>;
type SecretRecord = z.infer<typeof secretSchema>;
type SecretsDocument = z.infer<typeof documentSchema>;
/** One change appended to the secrets file: the secrets it created or changed, stored whole. */
interface SecretsChange {
  put: SecretRecord[];
}

/** A request body, as the JSON object it must be. */
type Body = Record<string, unknown>;
type Handler = (body: Body) => unknown;

/**
 * The Secrets Manager emulator behind the local AWS endpoint.
 *
 * Deletion is evaluated lazily: a secret whose recovery window has ended (by the simulated clock) is removed
 * before the next request is answered.
 */
export class LocalSecretsManager implements AwsService {
  readonly name = 'secretsmanager';
  /** The operations `handle()` emulates (the edge checks them at start-up). */
  readonly operations: readonly string[] = SECRETS_MANAGER_OPERATIONS;

  private readonly now: () => Date;
  private readonly region: string;
  private readonly account: string;
  private readonly partition: string;
  private readonly random: (size: number) => Buffer;
  private readonly file: string | undefined;
  private readonly store: JsonLog<unknown, SecretsChange>;
  private state: SecretsDocument;
  /** While a change runs: its draft, and the secrets it still shares with the committed state. */
  private draft: { doc: SecretsDocument; shared: Set<SecretRecord> } | undefined;
  private readonly handlers: Record<SecretsManagerOperation, Handler>;

  constructor(options: LocalSecretsManagerOptions) {
    this.now = options.now;
    this.region = options.region ?? LOCAL_REGION;
    this.account = options.account ?? LOCAL_ACCOUNT;
    this.partition = partitionOf(this.region);
    this.random = options.random ?? randomBytes;
    this.file = options.file;
    this.store = new JsonLog<unknown, SecretsChange>(options.file, () => ({ secrets: [] }));
    this.state = this.load();
    this.handlers = {
      CreateSecret: (b) => this.createSecret(b),
      DeleteResourcePolicy: (b) => this.deleteResourcePolicy(b),
      DeleteSecret: (b) => this.deleteSecret(b),
      DescribeSecret: (b) => this.describeSecret(b),
      GetResourcePolicy: (b) => this.getResourcePolicy(b),
      GetSecretValue: (b) => this.getSecretValue(b),
      ListSecretVersionIds: (b) => this.listSecretVersionIds(b),
      ListSecrets: (b) => this.listSecrets(b),
      PutResourcePolicy: (b) => this.putResourcePolicy(b),
      PutSecretValue: (b) => this.putSecretValue(b),
      RestoreSecret: (b) => this.restoreSecret(b),
      TagResource: (b) => this.tagResource(b),
      UntagResource: (b) => this.untagResource(b),
      UpdateSecret: (b) => this.updateSecret(b),
      UpdateSecretVersionStage: (b) => this.updateSecretVersionStage(b),
    };
  }

  matches(req: AwsRequest): boolean {
    return req.target?.startsWith(TARGET_PREFIX) === true;
  }

  operation(req: AwsRequest): string {
    return req.target?.startsWith(TARGET_PREFIX) ? req.target.slice(TARGET_PREFIX.length) : (req.target ?? '');
  }

  /** Answers one request; AWS-shaped errors become awsJson error responses, anything else is thrown. */
  async handle(req: AwsRequest): Promise<AwsResponse> {
    const operation = this.operation(req);
    try {
      const handler = isOperation(operation) ? this.handlers[operation] : undefined;
      if (!handler) {
        throw new AwsError(
          'UnknownOperationException',
          `Operation ${operation || '(none)'} is not supported by the local endpoint`,
        );
      }
      const body = parseBody(req.body);
      this.purgeExpired();
      return jsonOk(handler(body));
    } catch (error) {
      if (error instanceof AwsError) return jsonError(error);
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Operations

  private createSecret(body: Body): unknown {
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

    const existing = this.state.secrets.find((s) => s.name === name);
    if (existing) {
      if (existing.deletionMs !== undefined) {
        throw new AwsError(
          'InvalidRequestException',
          "You can't create this secret because a secret with this name is already scheduled for deletion.",
        );
      }
      return this.repeatedCreate(existing, token, value);
    }

    return this.transact((doc) => {
      const nowMs = this.nowMs();
      const secret: SecretRecord = {
        name,
        arn: this.newArn(doc, name),
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
      const version = this.addVersion(secret, token ?? this.newVersionId(), value, [AWSCURRENT]);
      return { ARN: secret.arn, Name: secret.name, VersionId: version.id };
    });
  }

  /** A `CreateSecret` for a name that exists: a retry with the same token and value succeeds unchanged. */
  private repeatedCreate(existing: SecretRecord, token: string | undefined, value: SecretValue): unknown {
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

  private putSecretValue(body: Body): unknown {
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
    const secret = this.requireActive(this.state, secretId);
    if (token !== undefined) {
      const version = secret.versions.find((v) => v.id === token);
      if (version) {
        if (!sameValue(version, value)) throw tokenInUse(token, secret.arn);
        return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: [...version.stages] };
      }
    }
    return this.transact((doc) => {
      const target = this.requireActive(doc, secretId);
      const labels = stages ?? [AWSCURRENT];
      // The first version of a secret always becomes AWSCURRENT.
      if (target.versions.length === 0 && !labels.includes(AWSCURRENT)) labels.unshift(AWSCURRENT);
      const version = this.addVersion(target, token ?? this.newVersionId(), value, labels);
      return { ARN: target.arn, Name: target.name, VersionId: version.id, VersionStages: [...version.stages] };
    });
  }

  private updateSecret(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const token = input.string('ClientRequestToken', { min: 32, max: 64 });
    const description = input.string('Description', { max: 2048 });
    const kmsKeyId = input.string('KmsKeyId', { max: 2048 });
    const value = readValue(input);
    input.finish();
    assertNotBoth(value);
    const secret = this.requireActive(this.state, secretId);
    const hasValue = Boolean(value.string || value.binary);
    if (hasValue && token !== undefined) {
      const version = secret.versions.find((v) => v.id === token);
      if (version) {
        if (!sameValue(version, value)) throw tokenInUse(token, secret.arn);
        return { ARN: secret.arn, Name: secret.name, VersionId: version.id };
      }
    }
    return this.transact((doc) => {
      const target = this.requireActive(doc, secretId);
      if (description !== undefined) target.description = description;
      if (kmsKeyId !== undefined) target.kmsKeyId = kmsKeyId;
      target.lastChangedMs = this.nowMs();
      if (!hasValue) return { ARN: target.arn, Name: target.name };
      const version = this.addVersion(target, token ?? this.newVersionId(), value, [AWSCURRENT]);
      return { ARN: target.arn, Name: target.name, VersionId: version.id };
    });
  }

  private getSecretValue(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const versionId = input.string('VersionId', { min: 32, max: 64 });
    const versionStage = input.string('VersionStage', { min: 1, max: 256 });
    input.finish();
    const secret = this.requireActive(this.state, secretId);
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
    this.recordAccess(secret, version);
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

  private describeSecret(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    input.finish();
    const secret = this.require(this.state, secretId);
    const { SecretVersionsToStages, ...rest } = this.listEntry(secret);
    return { ...rest, ...(SecretVersionsToStages ? { VersionIdsToStages: SecretVersionsToStages } : {}) };
  }

  private listSecretVersionIds(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const maxResults = input.integer('MaxResults', { min: 1, max: 100 });
    const nextToken = input.string('NextToken', { min: 1, max: 4096 });
    const includeDeprecated = input.boolean('IncludeDeprecated') ?? false;
    input.finish();
    const secret = this.require(this.state, secretId);
    const versions = secret.versions
      .filter((v) => includeDeprecated || v.stages.length > 0)
      .map((v) => ({
        VersionId: v.id,
        ...(v.stages.length > 0 ? { VersionStages: [...v.stages] } : {}),
        ...(v.lastAccessedMs !== undefined ? { LastAccessedDate: epochSeconds(v.lastAccessedMs) } : {}),
        CreatedDate: epochSeconds(v.createdMs),
      }));
    const page = paginate(versions, maxResults, nextToken);
    return {
      Versions: page.items,
      ...(page.nextToken ? { NextToken: page.nextToken } : {}),
      ARN: secret.arn,
      Name: secret.name,
    };
  }

  private listSecrets(body: Body): unknown {
    const input = new Input(body);
    const includePlannedDeletion = input.boolean('IncludePlannedDeletion') ?? false;
    const maxResults = input.integer('MaxResults', { min: 1, max: 100 });
    const nextToken = input.string('NextToken', { min: 1, max: 4096 });
    const filters = input.filters('Filters');
    // The reference names no default direction: oldest first, like moto.
    const sortOrder = input.enumeration('SortOrder', ['asc', 'desc']) ?? 'asc';
    const sortBy = input.enumeration('SortBy', SORT_BY) ?? 'created-date';
    input.finish();
    const selected = this.state.secrets
      .filter((s) => includePlannedDeletion || s.deletionMs === undefined)
      .filter((s) => (filters ?? []).every((f) => filterMatches(s, f)));
    const key = sortKey(sortBy);
    const direction = sortOrder === 'desc' ? -1 : 1;
    selected.sort((a, b) => direction * compare(key(a), key(b)) || compare(a.name, b.name));
    const page = paginate(
      selected.map((s) => this.listEntry(s)),
      maxResults,
      nextToken,
    );
    return { SecretList: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
  }

  private updateSecretVersionStage(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const stage = input.string('VersionStage', { required: true, min: 1, max: 256 });
    const removeFrom = input.string('RemoveFromVersionId', { min: 32, max: 64 });
    const moveTo = input.string('MoveToVersionId', { min: 32, max: 64 });
    input.finish();
    if (stage === undefined) throw new Error('unreachable: VersionStage is required');
    return this.transact((doc) => {
      const secret = this.requireActive(doc, secretId);
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
      secret.lastChangedMs = this.nowMs();
      return { ARN: secret.arn, Name: secret.name };
    });
  }

  private tagResource(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const tags = input.tags('Tags', { required: true });
    input.finish();
    return this.transact((doc) => {
      const secret = this.requireActive(doc, secretId);
      secret.tags = dedupeTags([...secret.tags, ...(tags ?? [])]);
      secret.lastChangedMs = this.nowMs();
      return {};
    });
  }

  private untagResource(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const keys = input.stringList('TagKeys', { required: true, itemMin: 1, itemMax: 128 });
    input.finish();
    return this.transact((doc) => {
      const secret = this.requireActive(doc, secretId);
      const remove = new Set(keys);
      secret.tags = secret.tags.filter((t) => !remove.has(t.Key));
      secret.lastChangedMs = this.nowMs();
      return {};
    });
  }

  private putResourcePolicy(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    const policy = input.string('ResourcePolicy', { required: true, min: 1, max: 20480 });
    const blockPublic = input.boolean('BlockPublicPolicy') ?? false;
    input.finish();
    if (policy === undefined) throw new Error('unreachable: ResourcePolicy is required');
    this.requireActive(this.state, secretId);
    const document = parsePolicy(policy);
    if (blockPublic && grantsPublicAccess(document)) {
      throw new AwsError(
        'PublicPolicyException',
        'The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret.',
      );
    }
    return this.transact((doc) => {
      const secret = this.requireActive(doc, secretId);
      secret.policy = policy;
      secret.lastChangedMs = this.nowMs();
      return { ARN: secret.arn, Name: secret.name };
    });
  }

  private getResourcePolicy(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    input.finish();
    const secret = this.require(this.state, secretId);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.policy !== undefined ? { ResourcePolicy: secret.policy } : {}),
    };
  }

  private deleteResourcePolicy(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    input.finish();
    return this.transact((doc) => {
      const secret = this.requireActive(doc, secretId);
      delete secret.policy;
      secret.lastChangedMs = this.nowMs();
      return { ARN: secret.arn, Name: secret.name };
    });
  }

  private deleteSecret(body: Body): unknown {
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
    const nowMs = this.nowMs();
    const secret = this.find(this.state, secretId);
    if (!secret) {
      // Documented: forcibly deleting an already deleted or nonexistent secret does not fail.
      if (force) return { ...this.identityOf(secretId), DeletionDate: epochSeconds(nowMs) };
      throw new AwsError('ResourceNotFoundException', SECRET_NOT_FOUND);
    }
    if (secret.deletionMs !== undefined && !force) throw new AwsError('InvalidRequestException', MARKED_FOR_DELETION);
    return this.transact((doc) => {
      const target = this.require(doc, secretId);
      if (force) {
        doc.secrets = doc.secrets.filter((s) => s !== target);
        return { ARN: target.arn, Name: target.name, DeletionDate: epochSeconds(nowMs) };
      }
      target.deletionMs = nowMs + (windowDays ?? 30) * DAY_MS;
      target.lastChangedMs = nowMs;
      return { ARN: target.arn, Name: target.name, DeletionDate: epochSeconds(target.deletionMs) };
    });
  }

  private restoreSecret(body: Body): unknown {
    const input = new Input(body);
    const secretId = input.secretId();
    input.finish();
    this.require(this.state, secretId);
    return this.transact((doc) => {
      const secret = this.require(doc, secretId);
      if (secret.deletionMs !== undefined) {
        delete secret.deletionMs;
        secret.lastChangedMs = this.nowMs();
      }
      return { ARN: secret.arn, Name: secret.name };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // State

  private nowMs(): number {
    return this.now().getTime();
  }

  private load(): SecretsDocument {
    let raw: unknown;
    try {
      const saved = this.store.read();
      raw = saved.document;
      if (saved.entries.length > 0 && isRecord(raw) && Array.isArray(raw.secrets)) {
        // Replay the appended changes, by ARN, over the document (a replaced secret keeps its place).
        const byArn = new Map<unknown, unknown>(raw.secrets.map((s) => [isRecord(s) ? s.arn : undefined, s]));
        for (const change of saved.entries) {
          for (const secret of change.put ?? []) byArn.set(secret.arn, secret);
        }
        raw = { ...raw, secrets: [...byArn.values()] };
      }
    } catch {
      // The parser's message quotes the file's text, which holds secret values: report the file only.
      throw new Error(`${this.file}: not valid JSON (delete it, or start with --reset)`);
    }
    const parsed = documentSchema.safeParse(raw);
    if (!parsed.success) {
      const where = parsed.error.issues
        .slice(0, 3)
        .map((issue) => issue.path.join('.') || '(root)')
        .join(', ');
      throw new Error(`${this.file}: not a Secrets Manager store (unexpected content at ${where})`);
    }
    return parsed.data;
  }

  /**
   * Runs `change` on a draft of the state and commits the draft (to disk first, then in memory) only if it
   * returns: a request that fails halfway leaves nothing half-changed. The draft shares every secret with the state
   * until the change looks one up (`find`), which puts a copy in its place; so the change costs the secrets it
   * touches, and only those are written (appended to the file; the file is rewritten whole once the appended
   * changes outweigh it).
   */
  private transact<T>(change: (doc: SecretsDocument) => T): T {
    const shared = new Set(this.state.secrets);
    const doc: SecretsDocument = { ...this.state, secrets: [...this.state.secrets] };
    this.draft = { doc, shared };
    let result: T;
    try {
      result = change(doc);
    } finally {
      this.draft = undefined;
    }
    this.persist(doc, shared);
    this.state = doc;
    return result;
  }

  private persist(doc: SecretsDocument, shared: Set<SecretRecord>): void {
    if (!this.file) return;
    const put = doc.secrets.filter((s) => !shared.has(s));
    const kept = new Set(doc.secrets.map((s) => s.arn));
    const removed = this.state.secrets.filter((s) => !kept.has(s.arn));
    // A value that is gone (secret deleted, version pruned) must leave the file too: that takes a whole rewrite.
    const before = new Map(put.length > 0 ? this.state.secrets.map((s) => [s.arn, s]) : []);
    const dropsVersion = put.some((s) => {
      const ids = new Set(s.versions.map((v) => v.id));
      return before.get(s.arn)?.versions.some((v) => !ids.has(v.id)) ?? false;
    });
    if (!this.store.ready || this.store.wantsRewrite || removed.length > 0 || dropsVersion) {
      // The file holds secret values: owner-only, like a credentials file (JsonLog writes it so).
      this.store.write(doc);
    } else if (put.length > 0) {
      this.store.append({ put });
    }
  }

  /** Removes secrets whose recovery window has ended by the simulated clock. */
  private purgeExpired(): void {
    const nowMs = this.nowMs();
    const expired = (s: SecretRecord) => s.deletionMs !== undefined && s.deletionMs <= nowMs;
    if (!this.state.secrets.some(expired)) return;
    this.transact((doc) => {
      doc.secrets = doc.secrets.filter((s) => !expired(s));
    });
  }

  /** Resolves a `SecretId`: the name, the full ARN, or the ARN without its 6-character suffix. */
  private find(doc: SecretsDocument, secretId: string): SecretRecord | undefined {
    const found = this.lookup(doc, secretId);
    const draft = this.draft;
    if (!found || draft?.doc !== doc || !draft.shared.has(found)) return found;
    // Inside a change: the change gets its own copy, so the committed state stays as it was until it commits.
    const copy = structuredClone(found);
    doc.secrets[doc.secrets.indexOf(found)] = copy;
    return copy;
  }

  private lookup(doc: SecretsDocument, secretId: string): SecretRecord | undefined {
    const arn = ARN_PATTERN.exec(secretId);
    if (!arn) return doc.secrets.find((s) => s.name === secretId);
    const [, partition, region, account, resource] = arn;
    if (partition !== this.partition || region !== this.region || account !== this.account) return undefined;
    return doc.secrets.find((s) => s.arn === secretId) ?? doc.secrets.find((s) => s.name === resource);
  }

  private require(doc: SecretsDocument, secretId: string): SecretRecord {
    const secret = this.find(doc, secretId);
    if (!secret) throw new AwsError('ResourceNotFoundException', SECRET_NOT_FOUND);
    return secret;
  }

  /**
   * Like `require`, refusing secrets scheduled for deletion. Reads of metadata (DescribeSecret,
   * ListSecretVersionIds, GetResourcePolicy) and RestoreSecret still work on them; values and changes do not.
   */
  private requireActive(doc: SecretsDocument, secretId: string): SecretRecord {
    const secret = this.require(doc, secretId);
    if (secret.deletionMs !== undefined) throw new AwsError('InvalidRequestException', MARKED_FOR_DELETION);
    return secret;
  }

  /** Adds a version carrying `labels` (moving each from any other version), pruning old deprecated ones. */
  private addVersion(secret: SecretRecord, id: string, value: SecretValue, labels: string[]): VersionRecord {
    const nowMs = this.nowMs();
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
    // AWSCURRENT first, so an explicitly requested AWSPREVIOUS wins over the automatic one.
    const ordered = [...new Set(labels)].sort((a, b) => Number(b === AWSCURRENT) - Number(a === AWSCURRENT));
    for (const label of ordered) {
      if (label === AWSCURRENT) moveCurrent(secret, version);
      else attachLabel(secret, version, label);
    }
    secret.lastChangedMs = nowMs;
    return version;
  }

  /** Stamps the last-access date (date only, as AWS reports it) on the secret and the version read. */
  private recordAccess(secret: SecretRecord, version: VersionRecord): void {
    const day = Math.floor(this.nowMs() / DAY_MS) * DAY_MS;
    if (secret.lastAccessedMs === day && version.lastAccessedMs === day) return;
    const name = secret.name;
    const versionId = version.id;
    this.transact((doc) => {
      const stored = this.find(doc, name);
      const storedVersion = stored?.versions.find((v) => v.id === versionId);
      if (stored) stored.lastAccessedMs = day;
      if (storedVersion) storedVersion.lastAccessedMs = day;
    });
  }

  /**
   * One secret's metadata. `RotationEnabled` is omitted: the reference returns null for secrets never configured
   * for rotation. `DeletedDate` is the end of the recovery window, as DescribeSecret documents it.
   */
  private listEntry(secret: SecretRecord) {
    const labelled = secret.versions.filter((v) => v.stages.length > 0);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
      LastChangedDate: epochSeconds(secret.lastChangedMs),
      ...(secret.lastAccessedMs !== undefined ? { LastAccessedDate: epochSeconds(secret.lastAccessedMs) } : {}),
      ...(secret.deletionMs !== undefined ? { DeletedDate: epochSeconds(secret.deletionMs) } : {}),
      ...(secret.tags.length > 0 ? { Tags: secret.tags.map((t) => ({ ...t })) } : {}),
      ...(labelled.length > 0
        ? { SecretVersionsToStages: Object.fromEntries(labelled.map((v) => [v.id, [...v.stages]])) }
        : {}),
      CreatedDate: epochSeconds(secret.createdMs),
    };
  }

  /** What a forced delete of an unknown secret reports: the name, and the ARN if one was given. */
  private identityOf(secretId: string): { ARN?: string; Name: string } {
    const arn = ARN_PATTERN.exec(secretId);
    return arn ? { ARN: secretId, Name: arn[4] ?? secretId } : { Name: secretId };
  }

  private newArn(doc: SecretsDocument, name: string): string {
    for (;;) {
      const arn = `arn:${this.partition}:secretsmanager:${this.region}:${this.account}:secret:${name}-${this.suffix()}`;
      // A new secret must not inherit an ARN a user may still hold for an older one.
      if (!doc.secrets.some((s) => s.arn === arn)) return arn;
    }
  }

  private suffix(): string {
    let out = '';
    while (out.length < 6) {
      for (const byte of this.random(12)) {
        // Rejection sampling keeps the 62 characters equally likely.
        if (byte < 248 && out.length < 6) out += SUFFIX_ALPHABET[byte % 62];
      }
    }
    return out;
  }

  /** A UUID v4, as the SDKs generate for `ClientRequestToken`. */
  private newVersionId(): string {
    const bytes = Buffer.from(this.random(16));
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Staging labels

function holderOf(secret: SecretRecord, label: string): VersionRecord | undefined {
  return secret.versions.find((v) => v.stages.includes(label));
}

/** A label is on at most one version: attaching it removes it from any other. */
function attachLabel(secret: SecretRecord, version: VersionRecord, label: string): void {
  for (const other of secret.versions) {
    if (other !== version && other.stages.includes(label)) other.stages = other.stages.filter((s) => s !== label);
  }
  if (!version.stages.includes(label)) version.stages.push(label);
}

/** Moving AWSCURRENT moves AWSPREVIOUS to the version AWSCURRENT left. */
function moveCurrent(secret: SecretRecord, version: VersionRecord): void {
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

// ---------------------------------------------------------------------------------------------------------------
// Values, policies, filters

interface SecretValue {
  string?: string;
  /** base64, normalised */
  binary?: string;
}

function readValue(input: Input): SecretValue {
  const string = input.string('SecretString', { min: 1, max: 65536, sensitive: true });
  const binary = input.blob('SecretBinary', { min: 1, max: 65536 });
  return {
    ...(string !== undefined ? { string } : {}),
    ...(binary !== undefined ? { binary } : {}),
  };
}

function assertNotBoth(value: SecretValue): void {
  if (value.string !== undefined && value.binary !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  }
}

function sameValue(version: VersionRecord, value: SecretValue): boolean {
  return version.string === value.string && version.binary === value.binary;
}

function tokenInUse(token: string, arn: string): AwsError {
  return new AwsError(
    'ResourceExistsException',
    `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${arn}.`,
  );
}

function dedupeTags(tags: Tag[]): Tag[] {
  const byKey = new Map<string, Tag>();
  for (const tag of tags) byKey.set(tag.Key, { Key: tag.Key, Value: tag.Value });
  return [...byKey.values()];
}

function parsePolicy(policy: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new AwsError('MalformedPolicyDocumentException', 'This resource policy contains a syntax error.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsError('MalformedPolicyDocumentException', 'The resource policy must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
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

interface Filter {
  key: string;
  values: string[];
}

/** Values of one filter are alternatives (`!v` negates); every filter of a request must match. */
function filterMatches(secret: SecretRecord, filter: Filter): boolean {
  return filter.values.some((raw) => {
    const negated = raw.startsWith('!');
    const value = negated ? raw.slice(1) : raw;
    const hit = valueMatches(secret, filter.key, value);
    return negated ? !hit : hit;
  });
}

function valueMatches(secret: SecretRecord, key: string, value: string): boolean {
  const prefixOf = (candidates: string[], caseSensitive: boolean) =>
    candidates.some((c) => (caseSensitive ? c.startsWith(value) : c.toLowerCase().startsWith(value.toLowerCase())));
  switch (key) {
    case 'name':
      return prefixOf([secret.name], true);
    case 'description':
      return prefixOf(secret.description !== undefined ? [secret.description] : [], false);
    case 'tag-key':
      return prefixOf(
        secret.tags.map((t) => t.Key),
        true,
      );
    case 'tag-value':
      return prefixOf(
        secret.tags.map((t) => t.Value),
        true,
      );
    case 'all': {
      const wanted = words(value);
      const have = [secret.name, secret.description ?? '', ...secret.tags.flatMap((t) => [t.Key, t.Value])].flatMap(
        words,
      );
      return wanted.some((w) => have.some((h) => h.startsWith(w)));
    }
    default:
      // primary-region, owning-service: local secrets are neither replicated nor service-managed.
      return false;
  }
}

/** Splits like the console search: at punctuation, lower→upper case changes, and letter↔digit changes. */
function words(text: string): string[] {
  return text
    .split(/[^A-Za-z0-9]+/)
    .flatMap((part) => part.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [])
    .map((w) => w.toLowerCase());
}

function sortKey(sortBy: string): (s: SecretRecord) => number | string {
  switch (sortBy) {
    case 'name':
      return (s) => s.name;
    case 'last-accessed-date':
      return (s) => s.lastAccessedMs ?? 0;
    case 'last-changed-date':
      return (s) => s.lastChangedMs;
    default:
      return (s) => s.createdMs;
  }
}

function compare(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Offset-based pages behind an opaque token. */
function paginate<T>(
  items: T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): { items: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    const decoded = /^o(\d{1,9})$/.exec(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!decoded) throw new AwsError('InvalidNextTokenException', 'The NextToken value is invalid.');
    start = Number(decoded[1]);
  }
  const end = start + (maxResults ?? DEFAULT_PAGE_SIZE);
  return {
    items: items.slice(start, end),
    ...(end < items.length ? { nextToken: Buffer.from(`o${end}`).toString('base64url') } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Request parsing and validation, in AWS's shapes: malformed JSON or a wrong JSON type is a
// `SerializationException`; constraint violations are collected into one `ValidationException`, as AWS reports
// them ("2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: ...").

function isOperation(name: string): name is SecretsManagerOperation {
  return (SECRETS_MANAGER_OPERATIONS as readonly string[]).includes(name);
}

function parseBody(body: Buffer): Body {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Never echo the parser's message: it quotes the body, which may carry a secret value.
    throw new AwsError('SerializationException', 'The request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AwsError('SerializationException', 'The request body must be a JSON object.');
  }
  return parsed as Body;
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Seconds since the epoch with millisecond precision: how AWS JSON protocols send timestamps. */
function epochSeconds(ms: number): number {
  return ms / 1000;
}

interface LengthRule {
  required?: boolean;
  min?: number;
  max?: number;
  /** Sensitive members are never quoted in messages. */
  sensitive?: boolean;
}

class Input {
  private readonly problems: string[] = [];

  constructor(private readonly body: Body) {}

  secretId(): string {
    const id = this.string('SecretId', { required: true, min: 1, max: 2048 });
    return id ?? '';
  }

  string(field: string, rule: LengthRule = {}): string | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const text = asString(value);
    this.checkLength(memberName(field), text, text.length, rule);
    return text;
  }

  /** A blob member: base64 in JSON, returned normalised (re-encoded) so equal bytes compare equal. */
  blob(field: string, rule: LengthRule = {}): string | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const text = asString(value).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
      throw new AwsError('SerializationException', `Base64 encoded binary data for ${field} is not valid.`);
    }
    const bytes = Buffer.from(text, 'base64');
    this.checkLength(memberName(field), '', bytes.length, { ...rule, sensitive: true });
    return bytes.toString('base64');
  }

  boolean(field: string): boolean | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw conversionError(value, 'Boolean');
    return value;
  }

  integer(field: string, rule: { min?: number; max?: number } = {}): number | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw conversionError(value, 'Integer');
    const member = memberName(field);
    if (rule.min !== undefined && value < rule.min) {
      this.fail(
        `Value '${value}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${rule.min}`,
      );
    }
    if (rule.max !== undefined && value > rule.max) {
      this.fail(
        `Value '${value}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${rule.max}`,
      );
    }
    return value;
  }

  enumeration(field: string, allowed: string[]): string | undefined {
    const value = this.string(field);
    if (value !== undefined && !allowed.includes(value)) {
      this.fail(
        `Value '${value}' at '${memberName(field)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
      );
    }
    return value;
  }

  stringList(
    field: string,
    rule: { required?: boolean; min?: number; max?: number; itemMin?: number; itemMax?: number },
  ): string[] | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const items = asList(value).map((item) => asString(item));
    const member = memberName(field);
    this.checkCount(member, items, rule);
    items.forEach((item, i) => {
      this.checkLength(`${member}.${i + 1}.member`, item, item.length, { min: rule.itemMin, max: rule.itemMax });
    });
    return items;
  }

  tags(field: string, rule: { required?: boolean } = {}): Tag[] | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const member = memberName(field);
    return asList(value).map((item, i) => {
      const tag = asStructure(item);
      const key = tag.Key ?? null;
      const tagValue = tag.Value ?? null;
      const at = `${member}.${i + 1}.member`;
      if (key === null) this.fail(`Value null at '${at}.key' failed to satisfy constraint: Member must not be null`);
      if (tagValue === null) {
        this.fail(`Value null at '${at}.value' failed to satisfy constraint: Member must not be null`);
      }
      const keyText = key === null ? '' : asString(key);
      const valueText = tagValue === null ? '' : asString(tagValue);
      if (key !== null) this.checkLength(`${at}.key`, keyText, keyText.length, { min: 1, max: 128 });
      if (tagValue !== null) this.checkLength(`${at}.value`, valueText, valueText.length, { max: 256 });
      return { Key: keyText, Value: valueText };
    });
  }

  filters(field: string): Filter[] | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    const member = memberName(field);
    const list = asList(value);
    this.checkCount(member, list, { max: 10 });
    return list.map((item, i) => {
      const filter = asStructure(item);
      const at = `${member}.${i + 1}.member`;
      const keyValue = filter.Key ?? undefined;
      if (keyValue === undefined) throw new AwsError('InvalidParameterException', 'Invalid filter key');
      const key = asString(keyValue);
      if (!FILTER_KEYS.includes(key)) {
        this.fail(
          `Value '${key}' at '${at}.key' failed to satisfy constraint: Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`,
        );
      }
      const rawValues = filter.Values ?? undefined;
      if (rawValues === undefined) {
        throw new AwsError('InvalidParameterException', `Invalid filter values for key: ${key}`);
      }
      const values = asList(rawValues).map((v) => asString(v));
      this.checkCount(`${at}.values`, values, { min: 1, max: 10 });
      values.forEach((v, j) => {
        const valueAt = `${at}.values.${j + 1}.member`;
        this.checkLength(valueAt, v, v.length, { max: 512 });
        if (!FILTER_VALUE_PATTERN.test(v)) {
          this.fail(
            `Value '${v}' at '${valueAt}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$`,
          );
        }
      });
      return { key, values };
    });
  }

  /** Throws the collected constraint violations as one `ValidationException`. */
  finish(): void {
    const count = this.problems.length;
    if (count === 0) return;
    throw new AwsError(
      'ValidationException',
      `${count} validation error${count === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`,
    );
  }

  private present(field: string, required: boolean | undefined): unknown {
    const value = this.body[field];
    if (value === undefined || value === null) {
      if (required)
        this.fail(`Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    return value;
  }

  private checkLength(member: string, text: string, length: number, rule: LengthRule): void {
    const quoted = rule.sensitive ? 'Value' : `Value '${text}'`;
    if (rule.min !== undefined && length < rule.min) {
      this.fail(
        `${quoted} at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`,
      );
    }
    if (rule.max !== undefined && length > rule.max) {
      this.fail(
        `${quoted} at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
      );
    }
  }

  private checkCount(member: string, items: unknown[], rule: { min?: number; max?: number }): void {
    if (rule.min !== undefined && items.length < rule.min) {
      this.fail(
        `Value at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`,
      );
    }
    if (rule.max !== undefined && items.length > rule.max) {
      this.fail(
        `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
      );
    }
  }

  private fail(problem: string): void {
    this.problems.push(problem);
  }
}

/** `SecretId` → `secretId`: AWS names members lower-camel-case in validation messages. */
function memberName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

function asString(value: unknown): string {
  if (typeof value !== 'string') throw conversionError(value, 'String');
  return value;
}

function asList(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw conversionError(value, 'List');
  return value;
}

function asStructure(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw conversionError(value, 'Structure');
  return value as Record<string, unknown>;
}

/** AWS's wording for a JSON value of the wrong type; the value itself is never quoted. */
function conversionError(value: unknown, expected: string): AwsError {
  if (Array.isArray(value)) return new AwsError('SerializationException', 'Start of list found where not expected');
  if (value !== null && typeof value === 'object') {
    return new AwsError('SerializationException', 'Start of structure or map found where not expected.');
  }
  const token =
    typeof value === 'number'
      ? 'NUMBER_VALUE'
      : typeof value === 'boolean'
        ? value
          ? 'TRUE_VALUE'
          : 'FALSE_VALUE'
        : 'STRING_VALUE';
  return new AwsError('SerializationException', `${token} cannot be converted to ${expected}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
