/**
 * Names of the metrics the functions emit (namespace `TokenWarden`, dimension `service`), shared by the emitters
 * (`./metrics.ts`) and the CloudWatch dashboard (`lib/dashboard.ts`). Nothing here may import at run time: the CDK
 * app reads this file.
 */
import type { AuditEvent } from './audit-log';

/**
 * One count per appended audit record, named after its event. They count records, not requests: each approver's
 * decision is an `APPROVED` or `REJECTED` record, and closing a rejected request writes one more `REJECTED`.
 */
export const LIFECYCLE_METRICS = {
  REQUESTED: 'Requested',
  APPROVAL_REQUESTED: 'ApprovalRequested',
  APPROVAL_REMINDER: 'ApprovalReminder',
  APPROVED: 'Approved',
  REJECTED: 'Rejected',
  CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
  ISSUED: 'Issued',
  ISSUANCE_FAILED: 'IssuanceFailed',
  UPLOAD_REQUESTED: 'UploadRequested',
  TOKEN_UPLOADED: 'TokenUploaded',
  ROTATED: 'Rotated',
  ROTATION_FAILED: 'RotationFailed',
  REVOKED: 'Revoked',
  REVOCATION_COMPLETED: 'RevocationCompleted',
  TOKEN_EXPIRED: 'TokenExpired',
  EXPIRY_REMINDER: 'ExpiryReminder',
  DRIFT_DETECTED: 'DriftDetected',
  ORG_KEY_EXPIRING: 'OrgKeyExpiring',
  PERSONAL_TOKEN_FOUND: 'PersonalTokenFound',
  PERSONAL_TOKEN_EXEMPTED: 'PersonalTokenExempted',
  PERSONAL_TOKEN_REOPENED: 'PersonalTokenReopened',
  PERSONAL_TOKEN_NOTICE_SENT: 'PersonalTokenNoticeSent',
  PERSONAL_TOKEN_REVOKED: 'PersonalTokenRevoked',
  PERSONAL_TOKEN_GONE: 'PersonalTokenGone',
  PERSONAL_TOKEN_SCAN_INCOMPLETE: 'PersonalTokenScanIncomplete',
  PERSONAL_TOKEN_SCAN_COMPLETED: 'PersonalTokenScanCompleted',
  PERSONAL_TOKEN_REVOCATIONS_CAPPED: 'PersonalTokenRevocationsCapped',
  EXCEPTION_REQUESTED: 'ExceptionRequested',
  EXCEPTION_APPROVED: 'ExceptionApproved',
  EXCEPTION_REJECTED: 'ExceptionRejected',
  EXCEPTION_CANCELLED: 'ExceptionCancelled',
  EXCEPTION_EXPIRED: 'ExceptionExpired',
  EXCEPTION_ACTIVATED: 'ExceptionActivated',
  EXCEPTION_END_REQUESTED: 'ExceptionEndRequested',
  EXCEPTION_ENDED: 'ExceptionEnded',
  EXCEPTION_FAILED: 'ExceptionFailed',
} as const satisfies Record<AuditEvent, string>;

/**
 * How long a request waited for an approver's decision (seconds), one value per decision record (`APPROVED` or
 * `REJECTED` by an approver), from the request's creation to the decision.
 */
export const DECISION_LATENCY_METRIC = 'DecisionLatency';

/** Atlassian answers of 429 (count), with the `route` dimension. */
export const ATLASSIAN_RATE_LIMITED_METRIC = 'AtlassianRateLimited';
/** Atlassian calls sent again after a transient failure (count), with the `route` dimension. */
export const ATLASSIAN_RETRIES_METRIC = 'AtlassianRetries';
/** Time a call waited for its slot of the shared Atlassian rate limiter (milliseconds), one value per call. */
export const LIMITER_WAIT_METRIC = 'AtlassianLimiterWait';

/** Chat messages a webhook refused for good (count): the notifier does not send them again. */
export const CHAT_MESSAGES_REJECTED_METRIC = 'ChatMessagesRejected';
/** Emails the mail provider refused for good (SES `MessageRejected`, count): they are not sent again. */
export const EMAILS_REJECTED_METRIC = 'EmailsRejected';
/** Messages the notifier dropped because their body is no lifecycle event (count): retrying cannot mend them. */
export const NOTIFIER_EVENTS_DROPPED_METRIC = 'NotifierEventsDropped';

/** The dimension that names an Atlassian route: method and route template, never an id. */
export const ROUTE_DIMENSION = 'route';

/** Every value of {@link ROUTE_DIMENSION}: the routes `functions/adapters/atlassian/client.ts` calls. */
export const ATLASSIAN_ROUTES = [
  'POST /users/{accountId}/manage/api-tokens',
  'GET /users/{accountId}/manage/api-tokens',
  'DELETE /users/{accountId}/manage/api-tokens/{tokenId}',
  'GET /ex/jira/{cloudId}/rest/api/3/myself',
  'GET /admin/api-access/v1/orgs/{orgId}/api-tokens',
  'GET /admin/api-access/v1/orgs/{orgId}/api-tokens/count',
  'POST /admin/control/v1/orgs/{orgId}/auth-policy/{policyId}/add-users',
  'GET /admin/control/v1/orgs/{orgId}/auth-policy/task/{taskId}',
  'POST /admin/control/v1/orgs/{orgId}/users/auth-policies/bulk-fetch',
  'POST /admin/v2/orgs/{orgId}/directories/{directoryId}/users/search',
  'GET /_edge/tenant_info',
] as const;
