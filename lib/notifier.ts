import { Duration } from 'aws-cdk-lib';
import { Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import { type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CHAT_MESSAGES_REJECTED_METRIC,
  EMAILS_REJECTED_METRIC,
  NOTIFIER_EVENTS_DROPPED_METRIC,
} from '../functions/adapters/aws/metric-names';
import type { Notifications } from './notifications';
import type { WardenFunction } from './warden-function';

/** The `source` of every lifecycle event (functions/adapters/aws/lifecycle-events.ts). */
export const LIFECYCLE_EVENT_SOURCE = 'token-warden';

/** Properties of {@link Notifier}. */
export interface NotifierProps {
  /** The notifier function (functions/events/notifier.ts); its timeout sets the queue's visibility timeout. */
  readonly handler: WardenFunction;
  /** The bus the lifecycle events are published on. */
  readonly eventBus: IEventBus;
  /** Where the dead-letter, refused-message and dropped-message alarms go. */
  readonly notifications: Notifications;
  /**
   * Receives of one message before it moves to the dead-letter queue.
   * @default 10 (with the back-off doubling from 30 s, about 8.5 hours of failing deliveries)
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the dead-letter queue keeps a message (SQS's maximum).
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Messages handed to one invocation.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * At most this many notifier invocations at once (the event source's maximum concurrency), so a burst of events
   * (a first scan's notices) meets SES's sending rate at a steady pace rather than as throttles.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * How often EventBridge retries delivering an event to the queue before it goes to the dead-letter queue.
   * @default 185 (EventBridge's maximum)
   */
  readonly deliveryRetryAttempts?: number;
  /**
   * Namespace of the functions' metrics (their `POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'TokenWarden'
   */
  readonly namespace?: string;
  /**
   * Value of the `service` dimension (the functions' `POWERTOOLS_SERVICE_NAME`).
   * @default 'token-warden'
   */
  readonly serviceName?: string;
}

/**
 * The one notifier's delivery: an EventBridge rule sends every lifecycle event to an SQS queue, which the notifier
 * function polls in batches with partial batch responses. A message that fails comes back after the visibility
 * timeout (or the back-off the function sets), and after `maxReceiveCount` receives it moves to the dead-letter
 * queue, which also takes events EventBridge could not deliver to the queue. Alarms: any message in the dead-letter
 * queue, any chat message a webhook refused for good, and any message dropped as no lifecycle event.
 */
export class Notifier extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: NotifierProps) {
    super(scope, id);
    const timeout = props.handler.function.timeout ?? Duration.seconds(3);

    // Events carry ids and non-secret facts only, so SQS-managed keys suffice; a customer managed key would also
    // need a key policy letting EventBridge encrypt.
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
    });
    this.queue = new Queue(this, 'Events', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the function's timeout (AWS's guidance for SQS event sources), so a batch still running is never
      // handed to a second invocation.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 10 },
    });

    this.rule = new Rule(this, 'LifecycleEvents', {
      eventBus: props.eventBus,
      description: 'Every Token Warden lifecycle event, to the notifier',
      eventPattern: { source: [LIFECYCLE_EVENT_SOURCE] },
    });
    this.rule.addTarget(
      new SqsQueue(this.queue, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: props.deliveryRetryAttempts ?? 185,
        maxEventAge: Duration.hours(24),
      }),
    );

    props.handler.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize ?? 10,
        maxConcurrency: props.maxConcurrency ?? 5,
        reportBatchItemFailures: true,
      }),
    );

    const period = Duration.minutes(5);
    props.notifications.watchMetric(
      'NotifierDeadLetters',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: Stats.MAXIMUM }),
      'notifier: lifecycle events are in the dead-letter queue (not told to every recipient and chat channel)',
    );
    const count = (metricName: string) =>
      new Metric({
        namespace: props.namespace ?? 'TokenWarden',
        metricName,
        dimensionsMap: { service: props.serviceName ?? 'token-warden' },
        statistic: Stats.SUM,
        period,
      });
    props.notifications.watchMetric(
      'ChatMessagesRejected',
      count(CHAT_MESSAGES_REJECTED_METRIC),
      'notifier: a chat webhook refused a message for good (check the channel secret and the webhook)',
    );
    props.notifications.watchMetric(
      'EmailsRejected',
      count(EMAILS_REJECTED_METRIC),
      'notifier: SES refused an email for good (check the recipient and the sending identity)',
    );
    // A dropped message is deleted from the queue, so it never reaches the dead-letter queue: only this alarm tells.
    props.notifications.watchMetric(
      'NotifierEventsDropped',
      count(NOTIFIER_EVENTS_DROPPED_METRIC),
      'notifier: a queued message held no lifecycle event and was dropped (not told to anyone)',
    );
  }
}
