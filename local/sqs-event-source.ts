/**
 * Lambda event source mappings for SQS in the local runtime: one poller per mapping long-polls its queue (so it
 * answers a message at once and costs nothing while the queue is empty), invokes the function with Lambda's SQS
 * event (`Records[]`), and then does what Lambda does with the outcome:
 * - success: every message of the batch is deleted;
 * - a function error: nothing is deleted; the messages return after their visibility timeout (and reach the
 *   dead-letter queue after `maxReceiveCount` receives);
 * - with `ReportBatchItemFailures`: the messages named in `batchItemFailures[].itemIdentifier` stay, the others are
 *   deleted; an empty or absent list is full success, and a malformed answer (an identifier that is empty, not a
 *   string, or not in the batch) fails the whole batch, as Lambda documents.
 * Messages matching none of the mapping's filters are deleted without an invocation, as Lambda does.
 *
 * Each batch is registered with the simulated clock (`track`), so `POST /local/clock/advance` waits for the batches
 * that the end of a visibility timeout started. Local simplification (documented): one batch at a time per mapping,
 * at most 10 messages a batch (one ReceiveMessage), no batching window.
 */
import { matchesEventPattern } from './aws/event-pattern';
import { LOCAL_REGION } from './aws/protocol';
import type { ReceivedSqsMessage, SqsService } from './aws/sqs';
import type { LocalEventSourceMapping } from './messaging';

export interface SqsPollersOptions {
  mappings: readonly LocalEventSourceMapping[];
  sqs: Pick<SqsService, 'receiveFromArn' | 'deleteFromArn'>;
  /** Invokes a function synchronously (the runtime's LambdaRunner). */
  invoke: (functionName: string, event: unknown) => Promise<unknown>;
  /** Registers a batch's work with the simulated clock. @default no tracking */
  track?: <T>(work: Promise<T>) => Promise<T>;
  /** Told when a batch failed (the function threw, or answered a malformed partial-batch response). */
  onBatchError?: (mapping: LocalEventSourceMapping, error: unknown) => void;
  /** How long one long poll waits (wall time). @default 20 s, SQS's maximum */
  pollWaitMs?: number;
}

export interface SqsPollers {
  /** Stops polling and waits for batches in progress. */
  close(): Promise<void>;
}

/** One record of Lambda's SQS event. */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<
    string,
    { dataType: string; stringValue?: string; binaryValue?: string; stringListValues: []; binaryListValues: [] }
  >;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

/** Starts a poller for every mapping. */
export function startSqsPollers(options: SqsPollersOptions): SqsPollers {
  const controller = new AbortController();
  const track = options.track ?? (<T>(work: Promise<T>) => work);
  const onBatchError =
    options.onBatchError ??
    ((mapping: LocalEventSourceMapping, error: unknown) =>
      console.error(`[lambda] ${mapping.functionName} failed a batch from ${mapping.queueArn}:`, error));
  const loops = options.mappings.map((mapping) => poll(mapping));

  async function poll(mapping: LocalEventSourceMapping): Promise<void> {
    const { signal } = controller;
    while (!signal.aborted) {
      let messages: ReceivedSqsMessage[];
      try {
        messages = await options.sqs.receiveFromArn(mapping.queueArn, {
          max: Math.min(Math.max(mapping.batchSize, 1), 10),
          waitMs: options.pollWaitMs ?? 20_000,
          signal,
        });
      } catch (error) {
        // The queue is gone (deleted by hand): report once a second instead of spinning.
        onBatchError(mapping, error);
        await pause(1_000, signal);
        continue;
      }
      if (messages.length === 0 || signal.aborted) continue;
      await track(runBatch(mapping, messages)).catch((error: unknown) => onBatchError(mapping, error));
    }
  }

  async function runBatch(mapping: LocalEventSourceMapping, messages: ReceivedSqsMessage[]): Promise<void> {
    const records = messages.map((m) => toRecord(m, mapping.queueArn));
    const selected = mapping.filters.length === 0 ? records : records.filter((r) => passesFilters(mapping, r));
    const filteredOut = records.filter((r) => !selected.includes(r));
    for (const record of filteredOut) options.sqs.deleteFromArn(mapping.queueArn, record.receiptHandle);
    if (selected.length === 0) return;
    // A function error rejects here: nothing is deleted.
    const result = await options.invoke(mapping.functionName, { Records: selected });
    const failed = mapping.reportBatchItemFailures ? failedItems(result, selected) : new Set<string>();
    for (const record of selected) {
      if (!failed.has(record.messageId)) options.sqs.deleteFromArn(mapping.queueArn, record.receiptHandle);
    }
  }

  return {
    async close() {
      controller.abort();
      await Promise.allSettled(loops);
    },
  };
}

/** The messages a partial batch response names; throws (failing the whole batch) when it is malformed. */
export function failedItems(result: unknown, records: readonly SqsEventRecord[]): Set<string> {
  if (result === null || result === undefined) return new Set();
  if (typeof result !== 'object' || Array.isArray(result)) {
    throw new Error('the partial batch response is not a JSON object');
  }
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return new Set();
  if (!Array.isArray(failures)) throw new Error('batchItemFailures is not a list');
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !ids.has(id)) {
      throw new Error(`batchItemFailures names ${JSON.stringify(id ?? null)}, which is not a message of the batch`);
    }
    failed.add(id);
  }
  return failed;
}

function toRecord(m: ReceivedSqsMessage, queueArn: string): SqsEventRecord {
  return {
    messageId: m.messageId,
    receiptHandle: m.receiptHandle,
    body: m.body,
    attributes: { ...m.attributes },
    messageAttributes: Object.fromEntries(
      Object.entries(m.messageAttributes).map(([name, a]) => [
        name,
        {
          dataType: a.DataType,
          ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
          ...(a.BinaryValue !== undefined ? { binaryValue: a.BinaryValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: m.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/** Lambda filters an SQS record with its body parsed when it is JSON (else matched as the plain string). */
function passesFilters(mapping: LocalEventSourceMapping, record: SqsEventRecord): boolean {
  let body: unknown = record.body;
  try {
    body = JSON.parse(record.body);
  } catch {
    // a plain-text body
  }
  const subject = { ...record, body };
  return mapping.filters.some((filter) => matchesEventPattern(filter, subject));
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
