/**
 * Members' own (personal) API tokens: the scan of the org-wide listing, what each mode does with what it found, and
 * the admin and member routes over the records. The rules are the domain's (`../domain/personal-tokens`); this file
 * pages, reads, writes and audits. It sends no mail: the notifier tells owners and admins from the audit's events
 * (`./notices/personal-tokens`).
 *
 * Safety, in the order the scan does things:
 * - Paging first. Each page's tokens are compared with their stored records (one batched read per 100) and only
 *   what changed is written. A page that fails after its retries ends the listing: the scan is `INCOMPLETE`, nothing
 *   it did not see is marked `GONE`, nothing is revoked and no notice goes out; the workflow retries it.
 * - Only after a complete listing: records no longer listed become `GONE`, revoked tokens still listed are revoked
 *   again (a revoke holds), due revocations are made (none when more are due than `maxRevocationsPerScan`), notices
 *   are recorded, and one `PERSONAL_TOKEN_SCAN_COMPLETED` (the admins' digest) if anything is new.
 * - Every revocation re-reads its record and re-checks the owner's exemption just before acting, and turns the record
 *   `REVOKED` (a conditional write) before the DELETE at Atlassian, so a racing exemption or admin action wins or
 *   loses cleanly, and a DELETE that fails is repeated by the next scan that still sees the token.
 */
import { conflict, forbidden, notFound, RequestError, validationError } from '../domain/errors';
import type { Caller } from '../domain/model';
import { DIGEST_LINES } from '../domain/personal-token-messages';
import {
  capRevocations,
  isExempt,
  isServiceAccountToken,
  type ListedToken,
  noticeDue,
  observe,
  PERSONAL_TOKEN_FLAGS,
  PERSONAL_TOKEN_STATES,
  type PersonalTokenFlag,
  type PersonalTokenRecord,
  type PersonalTokenState,
  personalTokenView,
  revocationDue,
  type ScanContext,
  type ScanRecord,
  type StoredPersonalToken,
  scanView,
  withGone,
  withNotice,
  withRevocation,
} from '../domain/personal-tokens';
import type { Policy } from '../domain/policy';
import { type Clock, isoSeconds, type Random } from '../domain/ports';
import { AtlassianError, AtlassianNotFoundError } from './port-errors';
import type {
  Atlassian,
  AuditTrail,
  OperatorLog,
  PersonalTokenRepository,
  ScanRepository,
  TokenRepository,
} from './ports';
import { parseLimit } from './requests';
import { parseRevokeBody } from './revoke';

/** The repositories these use cases read and write. */
export type PersonalTokenStore = PersonalTokenRepository & ScanRepository & Pick<TokenRepository, 'allTokens'>;

/** Who holds an active access exception (lower-cased emails). */
export interface ExceptionHolders {
  activeHolders(): Promise<ReadonlySet<string>>;
}

export interface PersonalTokenDeps {
  store: PersonalTokenStore;
  audit: AuditTrail;
  atlassian: Pick<Atlassian, 'orgTokens' | 'revokeToken'>;
  clock: Clock;
  random: Random;
  policy: Policy;
  /** Members holding an active access exception are exempt. @default nobody */
  exceptions?: ExceptionHolders;
  log?: OperatorLog;
}

/** A listing that failed this many times gives up (`INCOMPLETE`); the next scheduled scan starts afresh. */
export const MAX_SCAN_ATTEMPTS = 3;
/** A scan lock older than this is taken over: the workflow's retries and waits fit well inside it. */
const SCAN_LOCK_HOURS = 3;
/** The listing's page size: Atlassian's maximum, so the calls are as few as the org allows. */
export const SCAN_PAGE_SIZE = 1000;

const PERSONAL_TOKEN_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const SCAN_ID = /^scan_[a-z2-7]{26}$/;

function governance(policy: Policy) {
  const settings = policy.personalTokens;
  const organization = policy.organization;
  if (!settings || !organization) {
    throw conflict('personal-token governance is off: the policy has no personalTokens and organization sections');
  }
  return { settings, organization };
}

