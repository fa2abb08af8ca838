import { findServiceAccount, type Policy } from '../domain/policy';
import { isoSeconds } from '../domain/ports';
import { type StoredToken, tokenAuditRecord } from '../domain/records';
import { dueApprovalMark, dueExpiryReminder } from '../domain/reminders';
import { isDue, staleRotationAfterMs } from '../domain/rotation';
import type {
  AccessExceptionRepository,
  ApprovalRepository,
  Atlassian,
  NameLockRepository,
  RequestRepository,
  SecretVault,
} from './ports';
import { closeSecret } from './revoke';
import { type RotationDeps, type RotationStore, startRotation } from './rotation';

/** The repositories these use cases read and write. */
export type SweepStore = RotationStore &
  NameLockRepository &
  Pick<ApprovalRepository, 'listOpenApprovals'> &
  Pick<RequestRepository, 'getRequest'> &
  Pick<AccessExceptionRepository, 'getException'>;

/**
 * What the sweep needs: what starting a rotation needs, and Atlassian and the vault for retiring and expiring. It
 * sends nothing itself: what it finds is recorded, and the notifier tells people from those events.
 */
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

/** The correlation (and request) id of the organization key's audit records. */
export const ORG_KEY_CORRELATION_ID = 'org-key';

export interface SweepReport {
  due: number;
  started: number;
  expired: number;
  /** Expiry reminders recorded (a mark recorded before counts again; the notifier sends each once). */
  reminded: number;
  /** Approval reminders recorded, counted as `reminded` is. */
  approvalsReminded: number;
  retired: number;
  skipped: number;
  itemsRead: number;
}

const emptyReport = (): SweepReport => ({
  due: 0,
  started: 0,
  expired: 0,
  reminded: 0,
  approvalsReminded: 0,
  retired: 0,
  skipped: 0,
  itemsRead: 0,
});

/**
 * The daily safety net. Reads only tokens whose rotation is due (the `byDue` index, never a scan), and for each:
 * marks it `EXPIRED` if its expiry passed, otherwise starts a rotation (taking over a stale lock), records an expiry
 * reminder at each `notifications.reminders.expiryDays` mark the token reaches while it will not be rotated by
 * itself before it expires, and revokes previous generations whose grace period ended but are still live. Then the
 * approval reminders ({@link remindApprovers}), and the organization key's warning.
 */
export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const now = deps.clock.now();
  const report = emptyReport();
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
      if (await remindExpiry(deps, outcome.token, manual)) report.reminded++;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  report.approvalsReminded = (await remindApprovers(deps)).reminded;
  return report;
}

/**
 * Expiry passed without a successful rotation: the token is `EXPIRED`, its secret (holding only dead tokens) loses
 * its readers and is scheduled for deletion, so the name can go to another member once the recovery window and the
 * name's binding to its owner have passed without handing them a secret old CI still reads. `TOKEN_EXPIRED` is
 * recorded; the notifier tells owner and admins.
 */
async function expireToken(deps: SweepDeps, token: StoredToken): Promise<boolean> {
  const { nextRotationAt: _next, rotation: _rotation, ...rest } = token;
  const saved = await deps.store.saveToken({ ...rest, status: 'EXPIRED' });
  if (!saved) return false;
  // Recorded first: the token has left the due index, so no later sweep would record it (nor the notifier tell it).
  await deps.audit.append(
    tokenAuditRecord(token, 'TOKEN_EXPIRED', isoSeconds(deps.clock.now()), {
      expiresAt: token.expiresAt,
      generation: token.generation,
    }),
    `g${token.generation}`,
  );
  await closeSecret(deps.vault, saved);
  await deps.store.releaseName(token.serviceAccount, token.name, token.requestId);
  return true;
}

/**
 * `EXPIRY_REMINDER` at the `expiryDays` mark the token has reached while it will not be rotated by itself before it
 * expires: once per token, generation and mark (a rotation that succeeds starts the marks again for the new expiry).
 */
