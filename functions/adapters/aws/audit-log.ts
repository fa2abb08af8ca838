import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { aws } from './errors';

export type AuditEvent =
  | 'REQUESTED'
  | 'APPROVED'
  | 'REJECTED'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'ISSUED'
  | 'ISSUANCE_FAILED'
  | 'ROTATED'
  | 'ROTATION_FAILED'
  | 'REVOKED'
  | 'TOKEN_EXPIRED';

export interface AuditRecord {
  correlationId: string;
  event: AuditEvent;
  at: string;
  actor: string;
  requestId: string;
  tokenId?: string;
  /** Non-secret facts about the event (never a token value). */
  details?: Record<string, string | number | boolean | string[]>;
}

/**
 * Append-only audit trail. Each record has a deterministic key (`at#event#discriminator`), so a retried step
 * writes it once: a conditional put that finds it present is a no-op.
 */
export class AuditLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async append(record: AuditRecord, discriminator: string): Promise<void> {
    try {
      await aws('DynamoDB.PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...record, sk: `${record.event}#${discriminator}` },
            ConditionExpression: 'attribute_not_exists(sk)',
          }),
        ),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return;
      throw error;
    }
  }

  /** Every record of one correlation id (= request id), oldest first. */
  async list(correlationId: string): Promise<AuditRecord[]> {
    const items: AuditRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await aws('DynamoDB.Query', () =>
        this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'correlationId = :c',
            ExpressionAttributeValues: { ':c': correlationId },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of out.Items ?? []) {
        const { sk: _sk, ...record } = item;
        items.push(record as AuditRecord);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.at.localeCompare(b.at));
  }
}
