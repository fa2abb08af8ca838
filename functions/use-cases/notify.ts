/**
 * The notifier: one lifecycle event told by email to the people it concerns (`./notify-email`) and to every policy
 * chat channel that hears it, each once per event and recipient or channel however often the event is delivered.
 * The message text comes from the domain's builders; chat messages link to the console, never to an approver's own
 * link.
 */
import { createHash } from 'node:crypto';
import type { LifecycleEvent } from '../domain/lifecycle-event';
import { approvalRequestNotice, type Outcome, outcomeNotice } from '../domain/messages';
import type { TokenRecord, TokenRequestRecord } from '../domain/model';
import { consoleApprovalsUrl, consoleTokenUrl, type Notice, type NoticeAction } from '../domain/notice';
import { genericEventNotice, isTokenEvent, tokenEventNotice } from '../domain/notice-events';
import { toSlack } from '../domain/notice-slack';
import { toTeams } from '../domain/notice-teams';
import type { ChatChannel, Policy } from '../domain/policy';
import type { Clock } from '../domain/ports';
import type { AuditEvent } from '../domain/records';
import { type EmailDeps, type EmailResult, emailEvent } from './notify-email';
import { ChatDeliveryRejectedError, ChatDeliveryRetryableError, oneFailure } from './port-errors';
import type {
  ChatSender,
  DeliveryLeases,
  NotifierMetrics,
  OperatorLog,
  RequestRepository,
  TokenRepository,
} from './ports';

/**
 * How long one attempt holds a chat delivery: twice the notifier's timeout (60 s), and well under its queue's
 * visibility timeout (360 s), so an attempt that died mid-post is taken over by the event's next delivery.
 */
export const DELIVERY_LEASE_SECONDS = 120;

export interface ChatDeps {
  store: Pick<RequestRepository, 'getRequest'> & Pick<TokenRepository, 'getToken'> & DeliveryLeases;
  chat: ChatSender;
  clock: Clock;
  policy: Pick<Policy, 'notifications'>;
  /** The web console's base URL (`CONSOLE_URL`): where chat messages send their readers. */
  consoleUrl: string;
  metrics: NotifierMetrics;
  log: OperatorLog;
}

/** What the notifier needs: the chat channels' and the email planners'. */
export type NotifyDeps = ChatDeps & EmailDeps;

/** What became of one event in one medium: sent, skipped as sent before, and refused for good. */
export interface NotifyResult {
  sent: number;
  duplicates: number;
  rejected: number;
}

/**
 * Tells `event` by email and in chat. Both media are tried whatever the other did; a failure of either throws once
 * both are done (a back-off only when every failure is one), and the redelivered event sends only what is missing.
 */
export async function notifyEvent(
  deps: NotifyDeps,
  event: LifecycleEvent,
): Promise<{ email: EmailResult; chat: NotifyResult }> {
  const [email, chat] = await Promise.allSettled([emailEvent(deps, event.detail), chatEvent(deps, event)]);
  const failures = [email, chat].flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (failures.length > 0) throw oneFailure(failures);
  return {
    email: (email as PromiseFulfilledResult<EmailResult>).value,
    chat: (chat as PromiseFulfilledResult<NotifyResult>).value,
  };
}

/** Events about no service account's request or token: a channel with a `serviceAccounts` filter never hears them. */
const unowned = ({ event, details }: LifecycleEvent['detail']) =>
  event === 'DRIFT_DETECTED' ||
  event.startsWith('PERSONAL_TOKEN_') ||
  event.startsWith('EXCEPTION_') ||
  (event === 'APPROVAL_REQUESTED' && details?.subject === 'exception');

/** Endings the workflow records again when it closes the request or exception (actor `token-warden`). */
const CLOSED_BY_THE_WORKFLOW: readonly AuditEvent[] = [
  'REJECTED',
  'CANCELLED',
  'EXCEPTION_REJECTED',
  'EXCEPTION_CANCELLED',
];

/** Events told from the request's point of view (its record is read). */
const REQUEST_EVENTS: readonly AuditEvent[] = [
  'REQUESTED',
  'APPROVAL_REQUESTED',
  'APPROVED',
  'REJECTED',
  'CANCELLED',
  'EXPIRED',
  'ISSUED',
  'ISSUANCE_FAILED',
];

const REQUEST_OUTCOMES: Partial<Record<AuditEvent, Outcome>> = {
  ISSUED: 'ISSUED',
  ISSUANCE_FAILED: 'FAILED',
  REJECTED: 'REJECTED',
  CANCELLED: 'CANCELLED',
  EXPIRED: 'EXPIRED',
};

/** The marker of one event told to one channel (a channel is its webhook: the secret that holds its URL). */
export function chatMarkerId(eventId: string, channel: Pick<ChatChannel, 'kind' | 'webhookSecretName'>): string {
  const digest = createHash('sha256').update(`chat\n${eventId}\n${channel.kind}\n${channel.webhookSecretName}`);
  return `NOTE#${digest.digest('hex').slice(0, 32)}`;
}

/**
 * Posts `event` to each chat channel whose `events` include it and whose `serviceAccounts` (when given) include the
 * event's service account, once per event id and channel. A retryable failure gives the channel's marker back and
 * throws (`ChatDeliveryRetryableError` with the longest back-off asked for when every failure is one); a refusal for
 * good keeps the marker, is logged (never the URL) and counted, and does not throw.
 */
