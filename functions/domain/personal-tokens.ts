/**
 * Members' own (personal) API tokens: what the scan concludes about each listed token, and the rules of the three
 * modes. Pure: the scan use case (`../use-cases/personal-tokens`) feeds it what Atlassian lists and what is stored,
 * and writes only what these functions say changed.
 */
import type { PersonalTokenPolicy } from './policy';
import { isoSeconds } from './ports';

export const PERSONAL_TOKEN_FLAGS = ['UNSCOPED', 'STALE', 'NEVER_USED', 'OVER_LIFETIME', 'UNAPPROVED_ACCESS'] as const;
export type PersonalTokenFlag = (typeof PERSONAL_TOKEN_FLAGS)[number];

export const PERSONAL_TOKEN_STATES = ['OPEN', 'EXEMPT', 'REVOKED', 'GONE'] as const;
/**
 * `OPEN`: acted on per the mode. `EXEMPT`: the owner is in `exemptUsers` or holds an active access exception.
 * `REVOKED`: Token Warden revoked it. `GONE`: a complete listing no longer had it (deleted or expired).
 */
export type PersonalTokenState = (typeof PERSONAL_TOKEN_STATES)[number];

/** A member's token as the org-wide listing shows it (API Access `ApiToken`). */
export interface ListedToken {
  id: string;
  label: string;
  status: 'ALLOWED' | 'BLOCKED';
  createdAt: string;
  expiresAt?: string;
  lastActiveAt?: string;
  user: { id: string; name?: string; email?: string };
  /** `[]` is an unscoped token; absent is read the same way (a classic token carries no scopes). */
  scopes?: string[];
}

/** What Token Warden records about one personal token. */
export interface PersonalTokenRecord {
  atlassianTokenId: string;
  owner: { accountId: string; email: string; name: string };
  label: string;
  scopes: string[];
  unscoped: boolean;
  atlassianStatus: 'ALLOWED' | 'BLOCKED';
  createdAt: string;
  expiresAt?: string;
  lastActiveAt?: string;
  flags: PersonalTokenFlag[];
  state: PersonalTokenState;
  firstSeenAt: string;
  /** When a scan last wrote the record; the representation shows the latest complete scan for listed tokens. */
  lastSeenAt: string;
  noticeSentAt?: string;
  revokeAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
  /** How many notice periods an exemption ended (bookkeeping: one notice per period; not in the representation). */
  noticeRound?: number;
  /**
   * An admin's revoke whose DELETE at Atlassian has not gone through yet: the owner is told once it has (bookkeeping,
   * not in the representation).
   */
  deletePending?: boolean;
}

/** A record as stored, with its optimistic-concurrency version. */
export interface StoredPersonalToken extends PersonalTokenRecord {
  version: number;
}

/** What the rules need to know about the owner and the moment. */
export interface ScanContext {
  now: Date;
  policy: PersonalTokenPolicy;
  /** Whether the owner (lower-cased email) holds an active access exception. */
  hasException: (email: string) => boolean;
}

/** Why something happened to a record, as the scan reports it. */
export type ObservedChange = 'FOUND' | 'REAPPEARED' | 'EXEMPTED' | 'REOPENED' | 'UPDATED' | 'STILL_LISTED';

const DAY_MS = 24 * 3600 * 1000;
const SERVICE_ACCOUNT_EMAIL = /@serviceaccount\.atlassian\.com$/i;

/** A service account's token: never a personal token (catalogued ones are governed; their drift is reported apart). */
export function isServiceAccountToken(token: ListedToken, cataloguedAccountIds: ReadonlySet<string>): boolean {
  return cataloguedAccountIds.has(token.user.id) || SERVICE_ACCOUNT_EMAIL.test(token.user.email ?? '');
}

const ownerEmail = (token: ListedToken) => (token.user.email ?? '').toLowerCase();

/** Whether the owner is never acted on: listed in `exemptUsers`, or holding an active exception. */
export function isExempt(email: string, ctx: ScanContext): boolean {
  const lower = email.toLowerCase();
  return ctx.policy.exemptUsers.includes(lower) || ctx.hasException(lower);
}

const olderThan = (iso: string, days: number, now: Date) => now.getTime() - Date.parse(iso) > days * DAY_MS;

