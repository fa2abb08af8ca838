/** Records Token Warden keeps, and the representations the HTTP API returns. Pure data, no I/O. */

export type RequestStatus = 'PENDING_APPROVAL' | 'APPROVED' | 'ISSUED' | 'REJECTED' | 'EXPIRED' | 'FAILED';
export type TokenStatus = 'ACTIVE' | 'ROTATING' | 'REVOKED' | 'EXPIRED';
export type Decision = 'APPROVED' | 'REJECTED';

export interface Caller {
  email: string;
  isAdmin: boolean;
}

export interface ApprovalDecision {
  approver: string;
  decision: Decision;
  decidedAt: string;
}

export interface TokenRequestRecord {
  requestId: string;
  status: RequestStatus;
  serviceAccount: string;
  name: string;
  scopes: string[];
  lifetimeDays: number;
  justification: string;
  consumers: string[];
  requester: string;
  createdAt: string;
  updatedAt: string;
  approvalsRequired: number;
  /** Eligible approvers (policy approvers minus the requester), lower-cased. */
  approvers: string[];
  approvals: ApprovalDecision[];
  reason?: string;
  tokenId?: string;
  secretName?: string;
  secretArn?: string;
  expiresAt?: string;
  /** sha256 of the canonical body, for `Idempotency-Key` replays. */
  bodyHash: string;
  /** Correlation id carried by audit records and events from request to revocation. */
  correlationId: string;
}

/** One mint at Atlassian. Atlassian's own token id lives here, never in the representation. */
export interface TokenGeneration {
  generation: number;
  label: string;
  atlassianTokenId: string;
  expiresAt: string;
  versionId: string;
  mintedAt: string;
  /** Set once the token was revoked at Atlassian. */
  revokedAt?: string;
}

export interface RotationError {
  code: string;
  message: string;
  at: string;
}

export interface TokenRecord {
  tokenId: string;
  requestId: string;
  serviceAccount: string;
  name: string;
  owner: string;
  secretName: string;
  secretArn: string;
  status: TokenStatus;
  scopes: string[];
  lifetimeDays: number;
  consumers: string[];
  expiresAt: string;
  generation: number;
  createdAt: string;
  lastRotatedAt?: string;
  nextRotationAt?: string;
  lastRotationError?: RotationError;
  generations: TokenGeneration[];
  /**
   * The rotation in progress (a lock: one rotation per token at a time, whoever started it). `source` says who holds
   * it: the rotation workflow (absent) or Secrets Manager's rotation function, whose lock also names the rotation's
   * `ClientRequestToken` (the secret version it stages).
   */
  rotation?: {
    generation: number;
    attempt: number;
    startedAt: string;
    source?: 'workflow' | 'secretsmanager';
    clientRequestToken?: string;
  };
  /** The last rotation attempt started, so the next one gets a fresh execution name. */
  lastRotationAttempt?: { generation: number; attempt: number };
  /** When owners and admins were last reminded that the token is inside the lead window without a rotation. */
  remindedAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
  /** How often revoke was called (each call starts one round of the revocation workflow). */
  revokeRounds?: number;
  /** The rotation that held the lock when the token was revoked (the revocation stops its execution). */
  stoppedRotation?: { generation: number; attempt: number; startedAt: string };
  correlationId: string;
}

export interface RequestRepresentation {
  requestId: string;
  status: RequestStatus;
  serviceAccount: string;
  name: string;
  scopes: string[];
  lifetimeDays: number;
  justification: string;
  consumers: string[];
  requester: string;
  createdAt: string;
  approvalsRequired: number;
  approvals: ApprovalDecision[];
  tokenId?: string;
  secretName?: string;
  secretArn?: string;
  expiresAt?: string;
  reason?: string;
}

export interface TokenRepresentation {
  tokenId: string;
  requestId: string;
  serviceAccount: string;
  name: string;
  owner: string;
  secretName: string;
  secretArn: string;
  status: TokenStatus;
  scopes: string[];
  expiresAt: string;
  generation: number;
  createdAt: string;
  lastRotatedAt?: string;
  nextRotationAt?: string;
  lastRotationError?: RotationError;
}

export function toRequestRepresentation(r: TokenRequestRecord): RequestRepresentation {
  const out: RequestRepresentation = {
    requestId: r.requestId,
    status: r.status,
    serviceAccount: r.serviceAccount,
    name: r.name,
    scopes: [...r.scopes],
    lifetimeDays: r.lifetimeDays,
    justification: r.justification,
    consumers: [...r.consumers],
    requester: r.requester,
    createdAt: r.createdAt,
    approvalsRequired: r.approvalsRequired,
    approvals: r.approvals.map((a) => ({ ...a })),
  };
  if (r.status === 'ISSUED') {
    for (const key of ['tokenId', 'secretName', 'secretArn', 'expiresAt'] as const) {
      const value = r[key];
      if (value !== undefined) out[key] = value;
    }
  }
  if ((r.status === 'REJECTED' || r.status === 'EXPIRED' || r.status === 'FAILED') && r.reason !== undefined) {
    out.reason = r.reason;
  }
  return out;
}

export function toTokenRepresentation(t: TokenRecord): TokenRepresentation {
  const out: TokenRepresentation = {
    tokenId: t.tokenId,
    requestId: t.requestId,
    serviceAccount: t.serviceAccount,
    name: t.name,
    owner: t.owner,
    secretName: t.secretName,
    secretArn: t.secretArn,
    status: t.status,
    scopes: [...t.scopes],
    expiresAt: t.expiresAt,
    generation: t.generation,
    createdAt: t.createdAt,
  };
  if (t.lastRotatedAt !== undefined) out.lastRotatedAt = t.lastRotatedAt;
  if (t.nextRotationAt !== undefined && (t.status === 'ACTIVE' || t.status === 'ROTATING')) {
    out.nextRotationAt = t.nextRotationAt;
  }
  if (t.lastRotationError !== undefined) out.lastRotationError = { ...t.lastRotationError };
  return out;
}

/** Members see their own requests and tokens; admins see all. Others' records look absent (404). */
export const canSeeRequest = (caller: Caller, r: TokenRequestRecord) => caller.isAdmin || r.requester === caller.email;
export const canSeeToken = (caller: Caller, t: TokenRecord) => caller.isAdmin || t.owner === caller.email;

export const isTerminalRequest = (status: RequestStatus) =>
  status === 'ISSUED' || status === 'REJECTED' || status === 'EXPIRED' || status === 'FAILED';
