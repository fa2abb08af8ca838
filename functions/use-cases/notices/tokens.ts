/**
 * Emails about issued tokens: upload requests with each admin's own signed link (manual issuance), rotation results
 * and failures, revocation, expiry, the inventory's drift and the organization key's warning.
 */
import type { DriftFinding } from '../../domain/inventory';
import type { LifecycleEventDetail } from '../../domain/lifecycle-event';
import { signUploadLink } from '../../domain/links';
import { uploadRequestEmail } from '../../domain/messages';
import { findServiceAccount } from '../../domain/policy';
import {
  driftEmail,
  expiredEmail,
  orgKeyExpiryEmail,
  revokedEmail,
  rotatedEmail,
  rotationFailedEmail,
} from '../../domain/token-messages';
import type { EmailPlanners, NoticeContext, PlannedEmail } from '../notify-email';
import { instructionsFor } from '../uploads';

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
const base = (url: string) => url.replace(/\/+$/, '');

/** The token the event is about, or none (gone, or an event without one). */
const tokenOf = (ctx: NoticeContext, event: LifecycleEventDetail) =>
  event.tokenId ? ctx.store.getToken(event.tokenId) : Promise.resolve(undefined);

/**
 * One admin's upload request, with their signed link: none once the link is used or expired, or its generation no
 * longer waits for an upload.
 */
async function uploadEmail(ctx: NoticeContext, uploadId: string): Promise<PlannedEmail | undefined> {
  const upload = await ctx.store.getUpload(uploadId);
  if (upload?.status !== 'OPEN' || upload.emailedAt) return undefined;
  const expiresAt = new Date(upload.expiresAt);
  if (expiresAt.getTime() <= ctx.clock.now().getTime()) return undefined;
  const mint = await ctx.store.getMint(upload.tokenId, upload.generation);
  if (mint?.state !== 'AWAITING_UPLOAD') return undefined;
  const request = await ctx.store.getRequest(upload.requestId);
  const account = request && findServiceAccount(ctx.policy, request.serviceAccount);
  if (!request || !account) return undefined;
  const instructions = instructionsFor(mint, request, account, new Date(upload.createdAt));
  const sig = signUploadLink(await ctx.linkKey(), upload.uploadId, upload.admin, expiresAt);
  const link = `${base(ctx.linkBaseUrl)}/uploads/${upload.uploadId}?sig=${encodeURIComponent(sig)}`;
  return { to: upload.admin, email: uploadRequestEmail(instructions, link, upload.expiresAt) };
}

export const tokenPlanners: EmailPlanners = {
  async UPLOAD_REQUESTED(ctx, event) {
    const uploadId = text(event.details?.uploadId);
    const planned = uploadId ? await uploadEmail(ctx, uploadId) : undefined;
    return planned ? [planned] : [];
  },
  async ROTATED(ctx, event) {
    const token = await tokenOf(ctx, event);
    const generation = count(event.details?.generation);
    if (!token || generation === undefined) return [];
    return [{ to: token.owner, email: rotatedEmail(token, generation) }];
  },
  async ROTATION_FAILED(ctx, event) {
    const token = await tokenOf(ctx, event);
    const generation = count(event.details?.generation);
    if (!token || generation === undefined) return [];
    const email = rotationFailedEmail(token, generation, text(event.details?.code) ?? 'Unknown');
    return [token.owner, ...ctx.policy.notifications.adminEmails].map((to) => ({ to, email }));
  },
  async REVOKED(ctx, event) {
    const token = await tokenOf(ctx, event);
    if (!token) return [];
    const email = revokedEmail(token, event.actor, text(event.details?.reason) ?? token.revokeReason ?? 'unspecified');
    return [{ to: token.owner, email }];
  },
  async TOKEN_EXPIRED(ctx, event) {
    const token = await tokenOf(ctx, event);
    if (!token) return [];
    const email = expiredEmail(token, text(event.details?.expiresAt) ?? token.expiresAt);
    return [token.owner, ...ctx.policy.notifications.adminEmails].map((to) => ({ to, email }));
  },
  async DRIFT_DETECTED(ctx, event) {
    const report = await ctx.store.getDriftReport();
    const count = typeof event.details?.findings === 'number' ? event.details.findings : undefined;
    const current = report?.generatedAt === event.at && Array.isArray(report.findings);
    // Delivered after a later inventory replaced the report: the count the event carries, and where to look.
    const findings = current ? (report.findings as DriftFinding[]) : undefined;
    const email = driftEmail(event.at, count ?? findings?.length ?? 0, findings);
    return ctx.policy.notifications.adminEmails.map((to) => ({ to, email }));
  },
  async ORG_KEY_EXPIRING(ctx, event) {
    const expiresAt = text(event.details?.expiresAt);
    const daysLeft = count(event.details?.daysLeft);
    if (expiresAt === undefined || daysLeft === undefined) return [];
    const email = orgKeyExpiryEmail(expiresAt, daysLeft);
    return ctx.policy.notifications.adminEmails.map((to) => ({ to, email }));
  },
};