async function remindExpiry(deps: SweepDeps, token: StoredToken, manual: boolean): Promise<boolean> {
  const due = dueExpiryReminder(token, manual, deps.policy.notifications.reminders.expiryDays, deps.clock.now());
  if (!due) return false;
  await deps.audit.append(
    tokenAuditRecord(token, 'EXPIRY_REMINDER', isoSeconds(deps.clock.now()), {
      days: due.days,
      expiresAt: token.expiresAt,
      generation: token.generation,
      why: due.why,
    }),
    `${token.tokenId}:g${token.generation}:d${due.days}`,
  );
  return true;
}

/** Everyone the policy names as an approver: of a service account's requests, or of access exceptions. */
export function policyApprovers(policy: Policy): string[] {
  const all = [
    ...policy.serviceAccounts.flatMap((account) => account.approvers),
    ...(policy.personalTokens?.exceptions?.approvers ?? []),
  ];
  return [...new Set(all.map((approver) => approver.toLowerCase()))].sort();
}

/** What the approval reminders read and record. */
export type ApprovalReminderDeps = Pick<SweepDeps, 'store' | 'audit' | 'clock' | 'policy'>;

/**
 * `APPROVAL_REMINDER` for each open approval that reached a `notifications.reminders.pendingApprovalHours` mark
 * while its request (or access exception) still waits for a decision: once per approval and mark, listed per
 * approver the policy names (an approver no longer in the policy could not decide anyway). Run by the daily sweep
 * and, since the marks are hours, by its own hourly schedule.
 */
export async function remindApprovers(deps: ApprovalReminderDeps): Promise<{ reminded: number }> {
  const marks = deps.policy.notifications.reminders.pendingApprovalHours;
  let reminded = 0;
  if (marks.length === 0) return { reminded };
  const now = deps.clock.now();
  for (const approver of policyApprovers(deps.policy)) {
    let nextToken: string | undefined;
    do {
      const page = await deps.store.listOpenApprovals({
        approver,
        nowIso: isoSeconds(now),
        limit: 100,
        ...(nextToken !== undefined ? { nextToken } : {}),
      });
      for (const approval of page.items) {
        const hours = dueApprovalMark(approval, marks, now);
        if (hours === undefined || !(await subjectPending(deps, approval))) continue;
        await deps.audit.append(
          {
            correlationId: approval.requestId,
            event: 'APPROVAL_REMINDER',
            at: isoSeconds(now),
            actor: 'token-warden',
            requestId: approval.requestId,
            details: {
              approvalId: approval.approvalId,
              approver: approval.approver,
              subject: approval.subject ?? 'request',
              hours,
            },
          },
          `approval-reminder:${approval.approvalId}:h${hours}`,
        );
        reminded++;
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return { reminded };
}

async function subjectPending(
  deps: ApprovalReminderDeps,
  approval: { requestId: string; subject?: 'exception' },
): Promise<boolean> {
  if (approval.subject === 'exception') {
    return (await deps.store.getException(approval.requestId))?.status === 'PENDING_APPROVAL';
  }
  return (await deps.store.getRequest(approval.requestId))?.status === 'PENDING_APPROVAL';
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
 * Atlassian org API keys expire (at most a year); without one, nothing mints, lists or revokes. From
 * {@link ORG_KEY_WARNING_DAYS} days before the expiry recorded on the key's secret, `ORG_KEY_EXPIRING` is recorded
 * once a day (its discriminator is the date); the notifier warns the admins.
 */
async function warnOrgKeyExpiry(deps: SweepDeps, now: Date): Promise<void> {
  const expiry = await deps.orgKeyExpiry?.();
  if (!expiry) return;
  const daysLeft = Math.floor((expiry.getTime() - now.getTime()) / 86_400_000);
  if (daysLeft > ORG_KEY_WARNING_DAYS) return;
  const at = isoSeconds(now);
  await deps.audit.append(
    {
      correlationId: ORG_KEY_CORRELATION_ID,
      event: 'ORG_KEY_EXPIRING',
      at,
      actor: 'token-warden',
      requestId: ORG_KEY_CORRELATION_ID,
      details: { expiresAt: isoSeconds(expiry), daysLeft },
    },
    at.slice(0, 10),
  );
}