/** The flags of a listed token, in the canonical order of {@link PERSONAL_TOKEN_FLAGS}. */
export function flagsOf(token: ListedToken, ctx: ScanContext): PersonalTokenFlag[] {
  const { policy, now } = ctx;
  const flags = new Set<PersonalTokenFlag>();
  if ((token.scopes ?? []).length === 0) flags.add('UNSCOPED');
  if (token.lastActiveAt === undefined) {
    flags.add('NEVER_USED');
    if (olderThan(token.createdAt, policy.staleAfterDays, now)) flags.add('STALE');
  } else if (olderThan(token.lastActiveAt, policy.staleAfterDays, now)) {
    flags.add('STALE');
  }
  if (policy.maxLifetimeDays !== undefined) {
    const lifetime =
      token.expiresAt === undefined
        ? Number.POSITIVE_INFINITY
        : Date.parse(token.expiresAt) - Date.parse(token.createdAt);
    if (lifetime > policy.maxLifetimeDays * DAY_MS) flags.add('OVER_LIFETIME');
  }
  if (token.status === 'ALLOWED' && !isExempt(ownerEmail(token), ctx)) flags.add('UNAPPROVED_ACCESS');
  return PERSONAL_TOKEN_FLAGS.filter((f) => flags.has(f));
}

/** Every persisted field but the bookkeeping ones, for "did anything change?". */
function comparable(record: PersonalTokenRecord): string {
  const { lastSeenAt: _seen, ...rest } = record as PersonalTokenRecord & { version?: number };
  delete (rest as { version?: number }).version;
  return canonical(rest);
}

/** JSON with every object's keys sorted, at every depth (a key list passed to `JSON.stringify` would drop nested keys). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The record after a complete or partial listing showed `token`: created, updated, or unchanged (`changed: false`
 * means no write). A revoked token that is still listed stays `REVOKED` (the scan revokes it again).
 */
export function observe(
  existing: PersonalTokenRecord | undefined,
  token: ListedToken,
  ctx: ScanContext,
): { record: PersonalTokenRecord; changed: boolean; change: ObservedChange } {
  const now = isoSeconds(ctx.now);
  const email = ownerEmail(token);
  const exempt = isExempt(email, ctx);
  const scopes = [...(token.scopes ?? [])];
  const record: PersonalTokenRecord = {
    atlassianTokenId: token.id,
    owner: { accountId: token.user.id, email, name: token.user.name ?? '' },
    label: token.label,
    scopes,
    unscoped: scopes.length === 0,
    atlassianStatus: token.status,
    createdAt: token.createdAt,
    flags: flagsOf(token, ctx),
    state: existing?.state === 'REVOKED' ? 'REVOKED' : exempt ? 'EXEMPT' : 'OPEN',
    firstSeenAt: existing?.firstSeenAt ?? now,
    lastSeenAt: now,
  };
  if (token.expiresAt !== undefined) record.expiresAt = token.expiresAt;
  if (token.lastActiveAt !== undefined) record.lastActiveAt = token.lastActiveAt;
  // An exemption clears the notice: should it end, the owner is told afresh and gets a new notice period.
  if (existing && record.state !== 'EXEMPT') {
    for (const key of ['noticeSentAt', 'revokeAt', 'revokedAt', 'revokedBy', 'revokeReason'] as const) {
      const value = existing[key];
      if (value !== undefined) record[key] = value;
    }
  }
  const round =
    (existing?.noticeRound ?? 0) + (existing?.noticeSentAt !== undefined && record.state === 'EXEMPT' ? 1 : 0);
  if (round > 0) record.noticeRound = round;
  if (existing?.state === 'REVOKED') {
    for (const key of ['revokedAt', 'revokedBy', 'revokeReason'] as const) {
      const value = existing[key];
      if (value !== undefined) record[key] = value;
    }
    if (existing.deletePending) record.deletePending = true;
  }
  if (!existing) return { record, changed: true, change: 'FOUND' };
  if (existing.state === 'REVOKED') {
    return { record, changed: comparable(existing) !== comparable(record), change: 'STILL_LISTED' };
  }
  const changed = comparable(existing) !== comparable(record);
  const change: ObservedChange =
    existing.state === 'GONE'
      ? 'REAPPEARED'
      : existing.state !== record.state
        ? record.state === 'EXEMPT'
          ? 'EXEMPTED'
          : 'REOPENED'
        : 'UPDATED';
  return changed ? { record, changed, change } : { record: existing, changed: false, change };
}

