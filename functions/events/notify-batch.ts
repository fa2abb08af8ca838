/**
 * One SQS batch of lifecycle events through the notifier, with Lambda's partial batch response: a message whose
 * event could not be told to every channel is reported in `batchItemFailures` (SQS delivers it again; after the
 * queue's `maxReceiveCount` it goes to the dead-letter queue), the others are deleted. A chat back-off hides the
 * message for the `Retry-After` asked for; a body that holds no lifecycle event is logged, counted and dropped,
 * since delivering it again cannot mend it.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { type LifecycleEvent, lifecycleEventSchema } from '../domain/lifecycle-event';
import { DeliveryRetryableError } from '../use-cases/port-errors';
import type { MessageVisibility } from '../use-cases/ports';

/**
 * The longest back-off: SQS's 12-hour visibility limit counts from the receive, so a full 12 hours set later in the
 * invocation is refused; the function's 60 s timeout (and a minute more) stays clear of it.
 */
export const MAX_BACKOFF_SECONDS = 12 * 60 * 60 - 120;
/** The first back-off of a message; each further receive doubles it. */
export const BASE_BACKOFF_SECONDS = 30;

/**
 * How long a message waits before its next delivery: what the webhook asked for (`Retry-After`), but at least
 * {@link BASE_BACKOFF_SECONDS} doubled per earlier receive, so the queue's receives span an outage of hours rather
 * than minutes before the message reaches the dead-letter queue.
 */
export function backoffSeconds(retryAfterSeconds: number, receiveCount: number): number {
  const exponential = BASE_BACKOFF_SECONDS * 2 ** Math.min(Math.max(receiveCount, 1) - 1, 20);
  return Math.min(Math.max(retryAfterSeconds, exponential, 0), MAX_BACKOFF_SECONDS);
}

/** The parts of an SQS record the notifier reads. */
export interface QueuedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** SQS's `ApproximateReceiveCount`: 1 on the first delivery. @default 1 */
  receiveCount?: number;
}

export interface NotifyBatchDeps {
  /** Tells one event to the chat channels (`notifyEvent`). */
  notify: (event: LifecycleEvent) => Promise<unknown>;
  visibility: MessageVisibility;
  log: {
    warn(message: string, attributes: Record<string, unknown>): void;
    error(message: string, attributes: Record<string, unknown>): void;
  };
  /** Counts a dropped message. */
  dropped: () => void;
}

/** The event in a message body, or the reason it holds none (field paths only, never the body). */
export function parseQueuedEvent(body: string): { event: LifecycleEvent } | { problem: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { problem: 'the body is not JSON' };
  }
  const parsed = lifecycleEventSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(event)'))].slice(0, 10);
    return { problem: `not a lifecycle event: ${fields.join(', ')}` };
  }
  return { event: parsed.data };
}

export async function notifyBatch(
  deps: NotifyBatchDeps,
  messages: readonly QueuedMessage[],
): Promise<SQSBatchResponse> {
  const failed = await Promise.all(messages.map((message) => notifyOne(deps, message)));
  return {
    batchItemFailures: messages.filter((_, i) => failed[i]).map((message) => ({ itemIdentifier: message.messageId })),
  };
}

/** True when the message must be delivered again. */
async function notifyOne(deps: NotifyBatchDeps, message: QueuedMessage): Promise<boolean> {
  const parsed = parseQueuedEvent(message.body);
  if ('problem' in parsed) {
    deps.log.warn('dropped a message that holds no lifecycle event', {
      messageId: message.messageId,
      problem: parsed.problem,
    });
    deps.dropped();
    return false;
  }
  const { eventId, event } = parsed.event.detail;
  try {
    await deps.notify(parsed.event);
    return false;
  } catch (error) {
    const named = error instanceof Error ? { errorName: error.name, errorMessage: error.message } : {};
    deps.log.error('event not told to every channel; it will be delivered again', {
      messageId: message.messageId,
      eventId,
      event,
      ...named,
    });
    if (error instanceof DeliveryRetryableError) {
      const seconds = backoffSeconds(error.retryAfterSeconds, message.receiveCount ?? 1);
      try {
        await deps.visibility.delay(message.receiptHandle, seconds);
      } catch (delayError) {
        // The message still comes back, after the queue's visibility timeout instead.
        deps.log.warn('could not delay the message', {
          messageId: message.messageId,
          errorName: delayError instanceof Error ? delayError.name : 'Error',
        });
      }
    }
    return true;
  }
}
