import type { Outcome } from '../domain/messages';
import { isTerminalRequest } from '../domain/model';
import { approvalIdFor } from '../domain/naming';
import { type Clock, isoSeconds } from '../domain/ports';
import type { StoredRequest } from '../domain/records';
import type {
  ApprovalRepository,
  AuditTrail,
  NameLockRepository,
  PendingSlotRepository,
  RequestRepository,
} from './ports';

/** The repositories these use cases read and write. */
export type CloseStore = RequestRepository & ApprovalRepository & NameLockRepository & PendingSlotRepository;

export interface CloseDeps {
  store: CloseStore;
  audit: AuditTrail;
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
 * approval links, gives back the requester's pending-request slot, frees the name, and records how it ended (the
 * notifier tells the requester and the approvers).
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
  // Issued meanwhile (a promotion that failed only after marking the request): nothing to close, nobody to tell.
  if (request.status === 'ISSUED') return { status: request.status };

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
  return { status: request.status };
}
