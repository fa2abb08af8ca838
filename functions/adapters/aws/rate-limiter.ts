import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AtlassianTransientError } from '../../use-cases/port-errors';
import { aws } from './errors';
import { type MetricsRecorder, wardenMetrics } from './metrics';

export interface RateLimiterOptions {
  /** Calls allowed per second across every function and execution. */
  perSecond: number;
  /** Longest a caller waits for its slot; a caller whose slot would come later gives up at once. @default 20_000 */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Where each caller's wait for its slot is recorded. @default the functions' metrics */
  metrics?: MetricsRecorder;
}

/** Rounds of writes one `acquire` tries before giving up on a contended item (each failed pair means another caller won). */
const MAX_ROUNDS = 20;
/** How long after this sandbox last found a queue it still expects one (a failed guess costs one more write). */
const QUEUE_MEMORY_US = 5_000_000;

/**
 * One limiter for all Atlassian calls, shared by every Lambda: a queue of evenly spaced slots, one every
 * `1 / perSecond` seconds, kept in a single DynamoDB item (`RATE#<name>` / `slots`) that holds the start of the next
 * free slot (`nextUs`, epoch microseconds). A caller reserves a slot with one conditional `UpdateItem`, then sleeps
 * until it starts:
 *
 * - queue not empty (`nextUs` after now): `nextUs += interval`, allowed only while the slot starts within the
 *   caller's longest wait; the caller's slot is the value before the increment;
 * - queue empty (`nextUs` at or before now, or no item yet): `nextUs = now + interval`; the caller goes at once.
 *
 * Both writes are atomic on the one item, so concurrent Lambdas never get the same slot and no reserved slot is
 * lost: under a backlog the calls leave exactly `perSecond` per second, and no one-second span (sliding, not just
 * calendar seconds) ever holds more than `perSecond` slot starts. An idle limiter does not bank capacity, so a
 * burst after a quiet spell is paced from its first call. Slots are computed from the caller's clock; Lambda
 * clocks agree to within milliseconds, far below the interval at any realistic rate.
 */
export class SharedRateLimiter {
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly intervalUs: number;
  private readonly metrics: MetricsRecorder;
  /** What this sandbox last learnt: the next free slot after its own, and whether its own was queued. */
  private known = { nextUs: 0, queued: false };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly name: string,
    private readonly options: RateLimiterOptions,
  ) {
    if (!(options.perSecond > 0)) throw new Error(`rate limiter ${name}: perSecond must be positive`);
    this.maxWaitMs = options.maxWaitMs ?? 20_000;
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.metrics = options.metrics ?? wardenMetrics;
    // Rounded up: a fraction of a microsecond per slot never lets the rate exceed the limit.
    this.intervalUs = Math.ceil(1_000_000 / options.perSecond);
  }

  /**
   * Waits for this caller's slot.
   * @throws AtlassianTransientError when the queue ahead is longer than the longest wait (the workflow's retry,
   * with backoff, takes over).
   */
  async acquire(): Promise<void> {
    await this.acquireSlot();
  }

  /** {@link acquire}, resolving at (never before) the slot's start with that start, in epoch milliseconds. */
  async acquireSlot(): Promise<number> {
    const latestUs = Math.floor((this.now() + this.maxWaitMs) * 1000);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const nowUs = Math.floor(this.now() * 1000);
      // Try first the write that is likely to apply: a queue is expected while the last one seen is recent.
      const expectQueue =
        nowUs < this.known.nextUs || (this.known.queued && nowUs < this.known.nextUs + QUEUE_MEMORY_US);
      let slotUs = expectQueue ? await this.enqueue(nowUs, latestUs) : await this.startQueue(nowUs);
      if (slotUs === undefined) {
        slotUs = expectQueue ? await this.startQueue(nowUs) : await this.enqueue(nowUs, latestUs);
      }
      if (slotUs !== undefined) {
        this.known = { nextUs: slotUs + this.intervalUs, queued: slotUs > nowUs };
        const slotMs = slotUs / 1000;
        this.metrics.limiterWait(slotMs - this.now());
        for (let wait = slotMs - this.now(); wait > 0; wait = slotMs - this.now()) await this.sleep(Math.ceil(wait));
        return slotMs;
      }
      // Neither write applied: the queue reaches past this caller's longest wait, or another caller moved it
      // between the two writes (then the next round succeeds).
      const nextUs = await this.nextFree();
      if (nextUs !== undefined && nextUs > latestUs) throw this.full(nextUs / 1000 - this.now());
    }
    throw this.full(undefined);
  }

  /** Takes the slot at the end of a non-empty queue; undefined if the queue is empty or ends too late. */
  private async enqueue(nowUs: number, latestUs: number): Promise<number | undefined> {
    const res = await this.update({
      UpdateExpression: 'SET nextUs = nextUs + :interval',
      ConditionExpression: 'nextUs > :now AND nextUs <= :latest',
      ExpressionAttributeValues: { ':interval': this.intervalUs, ':now': nowUs, ':latest': latestUs },
      ReturnValues: 'UPDATED_NEW',
    });
    const next = res?.nextUs;
    return typeof next === 'number' ? next - this.intervalUs : undefined;
  }

  /** Takes the slot starting now when the queue is empty; undefined if it is not. */
  private async startQueue(nowUs: number): Promise<number | undefined> {
    const res = await this.update({
      UpdateExpression: 'SET nextUs = :next',
      ConditionExpression: 'attribute_not_exists(nextUs) OR nextUs <= :now',
      ExpressionAttributeValues: { ':next': nowUs + this.intervalUs, ':now': nowUs },
      ReturnValues: 'NONE',
    });
    return res ? nowUs : undefined;
  }

  /** The conditional write; the item's new attributes, or undefined when the condition did not hold. */
  private async update(
    input: Pick<
      ConstructorParameters<typeof UpdateCommand>[0],
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues' | 'ReturnValues'
    >,
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await aws('DynamoDB.UpdateItem', () =>
        this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: this.key(), ...input })),
      );
      return res.Attributes ?? {};
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  private async nextFree(): Promise<number | undefined> {
    const res = await aws('DynamoDB.GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: this.key(), ConsistentRead: true })),
    );
    const next = res.Item?.nextUs;
    return typeof next === 'number' ? next : undefined;
  }

  private key() {
    return { pk: `RATE#${this.name}`, sk: 'slots' };
  }

  private full(waitMs: number | undefined): AtlassianTransientError {
    return new AtlassianTransientError(
      waitMs === undefined
        ? `the shared Atlassian rate limit (${this.options.perSecond}/s) stayed contended; no slot was taken`
        : `the shared Atlassian rate limit (${this.options.perSecond}/s) has no free slot within ${this.maxWaitMs} ms (next in ${Math.round(waitMs)} ms)`,
    );
  }
}
