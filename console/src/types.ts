/** The API's representations, as the console reads them (see the HTTP API section of the README). */

export interface ApprovalDecision {
  approver: string;
  decision: string;
  decidedAt: string;
}

export interface TokenRequest {
  requestId: string;
  status: string;
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

export interface Token {
  tokenId: string;
  requestId: string;
  serviceAccount: string;
  name: string;
  owner: string;
  secretName: string;
  secretArn: string;
  status: string;
  scopes: string[];
  expiresAt: string;
  generation: number;
  createdAt: string;
  lastRotatedAt?: string;
  nextRotationAt?: string;
  lastRotationError?: { code: string; message: string; at: string };
  consumers?: string[];
}

export interface AccessException {
  exceptionId: string;
  status: string;
  member: string;
  days: number;
  justification: string;
  createdAt: string;
  approvalsRequired: number;
  approvals: ApprovalDecision[];
  startsAt?: string;
  endsAt?: string;
  endedAt?: string;
  reason?: string;
}

export interface PendingApproval {
  approvalId: string;
  expiresAt: string;
  request?: TokenRequest;
  exception?: AccessException;
}

export interface PersonalToken {
  atlassianTokenId: string;
  owner: { accountId: string; email: string; name: string };
  label: string;
  scopes: string[];
  unscoped: boolean;
  atlassianStatus: string;
  createdAt: string;
  expiresAt?: string;
  lastActiveAt?: string;
  flags: string[];
  state: string;
  firstSeenAt: string;
  lastSeenAt: string;
  noticeSentAt?: string;
  revokeAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  revokeReason?: string;
}

export interface CatalogEntry {
  alias: string;
  allowedScopes: string[];
  maxLifetimeDays: number;
  approvalsRequired: number;
  allowedConsumers: string[];
  defaultConsumers: string[];
  issuance: 'api' | 'manual';
}

export interface Catalog {
  serviceAccounts: CatalogEntry[];
  personalTokens?: { mode: 'report' | 'notify' | 'revoke' };
  exceptions?: { maxDays: number };
}

/** `GET /me`. */
export interface Me {
  email: string;
  admin: boolean;
  approver: boolean;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** One entry of the audit trail (`GET /audit`), oldest first. */
export interface AuditRecord {
  correlationId: string;
  event: string;
  at: string;
  actor: string;
  requestId: string;
  tokenId?: string;
  details?: Record<string, string | number | boolean | string[]>;
}

/** `GET /approvals/{approvalId}/request`: one of the caller's approvals and what it decides on. */
export interface ApprovalSubject {
  approvalId: string;
  status: 'OPEN' | 'DECIDED' | 'CLOSED';
  expiresAt: string;
  decision?: string;
  decidedAt?: string;
  request?: TokenRequest;
  exception?: AccessException;
}

/** `POST /approvals/{approvalId}/decision`. */
export interface DecisionAnswer {
  approvalId: string;
  decision: string;
  outcome: 'PENDING' | 'APPROVED' | 'REJECTED';
  request?: TokenRequest;
  exception?: AccessException;
}

/** One difference the inventory found between the records and Atlassian. */
export interface DriftFinding {
  kind: string;
  serviceAccount: string;
  atlassianTokenId?: string;
  label?: string;
  tokenId?: string;
  generation?: number;
  detail: string;
}

/** `GET /inventory/drift`. */
export interface DriftReport {
  generatedAt: string;
  serviceAccounts: number;
  tokensListed: number;
  tokensRecorded: number;
  findings: DriftFinding[];
}

/** `GET /inventory/scans/{scanId}`. */
export interface Scan {
  scanId: string;
  status: string;
  trigger: string;
  requestedBy?: string;
  startedAt: string;
  finishedAt?: string;
  attempts: number;
  listed: number;
  new: number;
  revoked: number;
  gone: number;
  skipped?: number;
  revocationsCapped?: number;
  error?: string;
}
