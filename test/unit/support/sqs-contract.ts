/**
 * The SQS contract: what the SQS API reference documents for standard queues, checked through the real SDK v3
 * client (AWS JSON 1.0). Every target — the local emulator, moto_server when present — runs the same cases; a
 * target lists the cases where it is known to differ from AWS, with the reason, and those cases are probed to
 * still differ instead of being weakened. Cases that wait use short wall-clock waits (a second or so), so they
 * run against any target; cases that need hours to pass need a target whose clock can be driven.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  type Message,
  PurgeQueueCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/** A running endpoint the contract is checked against. */
export interface SqsContractTarget {
  /** Base URL of the endpoint, e.g. `http://127.0.0.1:4566`. */
  endpoint: string;
  /** Moves the target's clock forward; only targets whose clock can be driven have it. */
  advance?: (ms: number) => Promise<void>;
  /** Re-creates the service from what it persisted; only persisting targets have it. */
  restart?: () => Promise<void>;
}

export type SqsCapability = 'clock' | 'restart';

export interface SqsContractContext {
  client: SQSClient;
  target: SqsContractTarget;
  /** A queue name unique to this run. */
  name(label: string): string;
}

export interface SqsContractCase {
  id: string;
  title: string;
  needs?: SqsCapability[];
  /** Wall time the case may take. @default 5 s */
  timeoutMs?: number;
  run(ctx: SqsContractContext): Promise<void>;
}

/** Cases a target is known to answer differently from AWS's documentation, with the reason. */
export type SqsKnownDifferences = Record<string, string>;

