import {
  mintLabel,
  requestIdForToken,
  secretNameFor,
  secretVersionId,
  TOKEN_ID_TAG,
  tokenIdFor,
} from '../domain/naming';
import { findServiceAccount, type Policy, type ServiceAccount } from '../domain/policy';
import { type Clock, isoSeconds } from '../domain/ports';
import type { MintRecord, StoredRequest, StoredToken } from '../domain/records';
import { expiryFor } from '../domain/requests';
import { IssuanceRefusedError, TokenVerificationError } from './port-errors';
import type {
  Atlassian,
  AuditTrail,
  MintRepository,
  OperatorLog,
  RequestRepository,
  RotationScheduler,
  SecretVault,
  TokenRepository,
} from './ports';

/** The repositories these use cases read and write. */
export type IssuanceStore = RequestRepository & TokenRepository & MintRepository;

export interface IssuanceDeps {
  schedules: RotationScheduler;
  store: IssuanceStore;
  audit: AuditTrail;
  vault: SecretVault;
  atlassian: Atlassian;
  clock: Clock;
  policy: Policy;
  kmsKeyId: string;
  /**
   * The function Secrets Manager rotates token secrets with (`RotateSecret`). Promotion configures each secret of an
   * account issued by API to rotate with it; without it, no secret is configured for Secrets Manager's rotation.
   */
  secretRotationFunctionArn?: string;
  /** Where a rotation configuration Secrets Manager refused is reported (it never fails a promotion). */
  log?: OperatorLog;
}

/**
 * What each minting step uses. Each step's function is built with these and nothing more, so its bundle leaves out
 * the adapters (and SDK clients) the step never calls.
 */
export type MintDeps = Pick<IssuanceDeps, 'store' | 'policy' | 'clock' | 'vault' | 'atlassian' | 'kmsKeyId'>;
export type VerifyDeps = Pick<IssuanceDeps, 'store' | 'policy' | 'vault' | 'atlassian'>;
export type PromoteDeps = Pick<
  IssuanceDeps,
  'store' | 'policy' | 'clock' | 'vault' | 'audit' | 'schedules' | 'secretRotationFunctionArn' | 'log'
>;
export type DiscardDeps = Pick<IssuanceDeps, 'store' | 'policy' | 'vault' | 'atlassian'>;

/** Scopes that let a token call `/myself`; other tokens are verified by listing the account's tokens. */
const GRANULAR_MYSELF = ['read:application-role:jira', 'read:group:jira', 'read:user:jira', 'read:avatar:jira'];
export function canCallMyself(scopes: string[]): boolean {
  return scopes.includes('read:jira-user') || GRANULAR_MYSELF.every((s) => scopes.includes(s));
}

export interface MintInput {
  requestId?: string;
  tokenId?: string;
  generation?: number;
  /**
   * The secret version to stage under, replacing the derived {@link secretVersionId}: Secrets Manager's rotation
   * names it (its `ClientRequestToken`). Stored on the mint record; the label stays {@link mintLabel}.
   */
  versionId?: string;
}

export interface MintTarget {
  requestId: string;
  tokenId: string;
  generation: number;
}

/** What `Mint token` hands the workflow: ids only, and whether an admin's upload must be awaited. */
export interface Minted extends MintTarget {
  versionId: string;
  /** True while the generation awaits an admin's upload (`issuance: manual`): the workflow waits for it. */
  manual: boolean;
}

export function mintTarget(input: MintInput): MintTarget {
  if (input.tokenId && input.generation) {
    return { requestId: requestIdForToken(input.tokenId), tokenId: input.tokenId, generation: input.generation };
  }
  if (!input.requestId) throw new IssuanceRefusedError('mint input names neither a request nor a token');
  return { requestId: input.requestId, tokenId: tokenIdFor(input.requestId), generation: 1 };
}

function accountFor(policy: Policy, request: StoredRequest): ServiceAccount {
  const account = findServiceAccount(policy, request.serviceAccount);
  if (!account) throw new IssuanceRefusedError(`service account ${request.serviceAccount} is no longer in the policy`);
  const disallowed = request.scopes.filter((s) => !account.allowedScopes.includes(s));
  if (disallowed.length > 0) throw new IssuanceRefusedError(`scopes no longer allowed: ${disallowed.join(', ')}`);
  if (request.lifetimeDays > account.maxLifetimeDays) {
    throw new IssuanceRefusedError(`lifetime exceeds the policy maximum of ${account.maxLifetimeDays} days`);
  }
  return account;
}

