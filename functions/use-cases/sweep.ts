import { findServiceAccount } from '../domain/policy';
import { isoSeconds } from '../domain/ports';
import { type StoredToken, tokenAuditRecord } from '../domain/records';
import { isDue, staleRotationAfterMs } from '../domain/rotation';
import type { Atlassian, NameLockRepository, NotificationMarkers, SecretVault, TokenRepository } from './ports';
import { closeSecret } from './revoke';
import { notifyMarked, type RotationDeps, startRotation } from './rotation';

/** The repositories these use cases read and write. */
export type SweepStore = TokenRepository & NameLockRepository & NotificationMarkers;

/** What the sweep needs: what starting a rotation needs, and Atlassian and the vault for retiring and expiring. */
export interface SweepDeps extends Omit<RotationDeps, 'store'> {
  store: SweepStore;
  atlassian: Atlassian;
  vault: SecretVault;
  /** When the Atlassian organization API key expires (its secret's `token-warden:expires-at` tag), if known. */
  orgKeyExpiry?: () => Promise<Date | undefined>;
}

/** Tag on the organization API key's secret holding its expiry (ISO-8601), set by the admin who stores the key. */
export const ORG_KEY_EXPIRY_TAG = 'token-warden:expires-at';

/** Admins are warned this long before the organization API key expires. */
export const ORG_KEY_WARNING_DAYS = 14;

export interface SweepReport {
  due: number;
  started: number;
  expired: number;
  reminded: number;
  retired: number;
  skipped: number;
  itemsRead: number;
}

/**
 * The daily safety net. Reads only tokens whose rotation is due (the `byDue` index, never a scan), and for each:
 * marks it `EXPIRED` if its expiry passed, otherwise starts a rotation (taking over a stale lock), reminds owner and
 * admins once per lead window, and revokes previous generations whose grace period ended but are still live.
 */
