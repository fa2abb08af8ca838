/** Emails about members' personal tokens: owners' notices and revocations, the admins' scan digest and cap alert. */
import type { LifecycleEventDetail } from '../../domain/lifecycle-event';
import {
  DIGEST_LINES,
  personalTokenNoticeEmail,
  personalTokenRevokedEmail,
  revocationsCappedEmail,
  scanDigestEmail,
} from '../../domain/personal-token-messages';
import type { EmailPlanners, NoticeContext } from '../notify-email';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
const ids = (value: unknown) =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(0, DIGEST_LINES) : [];

/** The personal token's record the event names (`details.atlassianTokenId`), or none (gone, or no id). */
function recordOf(ctx: NoticeContext, event: LifecycleEventDetail) {
  const id = text(event.details?.atlassianTokenId);
  return id ? ctx.store.getPersonalToken(id) : Promise.resolve(undefined);
}

/** The scan id of a `personal-token-scan:<scanId>` event: its `requestId`. */
const scanIdOf = (event: LifecycleEventDetail) => event.requestId;

const toAdmins = (ctx: NoticeContext, email: ReturnType<typeof revocationsCappedEmail>) =>
  ctx.policy.notifications.adminEmails.map((to) => ({ to, email }));

export const personalTokenPlanners: EmailPlanners = {
  /**
   * The owner's notice of an open token; in revoke mode with the date the event recorded. None once the token is
   * exempt or gone, or no longer on record: the notice would tell them of something that no longer holds.
   */
  async PERSONAL_TOKEN_NOTICE_SENT(ctx, event) {
    const record = await recordOf(ctx, event);
    if (!record || record.state === 'EXEMPT' || record.state === 'GONE') return [];
    const email = personalTokenNoticeEmail(record, text(event.details?.revokeAt), ctx.consoleUrl);
    return [{ to: record.owner.email, email }];
  },
  /**
   * The owner, told their token was revoked: once the record is `REVOKED` and, for an admin's revoke, Atlassian has
   * accepted the DELETE. A token revoked because an access exception ended is not told one by one: the member's own
   * email about the exception's end says how many went.
   */
  async PERSONAL_TOKEN_REVOKED(ctx, event) {
    const record = await recordOf(ctx, event);
    if (record?.state !== 'REVOKED' || record.deletePending || record.revokeReason === 'EXCEPTION_ENDED') return [];
    return [{ to: record.owner.email, email: personalTokenRevokedEmail(record, ctx.consoleUrl) }];
  },
  async PERSONAL_TOKEN_REVOCATIONS_CAPPED(ctx, event) {
    const due = count(event.details?.due);
    const cap = count(event.details?.maxRevocationsPerScan);
    if (due === undefined || cap === undefined) return [];
    return toAdmins(ctx, revocationsCappedEmail(scanIdOf(event), due, cap));
  },
  /** The admins' digest of one scan: its counts from the event, and a line per new token still on record. */
  async PERSONAL_TOKEN_SCAN_COMPLETED(ctx, event) {
    const details = event.details ?? {};
    const [listed, found, gone, revoked, capped] = [
      details.listed,
      details.new,
      details.gone,
      details.revoked,
      details.capped,
    ].map(count);
    if (
      listed === undefined ||
      found === undefined ||
      gone === undefined ||
      revoked === undefined ||
      capped === undefined
    ) {
      return [];
    }
    const newIds = ids(details.atlassianTokenIds);
    const records = newIds.length > 0 ? await ctx.store.getPersonalTokens(newIds) : new Map();
    const lines = newIds.flatMap((id) => {
      const record = records.get(id);
      return record ? [record] : [];
    });
    const email = scanDigestEmail(
      { scanId: scanIdOf(event), mode: text(details.mode) ?? 'unknown', listed, new: found, gone, revoked, capped },
      lines,
    );
    return toAdmins(ctx, email);
  },
};
