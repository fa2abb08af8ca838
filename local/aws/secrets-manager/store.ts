/**
 * The secrets of the local Secrets Manager and their one JSON file (the local secret store, as AWS's own storage
 * is): it holds the secret values, so it is written owner-only, and no value ever appears in an error message.
 * Changes run as transactions on a draft, so a request that fails halfway leaves nothing half-changed.
 */
import { z } from 'zod';
import { JsonLog } from '../json-store';
import { AwsError } from '../protocol';

/** What the store is built with (see `LocalSecretsManagerOptions`). */
export interface SecretStoreOptions {
  now: () => Date;
  file: string | undefined;
  region: string;
  account: string;
  random: (size: number) => Buffer;
}

export const DAY_MS = 86_400_000;
export const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
export const SECRET_NOT_FOUND = "Secrets Manager can't find the specified secret.";
const ARN_PATTERN = /^arn:([^:]+):secretsmanager:([^:]*):([^:]*):secret:(.+)$/;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

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
const rotationRulesSchema = z.object({
  AutomaticallyAfterDays: z.number().optional(),
  ScheduleExpression: z.string().optional(),
  Duration: z.string().optional(),
});
/** A secret's rotation configuration, kept once `RotateSecret` configured it (also while rotation is off). */
const rotationSchema = z.object({
  lambdaArn: z.string().optional(),
  rules: rotationRulesSchema.optional(),
  enabled: z.boolean(),
  /** When rotation was last configured or turned back on: the schedule counts from it until a rotation completes. */
  configuredMs: z.number(),
  /** When a rotation last completed (its `finishSecret` step left `AWSCURRENT` on the new version). */
  lastRotatedMs: z.number().optional(),
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
  /** When `PutSecretValue` last made a new version `AWSCURRENT`: a manual rotation, for the rotation schedule. */
  valueChangedMs: z.number().optional(),
  rotation: rotationSchema.optional(),
  versions: z.array(versionSchema),
});
const documentSchema = z.object({ secrets: z.array(secretSchema) });

export type Tag = z.infer<typeof tagSchema>;
export type VersionRecord = z.infer<typeof versionSchema>;
export type RotationRules = z.infer<typeof rotationRulesSchema>;
export type RotationRecord = z.infer<typeof rotationSchema>;
export type SecretRecord = z.infer<typeof secretSchema>;
export type SecretsDocument = z.infer<typeof documentSchema>;
/** One change appended to the secrets file: the secrets it created or changed, stored whole. */
interface SecretsChange {
  put: SecretRecord[];
}

export function dedupeTags(tags: Tag[]): Tag[] {
  const byKey = new Map<string, Tag>();
  for (const tag of tags) byKey.set(tag.Key, { Key: tag.Key, Value: tag.Value });
  return [...byKey.values()];
}

/** The committed secrets, and the transactions that change them. */
export class SecretStore {
  private readonly now: () => Date;
  private readonly region: string;
  private readonly account: string;
  private readonly partition: string;
  private readonly random: (size: number) => Buffer;
  private readonly file: string | undefined;
  private readonly log: JsonLog<unknown, SecretsChange>;
  private committed: SecretsDocument;
  /** While a change runs: its draft, and the secrets it still shares with the committed state. */
  private draft: { doc: SecretsDocument; shared: Set<SecretRecord> } | undefined;

  constructor(options: SecretStoreOptions) {
    this.now = options.now;
    this.region = options.region;
    this.account = options.account;
    this.partition = partitionOf(this.region);
    this.random = options.random;
    this.file = options.file;
    this.log = new JsonLog<unknown, SecretsChange>(options.file, () => ({ secrets: [] }));
    this.committed = this.load();
  }

  /** The committed state; change it only through {@link transact}. */
  get state(): SecretsDocument {
    return this.committed;
  }

  nowMs(): number {
    return this.now().getTime();
  }

  private load(): SecretsDocument {
    let raw: unknown;
    try {
      const saved = this.log.read();
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
  transact<T>(change: (doc: SecretsDocument) => T): T {
    const shared = new Set(this.committed.secrets);
    const doc: SecretsDocument = { ...this.committed, secrets: [...this.committed.secrets] };
    this.draft = { doc, shared };
    let result: T;
    try {
      result = change(doc);
    } finally {
      this.draft = undefined;
    }
    this.persist(doc, shared);
    this.committed = doc;
    return result;
  }

  private persist(doc: SecretsDocument, shared: Set<SecretRecord>): void {
    if (!this.file) return;
    const put = doc.secrets.filter((s) => !shared.has(s));
    const kept = new Set(doc.secrets.map((s) => s.arn));
    const removed = this.committed.secrets.filter((s) => !kept.has(s.arn));
    // A value that is gone (secret deleted, version pruned) must leave the file too: that takes a whole rewrite.
    const before = new Map(put.length > 0 ? this.committed.secrets.map((s) => [s.arn, s]) : []);
    const dropsVersion = put.some((s) => {
      const ids = new Set(s.versions.map((v) => v.id));
      return before.get(s.arn)?.versions.some((v) => !ids.has(v.id)) ?? false;
    });
    if (!this.log.ready || this.log.wantsRewrite || removed.length > 0 || dropsVersion) {
      // The file holds secret values: owner-only, like a credentials file (JsonLog writes it so).
      this.log.write(doc);
    } else if (put.length > 0) {
      this.log.append({ put });
    }
  }

  /** Removes secrets whose recovery window has ended by the simulated clock. */
  purgeExpired(): void {
    const nowMs = this.nowMs();
    const expired = (s: SecretRecord) => s.deletionMs !== undefined && s.deletionMs <= nowMs;
    if (!this.committed.secrets.some(expired)) return;
    this.transact((doc) => {
      doc.secrets = doc.secrets.filter((s) => !expired(s));
    });
  }

  /** Resolves a `SecretId`: the name, the full ARN, or the ARN without its 6-character suffix. */
  find(doc: SecretsDocument, secretId: string): SecretRecord | undefined {
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

  require(doc: SecretsDocument, secretId: string): SecretRecord {
    const secret = this.find(doc, secretId);
    if (!secret) throw new AwsError('ResourceNotFoundException', SECRET_NOT_FOUND);
    return secret;
  }

  /**
   * Like `require`, refusing secrets scheduled for deletion. Reads of metadata (DescribeSecret,
   * ListSecretVersionIds, GetResourcePolicy) and RestoreSecret still work on them; values and changes do not.
   */
  requireActive(doc: SecretsDocument, secretId: string): SecretRecord {
    const secret = this.require(doc, secretId);
    if (secret.deletionMs !== undefined) throw new AwsError('InvalidRequestException', MARKED_FOR_DELETION);
    return secret;
  }

  /** What a forced delete of an unknown secret reports: the name, and the ARN if one was given. */
  identityOf(secretId: string): { ARN?: string; Name: string } {
    const arn = ARN_PATTERN.exec(secretId);
    return arn ? { ARN: secretId, Name: arn[4] ?? secretId } : { Name: secretId };
  }

  newArn(doc: SecretsDocument, name: string): string {
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
  newVersionId(): string {
    const bytes = Buffer.from(this.random(16));
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