export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const now = deps.clock.now();
  const report: SweepReport = { due: 0, started: 0, expired: 0, reminded: 0, retired: 0, skipped: 0, itemsRead: 0 };
  await warnOrgKeyExpiry(deps, now);
  let nextToken: string | undefined;
  do {
    const page = await deps.store.listDueTokens(isoSeconds(now), 100, nextToken);
    report.itemsRead += page.items.length;
    for (const token of page.items) {
      if (!isDue(token, now)) continue;
      report.due++;
      if (Date.parse(token.expiresAt) <= now.getTime()) {
        if (await expireToken(deps, token)) report.expired++;
        continue;
      }
      report.retired += await revokeStaleGenerations(deps, token);
      const manual = findServiceAccount(deps.policy, token.serviceAccount)?.issuance === 'manual';
      const outcome = await startRotation(deps, token.tokenId, {
        takeOverStale: true,
        staleAfterMs: staleRotationAfterMs(manual, deps.policy.approvalExpiryHours),
      });
      if (outcome.started) report.started++;
      else report.skipped++;
      if (await remind(deps, outcome.token)) report.reminded++;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return report;
}

/**
 * Expiry passed without a successful rotation: the token is `EXPIRED`, its secret (holding only dead tokens) loses
 * its readers and is scheduled for deletion, so the name can go to another member once the recovery window and the
 * name's binding to its owner have passed without handing them a secret old CI still reads; owner and admins are
 * told.
 */
async function expireToken(deps: SweepDeps, token: StoredToken): Promise<boolean> {
  const { nextRotationAt: _next, rotation: _rotation, ...rest } = token;
  const saved = await deps.store.saveToken({ ...rest, status: 'EXPIRED' });
  if (!saved) return false;
  await closeSecret(deps.vault, saved);
  await deps.store.releaseName(token.serviceAccount, token.name, token.requestId);
  await deps.audit.append(
    tokenAuditRecord(token, 'TOKEN_EXPIRED', isoSeconds(deps.clock.now()), {
      expiresAt: token.expiresAt,
      generation: token.generation,
    }),
    `g${token.generation}`,
  );
  await notifyMarked(
    deps,
    `${token.tokenId}:expired:g${token.generation}`,
    [token.owner, ...deps.policy.notifications.adminEmails],
    {
      subject: `Token expired: ${token.serviceAccount} "${token.name}"`,
      text: [
        `Token ${token.tokenId} (${token.secretName}) expired at ${token.expiresAt} without a successful rotation.`,
        'CI reading this secret now fails. Request a new token, or ask an admin to investigate the rotation errors.',
      ].join('\n'),
    },
  );
  return true;
}

/** Owners and admins hear once per generation that the token is in its lead window without a rotation. */
async function remind(deps: SweepDeps, token: StoredToken): Promise<boolean> {
  if (!token.lastRotationError) return false;
  await notifyMarked(
    deps,
    `${token.tokenId}:reminder:g${token.generation}`,
    [token.owner, ...deps.policy.notifications.adminEmails],
    {
      subject: `Token not rotated yet: ${token.serviceAccount} "${token.name}"`,
      text: [
        `Token ${token.tokenId} (${token.secretName}) expires at ${token.expiresAt} and has not been rotated yet.`,
        `Last rotation error: ${token.lastRotationError.code} at ${token.lastRotationError.at}. Token Warden keeps retrying daily.`,
      ].join('\n'),
    },
  );
  return true;
}

/** Previous generations past their grace period that a failed revoke step left live at Atlassian. */
async function revokeStaleGenerations(deps: SweepDeps, token: StoredToken): Promise<number> {
  if (!token.lastRotatedAt) return 0;
  const graceEnd = Date.parse(token.lastRotatedAt) + deps.policy.gracePeriodHours * 3_600_000;
  if (deps.clock.now().getTime() < graceEnd) return 0;
  const stale = token.generations.filter((g) => g.generation < token.generation && !g.revokedAt);
  if (stale.length === 0) return 0;
  const account = findServiceAccount(deps.policy, token.serviceAccount);
  if (!account) return 0;
  const at = isoSeconds(deps.clock.now());
  for (const g of stale) await deps.atlassian.revokeToken(account.atlassianId, g.atlassianTokenId);
  const fresh = await deps.store.getToken(token.tokenId);
  if (fresh) {
    const revoked = new Set(stale.map((g) => g.generation));
    await deps.store.saveToken({
      ...fresh,
      generations: fresh.generations.map((g) =>
        revoked.has(g.generation) ? { ...g, revokedAt: g.revokedAt ?? at } : g,
      ),
    });
  }
  return stale.length;
}

/**
 * Atlassian org API keys expire (at most a year); without one, nothing mints, lists or revokes. Admins are emailed
 * daily from {@link ORG_KEY_WARNING_DAYS} days before the expiry recorded on the key's secret.
 */
async function warnOrgKeyExpiry(deps: SweepDeps, now: Date): Promise<void> {
  const expiry = await deps.orgKeyExpiry?.();
  if (!expiry) return;
  const daysLeft = Math.floor((expiry.getTime() - now.getTime()) / 86_400_000);
  if (daysLeft > ORG_KEY_WARNING_DAYS) return;
  const expired = daysLeft < 0;
  await notifyMarked(deps, `org-key-expiry:${isoSeconds(now).slice(0, 10)}`, deps.policy.notifications.adminEmails, {
    subject: expired
      ? 'Atlassian organization API key has expired'
      : `Atlassian organization API key expires in ${daysLeft} day(s)`,
    text: [
      expired
        ? `The Atlassian organization API key expired at ${isoSeconds(expiry)}: issuance, rotation and revocation fail until it is replaced.`
        : `The Atlassian organization API key expires at ${isoSeconds(expiry)}.`,
      'Create a new key without scopes in admin.atlassian.com, store it as the secret value, and update the',
      "secret's token-warden:expires-at tag.",
    ].join('\n'),
  });
}
