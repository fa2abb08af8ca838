import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { aws } from './errors';

/** `detail-type` of each lifecycle event (docs/events.md has the schema). */
export const LIFECYCLE_DETAIL_TYPES = {
  REQUESTED: 'Token Requested',
  APPROVAL_REQUESTED: 'Approval Requested',
  APPROVAL_REMINDER: 'Approval Reminder',
  APPROVED: 'Token Request Approved',
  REJECTED: 'Token Request Rejected',
  CANCELLED: 'Token Request Cancelled',
  EXPIRED: 'Token Request Expired',
  ISSUED: 'Token Issued',
  ISSUANCE_FAILED: 'Token Issuance Failed',
  UPLOAD_REQUESTED: 'Token Upload Requested',
  TOKEN_UPLOADED: 'Token Uploaded',
  ROTATED: 'Token Rotated',
  ROTATION_FAILED: 'Token Rotation Failed',
  REVOKED: 'Token Revoked',
  REVOCATION_COMPLETED: 'Token Revocation Completed',
  TOKEN_EXPIRED: 'Token Expired',
  EXPIRY_REMINDER: 'Token Expiry Reminder',
  DRIFT_DETECTED: 'Token Inventory Drift Detected',
  ORG_KEY_EXPIRING: 'Organization Key Expiring',
  PERSONAL_TOKEN_FOUND: 'Personal Token Found',
  PERSONAL_TOKEN_EXEMPTED: 'Personal Token Exempted',
  PERSONAL_TOKEN_REOPENED: 'Personal Token Reopened',
  PERSONAL_TOKEN_NOTICE_SENT: 'Personal Token Notice Sent',
  PERSONAL_TOKEN_REVOKED: 'Personal Token Revoked',
  PERSONAL_TOKEN_GONE: 'Personal Token Gone',
  PERSONAL_TOKEN_SCAN_INCOMPLETE: 'Personal Token Scan Incomplete',
  PERSONAL_TOKEN_SCAN_COMPLETED: 'Personal Token Scan Completed',
  PERSONAL_TOKEN_REVOCATIONS_CAPPED: 'Personal Token Revocations Capped',
  EXCEPTION_REQUESTED: 'Access Exception Requested',
  EXCEPTION_APPROVED: 'Access Exception Approved',
  EXCEPTION_REJECTED: 'Access Exception Rejected',
  EXCEPTION_CANCELLED: 'Access Exception Cancelled',
  EXCEPTION_EXPIRED: 'Access Exception Expired',
  EXCEPTION_ACTIVATED: 'Access Exception Activated',
  EXCEPTION_END_REQUESTED: 'Access Exception End Requested',
  EXCEPTION_ENDED: 'Access Exception Ended',
  EXCEPTION_FAILED: 'Access Exception Failed',
} as const;

export type LifecycleEventName = keyof typeof LIFECYCLE_DETAIL_TYPES;

/** The `detail` of every lifecycle event: ids and non-secret facts only, never a token value. */
export interface LifecycleDetail {
  eventId: string;
  event: LifecycleEventName;
  correlationId: string;
  requestId: string;
  tokenId?: string;
  serviceAccount?: string;
  actor: string;
  at: string;
  details?: Record<string, string | number | boolean | string[]>;
}

export const EVENT_SOURCE = 'token-warden';

/** Publishes lifecycle events on the configured bus. */
export class LifecycleEvents {
  constructor(
    private readonly busName: string,
    private readonly client: EventBridgeClient = new EventBridgeClient({}),
  ) {}

  async publish(detail: LifecycleDetail): Promise<void> {
    const out = await aws('EventBridge.PutEvents', () =>
      this.client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.busName,
              Source: EVENT_SOURCE,
              DetailType: LIFECYCLE_DETAIL_TYPES[detail.event],
              Detail: JSON.stringify(detail),
              Time: new Date(detail.at),
            },
          ],
        }),
      ),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      throw new Error(`EventBridge refused the ${detail.event} event: ${out.Entries?.[0]?.ErrorCode ?? 'unknown'}`);
    }
  }
}
