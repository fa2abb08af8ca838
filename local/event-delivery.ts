/**
 * Brings the template's event delivery up on the local endpoint: creates its queues (dead-letter queues first;
 * a queue whose settings the template changed since the last run gets them with SetQueueAttributes) and hands its
 * rules to EventBridge. The runtime then starts the event source mappings' pollers (`./sqs-event-source.ts`) once
 * the functions can run.
 */
import { CreateQueueCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeService } from './aws/eventbridge';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './aws/protocol';
import type { LocalMessaging } from './messaging';

export async function provisionMessaging(options: {
  messaging: LocalMessaging;
  events: Pick<EventBridgeService, 'setRules'>;
  /** The local AWS endpoint. */
  awsUrl: string;
}): Promise<void> {
  const client = new SQSClient({
    endpoint: options.awsUrl,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const queue of options.messaging.queues) {
      try {
        await client.send(new CreateQueueCommand({ QueueName: queue.name, Attributes: queue.attributes }));
      } catch (error) {
        if ((error as Error).name !== 'QueueNameExists') throw error;
        const QueueUrl = `${options.awsUrl.replace(/\/+$/, '')}/${LOCAL_ACCOUNT}/${queue.name}`;
        await client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: queue.attributes }));
      }
    }
  } finally {
    client.destroy();
  }
  options.events.setRules(options.messaging.rules);
}