const auditRecord = (
  event: Parameters<AuditTrail['append']>[0]['event'],
  record: Pick<PersonalTokenRecord, 'atlassianTokenId' | 'owner'>,
  at: string,
  context: { actor: string; requestId: string },
  details: Record<string, string | number | boolean | string[]> = {},
) => ({
  correlationId: `personal-token:${record.atlassianTokenId}`,
  event,
  at,
  actor: context.actor,
  requestId: context.requestId,
  details: { atlassianTokenId: record.atlassianTokenId, owner: record.owner.email, ...details },
});

// ---- starting a scan

/**
 * Takes the scan lock and records a new scan (`POST /inventory/scan`, or the daily schedule with `caller`
 * absent). Refused with 409 while another scan runs.
 */
export async function beginScan(
  deps: Pick<PersonalTokenDeps, 'store' | 'clock' | 'random' | 'policy'>,
  trigger: { caller?: Caller },
): Promise<ScanRecord> {
  if (trigger.caller && !trigger.caller.isAdmin) throw forbidden('only admins can start a scan');
  governance(deps.policy);
  const now = deps.clock.now();
  const scan: ScanRecord = {
    scanId: `scan_${deps.random.id()}`,
    status: 'RUNNING',
    trigger: trigger.caller ? 'api' : 'schedule',
    ...(trigger.caller ? { requestedBy: trigger.caller.email } : {}),
    startedAt: isoSeconds(now),
    attempts: 0,
    listed: 0,
    new: 0,
    revoked: 0,
    gone: 0,
  };
  const staleBefore = isoSeconds(new Date(now.getTime() - SCAN_LOCK_HOURS * 3600 * 1000));
  const holder = await deps.store.claimScan(scan, staleBefore);
  if (holder) {
    throw new RequestError('CONFLICT', `scan ${holder.scanId} is running (started ${holder.startedAt})`);
  }
  return scan;
}

// ---- the scan

/**
 * What one listing attempt found, kept in memory: ids and counts, and the ids of the first few new tokens for the
 * digest, never every record (memory stays near flat in the org size).
 */
interface Listing {
  seen: Set<string>;
  listed: number;
  skipped: number;
  /** How many tokens the listing saw for the first time. */
  newCount: number;
  /** The ids of the first {@link DIGEST_LINES} of them, for the admins' digest. */
  foundIds: string[];
  noticeIds: string[];
  dueIds: string[];
  stillListedRevoked: StillListed[];
}

/**
 * One attempt of scan `scanId`: lists the org, records what changed, and — when the listing was complete — acts per
 * the mode. Safe to repeat: a complete scan is returned as it is; an incomplete one lists again from the start.
 */
export async function runScan(deps: PersonalTokenDeps, scanId: string): Promise<{ scan: ScanRecord; retry: boolean }> {
  const { settings, organization } = governance(deps.policy);
  const stored = await deps.store.getScan(scanId);
  if (!stored) throw new Error(`scan ${scanId} has no record`);
  if (stored.status !== 'RUNNING') return { scan: stored, retry: false };
  const now = deps.clock.now();
  const at = isoSeconds(now);
  const scan: ScanRecord = { ...stored, attempts: stored.attempts + 1 };
  const context = { actor: 'token-warden', requestId: scanId };

  const holders = (await deps.exceptions?.activeHolders()) ?? new Set<string>();
  const ctx: ScanContext = { now, policy: settings, hasException: (email) => holders.has(email) };
  const catalogued = new Set(deps.policy.serviceAccounts.map((a) => a.atlassianId));
  const listing: Listing = {
    seen: new Set(),
    listed: 0,
    skipped: 0,
    newCount: 0,
    foundIds: [],
    noticeIds: [],
    dueIds: [],
    stillListedRevoked: [],
  };

  try {
    let cursor: string | undefined;
    do {
      const page = await deps.atlassian.orgTokens(organization.orgId, {
        pageSize: SCAN_PAGE_SIZE,
        ...(cursor === undefined ? {} : { cursor }),
      });
      await recordPage(deps, ctx, listing, page.data, catalogued, context, at);
      cursor = page.next;
    } while (cursor !== undefined);
  } catch (error) {
    if (!(error instanceof AtlassianError)) throw error;
    // Error names and keys only: never a response body.
    scan.error = `${error.name}${error.status === undefined ? '' : ` ${error.status}`}: ${error.message}`;
    scan.listed = listing.listed;
    // Tokens first seen by an earlier, incomplete attempt count as new in this scan too.
    scan.new = stored.new + listing.newCount;
    const retry = scan.attempts < MAX_SCAN_ATTEMPTS;
    if (!retry) {
      scan.status = 'INCOMPLETE';
      scan.finishedAt = at;
    }
    await deps.store.saveScan(scan, { release: !retry });
    await deps.audit.append(
      {
        correlationId: `personal-token-scan:${scanId}`,
        event: 'PERSONAL_TOKEN_SCAN_INCOMPLETE',
        at,
        actor: 'token-warden',
        requestId: scanId,
        details: { attempt: scan.attempts, listed: listing.listed, willRetry: retry, error: scan.error },
      },
      `incomplete:${scan.attempts}`,
    );
    // The representation shows `INCOMPLETE` while a retry waits, too.
    return { scan: { ...scan, status: 'INCOMPLETE' }, retry };
  }

  scan.listed = listing.listed;
  scan.skipped = listing.skipped;
  scan.new = stored.new + listing.newCount;
  scan.gone = await markGone(deps, listing.seen, context, at);
  await reRevoke(deps, listing.stillListedRevoked);
  const revocation = await revokeDue(deps, settings, ctx, listing.dueIds, context);
  scan.revoked = revocation.revoked;
  if (revocation.capped) scan.revocationsCapped = listing.dueIds.length;
  await recordNotices(deps, settings, listing.noticeIds, context);
  await recordCompletion(deps, settings, scan, listing, revocation);
  delete scan.error;
  scan.status = 'COMPLETE';
  scan.finishedAt = isoSeconds(deps.clock.now());
  await deps.store.saveScan(scan, { release: true, complete: true });
  return { scan, retry: false };
}

