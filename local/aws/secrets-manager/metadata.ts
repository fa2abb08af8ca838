/** The operations on a secret's metadata: describing and listing secrets and versions, and tagging. */
import { AwsError } from '../protocol';
import { rotationFields } from './rotation';
import { dedupeTags, type SecretRecord, type SecretStore } from './store';
import { type Body, epochSeconds, type Filter, Input } from './wire';

const DEFAULT_PAGE_SIZE = 100;
const SORT_BY = ['created-date', 'last-accessed-date', 'last-changed-date', 'name'];

export function describeSecret(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  input.finish();
  const secret = store.require(store.state, secretId);
  const { SecretVersionsToStages, ...rest } = listEntry(secret);
  return { ...rest, ...(SecretVersionsToStages ? { VersionIdsToStages: SecretVersionsToStages } : {}) };
}

export function listSecretVersionIds(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const maxResults = input.integer('MaxResults', { min: 1, max: 100 });
  const nextToken = input.string('NextToken', { min: 1, max: 4096 });
  const includeDeprecated = input.boolean('IncludeDeprecated') ?? false;
  input.finish();
  const secret = store.require(store.state, secretId);
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

export function listSecrets(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const includePlannedDeletion = input.boolean('IncludePlannedDeletion') ?? false;
  const maxResults = input.integer('MaxResults', { min: 1, max: 100 });
  const nextToken = input.string('NextToken', { min: 1, max: 4096 });
  const filters = input.filters('Filters');
  // The reference names no default direction: oldest first, like moto.
  const sortOrder = input.enumeration('SortOrder', ['asc', 'desc']) ?? 'asc';
  const sortBy = input.enumeration('SortBy', SORT_BY) ?? 'created-date';
  input.finish();
  const selected = store.state.secrets
    .filter((s) => includePlannedDeletion || s.deletionMs === undefined)
    .filter((s) => (filters ?? []).every((f) => filterMatches(s, f)));
  const key = sortKey(sortBy);
  const direction = sortOrder === 'desc' ? -1 : 1;
  selected.sort((a, b) => direction * compare(key(a), key(b)) || compare(a.name, b.name));
  const page = paginate(
    selected.map((s) => listEntry(s)),
    maxResults,
    nextToken,
  );
  return { SecretList: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
}

export function tagResource(store: SecretStore, body: Body): unknown {
  const input = new Input(body);
  const secretId = input.secretId();
  const tags = input.tags('Tags', { required: true });
  input.finish();
  return store.transact((doc) => {
    const secret = store.requireActive(doc, secretId);
    secret.tags = dedupeTags([...secret.tags, ...(tags ?? [])]);
    secret.lastChangedMs = store.nowMs();
    return {};
  });
}

/**
 * One secret's metadata. The rotation members are omitted for secrets never configured for rotation (the reference
 * returns null for them). `DeletedDate` is the end of the recovery window, as DescribeSecret documents it.
 */
function listEntry(secret: SecretRecord) {
  const labelled = secret.versions.filter((v) => v.stages.length > 0);
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    ...(secret.kmsKeyId !== undefined ? { KmsKeyId: secret.kmsKeyId } : {}),
    ...rotationFields(secret),
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