/**
 * A rotation (generation > 1) goes on only while its token is `ACTIVE` or `ROTATING` and not past this generation.
 * Each rotation step checks this after what it did (and undoes it), so a revoke that turned the record `REVOKED`
 * either sees what the step made or the step sees the revoke.
 */
export async function requireRotatable(
  store: IssuanceStore,
  tokenId: string,
  generation: number,
  { notRecordedYet = false } = {},
): Promise<StoredToken> {
  const token = await store.getToken(tokenId);
  if (!token) throw new IssuanceRefusedError(`token ${tokenId} does not exist`);
  if (token.status !== 'ACTIVE' && token.status !== 'ROTATING') {
    throw new IssuanceRefusedError(`token ${tokenId} is ${token.status}: generation ${generation} is not rotated in`);
  }
  if (notRecordedYet && token.generation >= generation) {
    throw new IssuanceRefusedError(`token ${tokenId} is already at generation ${token.generation}`);
  }
  return token;
}

/** The readers a secret may have now: the request's consumers that the current policy still allows. */
export function allowedReaders(consumers: readonly string[], account: ServiceAccount): string[] {
  return consumers.filter((c) => account.allowedConsumers.includes(c));
}

/** The request, or an IssuanceRefusedError if it does not exist. */
export async function loadRequest(store: IssuanceStore, requestId: string): Promise<StoredRequest> {
  const request = await store.getRequest(requestId);
  if (!request) throw new IssuanceRefusedError(`request ${requestId} does not exist`);
  return request;
}

/**
 * Task `Mint token`: mints at Atlassian under a deterministic label and stages the value as `AWSPENDING`.
 * Safe to retry: a staged generation is not minted again, and a token whose mint response was lost is found by its
 * label and revoked before minting anew. A token minted but not stored is revoked before the error propagates.
 *
 * For a service account with `issuance: manual` nothing is minted: the generation is recorded `AWAITING_UPLOAD`
 * (with the expected expiry) and `manual: true` tells the workflow to wait for an admin's upload (`request-upload`,
 * then the upload page), which stages the value and records it `STAGED`; verify, promote and discard then work on
 * it as on a minted one.
 */
export async function mintToken(deps: MintDeps, input: MintInput): Promise<Minted> {
  const target = mintTarget(input);
  const request = await loadRequest(deps.store, target.requestId);
  if (target.generation === 1 && request.status !== 'APPROVED' && request.status !== 'ISSUED') {
    throw new IssuanceRefusedError(`request ${request.requestId} is ${request.status}, not APPROVED`);
  }
  const account = accountFor(deps.policy, request);
  const label = mintLabel(target.tokenId, target.generation);
  const secretName = secretNameFor(request.serviceAccount, request.name);

  const rotating =
    target.generation > 1
      ? await requireRotatable(deps.store, target.tokenId, target.generation, { notRecordedYet: true })
      : undefined;
  const previous = await deps.store.getMint(target.tokenId, target.generation);
  if (previous && previous.state !== 'MINTED' && previous.state !== 'DISCARDED') {
    return { ...target, versionId: previous.versionId, manual: previous.state === 'AWAITING_UPLOAD' };
  }
  // A secret version can never take another value: minting this generation again stages under a new version id.
  const round = previous ? (previous.round ?? 1) + 1 : 1;
  const versionId = input.versionId ?? secretVersionId(target.tokenId, target.generation, round);

  if (rotating) {
    // A rotation never creates, restores or widens the secret: a secret scheduled for deletion stays so.
    const described = await deps.vault.describe(secretName);
    if (!described || described.DeletedDate) {
      throw new IssuanceRefusedError(`the secret of ${target.tokenId} is gone or scheduled for deletion`);
    }
    await narrowReaders(deps, target, account, secretName);
  } else {
    await deps.vault.ensureSecret({
      name: secretName,
      kmsKeyId: deps.kmsKeyId,
      description: `Atlassian API token ${request.name} of ${account.email}, managed by Token Warden (${target.tokenId})`,
      tags: {
        'jenkins:credentials:type': 'usernamePassword',
        'jenkins:credentials:username': account.email,
        [TOKEN_ID_TAG]: target.tokenId,
        'token-warden:service-account': account.alias,
      },
      consumers: allowedReaders(request.consumers, account),
    });
  }

  // A previous attempt may have minted and lost the response, or minted and failed to store (or, for a manual
  // account, an admin created a token for an attempt that was discarded since): revoke those.
  await revokeByLabel(deps, account, label);

  const expiresAt = expiryFor(deps.clock.now(), request.lifetimeDays);
  const base = {
    tokenId: target.tokenId,
    generation: target.generation,
    requestId: target.requestId,
    label,
    versionId,
  };
  if (account.issuance === 'manual') {
    await deps.store.putMint({
      ...base,
      ...(round > 1 ? { round } : {}),
      state: 'AWAITING_UPLOAD',
      manual: true,
      expiresAt: isoSeconds(expiresAt),
    });
    return { ...target, versionId, manual: true };
  }

  const minted = await deps.atlassian.mintToken(account.atlassianId, {
    label,
    scopes: request.scopes,
    expiry: expiresAt,
  });
  const mint: MintRecord = {
    ...base,
    ...(round > 1 ? { round } : {}),
    state: 'MINTED',
    atlassianTokenId: minted.id,
    expiresAt: isoSeconds(expiresAt),
    mintedAt: isoSeconds(deps.clock.now()),
  };
  try {
    await deps.store.putMint(mint);
    await deps.vault.stage(secretName, versionId, minted.token);
    await deps.store.putMint({ ...mint, state: 'STAGED' });
    // Revoked while minting: this token is revoked here, since the revoke may have listed before it existed.
    if (rotating) await requireRotatable(deps.store, target.tokenId, target.generation, { notRecordedYet: true });
  } catch (error) {
    await deps.atlassian.revokeToken(account.atlassianId, minted.id);
    await deps.store.putMint({ ...mint, state: 'DISCARDED' }).catch(() => undefined);
    throw error;
  }
  return { ...target, versionId, manual: false };
}