/** Records one page of the listing: one batched read, a write only for what changed. */
async function recordPage(
  deps: PersonalTokenDeps,
  ctx: ScanContext,
  listing: Listing,
  tokens: ListedToken[],
  catalogued: ReadonlySet<string>,
  context: { actor: string; requestId: string },
  at: string,
) {
  const personal = tokens.filter((t) => {
    if (!isServiceAccountToken(t, catalogued)) return true;
    listing.skipped++;
    return false;
  });
  const existing = await deps.store.getPersonalTokens(personal.map((t) => t.id));
  const fresh = personal.filter((token) => {
    if (listing.seen.has(token.id)) return false;
    listing.seen.add(token.id);
    listing.listed++;
    return true;
  });
  // A few records at a time: a first scan of a large org writes two items per token, which one after another
  // would take longer than the function may run.
  for (let i = 0; i < fresh.length; i += PAGE_WRITE_CONCURRENCY) {
    await Promise.all(
      fresh
        .slice(i, i + PAGE_WRITE_CONCURRENCY)
        .map((token) => recordToken(deps, ctx, listing, token, existing, context, at)),
    );
  }
}

/** How many tokens of a page are written at once. */
const PAGE_WRITE_CONCURRENCY = 16;

/** One listed token: its record written if anything changed, audited, and queued for a notice or a revocation. */
async function recordToken(
  deps: PersonalTokenDeps,
  ctx: ScanContext,
  listing: Listing,
  token: ListedToken,
  existing: ReadonlyMap<string, StoredPersonalToken>,
  context: { actor: string; requestId: string },
  at: string,
) {
  let prior = existing.get(token.id);
  let outcome = observe(prior, token, ctx);
  let saved: StoredPersonalToken | undefined = prior;
  for (let attempt = 0; outcome.changed; attempt++) {
    saved = prior
      ? await deps.store.savePersonalToken({ ...outcome.record, version: prior.version })
      : (await deps.store.createPersonalToken({ ...outcome.record, version: 1 }))
        ? { ...outcome.record, version: 1 }
        : undefined;
    if (saved || attempt >= 2) break;
    // Someone (an admin's revoke, another scan) wrote it meanwhile: compare with what is there now.
    prior = await deps.store.getPersonalToken(token.id);
    outcome = observe(prior, token, ctx);
  }
  if (!saved) return;
  const record = saved;
  if (outcome.change === 'FOUND') {
    listing.newCount++;
    if (listing.foundIds.length < DIGEST_LINES) listing.foundIds.push(record.atlassianTokenId);
    await deps.audit.append(
      auditRecord('PERSONAL_TOKEN_FOUND', record, at, context, {
        state: record.state,
        flags: record.flags,
        label: record.label,
      }),
      'found',
    );
  } else if (outcome.change === 'EXEMPTED' || outcome.change === 'REOPENED') {
    await deps.audit.append(
      auditRecord(
        outcome.change === 'EXEMPTED' ? 'PERSONAL_TOKEN_EXEMPTED' : 'PERSONAL_TOKEN_REOPENED',
        record,
        at,
        context,
      ),
      `${outcome.change.toLowerCase()}:${context.requestId}`,
    );
  }
  if (record.state === 'REVOKED') {
    listing.stillListedRevoked.push({
      id: record.atlassianTokenId,
      accountId: record.owner.accountId,
      deletePending: record.deletePending === true,
    });
  }
  if (noticeDue(record, ctx.policy.mode)) listing.noticeIds.push(record.atlassianTokenId);
  if (revocationDue(record, ctx.policy, ctx.now)) listing.dueIds.push(record.atlassianTokenId);
}

