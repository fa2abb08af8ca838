import { createHash } from 'node:crypto';
import { type Outcome, outcomeEmail } from '../domain/messages';
import { isTerminalRequest } from '../domain/model';
import { approvalIdFor } from '../domain/naming';
import { type Clock, isoSeconds } from '../domain/ports';
import type { StoredRequest } from '../domain/records';
import type {
  ApprovalRepository,
  AuditTrail,
  Mailer,
  NameLockRepository,
  NotificationMarkers,
  PendingSlotRepository,
  RequestRepository,
} from './ports';

/** The repositories these use cases read and write. */
export type CloseStore = RequestRepository &
  ApprovalRepository &
  NameLockRepository &
  PendingSlotRepository &
  NotificationMarkers;

export interface CloseDeps {
  store: CloseStore;
  audit: AuditTrail;
  mailer: Mailer;
  clock: Clock;
}

export interface CloseInput {
  requestId: string;
  outcome: 'REJECTED' | 'CANCELLED' | 'EXPIRED' | 'FAILED';
  error?: { Error?: string; Cause?: string };
}

/** Failure reasons shown to people: the error name only, never a cause that might quote a response. */
export function failureReason(error: CloseInput['error']): string {
  const name = error?.Error ?? 'Unknown';
  return /^[A-Za-z0-9_.]{1,64}$/.test(name) ? name : 'Unknown';
}

/**
 * Workflow tasks `Close rejected request`, `Expire request`, `Fail request`: sets the final status, closes open
 * approval links, gives back the requester's pending-request slot, frees the name, and tells the requester and the
 * approvers — once.
 */
export async function closeRequest(deps: CloseDeps, input: CloseInput) {
  let request: StoredRequest | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    request = await deps.store.getRequest(input.requestId);
    if (!request) throw new Error(`request ${input.requestId} does not exist`);
    if (isTerminalRequest(request.status)) break;
    const now = isoSeconds(deps.clock.now());
    const next: StoredRequest = { ...request, updatedAt: now };
    if (input.outcome === 'EXPIRED') Object.assign(next, { status: 'EXPIRED', reason: 'APPROVAL_EXPIRED' });
    else if (input.outcome === 'FAILED') Object.assign(next, { status: 'FAILED', reason: failureReason(input.error) });
    else
      Object.assign(next, {
        status: 'REJECTED',
        reason: input.outcome === 'CANCELLED' ? 'CANCELLED' : 'REJECTED_BY_APPROVER',
      });
    const saved = await deps.store.saveRequest(next);
    if (saved) {
      request = saved;
      break;
    }
  }
  if (!request || !isTerminalRequest(request.status)) throw new Error(`request ${input.requestId} could not be closed`);

  for (const approver of request.approvers) await deps.store.closeApproval(approvalIdFor(request.requestId, approver));
  await deps.store.releasePendingSlot(request.requester, request.requestId);
  await deps.store.releaseName(request.serviceAccount, request.name, request.requestId);

  const outcome: Outcome =
    request.status === 'EXPIRED'
      ? 'EXPIRED'
      : request.status === 'FAILED'
        ? 'FAILED'
        : request.reason === 'CANCELLED'
          ? 'CANCELLED'
          : 'REJECTED';
  const event =
    outcome === 'FAILED'
      ? 'ISSUANCE_FAILED'
      : outcome === 'EXPIRED'
        ? 'EXPIRED'
        : outcome === 'CANCELLED'
          ? 'CANCELLED'
          : 'REJECTED';
  await deps.audit.append(
    {
      correlationId: request.correlationId,
      event,
      at: request.updatedAt,
      actor: 'token-warden',
      requestId: request.requestId,
      details: { reason: request.reason ?? outcome },
    },
    'closed',
  );
  await notifyOnce(deps, request, outcome, { reason: request.reason ?? outcome });
  return { status: request.status };
}

/** Emails requester and approvers the outcome; a retried step sends nothing twice (per-recipient marker). */
export async function notifyOnce(
  deps: { store: NotificationMarkers; mailer: Mailer; clock: Clock },
  request: StoredRequest,
  outcome: Outcome,
  extra: { reason?: string; secretName?: string; expiresAt?: string },
) {
  const recipients = [request.requester, ...request.approvers.filter((a) => a !== request.requester)];
  const email = outcomeEmail(request, outcome, extra);
  for (const to of recipients) {
    const markerId = `NOTE#${createHash('sha256').update(`${request.requestId}\n${outcome}\n${to}`).digest('hex').slice(0, 32)}`;
    if (!(await deps.store.claimNotification(markerId, isoSeconds(deps.clock.now())))) continue;
    try {
      await deps.mailer.send({ to, ...email });
    } catch (error) {
      // Give the marker back so the retried step sends this email.
      await deps.store.releaseNotification(markerId);
      throw error;
    }
  }
}
