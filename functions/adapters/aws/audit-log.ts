import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditRecord } from '../../domain/records';
import type { AuditTrail } from '../../use-cases/ports';
import { aws } from './errors';
import type { LifecycleDetail } from './lifecycle-events';
import { type MetricsRecorder, wardenMetrics } from './metrics';

export type { AuditEvent, AuditRecord } from '../../domain/records';

/**
 * Append-only audit trail. Each record has a deterministic key (`event#discriminator`), so a retried step writes it
 * once: a conditional put that finds it present is a no-op. When a publisher is given, every record is also
 * published as a lifecycle event (at least once: consumers deduplicate on `eventId`, the record's key), and counted
 * in the metric named after its event (once: a repeat that finds the record present counts nothing).
 */
export class AuditLog implements AuditTrail {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly publish?: (detail: LifecycleDetail) => Promise<void>,
    private readonly metrics: MetricsRecorder = wardenMetrics,
  ) {}

  async append(record: AuditRecord, discriminator: string): Promise<void> {
    const sk = `${record.event}#${discriminator}`;
    try {
      await aws('DynamoDB.PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...record, sk },
            ConditionExpression: 'attribute_not_exists(sk)',
          }),
        ),
      );
      this.metrics.lifecycleEvent(record.event);
      const waited = record.details?.pendingSeconds;
      if ((record.event === 'APPROVED' || record.event === 'REJECTED') && typeof waited === 'number') {
        this.metrics.decisionLatency(waited);
      }
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
    if (this.publish) {
      await this.publish({
        eventId: `${record.correlationId}:${sk}`,
        event: record.event,
        correlationId: record.correlationId,
        requestId: record.requestId,
        ...(record.tokenId ? { tokenId: record.tokenId } : {}),
        actor: record.actor,
        at: record.at,
        ...(record.details ? { details: record.details } : {}),
      });
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