export async function chatEvent(deps: ChatDeps, event: LifecycleEvent): Promise<NotifyResult> {
  const { detail } = event;
  const result: NotifyResult = { sent: 0, duplicates: 0, rejected: 0 };
  // A rejection or cancel is told once, from the workflow's closing record, as by email: not also from the person's.
  if (CLOSED_BY_THE_WORKFLOW.includes(detail.event) && detail.actor !== 'token-warden') return result;
  const hearing = (deps.policy.notifications.chat ?? []).filter((c) => c.events.includes(detail.event));
  if (hearing.length === 0) return result;

  const subject = await subjectOf(deps, event);
  const channels = hearing.filter(
    (c) =>
      !c.serviceAccounts ||
      (subject.serviceAccount !== undefined && c.serviceAccounts.includes(subject.serviceAccount)),
  );
  if (channels.length === 0) return result;
  const notice = chatNotice(event, subject, deps.consoleUrl);

  const outcomes = await Promise.allSettled(channels.map((channel) => sendOnce(deps, event, channel, notice)));
  const failures: unknown[] = [];
  for (const outcome of outcomes) {
    if (outcome.status === 'rejected') failures.push(outcome.reason);
    else result[outcome.value] += 1;
  }
  if (failures.length > 0) throw oneFailure(failures);
  return result;
}

interface Subject {
  request?: TokenRequestRecord;
  token?: TokenRecord;
  serviceAccount?: string;
}

/** The request or token the event is about, and its service account (none for drift, personal tokens, exceptions). */
async function subjectOf(deps: ChatDeps, event: LifecycleEvent): Promise<Subject> {
  const { detail } = event;
  if (unowned(detail)) return {};
  const named = detail.serviceAccount ?? stringDetail(detail.details?.serviceAccount);
  if (REQUEST_EVENTS.includes(detail.event)) {
    const request = await deps.store.getRequest(detail.requestId);
    return { ...(request ? { request } : {}), ...pick(request?.serviceAccount ?? named) };
  }
  if (detail.tokenId) {
    const token = await deps.store.getToken(detail.tokenId);
    return { ...(token ? { token } : {}), ...pick(token?.serviceAccount ?? named) };
  }
  return pick(named);
}

const pick = (serviceAccount: string | undefined) => (serviceAccount === undefined ? {} : { serviceAccount });
const stringDetail = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The event's chat notice: a request's or a token's builder where one fits, else the generic one. */
function chatNotice(event: LifecycleEvent, subject: Subject, consoleUrl: string): Notice {
  const { detail } = event;
  const tokenPage = (tokenId: string | undefined): NoticeAction | undefined =>
    tokenId ? { text: "Open the token's page in the console", href: consoleTokenUrl(consoleUrl, tokenId) } : undefined;
  const approvals: NoticeAction = {
    text: 'Open Pending approvals in the console',
    href: consoleApprovalsUrl(consoleUrl),
  };
  const { request, token } = subject;
  if (request && detail.event === 'REQUESTED') return approvalRequestNotice(request, approvals);
  const outcome = REQUEST_OUTCOMES[detail.event];
  if (request && outcome) {
    const reason = stringDetail(detail.details?.reason) ?? request.reason;
    return outcomeNotice(
      request,
      outcome,
      {
        ...(reason && outcome !== 'ISSUED' ? { reason } : {}),
        ...(request.secretName ? { secretName: request.secretName } : {}),
        ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
      },
      tokenPage(request.tokenId ?? detail.tokenId),
    );
  }
  if (token && isTokenEvent(detail.event)) return tokenEventNotice(token, detail, tokenPage(token.tokenId));
  return genericEventNotice(event['detail-type'], detail, tokenPage(detail.tokenId));
}

async function sendOnce(
  deps: ChatDeps,
  event: LifecycleEvent,
  channel: ChatChannel,
  notice: Notice,
): Promise<'sent' | 'duplicates' | 'rejected'> {
  const markerId = chatMarkerId(event.detail.eventId, channel);
  const lease = await deps.store.leaseDelivery(markerId, deps.clock.now(), DELIVERY_LEASE_SECONDS);
  if (lease === 'done') return 'duplicates';
  if (lease === 'in-flight') {
    // Another attempt is posting it now, or died doing so: look again once its lease has run out.
    throw new ChatDeliveryRetryableError('another attempt is delivering this message', DELIVERY_LEASE_SECONDS);
  }
  const body = channel.kind === 'slack' ? toSlack(notice) : toTeams(notice);
  try {
    await deps.chat.send({ kind: channel.kind, webhookSecretName: channel.webhookSecretName }, body);
  } catch (error) {
    if (error instanceof ChatDeliveryRejectedError) {
      // Confirmed: the same message would be refused again. The error names the secret, never the URL.
      deps.log.warn('chat message refused for good', {
        kind: channel.kind,
        webhookSecretName: channel.webhookSecretName,
        status: error.status,
        ...(error.excerpt ? { excerpt: error.excerpt } : {}),
        eventId: event.detail.eventId,
        event: event.detail.event,
      });
      deps.metrics.chatMessageRejected(channel.kind);
      await deps.store.confirmDelivery(markerId);
      return 'rejected';
    }
    // Give the marker back so the redelivered event posts to this channel.
    await deps.store.releaseNotification(markerId);
    throw error;
  }
  // Outside the send's error handling: a failed confirm must not give back a lease whose message went out (the
  // redelivery would post it twice). Unconfirmed, the lease runs out and the next delivery posts it again: at least
  // once, and at most twice only when the post and then this write both went wrong.
  await deps.store.confirmDelivery(markerId);
  return 'sent';
}
