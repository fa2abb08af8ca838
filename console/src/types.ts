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
