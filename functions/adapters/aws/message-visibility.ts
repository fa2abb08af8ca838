import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { MessageVisibility } from '../../use-cases/ports';
import { aws } from './errors';

/** SQS's longest visibility timeout: a message cannot be hidden for longer (12 hours). */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/** `MessageVisibility` over SQS `ChangeMessageVisibility` on the notifier's queue (`QUEUE_URL`). */
export class SqsMessageVisibility implements MessageVisibility {
  constructor(
    private readonly queueUrl: string,
    private readonly client: SQSClient = new SQSClient({}),
  ) {}

  async delay(receiptHandle: string, seconds: number): Promise<void> {
    const VisibilityTimeout = Math.min(Math.max(0, Math.ceil(seconds)), MAX_VISIBILITY_SECONDS);
    await aws('SQS.ChangeMessageVisibility', () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout,
        }),
      ),
    );
  }
}