/** After a complete listing: every record it did not have is `GONE` (revoked ones stay `REVOKED`). */
async function markGone(
  deps: PersonalTokenDeps,
  seen: ReadonlySet<string>,
  context: { actor: string; requestId: string },
  at: string,
): Promise<number> {
  let gone = 0;
  await deps.store.eachPersonalTokenPage(async (records) => {
    for (const record of records) {
      if (seen.has(record.atlassianTokenId)) continue;
      const next = withGone(record);
      if (!next) continue;
      const saved = await deps.store.savePersonalToken({ ...next, version: record.version });
      if (!saved) continue;
      gone++;
      await deps.audit.append(auditRecord('PERSONAL_TOKEN_GONE', record, at, context), `gone:${context.requestId}`);
    }
  });
  return gone;
}

/** A `REVOKED` token the listing still had. */
interface StillListed {
  id: string;
  accountId: string;
  /** An admin's revoke whose DELETE has not gone through yet. */
  deletePending: boolean;
}

/**
 * A token Token Warden revoked is listed again: the DELETE did not hold, so it is repeated. An admin's revoke whose
 * DELETE failed is finished here: once Atlassian accepts it, the owner is told.
 */
async function reRevoke(deps: PersonalTokenDeps, tokens: StillListed[]) {
  for (const { id, accountId, deletePending } of tokens) {
    try {
      await deps.atlassian.revokeToken(accountId, id);
    } catch (error) {
      if (!(error instanceof AtlassianError)) throw error;
      deps.log?.warn('a revoked personal token is still listed and revoking it again failed', {
        atlassianTokenId: id,
        error: error.name,
      });
      continue;
    }
    const record = deletePending ? await deps.store.getPersonalToken(id) : undefined;
    if (!record?.deletePending) continue;
    const done = await confirmDeleted(deps, record);
    if (done) await auditRevocation(deps, done, { actor: done.revokedBy ?? 'token-warden', requestId: 'admin' });
  }
}

/** The revocations due, within the safety cap. */
async function revokeDue(
  deps: PersonalTokenDeps,
  settings: NonNullable<Policy['personalTokens']>,
  ctx: ScanContext,
  dueIds: string[],
  context: { actor: string; requestId: string },
): Promise<{ revoked: number; capped: boolean }> {
  const { revoke, capped } = capRevocations(dueIds, settings.maxRevocationsPerScan);
  if (capped) {
    const at = isoSeconds(deps.clock.now());
    await deps.audit.append(
      {
        correlationId: `personal-token-scan:${context.requestId}`,
        event: 'PERSONAL_TOKEN_REVOCATIONS_CAPPED',
        at,
        actor: 'token-warden',
        requestId: context.requestId,
        details: { due: dueIds.length, maxRevocationsPerScan: settings.maxRevocationsPerScan },
      },
      'capped',
    );
    return { revoked: 0, capped: true };
  }
  let revoked = 0;
  // Exceptions granted while the listing ran count: the holders are read again just before acting.
  const holders = (await deps.exceptions?.activeHolders()) ?? new Set<string>();
  const current: ScanContext = { ...ctx, hasException: (email) => holders.has(email) };
  for (const id of revoke) {
    const record = await deps.store.getPersonalToken(id);
    // Re-checked just before acting: an exemption or exception granted meanwhile keeps the token.
    if (!record || !revocationDue(record, settings, ctx.now) || isExempt(record.owner.email, current)) continue;
    const next = withRevocation(record, { at: deps.clock.now(), by: 'token-warden', reason: 'NOTICE_PERIOD_ENDED' });
    const saved = await deps.store.savePersonalToken({ ...next, version: record.version });
    if (!saved) continue;
    if (await revokeAtAtlassian(deps, saved)) revoked++;
    // The owner is told from this event, whether or not the DELETE held: the next scan that lists it repeats that.
    await auditRevocation(deps, saved, context);
  }
  return { revoked, capped: false };
}

