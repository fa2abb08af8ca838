import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Clock, systemClock } from '../../domain/ports';
import type { RecordStore as RecordStorePort } from '../../use-cases/ports';
import { accessExceptionRepository } from './records/access-exceptions';
import { approvalRepository, uploadRepository } from './records/links';
import { mintRepository } from './records/mints';
import { nameLockRepository } from './records/name-locks';
import { deliveryLeases, driftReports } from './records/notes';
import { pendingSlotRepository } from './records/pending-slots';
import { personalTokenRepository, scanRepository } from './records/personal-tokens';
import { requestRepository, tokenRepository } from './records/requests';
import { recordTable } from './records/table';

/** Every repository over the one records table. */
export type RecordStore = RecordStorePort;

/**
 * Data access for requests, approvals, tokens, mints, uploads, name locks, pending slots, notification markers,
 * drift reports, members' personal tokens and their scans: one table, single-item conditional writes (no transactions), optimistic concurrency through
 * `version`. Each repository is its own object over the shared table helper (`./records/*`); this spreads them
 * into the one store the composition roots hand out.
 */
export function createRecordStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  /** When a name lock is released (`releasedAt`). */
  clock: Clock = systemClock,
): RecordStore {
  const table = recordTable(doc, tableName);
  return {
    ...requestRepository(table),
    ...approvalRepository(table),
    ...tokenRepository(table),
    ...mintRepository(table),
    ...uploadRepository(table),
    ...nameLockRepository(table, clock),
    ...pendingSlotRepository(table),
    ...deliveryLeases(table),
    ...driftReports(table),
    ...personalTokenRepository(table),
    ...scanRepository(table),
    ...accessExceptionRepository(table),
  };
}