export function sqsClientFor(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

interface SdkError extends Error {
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Awaits a rejection and checks the SDK's exception name (and the query-compatible code, when given). */
async function rejects(promise: Promise<unknown>, name: string, code?: string): Promise<SdkError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${name}, but the call succeeded`);
  const error = outcome.error as SdkError;
  expect(error.name).toBe(name);
  if (code) expect(error.Code).toBe(code);
  return error;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const md5 = (text: string | Buffer) => createHash('md5').update(text).digest('hex');

/** The MD5 of message attributes as the SQS developer guide defines it (written here independently). */
function expectedAttributesMd5(attributes: Record<string, { DataType: string; StringValue: string }>): string {
  const parts: Buffer[] = [];
  const put = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    const size = Buffer.alloc(4);
    size.writeUInt32BE(bytes.length, 0);
    parts.push(size, bytes);
  };
  for (const key of Object.keys(attributes).sort()) {
    const value = attributes[key] as { DataType: string; StringValue: string };
    put(key);
    put(value.DataType);
    parts.push(Buffer.of(1));
    put(value.StringValue);
  }
  return md5(Buffer.concat(parts));
}

async function createQueue(ctx: SqsContractContext, label: string, attributes: Record<string, string> = {}) {
  const name = ctx.name(label);
  const { QueueUrl } = await ctx.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
  return { name, url: QueueUrl };
}

async function attributesOf(ctx: SqsContractContext, url: string, names: QueueAttributeName[] = ['All']) {
  const { Attributes } = await ctx.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }));
  return Attributes ?? {};
}

async function receive(ctx: SqsContractContext, url: string, input: Partial<ReceiveMessageCommandInput> = {}) {
  const { Messages } = await ctx.client.send(
    new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['All'], ...input }),
  );
  return Messages ?? [];
}

async function receiveOne(ctx: SqsContractContext, url: string, input: Partial<ReceiveMessageCommandInput> = {}) {
  const messages = await receive(ctx, url, { WaitTimeSeconds: 1, ...input });
  expect(messages).toHaveLength(1);
  return messages[0] as Message;
}

async function send(ctx: SqsContractContext, url: string, body: string) {
  return ctx.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
}

/** A queue with a dead-letter queue after `maxReceiveCount` receives; visibility 0 so receives can repeat. */
async function queueWithDlq(ctx: SqsContractContext, maxReceiveCount: number) {
  const dlq = await createQueue(ctx, 'dlq');
  const dlqArn = (await attributesOf(ctx, dlq.url, ['QueueArn'])).QueueArn ?? '';
  const main = await createQueue(ctx, 'main', {
    VisibilityTimeout: '0',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
  });
  return { dlq, dlqArn, main };
}

/** Every case of the contract, in a stable order. */
export function sqsContractCases(): SqsContractCase[] {
  return [
    {
      id: 'create-get-url',
      title:
        'CreateQueue answers a URL that GetQueueUrl returns too; creating it again with the same attributes is a no-op',
      async run(ctx) {
        const { name, url } = await createQueue(ctx, 'create', { VisibilityTimeout: '40' });
        expect(url).toMatch(new RegExp(`/\\d{12}/${name}$`));
        const got = await ctx.client.send(new GetQueueUrlCommand({ QueueName: name }));
        expect(got.QueueUrl).toBe(url);
        const again = await ctx.client.send(
          new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '40' } }),
        );
        expect(again.QueueUrl).toBe(url);
      },
    },
    {
      id: 'create-conflict',
      title: 'CreateQueue of an existing name with another attribute value fails with QueueNameExists',
      async run(ctx) {
        const { name } = await createQueue(ctx, 'conflict', { VisibilityTimeout: '40' });
        await rejects(
          ctx.client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '41' } })),
          'QueueNameExists',
          'QueueAlreadyExists',
        );
      },
    },
    {
      id: 'create-invalid-name',
      title: 'CreateQueue refuses a name outside the documented alphabet',
      async run(ctx) {
        await rejects(
          ctx.client.send(new CreateQueueCommand({ QueueName: `bad name ${randomUUID().slice(0, 4)}` })),
          'InvalidParameterValue',
        );
      },
    },
    {
      id: 'create-invalid-attribute-value',
      title: 'CreateQueue refuses a VisibilityTimeout above 43200 seconds with InvalidAttributeValue',
      async run(ctx) {
        await rejects(
          ctx.client.send(
            new CreateQueueCommand({ QueueName: ctx.name('badvt'), Attributes: { VisibilityTimeout: '43201' } }),
          ),
          'InvalidAttributeValue',
        );
      },
    },
    {
      id: 'attributes-defaults',
      title: 'GetQueueAttributes All shows the documented defaults, the queue ARN and zero counts',
      async run(ctx) {
        const { name, url } = await createQueue(ctx, 'defaults');
        const attributes = await attributesOf(ctx, url);
        expect(attributes).toMatchObject({
          VisibilityTimeout: '30',
          MessageRetentionPeriod: '345600',
          DelaySeconds: '0',
          ReceiveMessageWaitTimeSeconds: '0',
          ApproximateNumberOfMessages: '0',
          ApproximateNumberOfMessagesNotVisible: '0',
          ApproximateNumberOfMessagesDelayed: '0',
        });
        expect(attributes.QueueArn).toMatch(new RegExp(`^arn:aws:sqs:us-east-1:\\d{12}:${name}$`));
        expect(attributes.RedrivePolicy).toBeUndefined();
      },
    },
    {
      id: 'attributes-whole-seconds',
      title: 'CreatedTimestamp and LastModifiedTimestamp are whole epoch seconds',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'stamps');
        const attributes = await attributesOf(ctx, url, ['CreatedTimestamp', 'LastModifiedTimestamp']);
        expect(attributes.CreatedTimestamp).toMatch(/^\d{10}$/);
        expect(attributes.LastModifiedTimestamp).toMatch(/^\d{10}$/);
        expect(Math.abs(Number(attributes.CreatedTimestamp) - Date.now() / 1000)).toBeLessThan(120);
      },
    },
    {
      id: 'attributes-unknown',
      title: 'GetQueueAttributes of an unknown attribute fails with InvalidAttributeName',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'unknown');
        await rejects(attributesOf(ctx, url, ['NoSuchAttribute' as QueueAttributeName]), 'InvalidAttributeName');
      },
    },
    {
      id: 'queue-does-not-exist',
      title: 'An unknown queue is QueueDoesNotExist (query code AWS.SimpleQueueService.NonExistentQueue)',
      async run(ctx) {
        const name = ctx.name('missing');
        await rejects(
          ctx.client.send(new GetQueueUrlCommand({ QueueName: name })),
          'QueueDoesNotExist',
          'AWS.SimpleQueueService.NonExistentQueue',
        );
        const { url } = await createQueue(ctx, 'present');
        const missingUrl = url.replace(/[^/]+$/, name);
        await rejects(send(ctx, missingUrl, 'x'), 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue');
        await rejects(receive(ctx, missingUrl), 'QueueDoesNotExist');
      },
    },
    {
      id: 'send-receive',
      title: 'SendMessage answers the MD5 of the body; ReceiveMessage returns it with the requested system attributes',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'send');
        const before = Date.now();
        const sent = await send(ctx, url, '{"hello":"wörld"}');
        expect(sent.MD5OfMessageBody).toBe(md5('{"hello":"wörld"}'));
        expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
        const message = await receiveOne(ctx, url, {
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        });
        expect(message).toMatchObject({ MessageId: sent.MessageId, Body: '{"hello":"wörld"}' });
        expect(message.MD5OfBody).toBe(sent.MD5OfMessageBody);
        expect(Object.keys(message.Attributes ?? {}).sort()).toEqual(['ApproximateReceiveCount', 'SentTimestamp']);
        expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
        expect(Number(message.Attributes?.SentTimestamp)).toBeGreaterThanOrEqual(before - 1000);
        expect(Number(message.Attributes?.SentTimestamp)).toBeLessThanOrEqual(Date.now() + 1000);
        expect(message.ReceiptHandle).toEqual(expect.any(String));
      },
    },
    {
      id: 'in-flight-invisible',
      title: 'A received message is invisible for the visibility timeout and counted as not visible',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'inflight');
        await send(ctx, url, 'one');
        await receiveOne(ctx, url);
        expect(await receive(ctx, url)).toEqual([]);
        const attributes = await attributesOf(ctx, url, [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
        ]);
        expect(attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1' });
      },
    },
    {
      id: 'visibility-timeout-reappears',
      title: 'After its visibility timeout a message is received again, with a new receipt handle and count 2',
      timeoutMs: 10_000,
      async run(ctx) {
        const { url } = await createQueue(ctx, 'reappear');
        const sent = await send(ctx, url, 'again');
        const first = await receiveOne(ctx, url, { VisibilityTimeout: 1 });
        await sleep(1_200);
        const second = await receiveOne(ctx, url);
        expect(second.MessageId).toBe(sent.MessageId);
        expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
        expect(second.Attributes?.ApproximateReceiveCount).toBe('2');
        expect(second.Attributes?.ApproximateFirstReceiveTimestamp).toBe(
          first.Attributes?.ApproximateFirstReceiveTimestamp,
        );
      },
    },
    {
      id: 'delete-stale-handle',
      title: 'DeleteMessage with an older receipt handle succeeds and deletes nothing; the latest handle deletes',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'stale', { VisibilityTimeout: '0' });
        await send(ctx, url, 'keep');
        const first = await receiveOne(ctx, url);
        const second = await receiveOne(ctx, url);
        await ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
        const third = await receiveOne(ctx, url);
        expect(third.MessageId).toBe(second.MessageId);
        expect(third.Attributes?.ApproximateReceiveCount).toBe('3');
        await ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third.ReceiptHandle }));
        expect(await receive(ctx, url)).toEqual([]);
      },
    },
    {
      id: 'delete-twice',
      title: 'Deleting an already deleted message with its handle succeeds again',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'twice');
        await send(ctx, url, 'bye');
        const message = await receiveOne(ctx, url);
        await ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
        await ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
        expect((await attributesOf(ctx, url, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages).toBe('0');
      },
    },
    {
      id: 'receipt-handle-invalid',
      title: 'A receipt handle that SQS did not issue is ReceiptHandleIsInvalid for delete and visibility changes',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'badhandle');
        await rejects(
          ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-receipt-handle' })),
          'ReceiptHandleIsInvalid',
        );
        await rejects(
          ctx.client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: 'not-a-receipt-handle',
              VisibilityTimeout: 5,
            }),
          ),
          'ReceiptHandleIsInvalid',
        );
      },
    },
    {
      id: 'receipt-handle-other-queue',
      title: "Another queue's receipt handle is ReceiptHandleIsInvalid",
      async run(ctx) {
        const a = await createQueue(ctx, 'a');
        const b = await createQueue(ctx, 'b');
        await send(ctx, a.url, 'from a');
        const message = await receiveOne(ctx, a.url);
        await rejects(
          ctx.client.send(new DeleteMessageCommand({ QueueUrl: b.url, ReceiptHandle: message.ReceiptHandle })),
          'ReceiptHandleIsInvalid',
        );
      },
    },
    {
      id: 'change-visibility-zero',
      title: 'ChangeMessageVisibility 0 makes an in-flight message receivable at once',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'cmv0');
        await send(ctx, url, 'retry me');
        const first = await receiveOne(ctx, url);
        await ctx.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: first.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
        const second = await receiveOne(ctx, url);
        expect(second.MessageId).toBe(first.MessageId);
        expect(second.Attributes?.ApproximateReceiveCount).toBe('2');
      },
    },
    {
      id: 'change-visibility-extends',
      title: 'ChangeMessageVisibility sets the remaining timeout from now (back-off)',
      timeoutMs: 10_000,
      async run(ctx) {
        const { url } = await createQueue(ctx, 'cmvext');
        await send(ctx, url, 'later');
        const first = await receiveOne(ctx, url, { VisibilityTimeout: 1 });
        await ctx.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: first.ReceiptHandle,
            VisibilityTimeout: 30,
          }),
        );
        await sleep(1_200);
        expect(await receive(ctx, url)).toEqual([]);
        expect(
          (await attributesOf(ctx, url, ['ApproximateNumberOfMessagesNotVisible']))
            .ApproximateNumberOfMessagesNotVisible,
        ).toBe('1');
      },
    },
    {
      id: 'change-visibility-deleted',
      title: 'ChangeMessageVisibility of a deleted message fails with InvalidParameterValue',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'cmvdel');
        await send(ctx, url, 'gone');
        const message = await receiveOne(ctx, url);
        await ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
        await rejects(
          ctx.client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 5,
            }),
          ),
          'InvalidParameterValue',
        );
      },
    },
    {
      id: 'change-visibility-not-in-flight',
      title: 'ChangeMessageVisibility of a message visible again fails with MessageNotInflight',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'cmvnif');
        await send(ctx, url, 'back');
        const message = await receiveOne(ctx, url, { VisibilityTimeout: 1 });
        await sleep(1_200);
        await rejects(
          ctx.client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 5,
            }),
          ),
          'MessageNotInflight',
        );
      },
    },
    {
      id: 'receive-parameter-bounds',
      title: 'ReceiveMessage refuses MaxNumberOfMessages outside 1–10 and WaitTimeSeconds above 20',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'bounds');
        await rejects(receive(ctx, url, { MaxNumberOfMessages: 11 }), 'InvalidParameterValue');
        await rejects(receive(ctx, url, { MaxNumberOfMessages: 0 }), 'InvalidParameterValue');
        await rejects(receive(ctx, url, { WaitTimeSeconds: 21 }), 'InvalidParameterValue');
      },
    },
    {
      id: 'receive-batches',
      title: 'ReceiveMessage returns at most MaxNumberOfMessages; all sent messages are received once each',
      timeoutMs: 10_000,
      async run(ctx) {
        const { url } = await createQueue(ctx, 'batches');
        for (let i = 0; i < 12; i++) await send(ctx, url, `m${i}`);
        const bodies = new Set<string>();
        for (let round = 0; round < 12 && bodies.size < 12; round++) {
          const messages = await receive(ctx, url, { MaxNumberOfMessages: 10, WaitTimeSeconds: 1 });
          expect(messages.length).toBeLessThanOrEqual(10);
          for (const m of messages) {
            expect(bodies.has(m.Body ?? '')).toBe(false);
            bodies.add(m.Body ?? '');
          }
        }
        expect(bodies.size).toBe(12);
      },
    },
    {
      id: 'long-poll-wakes',
      title: 'A long poll answers as soon as a message arrives',
      timeoutMs: 10_000,
      async run(ctx) {
        const { url } = await createQueue(ctx, 'longpoll');
        const started = Date.now();
        const polling = receive(ctx, url, { WaitTimeSeconds: 10 });
        await sleep(300);
        await send(ctx, url, 'wake up');
        const messages = await polling;
        expect(messages.map((m) => m.Body)).toEqual(['wake up']);
        expect(Date.now() - started).toBeLessThan(5_000);
      },
    },
    {
      id: 'long-poll-empty',
      title: 'A long poll on an empty queue waits WaitTimeSeconds and answers no messages',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'empty');
        const started = Date.now();
        expect(await receive(ctx, url, { WaitTimeSeconds: 1 })).toEqual([]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      },
    },
    {
      id: 'redrive-policy-attribute',
      title: 'RedrivePolicy reads back with the dead-letter target and maxReceiveCount',
      async run(ctx) {
        const { dlqArn, main } = await queueWithDlq(ctx, 3);
        const policy = JSON.parse((await attributesOf(ctx, main.url, ['RedrivePolicy'])).RedrivePolicy ?? '{}');
        expect(policy.deadLetterTargetArn).toBe(dlqArn);
        expect(Number(policy.maxReceiveCount)).toBe(3);
      },
    },
    {
      id: 'redrive-to-dlq',
      title: 'A message received maxReceiveCount times moves to the dead-letter queue on the next receive',
      async run(ctx) {
        const { dlq, main } = await queueWithDlq(ctx, 2);
        const sent = await send(ctx, main.url, 'poison');
        expect((await receiveOne(ctx, main.url)).Attributes?.ApproximateReceiveCount).toBe('1');
        expect((await receiveOne(ctx, main.url)).Attributes?.ApproximateReceiveCount).toBe('2');
        expect(await receive(ctx, main.url)).toEqual([]);
        const dead = await receiveOne(ctx, dlq.url);
        expect(dead).toMatchObject({ MessageId: sent.MessageId, Body: 'poison' });
        expect((await attributesOf(ctx, main.url, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages).toBe(
          '0',
        );
      },
    },
    {
      id: 'send-batch',
      title: 'SendMessageBatch answers each entry with its MD5; batch limits are enforced',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'sendbatch');
        const result = await ctx.client.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              { Id: 'a', MessageBody: 'first' },
              { Id: 'b', MessageBody: 'second' },
            ],
          }),
        );
        expect((result.Successful ?? []).map((e) => [e.Id, e.MD5OfMessageBody]).sort()).toEqual([
          ['a', md5('first')],
          ['b', md5('second')],
        ]);
        expect(result.Failed ?? []).toEqual([]);
        const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }));
        await rejects(
          ctx.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: eleven })),
          'TooManyEntriesInBatchRequest',
        );
        await rejects(
          ctx.client.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: [
                { Id: 'same', MessageBody: 'x' },
                { Id: 'same', MessageBody: 'y' },
              ],
            }),
          ),
          'BatchEntryIdsNotDistinct',
        );
        await rejects(
          ctx.client.send(
            new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'no spaces', MessageBody: 'x' }] }),
          ),
          'InvalidBatchEntryId',
        );
        await rejects(
          ctx.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })),
          'EmptyBatchRequest',
        );
      },
    },
    {
      id: 'delete-batch',
      title: 'DeleteMessageBatch reports a bad handle per entry and deletes the others',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'delbatch');
        await send(ctx, url, 'one');
        const message = await receiveOne(ctx, url);
        const result = await ctx.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              { Id: 'good', ReceiptHandle: message.ReceiptHandle },
              { Id: 'bad', ReceiptHandle: 'not-a-receipt-handle' },
            ],
          }),
        );
        expect((result.Successful ?? []).map((e) => e.Id)).toEqual(['good']);
        expect(result.Failed).toEqual([
          expect.objectContaining({ Id: 'bad', SenderFault: true, Code: 'ReceiptHandleIsInvalid' }),
        ]);
        const attributes = await attributesOf(ctx, url, [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
        ]);
        expect(attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
      },
    },
    {
      id: 'change-visibility-batch',
      title: 'ChangeMessageVisibilityBatch changes each entry',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'cmvbatch');
        await send(ctx, url, 'one');
        const message = await receiveOne(ctx, url);
        const result = await ctx.client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: [{ Id: 'only', ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 }],
          }),
        );
        expect((result.Successful ?? []).map((e) => e.Id)).toEqual(['only']);
        expect((await receiveOne(ctx, url)).MessageId).toBe(message.MessageId);
      },
    },
    {
      id: 'purge',
      title: 'PurgeQueue deletes every message',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'purge');
        await send(ctx, url, 'one');
        await send(ctx, url, 'two');
        await ctx.client.send(new PurgeQueueCommand({ QueueUrl: url }));
        expect(await receive(ctx, url)).toEqual([]);
      },
    },
    {
      id: 'purge-once-a-minute',
      title: 'A second PurgeQueue within 60 seconds fails with PurgeQueueInProgress',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'purge2');
        await ctx.client.send(new PurgeQueueCommand({ QueueUrl: url }));
        await rejects(ctx.client.send(new PurgeQueueCommand({ QueueUrl: url })), 'PurgeQueueInProgress');
      },
    },
    {
      id: 'list-queues',
      title: 'ListQueues filters by name prefix',
      async run(ctx) {
        const a = await createQueue(ctx, 'list');
        const b = await createQueue(ctx, 'list');
        const prefix = a.name.replace(/-\d+$/, '');
        const { QueueUrls } = await ctx.client.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
        expect([...(QueueUrls ?? [])].sort()).toEqual([a.url, b.url].sort());
      },
    },
    {
      id: 'invalid-body-characters',
      title: 'A body with characters outside the allowed set fails with InvalidMessageContents',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'chars');
        await rejects(send(ctx, url, 'bell \u0007'), 'InvalidMessageContents');
      },
    },
    {
      id: 'empty-body',
      title: 'An empty body is refused (MessageBody is required)',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'emptybody');
        await rejects(send(ctx, url, ''), 'MissingParameter');
      },
    },
    {
      id: 'delay-seconds',
      title: 'A delayed message is counted as delayed and received only after DelaySeconds',
      timeoutMs: 10_000,
      async run(ctx) {
        const { url } = await createQueue(ctx, 'delay');
        await ctx.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'soon', DelaySeconds: 1 }));
        expect(
          (await attributesOf(ctx, url, ['ApproximateNumberOfMessagesDelayed'])).ApproximateNumberOfMessagesDelayed,
        ).toBe('1');
        expect(await receive(ctx, url)).toEqual([]);
        await sleep(1_200);
        expect((await receiveOne(ctx, url)).Body).toBe('soon');
      },
    },
    {
      id: 'message-attributes',
      title: 'Message attributes come back on request, with the documented MD5 of message attributes',
      async run(ctx) {
        const { url } = await createQueue(ctx, 'attrs');
        const attributes = {
          eventType: { DataType: 'String', StringValue: 'ISSUED' },
          attempt: { DataType: 'Number', StringValue: '2' },
        };
        const sent = await ctx.client.send(
          new SendMessageCommand({ QueueUrl: url, MessageBody: 'with attributes', MessageAttributes: attributes }),
        );
        expect(sent.MD5OfMessageAttributes).toBe(expectedAttributesMd5(attributes));
        const message = await receiveOne(ctx, url, { MessageAttributeNames: ['All'] });
        expect(message.MessageAttributes).toEqual({
          eventType: expect.objectContaining(attributes.eventType),
          attempt: expect.objectContaining(attributes.attempt),
        });
        expect(message.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
      },
    },
    // --- cases that need time to pass ---------------------------------------------------------------------
    {
      id: 'visibility-on-clock',
      title: 'A visibility timeout of an hour ends when the clock passes it',
      needs: ['clock'],
      async run(ctx) {
        const { url } = await createQueue(ctx, 'hour');
        await send(ctx, url, 'hourly');
        await receiveOne(ctx, url, { VisibilityTimeout: 3600 });
        await ctx.target.advance?.(3_599_000);
        expect(await receive(ctx, url)).toEqual([]);
        await ctx.target.advance?.(2_000);
        expect((await receiveOne(ctx, url)).Attributes?.ApproximateReceiveCount).toBe('2');
      },
    },
    {
      id: 'retention',
      title: 'Messages older than MessageRetentionPeriod are deleted',
      needs: ['clock'],
      async run(ctx) {
        const { url } = await createQueue(ctx, 'retention', { MessageRetentionPeriod: '60' });
        await send(ctx, url, 'old');
        await ctx.target.advance?.(61_000);
        expect(await receive(ctx, url)).toEqual([]);
        expect((await attributesOf(ctx, url, ['ApproximateNumberOfMessages'])).ApproximateNumberOfMessages).toBe('0');
      },
    },
    {
      id: 'visibility-total-limit',
      title: 'ChangeMessageVisibility cannot keep a message in flight beyond 12 hours from its receive',
      needs: ['clock'],
      async run(ctx) {
        const { url } = await createQueue(ctx, 'limit');
        await send(ctx, url, 'long');
        const message = await receiveOne(ctx, url, { VisibilityTimeout: 43_200 });
        await ctx.target.advance?.(3_600_000);
        await rejects(
          ctx.client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 43_200,
            }),
          ),
          'InvalidParameterValue',
        );
        await ctx.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 39_000,
          }),
        );
      },
    },
    {
      id: 'restart',
      title: 'Queues, messages and in-flight state survive a restart',
      needs: ['restart'],
      async run(ctx) {
        const { name, url } = await createQueue(ctx, 'restart');
        await send(ctx, url, 'visible');
        await send(ctx, url, 'in flight');
        const first = await receiveOne(ctx, url);
        await ctx.target.restart?.();
        expect((await ctx.client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(url);
        const attributes = await attributesOf(ctx, url, [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
        ]);
        expect(attributes).toEqual({ ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '1' });
        await ctx.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle }));
        expect((await receiveOne(ctx, url)).Body).not.toBe(first.Body);
      },
    },
  ];
}

/** Registers every case the target can run as a jest test. */
export function registerSqsContract(
  getTarget: () => SqsContractTarget,
  options: { differs?: SqsKnownDifferences; capabilities: SqsCapability[] },
): void {
  const runId = randomUUID().slice(0, 8);
  let counter = 0;
  let client: SQSClient | undefined;
  const context = (): SqsContractContext => {
    const target = getTarget();
    client ??= sqsClientFor(target.endpoint);
    return { client, target, name: (label) => `tw-${runId}-${label}-${++counter}` };
  };
  afterAll(() => client?.destroy());

  const differs = options.differs ?? {};
  const cases = sqsContractCases();
  const known = new Set(cases.map((c) => c.id));
  for (const id of Object.keys(differs)) {
    if (!known.has(id)) throw new Error(`unknown contract case in the differences list: ${id}`);
  }
  const runnable = cases.filter((c) => (c.needs ?? []).every((need) => options.capabilities.includes(need)));
  for (const testCase of runnable) {
    const reason = differs[testCase.id];
    const timeout = testCase.timeoutMs ?? 5_000;
    if (reason === undefined) {
      it(testCase.title, () => testCase.run(context()), timeout);
    } else {
      it(
        `still differs from AWS on "${testCase.id}": ${reason}`,
        async () => {
          await expect(testCase.run(context())).rejects.toBeDefined();
        },
        timeout,
      );
    }
  }
}
