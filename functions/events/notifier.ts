import { messageVisibility, notifierDeps, notifierMetrics } from '../composition/notifier-deps';
import * as z from '../domain/schema';
import { logger } from '../edge/logger';
import { taskHandler } from '../edge/task';
import { notifyEvent } from '../use-cases/notify';
import { notifyBatch } from './notify-batch';

const deps = notifierDeps();
const visibility = messageVisibility();
const metrics = notifierMetrics();

/** Lambda's SQS event, as far as the notifier reads it. */
const sqsEvent = z.object({
  Records: z.array(
    z.object({
      messageId: z.string(),
      receiptHandle: z.string(),
      body: z.string(),
      attributes: z.optional(z.object({ ApproximateReceiveCount: z.optional(z.string()) })),
    }),
  ),
});

/**
 * The notifier: lifecycle events from its queue (EventBridge rule → SQS → this function, `ReportBatchItemFailures`)
 * told to the policy's chat channels.
 */
export const handler = taskHandler(sqsEvent, (event) =>
  notifyBatch(
    {
      notify: (lifecycle) => notifyEvent(deps, lifecycle),
      visibility,
      log: logger,
      dropped: () => metrics.eventDropped(),
    },
    event.Records.map((r) => ({ ...r, receiveCount: Number(r.attributes?.ApproximateReceiveCount ?? 1) || 1 })),
  ),
);