/** The DELETE; a failure leaves the record `REVOKED` and the next scan that still lists the token repeats it. */
async function revokeAtAtlassian(
  deps: Pick<PersonalTokenDeps, 'atlassian' | 'log'>,
  record: PersonalTokenRecord,
): Promise<boolean> {
  try {
    await deps.atlassian.revokeToken(record.owner.accountId, record.atlassianTokenId);
    return true;
  } catch (error) {
    if (!(error instanceof AtlassianError)) throw error;
    deps.log?.warn('revoking a personal token failed; the next scan repeats it', {
      atlassianTokenId: record.atlassianTokenId,
      error: error.name,
    });
    return false;
  }
}

async function auditRevocation(
  deps: PersonalTokenDeps,
  record: StoredPersonalToken,
  context: { actor: string; requestId: string },
) {
  const at = record.revokedAt ?? isoSeconds(deps.clock.now());
  await deps.audit.append(
    auditRecord('PERSONAL_TOKEN_REVOKED', record, at, context, {
      reason: record.revokeReason ?? 'unspecified',
      label: record.label,
    }),
    'revoked',
  );
}

/**
 * Owners' notices of tokens first seen `OPEN` (or, in revoke mode, not yet given a revocation date): each is audited
 * (`PERSONAL_TOKEN_NOTICE_SENT`, once per notice period and mode), which the notifier emails, before the record says
 * so. A step that stops between the two leaves the record due, so a retried or later scan records the notice again:
 * the audit's write finds it present and its event, published again, sends nothing twice.
 */
async function recordNotices(
  deps: PersonalTokenDeps,
  settings: NonNullable<Policy['personalTokens']>,
  ids: string[],
  context: { actor: string; requestId: string },
) {
  for (const id of ids) {
    const record = await deps.store.getPersonalToken(id);
    if (!record || !noticeDue(record, settings.mode)) continue;
    const now = deps.clock.now();
    const next = withNotice(record, settings, now);
    const round = record.noticeRound ?? 0;
    await deps.audit.append(
      auditRecord('PERSONAL_TOKEN_NOTICE_SENT', next, isoSeconds(now), context, {
        mode: settings.mode,
        ...(next.revokeAt ? { revokeAt: next.revokeAt } : {}),
      }),
      `notice:${round}:${settings.mode}`,
    );
    // Changed meanwhile: it stays due, and the next scan saves it (its notice is already told).
    await deps.store.savePersonalToken({ ...next, version: record.version });
  }
}

/**
 * One `PERSONAL_TOKEN_SCAN_COMPLETED` per scan that found something new (or gone, revoked, or capped): the admins'
 * digest, told from its counts and the ids of the first new tokens.
 */
async function recordCompletion(
  deps: PersonalTokenDeps,
  settings: NonNullable<Policy['personalTokens']>,
  scan: ScanRecord,
  listing: Listing,
  revocation: { revoked: number; capped: boolean },
) {
  if (scan.new === 0 && scan.gone === 0 && revocation.revoked === 0 && !revocation.capped) return;
  await deps.audit.append(
    {
      correlationId: `personal-token-scan:${scan.scanId}`,
      event: 'PERSONAL_TOKEN_SCAN_COMPLETED',
      at: isoSeconds(deps.clock.now()),
      actor: 'token-warden',
      requestId: scan.scanId,
      details: {
        listed: listing.listed,
        new: scan.new,
        gone: scan.gone,
        revoked: revocation.revoked,
        capped: revocation.capped ? listing.dueIds.length : 0,
        mode: settings.mode,
        atlassianTokenIds: listing.foundIds.slice(0, DIGEST_LINES),
      },
    },
    'completed',
  );
}

