/**
 * The notifier's email delivery run inline, for use-case tests: an audit trail whose every appended record is told
 * at once by the real planners (`EMAIL_PLANNERS`) through the given mailer, as the deployed notifier would tell it
 * from the bus a moment later. A send that fails fails the append, so the test sees it where the step is.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../../functions/adapters/aws/audit-log';
import type { LifecycleDetail } from '../../functions/adapters/aws/lifecycle-events';
import type { Policy } from '../../functions/domain/policy';
import type { Clock } from '../../functions/domain/ports';
import { EMAIL_PLANNERS } from '../../functions/use-cases/notices';
import { emailEvent, type NoticeReads } from '../../functions/use-cases/notify-email';
import type { DeliveryLeases, Mailer } from '../../functions/use-cases/ports';

/** What the inline notifier sends with; read when an event is told, so a test may build it after the trail. */
export interface InlineNotifierDeps {
  store: NoticeReads & DeliveryLeases;
  mailer: Mailer;
  clock: Clock;
  policy: Policy;
  /** @default `https://api.example.com` */
  linkBaseUrl?: string;
  /** @default a fixed 32-byte key */
  linkKey?: () => Promise<Buffer>;
  /** @default `https://console.example.com/console/` */
  consoleUrl?: string;
}

export const INLINE_LINK_KEY = Buffer.alloc(32, 7);

/** Tells one lifecycle event by email, as the notifier does. */
export function inlineEmail(deps: () => InlineNotifierDeps) {
  return async (detail: LifecycleDetail): Promise<void> => {
    const d = deps();
    await emailEvent(
      {
        ...d,
        planners: EMAIL_PLANNERS,
        linkBaseUrl: d.linkBaseUrl ?? 'https://api.example.com',
        linkKey: d.linkKey ?? (async () => INLINE_LINK_KEY),
        consoleUrl: d.consoleUrl ?? 'https://console.example.com/console/',
        log: { warn: () => undefined },
        metrics: { emailRejected: () => undefined },
      },
      detail,
    );
  };
}

/** An audit trail on `auditTableName` whose appends are told by email at once. */
export function notifyingAudit(
  doc: DynamoDBDocumentClient,
  auditTableName: string,
  deps: () => InlineNotifierDeps,
): AuditLog {
  return new AuditLog(doc, auditTableName, inlineEmail(deps));
}
