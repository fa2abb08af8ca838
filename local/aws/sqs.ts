/**
 * Amazon SQS (standard queues) for the local AWS endpoint, in the AWS JSON 1.0 protocol the SDK v3 speaks
 * (`X-Amz-Target: AmazonSQS.<Operation>`), and in the older query protocol that older AWS CLIs send
 * (`./sqs-query.ts`). Errors are sent as SQS sends them: `__type` `com.amazonaws.sqs#<Name>`
 * plus the `x-amzn-query-error` header (`AWS.SimpleQueueService.NonExistentQueue;Sender`, …) by which the SDK
 * picks the exception class.
 *
 * Behaviour follows the SQS API reference: visibility timeouts, per-message and queue delays, retention, long
 * polling (`WaitTimeSeconds`), receive counts and redrive to the dead-letter queue once a message was received
 * `maxReceiveCount` times, receipt handles that change with every receive (deleting with an older one succeeds
 * and deletes nothing), `PurgeQueue` once per 60 seconds. Message times run on the simulated clock; a long poll
 * waits in wall time (it is the caller's request that waits). Queues and messages persist to a JSON file.
 *
 * Local simplifications (documented): FIFO queues are refused (`UnsupportedOperation`); `Policy`, KMS and
 * `RedriveAllowPolicy` attributes are stored, not enforced; message ordering is send order.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DescribedAwsService } from './edge';
import { JsonStore } from './json-store';
import { type AwsRequest, type AwsResponse, LOCAL_ACCOUNT, LOCAL_REGION } from './protocol';
import { isSqsQueryRequest, sqsQueryAction, sqsQueryError, sqsQueryInput, sqsQueryResponse } from './sqs-query';

const TARGET_PREFIX = 'AmazonSQS.';

export const SQS_OPERATIONS = [
  'CreateQueue',
  'GetQueueUrl',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'DeleteQueue',
  'ListQueues',
  'PurgeQueue',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
] as const;

/** The part of the simulated clock the emulator uses (wall clock when absent). */
export interface SqsClock {
  nowMs(): number;
  at(due: Date, fire: () => void): { cancel(): void };
}

export interface SqsOptions {
  /** JSON file queues and messages persist to; in memory when absent. */
  file?: string;
  /** The simulated clock. @default wall-clock time */
  clock?: SqsClock;
  /** Base of queue URLs built without a request (in-process calls). @default http://127.0.0.1:4566 */
  baseUrl?: string;
}

/** A message as the in-process API hands it out (what an event source mapping turns into a record). */
export interface ReceivedSqsMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, MessageAttributeValue>;
}

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** base64 */
  BinaryValue?: string;
}

export interface SqsService extends DescribedAwsService {
  /** The ARN of queue `name`. */
  queueArn(name: string): string;
  /** Whether the queue with this ARN exists. */
  hasQueue(arn: string): boolean;
  /** Sends a message to the queue with this ARN (EventBridge targets). */
  sendToArn(arn: string, body: string): { messageId: string };
  /**
   * Receives up to `max` messages from the queue with this ARN, long-polling up to `waitMs` of wall time, with the
   * queue's visibility timeout and every system attribute. Resolves empty when `signal` aborts.
   */
  receiveFromArn(
    arn: string,
    opts: { max: number; waitMs: number; signal?: AbortSignal },
  ): Promise<ReceivedSqsMessage[]>;
  /** Deletes a received message (same rules as `DeleteMessage`). */
  deleteFromArn(arn: string, receiptHandle: string): void;
  /** Ends every long poll. */
  close(): void;
}

/** An SQS error: `name` is the exception (`__type`), `queryCode` the code of `x-amzn-query-error`. */
export class SqsError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly queryCode = name,
    readonly status = 400,
  ) {
    super(message);
  }
}

const queueDoesNotExist = () =>
  new SqsError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
const invalidParameter = (message: string) => new SqsError('InvalidParameterValue', message);
const missingParameter = (name: string) =>
  new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes?: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  senderId: string;
  /** Epoch ms: when it was sent (retention counts from here, in a dead-letter queue too). */
  sentAt: number;
  /** Epoch ms: when it can next be received (after a delay or a visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** When the current receive began (the 12-hour visibility limit counts from it). */
  receivedAt?: number;
  /** The handle of the latest receive; only it deletes the message. */
  receiptHandle?: string;
  deadLetterQueueSourceArn?: string;
}

interface StoredQueue {
  name: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  lastModifiedAt: number;
  lastPurgedAt?: number;
  messages: StoredMessage[];
}

interface Document {
  queues: StoredQueue[];
  /** Queue name → when it was deleted (a name can be reused 60 seconds later). */
  deleted?: Record<string, number>;
}