/** The scan gave up (the workflow's step failed after its retries): recorded `INCOMPLETE`, the lock released. */
export async function abandonScan(deps: Pick<PersonalTokenDeps, 'store' | 'clock'>, scanId: string, error: string) {
  const scan = await deps.store.getScan(scanId);
  if (scan?.status !== 'RUNNING') return;
  await deps.store.saveScan(
    { ...scan, status: 'INCOMPLETE', finishedAt: isoSeconds(deps.clock.now()), error: error.slice(0, 300) },
    { release: true },
  );
}

// ---- routes

/** `GET /inventory/scans/{scanId}` (admins). */
export async function getScan(deps: Pick<PersonalTokenDeps, 'store'>, caller: Caller, scanId: string) {
  if (!caller.isAdmin) throw forbidden('only admins can read scans');
  const scan = SCAN_ID.test(scanId) ? await deps.store.getScan(scanId) : undefined;
  if (!scan) throw notFound('scan not found');
  // Between attempts the scan waits to retry an incomplete listing: that is what it shows.
  return scanView(scan.status === 'RUNNING' && scan.error !== undefined ? { ...scan, status: 'INCOMPLETE' } : scan);
}

const ALLOWED_QUERY = new Set(['state', 'flag', 'owner', 'limit', 'nextToken']);

/** `GET /inventory/personal-tokens` (admins) and `GET /me/personal-tokens` (the caller's own). */
export async function listPersonalTokens(
  deps: Pick<PersonalTokenDeps, 'store'>,
  caller: Caller,
  query: Record<string, string | undefined>,
  scope: 'all' | 'mine',
) {
  if (scope === 'all' && !caller.isAdmin) throw forbidden('only admins can list everyone’s personal tokens');
  const unknown = Object.keys(query).find((k) => !ALLOWED_QUERY.has(k) || (scope === 'mine' && k === 'owner'));
  if (unknown !== undefined) throw validationError(unknown, `unknown query parameter '${unknown}'`);
  const state = query.state;
  if (state !== undefined && !(PERSONAL_TOKEN_STATES as readonly string[]).includes(state)) {
    throw validationError('state', `state must be one of ${PERSONAL_TOKEN_STATES.join(', ')}`);
  }
  const flag = query.flag;
  if (flag !== undefined && !(PERSONAL_TOKEN_FLAGS as readonly string[]).includes(flag)) {
    throw validationError('flag', `flag must be one of ${PERSONAL_TOKEN_FLAGS.join(', ')}`);
  }
  const owner = scope === 'mine' ? caller.email : query.owner?.trim().toLowerCase();
  if (owner !== undefined && (owner.length === 0 || owner.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(owner))) {
    throw validationError('owner', 'owner must be an email address');
  }
  const page = await deps.store.listPersonalTokens({
    ...(owner !== undefined ? { owner } : {}),
    ...(state !== undefined ? { state: state as PersonalTokenState } : {}),
    ...(flag !== undefined ? { flag: flag as PersonalTokenFlag } : {}),
    limit: parseLimit(query.limit),
    ...(query.nextToken !== undefined ? { nextToken: query.nextToken } : {}),
  });
  const latest = await deps.store.latestCompleteScan();
  const scannedAt = latest?.finishedAt;
  return {
    items: page.items.map((r) => personalTokenView(r, latest?.startedAt)),
    ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    ...(scannedAt ? { scannedAt } : {}),
  };
}

/** `GET /inventory/personal-tokens/{atlassianTokenId}` (admins). */
export async function getPersonalToken(deps: Pick<PersonalTokenDeps, 'store'>, caller: Caller, id: string) {
  if (!caller.isAdmin) throw forbidden('only admins can read personal-token records');
  const record = PERSONAL_TOKEN_ID.test(id) ? await deps.store.getPersonalToken(id) : undefined;
  if (!record) throw notFound('personal token not found');
  const latest = await deps.store.latestCompleteScan();
  return personalTokenView(record, latest?.startedAt);
}

