/**
 * The records Token Warden keeps, as the use cases read and write them (the domain records plus concurrency and
 * workflow bookkeeping). Storage adapters map them to and from their items; nothing here knows a table.
 */
import type { TokenRecord, TokenRequestRecord } from './model';
import type { NameBinding } from './requests';

/** A request as stored: the domain record plus concurrency and workflow bookkeeping. */
export interface StoredRequest extends TokenRequestRecord {
  version: number;
  /** The workflow's task token, encrypted (see `TaskTokenSealer`); never in a representation. */
  taskTokenSealed?: string;
  notifiedAt?: string;
}

/** One approver's single-use approval link for one request. */
export interface ApprovalRecord {
  approvalId: string;
  /** The token request decided on; for an access exception (`subject: 'exception'`), the exception's id. */
  requestId: string;
  /** What is decided on: absent for a token request. */
  subject?: 'exception';
  approver: string;
  expiresAt: string;
  status: 'OPEN' | 'DECIDED' | 'CLOSED';
  decision?: 'APPROVED' | 'REJECTED';
  decidedAt?: string;
  /** Set on approvals whose link a step emailed itself, before the notifier sent every email: not emailed again. */
  emailedAt?: string;
  /** sha256 of the anti-forgery values handed out with rendered pages (latest few). */
  csrfHashes: string[];
  createdAt: string;
}

/** A token as stored, with its optimistic-concurrency version. */
export interface StoredToken extends TokenRecord {
  version: number;
}

/**
 * One mint at Atlassian, tracked from mint to promotion or discard. A manually issued generation starts
 * `AWAITING_UPLOAD` (nothing minted by Token Warden; `expiresAt` is the expected expiry) and becomes `STAGED` when an
 * admin's upload is received (`expiresAt` then as Atlassian lists it).
 */
export interface MintRecord {
  tokenId: string;
  generation: number;
  requestId: string;
  label: string;
  versionId: string;
  state: 'AWAITING_UPLOAD' | 'MINTED' | 'STAGED' | 'VERIFIED' | 'PROMOTED' | 'DISCARDED';
  atlassianTokenId?: string;
  expiresAt?: string;
  mintedAt?: string;
  verifiedBy?: 'myself' | 'list';
  /** How often this generation was minted or asked for (a new round after a discarded one; absent = 1). */
  round?: number;
  /** Set for a generation an admin creates and uploads (`issuance: manual`). */
  manual?: boolean;
  /** The `Wait for token upload` task token, sealed (AES-GCM with the link key); removed once the upload arrives. */
  taskTokenSealed?: string;
  /** Until when the upload links of this round are valid (the wait's timeout). */
  uploadExpiresAt?: string;
  /** The admin whose upload was received, and when. */
  uploadedBy?: string;
  uploadedAt?: string;
}

/** One admin's single-use upload link for one round of a manually issued generation. */
export interface UploadRecord {
  uploadId: string;
  tokenId: string;
  generation: number;
  round: number;
  requestId: string;
  admin: string;
  expiresAt: string;
  status: 'OPEN' | 'USED';
  /** sha256 of the anti-forgery values handed out with rendered pages (latest few). */
  csrfHashes: string[];
  /** Set on uploads whose link a step emailed itself, before the notifier sent every email: not emailed again. */
  emailedAt?: string;
  usedAt?: string;
  createdAt: string;
}

/** One page of a listing; `nextToken` continues it. */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * The lock on a service account's token name. `owner` is the member whose request holds it; `releasedAt` is set once
 * that request's token was revoked or expired (or the request ended): the item stays, so the name stays bound to its
 * owner for the recovery window; `bound` is such a binding carried over from an earlier token of the same owner (see
 * `nameHolderState`).
 */
export interface NameLock {
  requestId: string;
  owner?: string;
  releasedAt?: string;
  bound?: NameBinding;
}

/** A member's pending-request slots: one per request waiting for approval, keyed by request id, valued when taken. */
export type PendingSlots = Record<string, string>;

/** The outcome of taking a pending-request slot: taken (`added` by this call or before) or who holds them all. */
export type SlotReservation = { reserved: true; added: boolean } | { reserved: false; holders: PendingSlots };

/** Every event an audit record can say happened (docs/events.md), in that document's order. */
export const AUDIT_EVENTS = [
  'REQUESTED',
  'APPROVAL_REQUESTED',
  'APPROVAL_REMINDER',
  'APPROVED',
  'REJECTED',
  'CANCELLED',
  'EXPIRED',
  'ISSUED',
  'ISSUANCE_FAILED',
  'UPLOAD_REQUESTED',
  'TOKEN_UPLOADED',
  'ROTATED',
  'ROTATION_FAILED',
  'REVOKED',
  'REVOCATION_COMPLETED',
  'TOKEN_EXPIRED',
  'EXPIRY_REMINDER',
  'DRIFT_DETECTED',
  'ORG_KEY_EXPIRING',
  'PERSONAL_TOKEN_FOUND',
  'PERSONAL_TOKEN_EXEMPTED',
  'PERSONAL_TOKEN_REOPENED',
  'PERSONAL_TOKEN_NOTICE_SENT',
  'PERSONAL_TOKEN_REVOKED',
  'PERSONAL_TOKEN_GONE',
  'PERSONAL_TOKEN_SCAN_INCOMPLETE',
  'PERSONAL_TOKEN_SCAN_COMPLETED',
  'PERSONAL_TOKEN_REVOCATIONS_CAPPED',
  'EXCEPTION_REQUESTED',
  'EXCEPTION_APPROVED',
  'EXCEPTION_REJECTED',
  'EXCEPTION_CANCELLED',
  'EXCEPTION_EXPIRED',
  'EXCEPTION_ACTIVATED',
  'EXCEPTION_END_REQUESTED',
  'EXCEPTION_ENDED',
  'EXCEPTION_FAILED',
] as const;

/** What an audit record says happened. */
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

/** One entry of the append-only audit trail. */
export interface AuditRecord {
  correlationId: string;
  event: AuditEvent;
  at: string;
  actor: string;
  requestId: string;
  tokenId?: string;
  /** Non-secret facts about the event (never a token value). */
  details?: Record<string, string | number | boolean | string[]>;
}

/** An audit record Token Warden itself writes about a token (no person acted): its ids, the event and the facts. */
export function tokenAuditRecord(
  token: { correlationId: string; requestId: string; tokenId: string },
  event: AuditEvent,
  at: string,
  details: NonNullable<AuditRecord['details']>,
): AuditRecord {
  const { correlationId, requestId, tokenId } = token;
  return { correlationId, event, at, actor: 'token-warden', requestId, tokenId, details };
}