/** Queue attributes a client may set, with their defaults and valid ranges. */
const NUMERIC_ATTRIBUTES: Record<string, { min: number; max: number; default: number }> = {
  DelaySeconds: { min: 0, max: 900, default: 0 },
  MaximumMessageSize: { min: 1024, max: 1_048_576, default: 1_048_576 },
  MessageRetentionPeriod: { min: 60, max: 1_209_600, default: 345_600 },
  ReceiveMessageWaitTimeSeconds: { min: 0, max: 20, default: 0 },
  VisibilityTimeout: { min: 0, max: 43_200, default: 30 },
  KmsDataKeyReusePeriodSeconds: { min: 60, max: 86_400, default: 300 },
};
const OTHER_SETTABLE = ['Policy', 'RedrivePolicy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'SqsManagedSseEnabled'];
const FIFO_ATTRIBUTES = ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'];
const COMPUTED_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
];
const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'DeadLetterQueueSourceArn',
];
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** The characters SQS accepts in a message body (XML 1.0's). */
const INVALID_BODY_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const MAX_BATCH_ENTRIES = 10;
const MAX_TOTAL_VISIBILITY_S = 43_200;
const PURGE_INTERVAL_MS = 60_000;
const QUEUE_REUSE_DELAY_MS = 60_000;

const wallClock: SqsClock = {
  nowMs: () => Date.now(),
  at: (due, fire) => {
    const timer = setTimeout(fire, Math.max(0, due.getTime() - Date.now()));
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** Creates the SQS service. */
export function createSqs(options: SqsOptions = {}): SqsService {
  return new LocalSqs(options).service();
}

interface Waiter {
  wake: () => void;
}

class LocalSqs {
  private readonly clock: SqsClock;
  private readonly store: JsonStore<Document>;
  private readonly queues = new Map<string, StoredQueue>();
  private readonly deleted = new Map<string, number>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(private readonly options: SqsOptions) {
    this.clock = options.clock ?? wallClock;
    this.store = new JsonStore<Document>(options.file, () => ({ queues: [] }));
    const document = this.store.read();
    for (const queue of document.queues ?? []) this.queues.set(queue.name, queue);
    for (const [name, at] of Object.entries(document.deleted ?? {})) this.deleted.set(name, at);
  }

  service(): SqsService {
    return {
      name: 'sqs',
      operations: SQS_OPERATIONS,
      matches: (req) => (req.target?.startsWith(TARGET_PREFIX) ?? false) || isSqsQueryRequest(req),
      operation: (req) => (req.target ? req.target.slice(TARGET_PREFIX.length) : sqsQueryAction(req)),
      handle: async (req) => {
        // AWS CLI releases before SQS's move to JSON send the query protocol (and expect XML back).
        const query = !req.target;
        try {
          if (!query)
            return ok(await this.handle(req.target?.slice(TARGET_PREFIX.length) ?? '', parseBody(req.body), req));
          const operation = sqsQueryAction(req);
          const output = (await this.handle(operation, sqsQueryInput(req), req)) as Record<string, unknown>;
          return sqsQueryResponse(operation, output);
        } catch (error) {
          if (!(error instanceof SqsError)) throw error;
          return query ? sqsQueryError(error.status, error.queryCode, error.message) : sqsError(error);
        }
      },
      queueArn: (name) => queueArn(name),
      hasQueue: (arn) => this.queues.has(nameOfArn(arn)),
      sendToArn: (arn, body) => {
        const queue = this.queueByArn(arn);
        const message = this.enqueue(queue, { MessageBody: body }, LOCAL_ACCOUNT);
        this.persist();
        this.wake(queue.name);
        return { messageId: message.messageId };
      },
      receiveFromArn: async (arn, opts) => {
        const queue = this.queueByArn(arn);
        const messages = await this.receive(
          queue.name,
          { max: opts.max, waitMs: opts.waitMs, visibilityS: undefined, signal: opts.signal },
          () => true,
        );
        return messages.map((m) => this.view(m, SYSTEM_ATTRIBUTES, ['All']));
      },
      deleteFromArn: (arn, receiptHandle) => {
        this.deleteMessage(this.queueByArn(arn), receiptHandle);
      },
      close: () => {
        this.closed = true;
        for (const name of [...this.waiters.keys()]) this.wake(name);
      },
    };
  }

  private async handle(operation: string, input: Record<string, unknown>, req: AwsRequest): Promise<unknown> {
    const base = baseUrlOf(req) ?? this.options.baseUrl ?? 'http://127.0.0.1:4566';
    switch (operation) {
      case 'CreateQueue':
        return this.createQueue(input, base);
      case 'GetQueueUrl': {
        const name = requiredString(input, 'QueueName');
        const owner = optionalString(input, 'QueueOwnerAWSAccountId');
        if ((owner !== undefined && owner !== LOCAL_ACCOUNT) || !this.queues.has(name)) throw queueDoesNotExist();
        return { QueueUrl: queueUrl(base, name) };
      }
      case 'GetQueueAttributes':
        return this.getAttributes(this.queueOf(input), input);
      case 'SetQueueAttributes': {
        const queue = this.queueOf(input);
        const attributes = stringMap(input, 'Attributes');
        const checked = this.checkAttributes(attributes ?? {}, queue.name);
        Object.assign(queue.attributes, checked);
        queue.lastModifiedAt = this.now();
        this.persist();
        return {};
      }
      case 'DeleteQueue': {
        const queue = this.queueOf(input);
        this.queues.delete(queue.name);
        this.deleted.set(queue.name, this.now());
        this.persist();
        this.wake(queue.name);
        return {};
      }
      case 'ListQueues':
        return this.listQueues(input, base);
      case 'PurgeQueue': {
        const queue = this.queueOf(input);
        const now = this.now();
        if (queue.lastPurgedAt !== undefined && now - queue.lastPurgedAt < PURGE_INTERVAL_MS) {
          throw new SqsError(
            'PurgeQueueInProgress',
            `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`,
            'AWS.SimpleQueueService.PurgeQueueInProgress',
            403,
          );
        }
        queue.messages = [];
        queue.lastPurgedAt = now;
        this.persist();
        return {};
      }
      case 'SendMessage': {
        const queue = this.queueOf(input);
        const message = this.enqueue(queue, input, senderOf(req));
        this.persist();
        this.wake(queue.name);
        return {
          MessageId: message.messageId,
          MD5OfMessageBody: message.md5OfBody,
          ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
        };
      }
      case 'SendMessageBatch':
        return this.sendBatch(this.queueOf(input), input, senderOf(req));
      case 'ReceiveMessage':
        return this.receiveMessage(this.queueOf(input), input);
      case 'DeleteMessage': {
        const queue = this.queueOf(input);
        this.deleteMessage(queue, requiredString(input, 'ReceiptHandle'));
        return {};
      }
      case 'DeleteMessageBatch': {
        const queue = this.queueOf(input);
        return this.batch(input, 'DeleteMessage', (entry) => {
          this.deleteMessage(queue, requiredString(entry, 'ReceiptHandle'));
        });
      }
      case 'ChangeMessageVisibility': {
        const queue = this.queueOf(input);
        this.changeVisibility(queue, requiredString(input, 'ReceiptHandle'), input.VisibilityTimeout);
        return {};
      }
      case 'ChangeMessageVisibilityBatch': {
        const queue = this.queueOf(input);
        return this.batch(input, 'ChangeMessageVisibility', (entry) => {
          this.changeVisibility(queue, requiredString(entry, 'ReceiptHandle'), entry.VisibilityTimeout);
        });
      }
      default:
        throw new SqsError('UnsupportedOperation', `Operation ${operation} of sqs is not supported locally`);
    }
  }

  // --- queues ---------------------------------------------------------------------------------------------

  private createQueue(input: Record<string, unknown>, base: string) {
    const name = requiredString(input, 'QueueName');
    if (name.endsWith('.fifo') || stringMap(input, 'Attributes')?.FifoQueue === 'true') {
      throw new SqsError(
        'UnsupportedOperation',
        'FIFO queues are not supported by the local SQS endpoint.',
        'AWS.SimpleQueueService.UnsupportedOperation',
      );
    }
    if (!QUEUE_NAME.test(name)) {
      throw invalidParameter('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const attributes = this.checkAttributes(stringMap(input, 'Attributes') ?? {}, name);
    const tags = stringMap(input, 'tags') ?? {};
    const existing = this.queues.get(name);
    if (existing) {
      // Same name and attributes: CreateQueue answers the existing queue; any different value is a conflict.
      const differing = Object.entries(attributes).find(
        ([key, value]) => (existing.attributes[key] ?? defaultAttribute(key)) !== value,
      );
      if (differing) {
        throw new SqsError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute ${differing[0]}`,
          'QueueAlreadyExists',
        );
      }
      return { QueueUrl: queueUrl(base, name) };
    }
    const deletedAt = this.deleted.get(name);
    if (deletedAt !== undefined && this.now() - deletedAt < QUEUE_REUSE_DELAY_MS) {
      throw new SqsError(
        'QueueDeletedRecently',
        'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
        'AWS.SimpleQueueService.QueueDeletedRecently',
      );
    }
    const now = this.now();
    this.queues.set(name, { name, attributes, tags, createdAt: now, lastModifiedAt: now, messages: [] });
    this.deleted.delete(name);
    this.persist();
    return { QueueUrl: queueUrl(base, name) };
  }

  /** Validates settable attributes as SQS does; returns them normalized. */
  private checkAttributes(attributes: Record<string, string>, queueName: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const [key, value] of Object.entries(attributes)) {
      const numeric = NUMERIC_ATTRIBUTES[key];
      if (numeric) {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < numeric.min || n > numeric.max) {
          throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
        }
        result[key] = String(n);
      } else if (key === 'RedrivePolicy') {
        result[key] = this.checkRedrivePolicy(value, queueName);
      } else if (key === 'SqsManagedSseEnabled') {
        if (value !== 'true' && value !== 'false') {
          throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
        }
        result[key] = value;
      } else if (OTHER_SETTABLE.includes(key)) {
        result[key] = value;
      } else if (FIFO_ATTRIBUTES.includes(key)) {
        if (key === 'FifoQueue' && value === 'false') continue;
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
      } else {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
      }
    }
    return result;
  }

  private checkRedrivePolicy(value: string, queueName: string): string {
    if (value === '') return '';
    const bad = (reason: string) =>
      new SqsError('InvalidAttributeValue', `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw bad('Redrive policy is not a valid JSON map.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw bad('Redrive policy is not a valid JSON map.');
    }
    const policy = parsed as Record<string, unknown>;
    const target = policy.deadLetterTargetArn;
    const count = Number(policy.maxReceiveCount);
    if (typeof target !== 'string' || policy.maxReceiveCount === undefined) {
      throw bad('Redrive policy does not contain mandatory attribute: deadLetterTargetArn, maxReceiveCount.');
    }
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw bad('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.');
    }
    const dlqName = nameOfArn(target);
    if (!this.queues.has(dlqName) || queueArn(dlqName) !== target) throw bad('Dead letter target does not exist.');
    if (dlqName === queueName) throw bad('Dead letter target cannot be the queue itself.');
    return JSON.stringify({ deadLetterTargetArn: target, maxReceiveCount: count });
  }

  private getAttributes(queue: StoredQueue, input: Record<string, unknown>) {
    const names = stringList(input, 'AttributeNames') ?? [];
    if (names.length === 0) return {};
    const known = [...Object.keys(NUMERIC_ATTRIBUTES), ...OTHER_SETTABLE, ...COMPUTED_ATTRIBUTES];
    for (const name of names) {
      if (name !== 'All' && !known.includes(name) && !FIFO_ATTRIBUTES.includes(name)) {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
    }
    this.expire(queue);
    const now = this.now();
    const inFlight = queue.messages.filter((m) => m.receiptHandle !== undefined && m.visibleAt > now).length;
    const delayed = queue.messages.filter((m) => m.receiptHandle === undefined && m.visibleAt > now).length;
    const all: Record<string, string> = {
      QueueArn: queueArn(queue.name),
      ApproximateNumberOfMessages: String(queue.messages.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
      SqsManagedSseEnabled: 'true',
    };
    for (const [key, spec] of Object.entries(NUMERIC_ATTRIBUTES)) {
      if (key !== 'KmsDataKeyReusePeriodSeconds' || queue.attributes.KmsMasterKeyId) all[key] = String(spec.default);
    }
    for (const [key, value] of Object.entries(queue.attributes)) if (value !== '') all[key] = value;
    const wanted = names.includes('All') ? Object.keys(all) : names;
    const Attributes = Object.fromEntries(wanted.filter((n) => all[n] !== undefined).map((n) => [n, all[n]]));
    return { Attributes };
  }

  private listQueues(input: Record<string, unknown>, base: string) {
    const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
    const max = input.MaxResults;
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000)) {
      throw invalidParameter(
        `Value ${String(max)} for parameter MaxResults is invalid. Reason: must be between 1 and 1000.`,
      );
    }
    const names = [...this.queues.keys()].filter((n) => n.startsWith(prefix)).sort();
    const token = optionalString(input, 'NextToken');
    const offset = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0) throw invalidParameter('Invalid NextToken value.');
    // Without MaxResults, SQS lists at most 1000 queues and no token.
    const size = typeof max === 'number' ? max : 1000;
    const page = names.slice(offset, offset + size);
    const next = typeof max === 'number' && offset + size < names.length;
    return {
      ...(page.length > 0 ? { QueueUrls: page.map((n) => queueUrl(base, n)) } : {}),
      ...(next ? { NextToken: Buffer.from(String(offset + size)).toString('base64url') } : {}),
    };
  }

  // --- messages -------------------------------------------------------------------------------------------

  private enqueue(queue: StoredQueue, input: Record<string, unknown>, senderId: string): StoredMessage {
    const body = input.MessageBody;
    if (body === undefined || body === null || body === '') throw missingParameter('MessageBody');
    if (typeof body !== 'string') throw invalidParameter('The parameter MessageBody must be a string.');
    const max = Number(queue.attributes.MaximumMessageSize ?? NUMERIC_ATTRIBUTES.MaximumMessageSize?.default);
    const attributes = messageAttributesOf(input.MessageAttributes);
    if (Buffer.byteLength(body) + attributesSize(attributes) > max) {
      throw invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`);
    }
    if (INVALID_BODY_CHARACTER.test(body)) {
      throw new SqsError(
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    const delayInput = input.DelaySeconds;
    let delay = Number(queue.attributes.DelaySeconds ?? 0);
    if (delayInput !== undefined && delayInput !== null) {
      if (typeof delayInput !== 'number' || !Number.isInteger(delayInput) || delayInput < 0 || delayInput > 900) {
        throw invalidParameter(
          `Value ${String(delayInput)} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.`,
        );
      }
      delay = delayInput;
    }
    const now = this.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody: md5(body),
      ...(attributes
        ? { messageAttributes: attributes, md5OfMessageAttributes: md5OfMessageAttributes(attributes) }
        : {}),
      senderId,
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    queue.messages.push(message);
    if (delay > 0) this.wakeAt(queue.name, message.visibleAt);
    return message;
  }

  private sendBatch(queue: StoredQueue, input: Record<string, unknown>, senderId: string) {
    const entries = this.batchEntries(input, 'SendMessage');
    const max = Number(queue.attributes.MaximumMessageSize ?? NUMERIC_ATTRIBUTES.MaximumMessageSize?.default);
    const total = entries.reduce((sum, e) => sum + Buffer.byteLength(String(e.MessageBody ?? '')), 0);
    if (total > max) {
      throw new SqsError(
        'BatchRequestTooLong',
        `Batch requests cannot be longer than ${max} bytes. You have sent ${total} bytes.`,
        'AWS.SimpleQueueService.BatchRequestTooLong',
      );
    }
    const Successful: Record<string, string>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        const message = this.enqueue(queue, entry, senderId);
        Successful.push({
          Id: String(entry.Id),
          MessageId: message.messageId,
          MD5OfMessageBody: message.md5OfBody,
          ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
        });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        Failed.push({ Id: String(entry.Id), SenderFault: true, Code: error.queryCode, Message: error.message });
      }
    }
    if (Successful.length > 0) {
      this.persist();
      this.wake(queue.name);
    }
    return { Successful, Failed };
  }

  private async receiveMessage(queue: StoredQueue, input: Record<string, unknown>) {
    const max = optionalInteger(input, 'MaxNumberOfMessages') ?? 1;
    if (max < 1 || max > 10) {
      throw invalidParameter(
        `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      );
    }
    const visibilityS = optionalInteger(input, 'VisibilityTimeout');
    if (visibilityS !== undefined && (visibilityS < 0 || visibilityS > MAX_TOTAL_VISIBILITY_S)) {
      throw invalidParameter(
        `Value ${visibilityS} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.`,
      );
    }
    const waitS =
      optionalInteger(input, 'WaitTimeSeconds') ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
    if (waitS < 0 || waitS > 20) {
      throw invalidParameter(
        `Value ${waitS} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`,
      );
    }
    const systemNames = [
      ...(stringList(input, 'MessageSystemAttributeNames') ?? []),
      ...(stringList(input, 'AttributeNames') ?? []),
    ];
    for (const name of systemNames) {
      if (
        name !== 'All' &&
        !SYSTEM_ATTRIBUTES.includes(name) &&
        ![
          'AWSTraceHeader',
          'SequenceNumber',
          'MessageDeduplicationId',
          'MessageGroupId',
          'SqsManagedSseEnabled',
        ].includes(name)
      ) {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
    }
    const attributeNames = stringList(input, 'MessageAttributeNames') ?? [];
    const name = queue.name;
    const messages = await this.receive(
      name,
      { max, waitMs: waitS * 1000, visibilityS },
      () => this.queues.get(name) === queue,
    );
    if (messages.length === 0) return {};
    return { Messages: messages.map((m) => wire(this.view(m, systemNames, attributeNames))) };
  }

  /** Receives up to `max` visible messages, long-polling for `waitMs`; redrives those past `maxReceiveCount`. */
  private async receive(
    name: string,
    opts: { max: number; waitMs: number; visibilityS: number | undefined; signal?: AbortSignal },
    stillThere: () => boolean,
  ): Promise<StoredMessage[]> {
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const queue = this.queues.get(name);
      if (!queue || !stillThere()) throw queueDoesNotExist();
      const taken = this.take(queue, opts.max, opts.visibilityS);
      if (taken.length > 0 || this.closed || opts.signal?.aborted) return taken;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      await this.waitForMessages(queue, remaining, opts.signal);
    }
  }

  private take(queue: StoredQueue, max: number, visibilityS: number | undefined): StoredMessage[] {
    this.expire(queue);
    const now = this.now();
    const redrive = redrivePolicyOf(queue);
    const dlq = redrive ? this.queues.get(nameOfArn(redrive.deadLetterTargetArn)) : undefined;
    const taken: StoredMessage[] = [];
    let changed = false;
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (redrive && dlq && message.receiveCount >= redrive.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(message), 1);
        delete message.receiptHandle;
        delete message.receivedAt;
        message.deadLetterQueueSourceArn = queueArn(queue.name);
        message.visibleAt = now;
        dlq.messages.push(message);
        this.wake(dlq.name);
        changed = true;
        continue;
      }
      const visibility = visibilityS ?? Number(queue.attributes.VisibilityTimeout ?? 30);
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receivedAt = now;
      message.visibleAt = now + visibility * 1000;
      message.receiptHandle = receiptHandle(queue.name, message.messageId);
      taken.push(message);
      changed = true;
    }
    if (changed) this.persist();
    return taken;
  }

  /** Resolves when a message may have become receivable, `ms` passed, or `signal` aborted. */
  private waitForMessages(queue: StoredQueue, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timers: { cancel(): void }[] = [];
      let done = false;
      const waiter: Waiter = {
        wake: () => {
          if (done) return;
          done = true;
          for (const t of timers) t.cancel();
          this.waiters.get(queue.name)?.delete(waiter);
          signal?.removeEventListener('abort', waiter.wake);
          resolve();
        },
      };
      const set = this.waiters.get(queue.name) ?? new Set<Waiter>();
      this.waiters.set(queue.name, set);
      set.add(waiter);
      signal?.addEventListener('abort', waiter.wake);
      const wall = setTimeout(waiter.wake, ms);
      timers.push({ cancel: () => clearTimeout(wall) });
      // The next message that becomes visible (end of a visibility timeout or a delay) on the simulated clock.
      const now = this.now();
      const next = Math.min(...queue.messages.filter((m) => m.visibleAt > now).map((m) => m.visibleAt));
      if (Number.isFinite(next)) timers.push(this.clock.at(new Date(next), waiter.wake));
    });
  }

  private wake(name: string): void {
    for (const waiter of [...(this.waiters.get(name) ?? [])]) waiter.wake();
  }

  private wakeAt(name: string, dueMs: number): void {
    if ((this.waiters.get(name)?.size ?? 0) === 0) return;
    this.clock.at(new Date(dueMs), () => this.wake(name));
  }

  private deleteMessage(queue: StoredQueue, handle: string): void {
    const messageId = this.checkHandle(queue, handle);
    const index = queue.messages.findIndex((m) => m.messageId === messageId);
    // An older handle (the message was received again since) succeeds and deletes nothing, as does a message
    // that is already gone.
    if (index < 0 || queue.messages[index]?.receiptHandle !== handle) return;
    queue.messages.splice(index, 1);
    this.persist();
  }

  private changeVisibility(queue: StoredQueue, handle: string, timeout: unknown): void {
    const messageId = this.checkHandle(queue, handle);
    if (timeout === undefined || timeout === null) throw missingParameter('VisibilityTimeout');
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 0 || timeout > MAX_TOTAL_VISIBILITY_S) {
      throw invalidParameter(
        `Value ${String(timeout)} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.`,
      );
    }
    const message = queue.messages.find((m) => m.messageId === messageId);
    if (!message) {
      throw invalidParameter(
        `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    const now = this.now();
    // A handle that a later receive replaced changes nothing; a message visible again is no longer in flight.
    if (message.receiptHandle !== handle) return;
    if (message.visibleAt <= now) {
      throw new SqsError(
        'MessageNotInflight',
        'The message referred to is not in flight.',
        'AWS.SimpleQueueService.MessageNotInflight',
        400,
      );
    }
    const receivedAt = message.receivedAt ?? now;
    if ((now - receivedAt) / 1000 + timeout > MAX_TOTAL_VISIBILITY_S) {
      throw invalidParameter(
        `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`,
      );
    }
    message.visibleAt = now + timeout * 1000;
    this.persist();
    if (timeout === 0) this.wake(queue.name);
    else this.wakeAt(queue.name, message.visibleAt);
  }

  /** The message id a handle names; `ReceiptHandleIsInvalid` when it is not a handle of this queue. */
  private checkHandle(queue: StoredQueue, handle: string): string {
    const decoded = decodeHandle(handle);
    if (!decoded) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
        'ReceiptHandleIsInvalid',
        404,
      );
    }
    if (decoded.queue !== queue.name) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The receipt handle "${handle}" is not valid for this queue.`,
        'ReceiptHandleIsInvalid',
        404,
      );
    }
    return decoded.messageId;
  }

  /** Runs a Delete/ChangeMessageVisibility batch: per-entry failures, as SQS reports them. */
  private batch(input: Record<string, unknown>, action: string, run: (entry: Record<string, unknown>) => void) {
    const entries = this.batchEntries(input, action);
    const Successful: { Id: string }[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        run(entry);
        Successful.push({ Id: String(entry.Id) });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        Failed.push({ Id: String(entry.Id), SenderFault: true, Code: error.queryCode, Message: error.message });
      }
    }
    return { Successful, Failed };
  }

  private batchEntries(input: Record<string, unknown>, action: string): Record<string, unknown>[] {
    const entries = input.Entries;
    if (entries !== undefined && !Array.isArray(entries)) throw invalidParameter('Entries must be a list.');
    const list = (entries ?? []) as unknown[];
    if (list.length === 0) {
      throw new SqsError(
        'EmptyBatchRequest',
        `There should be at least one ${action}BatchRequestEntry in the request.`,
        'AWS.SimpleQueueService.EmptyBatchRequest',
      );
    }
    if (list.length > MAX_BATCH_ENTRIES) {
      throw new SqsError(
        'TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${list.length}.`,
        'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      );
    }
    const seen = new Set<string>();
    for (const raw of list) {
      const id = isObject(raw) ? raw.Id : undefined;
      if (typeof id !== 'string' || !BATCH_ID.test(id)) {
        throw new SqsError(
          'InvalidBatchEntryId',
          'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
          'AWS.SimpleQueueService.InvalidBatchEntryId',
        );
      }
      if (seen.has(id)) {
        throw new SqsError(
          'BatchEntryIdsNotDistinct',
          `Id ${id} repeated.`,
          'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
        );
      }
      seen.add(id);
    }
    return list as Record<string, unknown>[];
  }

  /** Drops messages past the queue's retention period. */
  private expire(queue: StoredQueue): void {
    const retentionMs = Number(queue.attributes.MessageRetentionPeriod ?? 345_600) * 1000;
    const now = this.now();
    const kept = queue.messages.filter((m) => now - m.sentAt < retentionMs);
    if (kept.length !== queue.messages.length) {
      queue.messages = kept;
      this.persist();
    }
  }

  private view(
    m: StoredMessage,
    systemNames: readonly string[],
    attributeNames: readonly string[],
  ): ReceivedSqsMessage {
    const all: Record<string, string> = {
      SenderId: m.senderId,
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? this.now()),
      ...(m.deadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: m.deadLetterQueueSourceArn } : {}),
    };
    const attributes = systemNames.includes('All')
      ? all
      : Object.fromEntries(systemNames.filter((n) => all[n] !== undefined).map((n) => [n, all[n] as string]));
    const wanted = Object.entries(m.messageAttributes ?? {}).filter(([key]) =>
      attributeNames.some(
        (n) => n === 'All' || n === '.*' || n === key || (n.endsWith('.*') && key.startsWith(n.slice(0, -1))),
      ),
    );
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle ?? '',
      body: m.body,
      md5OfBody: m.md5OfBody,
      attributes,
      messageAttributes: Object.fromEntries(wanted),
    };
  }

  private queueOf(input: Record<string, unknown>): StoredQueue {
    const url = requiredString(input, 'QueueUrl');
    const segments = /^[a-z]+:\/\/[^/]+\/(\d{12})\/([^/?#]+)\/?$/i.exec(url) ?? /^(\d{12})\/([^/]+)$/.exec(url);
    if (!segments) {
      // SQS also accepts a bare queue name where a URL belongs.
      const byName = this.queues.get(url);
      if (byName && QUEUE_NAME.test(url)) return byName;
      throw new SqsError('InvalidAddress', `The address ${url} is not valid for this endpoint.`, 'InvalidAddress', 404);
    }
    const queue = segments[1] === LOCAL_ACCOUNT ? this.queues.get(segments[2] as string) : undefined;
    if (!queue) throw queueDoesNotExist();
    return queue;
  }

  private queueByArn(arn: string): StoredQueue {
    const queue = this.queues.get(nameOfArn(arn));
    if (!queue || queueArn(queue.name) !== arn) throw queueDoesNotExist();
    return queue;
  }

  private now(): number {
    return this.clock.nowMs();
  }

  private persist(): void {
    this.store.write({ queues: [...this.queues.values()], deleted: Object.fromEntries(this.deleted) });
  }
}

// --- wire helpers -----------------------------------------------------------------------------------------

function ok(value: unknown): AwsResponse {
  return { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify(value ?? {}) };
}

/** An SQS error as SQS sends it in the JSON protocol. */
export function sqsError(error: SqsError): AwsResponse {
  return {
    status: error.status,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-error': `${error.queryCode};Sender`,
    },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${error.name}`, message: error.message }),
  };
}

function wire(m: ReceivedSqsMessage): Record<string, unknown> {
  const attributes = Object.keys(m.attributes).length > 0 ? { Attributes: m.attributes } : {};
  const names = Object.keys(m.messageAttributes);
  return {
    MessageId: m.messageId,
    ReceiptHandle: m.receiptHandle,
    MD5OfBody: m.md5OfBody,
    Body: m.body,
    ...attributes,
    ...(names.length > 0
      ? { MD5OfMessageAttributes: md5OfMessageAttributes(m.messageAttributes), MessageAttributes: m.messageAttributes }
      : {}),
  };
}

function parseBody(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new SqsError('SerializationException', 'The request body is not valid JSON.');
  }
  if (!isObject(parsed)) throw new SqsError('SerializationException', 'The request body must be a JSON object.');
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (value === undefined || value === null || value === '') throw missingParameter(key);
  if (typeof value !== 'string') throw invalidParameter(`The parameter ${key} must be a string.`);
  return value;
}

function optionalString(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`The parameter ${key} must be a string.`);
  return value;
}

function optionalInteger(input: Record<string, unknown>, key: string): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidParameter(`Value ${String(value)} for parameter ${key} is invalid. Reason: must be an integer.`);
  }
  return value;
}

function stringList(input: Record<string, unknown>, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidParameter(`The parameter ${key} must be a list of strings.`);
  }
  return value as string[];
}

function stringMap(input: Record<string, unknown>, key: string): Record<string, string> | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw invalidParameter(`The parameter ${key} must be a map of strings.`);
  }
  return value as Record<string, string>;
}

function defaultAttribute(key: string): string | undefined {
  const spec = NUMERIC_ATTRIBUTES[key];
  if (spec) return String(spec.default);
  if (key === 'SqsManagedSseEnabled') return 'true';
  if (key === 'RedrivePolicy' || key === 'Policy') return '';
  return undefined;
}

function redrivePolicyOf(queue: StoredQueue): { deadLetterTargetArn: string; maxReceiveCount: number } | undefined {
  const text = queue.attributes.RedrivePolicy;
  if (!text) return undefined;
  return JSON.parse(text) as { deadLetterTargetArn: string; maxReceiveCount: number };
}

function baseUrlOf(req: AwsRequest): string | undefined {
  const host = req.headers.host;
  return typeof host === 'string' && host ? `http://${host}` : undefined;
}

function queueUrl(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/${LOCAL_ACCOUNT}/${name}`;
}

function queueArn(name: string): string {
  return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
}

function nameOfArn(arn: string): string {
  return arn.split(':').pop() ?? arn;
}

/** The access key id the request was signed with: SQS's `SenderId` for a caller. */
function senderOf(req: AwsRequest): string {
  return /Credential=([A-Za-z0-9]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? LOCAL_ACCOUNT;
}

function md5(text: string | Buffer): string {
  return createHash('md5').update(text).digest('hex');
}

/** Receipt handles name their queue and message and change with every receive. */
function receiptHandle(queue: string, messageId: string): string {
  return Buffer.from(`${queue}\n${messageId}\n${randomBytes(24).toString('hex')}`).toString('base64');
}

function decodeHandle(handle: string): { queue: string; messageId: string } | undefined {
  if (!/^[A-Za-z0-9+/]+=*$/.test(handle)) return undefined;
  const parts = Buffer.from(handle, 'base64').toString('utf8').split('\n');
  const [queue, messageId, nonce] = parts;
  if (
    parts.length !== 3 ||
    !queue ||
    !messageId ||
    !/^[0-9a-f-]{36}$/.test(messageId) ||
    !/^[0-9a-f]{48}$/.test(nonce ?? '')
  ) {
    return undefined;
  }
  return { queue, messageId };
}

function messageAttributesOf(value: unknown): Record<string, MessageAttributeValue> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalidParameter('MessageAttributes must be a map.');
  const entries = Object.entries(value);
  if (entries.length === 0) return undefined;
  if (entries.length > 10) {
    throw invalidParameter(`Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
  }
  const result: Record<string, MessageAttributeValue> = {};
  for (const [name, raw] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('AWS.') || name.startsWith('Amazon.')) {
      throw invalidParameter(`Message attribute name '${name}' is invalid.`);
    }
    const attr = isObject(raw) ? raw : {};
    const type = attr.DataType;
    if (typeof type !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(type)) {
      throw invalidParameter(`The message attribute '${name}' must contain non-empty message attribute type.`);
    }
    const binary = type.startsWith('Binary');
    const present = binary ? attr.BinaryValue : attr.StringValue;
    if (typeof present !== 'string' || present === '') {
      throw invalidParameter(`The message attribute '${name}' must contain non-empty message attribute value.`);
    }
    if (type.startsWith('Number') && !Number.isFinite(Number(present))) {
      throw invalidParameter(`Can't cast the value of message (user) attribute '${name}' to a number.`);
    }
    result[name] = binary ? { DataType: type, BinaryValue: present } : { DataType: type, StringValue: present };
  }
  return result;
}

function attributesSize(attributes: Record<string, MessageAttributeValue> | undefined): number {
  let size = 0;
  for (const [name, a] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(a.DataType);
    size +=
      a.BinaryValue !== undefined
        ? Buffer.from(a.BinaryValue, 'base64').length
        : Buffer.byteLength(a.StringValue ?? '');
  }
  return size;
}

/** SQS's MD5 of message attributes: names sorted, each field length-prefixed (4 bytes, big-endian). */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string {
  const chunks: Buffer[] = [];
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const a = attributes[name] as MessageAttributeValue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(a.DataType, 'utf8'));
    if (a.BinaryValue !== undefined) {
      chunks.push(Buffer.from([2]));
      field(Buffer.from(a.BinaryValue, 'base64'));
    } else {
      chunks.push(Buffer.from([1]));
      field(Buffer.from(a.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(chunks));
}
