/**
 * The notifier's email delivery: one lifecycle event to the people it concerns, once per event and recipient however
 * often the event is delivered. What each event says, and to whom, is its planner's (`./notices/*`): planners read
 * the records the event names, build the text with the domain's message builders and, for approval and upload
 * requests, sign the recipient's own link. No other function sends mail.
 */
import { createHash } from 'node:crypto';
import type { LifecycleEventDetail } from '../domain/lifecycle-event';
import type { RenderedEmail } from '../domain/notice';
import type { Policy } from '../domain/policy';
import type { Clock } from '../domain/ports';
import type { AuditEvent } from '../domain/records';
import { DeliveryRetryableError, EmailRejectedError, oneFailure } from './port-errors';
import type {
  AccessExceptionRepository,
  ApprovalRepository,
  DeliveryLeases,
  DriftReports,
  Mailer,
  MintRepository,
  NotifierMetrics,
  OperatorLog,
  PersonalTokenRepository,
  RequestRepository,
  TokenRepository,
  UploadRepository,
} from './ports';

/** What planners read: the notifier writes nothing but its delivery markers. */
export type NoticeReads = Pick<RequestRepository, 'getRequest'> &
  Pick<ApprovalRepository, 'getApproval'> &
  Pick<TokenRepository, 'getToken'> &
  Pick<MintRepository, 'getMint'> &
  Pick<UploadRepository, 'getUpload'> &
  Pick<AccessExceptionRepository, 'getException'> &
  Pick<PersonalTokenRepository, 'getPersonalToken' | 'getPersonalTokens'> &
  Pick<DriftReports, 'getDriftReport'>;

/** What a planner may use. */
export interface NoticeContext {
  store: NoticeReads;
  policy: Policy;
  clock: Clock;
  /** The web console's base URL (`CONSOLE_URL`). */
  consoleUrl: string;
  /** The base URL of approval and upload links (the HTTP API's). */
  linkBaseUrl: string;
  /** The current link-signing key (`LINK_SIGNING_SECRET_ID`), which signs approval and upload links. */
  linkKey: () => Promise<Buffer>;
}

/** One email to one recipient. */
export interface PlannedEmail {
  to: string;
  email: RenderedEmail;
}

/** The emails one event asks for: none when the records it names no longer call for them. */
export type EmailPlanner = (ctx: NoticeContext, event: LifecycleEventDetail) => Promise<PlannedEmail[]>;

/** Planners by event: an event without one sends no email. */
export type EmailPlanners = Partial<Record<AuditEvent, EmailPlanner>>;

/**
 * How long one attempt holds an email delivery: twice the notifier's timeout (60 s), well under its queue's
 * visibility timeout (360 s), so an attempt that died mid-send is taken over by the event's next delivery.
 */
export const EMAIL_LEASE_SECONDS = 120;

/**
 * The first wait after the mail provider throttled or failed (SES `TooManyRequests`, 5xx, network): the batch handler
 * doubles it per receive, so the queue's receives span hours of an outage, as for a failing webhook.
 */
export const EMAIL_RETRY_SECONDS = 60;

export interface EmailDeps extends NoticeContext {
  store: NoticeReads & DeliveryLeases;
  mailer: Mailer;
  planners: EmailPlanners;
  log: OperatorLog;
  metrics: Pick<NotifierMetrics, 'emailRejected'>;
}

export interface EmailResult {
  sent: number;
  duplicates: number;
  rejected: number;
}

/** The marker of one event's email to one recipient. */
export function emailMarkerId(eventId: string, to: string): string {
  const digest = createHash('sha256').update(`email\n${eventId}\n${to.toLowerCase()}`);
  return `NOTE#${digest.digest('hex').slice(0, 32)}`;
}

/**
 * Sends the emails `event` asks for, each once per event id and recipient (a recipient named twice gets one). A
 * failed send gives that recipient's lease back and throws a `DeliveryRetryableError`, so the event waits with
 * back-off and the redelivered event sends the rest; a refusal for good (`EmailRejectedError`) is logged (never the
 * address) and counted, and is not sent again.
 */
export async function emailEvent(deps: EmailDeps, event: LifecycleEventDetail): Promise<EmailResult> {
  const result: EmailResult = { sent: 0, duplicates: 0, rejected: 0 };
  const planner = deps.planners[event.event];
  if (!planner) return result;
  const planned = dedupe(await planner(deps, event));
  const outcomes = await Promise.allSettled(planned.map((p) => sendOnce(deps, event, p)));
  const failures: unknown[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') failures.push(outcome.reason);
    else result[outcome.value] += 1;
  }
  if (failures.length > 0) throw oneFailure(failures);
  return result;
}

function dedupe(planned: PlannedEmail[]): PlannedEmail[] {
  const seen = new Set<string>();
  return planned.filter((p) => {
    const key = p.to.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function sendOnce(
  deps: EmailDeps,
  event: LifecycleEventDetail,
  planned: PlannedEmail,
): Promise<'sent' | 'duplicates' | 'rejected'> {
  const markerId = emailMarkerId(event.eventId, planned.to);
  const lease = await deps.store.leaseDelivery(markerId, deps.clock.now(), EMAIL_LEASE_SECONDS);
  if (lease === 'done') return 'duplicates';
  if (lease === 'in-flight') {
    throw new DeliveryRetryableError('another attempt is sending this email', EMAIL_LEASE_SECONDS);
  }
  try {
    await deps.mailer.send({ to: planned.to, ...planned.email });
  } catch (error) {
    if (error instanceof EmailRejectedError) {
      deps.log.warn('email refused for good', {
        eventId: event.eventId,
        event: event.event,
        errorMessage: error.message,
      });
      deps.metrics.emailRejected();
      await deps.store.confirmDelivery(markerId);
      return 'rejected';
    }
    await deps.store.releaseNotification(markerId);
    // Throttled, failing, or refusing for now (a paused or suspended account, an unverified sender, a spent quota):
    // sent again with back-off, so an admin has hours to mend it before the event reaches the dead-letter queue.
    const name = error instanceof Error ? error.name : 'Error';
    throw new DeliveryRetryableError(`the email could not be sent (${name}): sent again later`, EMAIL_RETRY_SECONDS);
  }
  // Outside the send's error handling, as for chat: a failed confirm keeps the lease rather than send twice at once.
  await deps.store.confirmDelivery(markerId);
  return 'sent';
}
