import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AtlassianTransientError } from '../atlassian/errors';
import { aws } from './errors';

export interface RateLimiterOptions {
  /** Calls allowed per second across every function and execution. */
  perSecond: number;
  /** Longest a caller waits for a slot before giving up. @default 20_000 */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * One limiter for all Atlassian calls, shared by every Lambda: a fixed one-second window counted in a DynamoDB item
 * (`RATE#<name>` / `<epoch second>`) with a conditional `ADD`, so concurrent rotations together stay under the
 * configured rate instead of relying on Atlassian's 429s. The items carry `ttl` for DynamoDB's time-to-live.
 */
export class SharedRateLimiter {
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly name: string,
    private readonly options: RateLimiterOptions,
  ) {
    this.maxWaitMs = options.maxWaitMs ?? 20_000;
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async acquire(): Promise<void> {
    const started = this.now();
    for (;;) {
      const second = Math.floor(this.now() / 1000);
      if (await this.take(second)) return;
      const waited = this.now() - started;
      if (waited >= this.maxWaitMs) {
        // Transient: the workflow's retry, with backoff, takes over.
        throw new AtlassianTransientError(
          `the shared Atlassian rate limit (${this.options.perSecond}/s) had no free slot for ${waited} ms`,
        );
      }
      // Wait for the next window, spread so that waiting callers do not all retry at its first millisecond.
      await this.sleep((second + 1) * 1000 - this.now() + Math.floor(Math.random() * 200));
    }
  }

  private async take(second: number): Promise<boolean> {
    try {
      await aws('DynamoDB.UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: `RATE#${this.name}`, sk: String(second) },
            UpdateExpression: 'ADD used :one SET #ttl = if_not_exists(#ttl, :ttl)',
            ConditionExpression: 'attribute_not_exists(used) OR used < :limit',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':one': 1, ':limit': this.options.perSecond, ':ttl': second + 3600 },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