/**
 * A rotation takes readers away that the current policy no longer allows, and never adds any: the record is narrowed
 * first (so a racing revoke removes no fewer readers than it knows of), then the secret, then the status is checked
 * again and, if the token was revoked meanwhile, the readers are removed once more.
 */
async function narrowReaders(deps: MintDeps, target: MintTarget, account: ServiceAccount, secretName: string) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = await requireRotatable(deps.store, target.tokenId, target.generation, { notRecordedYet: true });
    const readers = allowedReaders(token.consumers, account);
    if (readers.length === token.consumers.length) return;
    if (!(await deps.store.saveToken({ ...token, consumers: readers }))) continue;
    await deps.vault.setReaders(secretName, readers);
    try {
      await requireRotatable(deps.store, target.tokenId, target.generation);
    } catch (error) {
      await deps.vault.removeReaders(secretName);
      throw error;
    }
    return;
  }
  throw new Error(`token ${target.tokenId} changed concurrently while its readers were narrowed`);
}

async function revokeByLabel(
  deps: Pick<IssuanceDeps, 'atlassian'>,
  account: ServiceAccount,
  label: string,
): Promise<number> {
  const existing = await deps.atlassian.listTokens(account.atlassianId);
  let revoked = 0;
  for (const token of existing.filter((t) => t.label === label)) {
    await deps.atlassian.revokeToken(account.atlassianId, token.id);
    revoked++;
  }
  return revoked;
}

/** A minted generation with its request, service account and secret name; refused if nothing was minted. */
export async function loadMint(deps: Pick<IssuanceDeps, 'store' | 'policy'>, tokenId: string, generation: number) {
  const mint = await deps.store.getMint(tokenId, generation);
  if (!mint?.atlassianTokenId || !mint.expiresAt) {
    throw new IssuanceRefusedError(`no minted token for ${tokenId} generation ${generation}`);
  }
  const request = await loadRequest(deps.store, mint.requestId);
  const account = accountFor(deps.policy, request);
  return { mint, request, account, secretName: secretNameFor(request.serviceAccount, request.name) };
}

/**
 * Task `Verify token`: proves the staged token works. With scopes that can call `/myself`, it calls it as the
 * service account; otherwise it lists the account's tokens and matches id, label and expiry (the token exists and
 * is the one minted). 429/5xx surface as transient errors, never as "invalid".
 */