/** Whether the owner is to be told about the token now (notify and revoke modes; once per notice period). */
export function noticeDue(record: PersonalTokenRecord, mode: PersonalTokenPolicy['mode']): boolean {
  if (mode === 'report' || record.state !== 'OPEN') return false;
  return record.noticeSentAt === undefined || (mode === 'revoke' && record.revokeAt === undefined);
}

/** The record once the owner's notice went out: in revoke mode it is revoked `revokeAfterDays` later. */
export function withNotice(record: PersonalTokenRecord, policy: PersonalTokenPolicy, now: Date): PersonalTokenRecord {
  const next: PersonalTokenRecord = { ...record, noticeSentAt: isoSeconds(now) };
  if (policy.mode === 'revoke') next.revokeAt = isoSeconds(new Date(now.getTime() + policy.revokeAfterDays * DAY_MS));
  return next;
}

/** Whether the token is to be revoked in this scan: revoke mode, still `OPEN`, its notice period over. */
export function revocationDue(record: PersonalTokenRecord, policy: PersonalTokenPolicy, now: Date): boolean {
  return (
    policy.mode === 'revoke' &&
    record.state === 'OPEN' &&
    record.revokeAt !== undefined &&
    Date.parse(record.revokeAt) <= now.getTime()
  );
}

/**
 * The safety cap: more revocations due than `maxRevocationsPerScan` means none of them (something is off: a policy
 * mistake, a listing glitch), and the admins are alerted.
 */
export function capRevocations<T>(due: readonly T[], cap: number): { revoke: T[]; capped: boolean } {
  return due.length > cap ? { revoke: [], capped: true } : { revoke: [...due], capped: false };
}

/** The record once Token Warden revoked the token. */
export function withRevocation(
  record: PersonalTokenRecord,
  revocation: { at: Date; by: string; reason: string },
): PersonalTokenRecord {
  const at = isoSeconds(revocation.at);
  return {
    ...record,
    state: 'REVOKED',
    revokedAt: at,
    revokedBy: revocation.by,
    revokeReason: revocation.reason,
    lastSeenAt: at,
  };
}

/** The record once a complete listing no longer had the token. Revoked ones stay `REVOKED`. */
export function withGone(record: PersonalTokenRecord): PersonalTokenRecord | undefined {
  if (record.state === 'REVOKED' || record.state === 'GONE') return undefined;
  return { ...record, state: 'GONE' };
}

/**
 * The representation: the record without bookkeeping. A token still listed (`OPEN`/`EXEMPT`) was seen by the latest
 * complete scan, so its `lastSeenAt` is that scan's time even when the scan had nothing to write.
 */
export function personalTokenView(
  record: PersonalTokenRecord & { version?: number },
  latestCompleteScanAt?: string,
): PersonalTokenRecord {
  const { version: _version, noticeRound: _round, deletePending: _pending, ...view } = record;
  if (
    latestCompleteScanAt !== undefined &&
    (view.state === 'OPEN' || view.state === 'EXEMPT') &&
    latestCompleteScanAt > view.lastSeenAt
  ) {
    view.lastSeenAt = latestCompleteScanAt;
  }
  return view;
}

/** One scan of the org's personal tokens (`GET /inventory/scans/{scanId}`). */
export interface ScanRecord {
  scanId: string;
  /** `RUNNING` (also while waiting to retry an incomplete listing), `COMPLETE`, or `INCOMPLETE` (gave up). */
  status: 'RUNNING' | 'COMPLETE' | 'INCOMPLETE';
  trigger: 'schedule' | 'api';
  /** The admin who asked for it (`POST /inventory/scan`). */
  requestedBy?: string;
  startedAt: string;
  finishedAt?: string;
  /** Listing attempts so far (an incomplete listing is retried). */
  attempts: number;
  /** Personal tokens listed (service accounts' tokens are not counted). */
  listed: number;
  new: number;
  revoked: number;
  gone: number;
  /** Service accounts' tokens the listing held (never personal tokens). */
  skipped?: number;
  /** Revocations that were due, when over `maxRevocationsPerScan` (none was made). */
  revocationsCapped?: number;
  /** Why the last listing attempt stopped part-way (an error code and route, never a response body). */
  error?: string;
}

/** The scan as the API shows it. */
export function scanView(scan: ScanRecord): ScanRecord {
  return { ...scan };
}