/** Body of `POST /inventory/personal-tokens/{id}/revoke`: `{"reason"?}`, the same rules as a governed token's revoke. */
export const parsePersonalRevokeBody = parseRevokeBody;

/**
 * `POST /inventory/personal-tokens/{id}/revoke` (admins): the record turns `REVOKED` (a conditional write), then the
 * single-token DELETE; a repeat answers the record unchanged (and repeats the DELETE, which is idempotent). A
 * governed service account's token is refused with 409: Token Warden revokes those with `POST /tokens/{id}/revoke`.
 */
export async function revokePersonalToken(deps: PersonalTokenDeps, caller: Caller, id: string, reason: string) {
  if (!caller.isAdmin) throw forbidden('only admins can revoke personal tokens');
  governance(deps.policy);
  const valid = PERSONAL_TOKEN_ID.test(id);
  let record = valid ? await deps.store.getPersonalToken(id) : undefined;
  if (!record) {
    if (valid && (await isGovernedToken(deps, id))) {
      throw conflict("this is a governed service account's token: revoke it with POST /tokens/{tokenId}/revoke");
    }
    throw notFound('personal token not found');
  }
  const context = { actor: caller.email, requestId: 'admin' };
  for (let attempt = 0; record.state !== 'REVOKED'; attempt++) {
    // Pending until Atlassian accepts the DELETE: the owner is told only then.
    const next = { ...withRevocation(record, { at: deps.clock.now(), by: caller.email, reason }), deletePending: true };
    const saved = await deps.store.savePersonalToken({ ...next, version: record.version });
    if (saved) {
      // Audited as soon as the record says so.
      await auditRevocation(deps, saved, context);
      return finishRevoke(deps, saved, context);
    }
    const current = await deps.store.getPersonalToken(id);
    if (!current || attempt >= 3) throw conflict('the record changed while revoking; try again');
    record = current;
  }
  // Already revoked: the DELETE again (it may have failed before), the record unchanged but for that.
  const again = { actor: record.revokedBy ?? caller.email, requestId: 'admin' };
  await auditRevocation(deps, record, again);
  return finishRevoke(deps, record, again);
}

/**
 * The DELETE of an admin's revoke, then the record no longer pending and its audit appended again: that event,
 * published once more, finds the DELETE done and tells the owner (the first one found it pending and told nobody).
 */
async function finishRevoke(
  deps: PersonalTokenDeps,
  record: StoredPersonalToken,
  context: { actor: string; requestId: string },
) {
  await revokeOrThrow(deps, record);
  if (!record.deletePending) return personalTokenView(record);
  const done = await confirmDeleted(deps, record);
  if (!done) throw conflict('the record changed while revoking; try again');
  await auditRevocation(deps, done, context);
  return personalTokenView(done);
}

/** The record once its DELETE went through (`deletePending` gone); none when it keeps changing or disappeared. */
async function confirmDeleted(
  deps: Pick<PersonalTokenDeps, 'store'>,
  record: StoredPersonalToken,
): Promise<StoredPersonalToken | undefined> {
  let current: StoredPersonalToken | undefined = record;
  for (let attempt = 0; current; attempt++) {
    if (!current.deletePending) return current;
    const { deletePending: _pending, ...rest } = current;
    const saved = await deps.store.savePersonalToken(rest);
    if (saved || attempt >= 2) return saved;
    current = await deps.store.getPersonalToken(record.atlassianTokenId);
  }
  return undefined;
}

async function revokeOrThrow(deps: Pick<PersonalTokenDeps, 'atlassian'>, record: PersonalTokenRecord) {
  try {
    await deps.atlassian.revokeToken(record.owner.accountId, record.atlassianTokenId);
  } catch (error) {
    // The owner's account is gone (a member who left): nothing of theirs is left to revoke, which is what was asked.
    if (error instanceof AtlassianNotFoundError && error.key === 'accountNotFound') return;
    throw error;
  }
}

/** Whether `id` is one of Token Warden's own generations of a governed token (its records; Atlassian is not asked). */
async function isGovernedToken(deps: { store: Pick<TokenRepository, 'allTokens'> }, id: string) {
  return (await deps.store.allTokens()).some((token) => token.generations.some((g) => g.atlassianTokenId === id));
}