export async function verifyToken(deps: VerifyDeps, input: { tokenId: string; generation: number }) {
  const { mint, request, account, secretName } = await loadMint(deps, input.tokenId, input.generation);
  if (input.generation > 1) await requireRotatable(deps.store, input.tokenId, input.generation);
  if (mint.state === 'VERIFIED' || mint.state === 'PROMOTED') return { verifiedBy: mint.verifiedBy ?? 'myself' };
  if (mint.state !== 'STAGED') throw new IssuanceRefusedError(`generation ${input.generation} is ${mint.state}`);
  let verifiedBy: 'myself' | 'list';
  if (canCallMyself(request.scopes)) {
    const token = await deps.vault.read(secretName, mint.versionId);
    const result = await deps.atlassian.verifyMyself({ cloudId: account.cloudId, email: account.email, token });
    if (!result.valid || result.accountId !== account.atlassianId) {
      throw new TokenVerificationError(`the new token of ${input.tokenId} was refused by /myself`);
    }
    verifiedBy = 'myself';
  } else {
    const listed = await deps.atlassian.listTokens(account.atlassianId);
    const match = listed.find((t) => t.id === mint.atlassianTokenId);
    const expiryMatches =
      !match?.expiry || Math.abs(Date.parse(match.expiry) - Date.parse(mint.expiresAt!)) <= 86_400_000;
    if (!match || match.label !== mint.label || !expiryMatches) {
      throw new TokenVerificationError(`the new token of ${input.tokenId} is not listed at Atlassian as minted`);
    }
    verifiedBy = 'list';
  }
  await deps.store.putMint({ ...mint, state: 'VERIFIED', verifiedBy });
  return { verifiedBy };
}

/**
 * Task `Discard staged token` (the Catch path): revokes whatever this generation minted at Atlassian and drops the
 * `AWSPENDING` label, so a failed issuance or rotation leaves no orphan and the current token untouched.
 */
export async function discardToken(deps: DiscardDeps, input: MintInput) {
  const target = mintTarget(input);
  const request = await deps.store.getRequest(target.requestId);
  if (!request) return { revoked: 0 };
  const account = findServiceAccount(deps.policy, request.serviceAccount);
  if (!account) return { revoked: 0 };
  let mint = await deps.store.getMint(target.tokenId, target.generation);
  if (mint?.state === 'PROMOTED') return { revoked: 0 };
  const token = await deps.store.getToken(target.tokenId);
  // Recorded as the token's current generation already (its promotion stopped after recording it, before marking the
  // mint): it is live and the record names it, so it is kept, whatever generation it is.
  if (token && token.generation >= target.generation) return { revoked: 0 };
  if (mint?.state === 'AWAITING_UPLOAD') {
    // Close the door first, so an upload arriving now is refused rather than staged behind our back; if one won the
    // race, it is discarded like any staged token.
    if (await deps.store.closeUploadWait(mint.tokenId, mint.generation, mint.versionId)) {
      mint = { ...mint, state: 'DISCARDED' };
    } else {
      mint = await deps.store.getMint(target.tokenId, target.generation);
      if (mint?.state === 'PROMOTED') return { revoked: 0 };
    }
  }
  const secretName = secretNameFor(request.serviceAccount, request.name);
  const versionId = mint?.versionId ?? secretVersionId(target.tokenId, target.generation);
  // A promotion that moved AWSCURRENT to this generation, then failed before recording it: give AWSCURRENT back to
  // the generation the record names current before revoking this one, so the current token keeps working.
  if (token && target.generation > 1) await restoreCurrent(deps, secretName, versionId, token);
  let revoked = 0;
  if (
    mint?.atlassianTokenId &&
    (await deps.atlassian.revokeToken(account.atlassianId, mint.atlassianTokenId)) === 'revoked'
  ) {
    revoked++;
  }
  revoked += await revokeByLabel(deps, account, mintLabel(target.tokenId, target.generation));
  const described = await deps.vault.describe(secretName);
  if (described && !described.DeletedDate) {
    await deps.vault.dropPending(secretName, versionId);
    // A failed first issuance leaves a secret holding only a revoked token (Secrets Manager makes a secret's first
    // version AWSCURRENT whatever labels were asked for): schedule it away.
    if (!(await deps.store.getToken(target.tokenId))) await deps.vault.scheduleDeletion(secretName);
  }
  if (mint) await deps.store.putMint({ ...mint, state: 'DISCARDED' });
  return { revoked };
}

/**
 * Moves `AWSCURRENT` from `versionId` back to the version of the token's recorded generation, if it moved. Not for a
 * token revoked or expired meanwhile: its secret is closed (scheduled for deletion) and serves nobody.
 */
async function restoreCurrent(deps: DiscardDeps, secretName: string, versionId: string, token: StoredToken) {
  if (token.status !== 'ACTIVE' && token.status !== 'ROTATING') return;
  const described = await deps.vault.describe(secretName);
  if (!described || described.DeletedDate) return;
  if (!described.VersionIdsToStages?.[versionId]?.includes('AWSCURRENT')) return;
  const recorded = token.generations.find((g) => g.generation === token.generation);
  if (!recorded) return;
  await deps.vault.promote(secretName, recorded.versionId);
}
