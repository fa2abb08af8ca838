/** An approver's open approvals against the DynamoDB emulator: open, unexpired, and never older than the policy allows. */
import { createRecordStore, type RecordStore } from '../../../functions/adapters/aws/record-store';
import { MAX_APPROVAL_EXPIRY_HOURS } from '../../../functions/domain/policy';
import type { ApprovalRecord } from '../../../functions/domain/records';
import { type LocalDynamo, startDynamo } from '../../support/dynamo';

let dynamo: LocalDynamo;
let store: RecordStore;
const NOW = new Date('2026-12-03T10:00:00Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  dynamo = await startDynamo();
  store = createRecordStore(dynamo.doc, dynamo.tableName);
});
afterAll(async () => {
  await dynamo.close();
});

async function approval(id: string, createdHoursAgo: number, over: Partial<ApprovalRecord> = {}) {
  const created = NOW.getTime() - createdHoursAgo * HOUR;
  const record: ApprovalRecord = {
    approvalId: `apv_${id.padEnd(26, 'a')}`,
    requestId: `req_${id.padEnd(26, 'a')}`,
    approver: 'approver1@example.com',
    expiresAt: iso(NOW.getTime() + HOUR),
    status: 'OPEN',
    csrfHashes: [],
    createdAt: iso(created),
    ...over,
  };
  expect(await store.createApproval(record)).toBe(true);
  return record.approvalId;
}

describe('Adapter: listOpenApprovals', () => {
  it('lists open, unexpired approvals newest first, and none created before the longest approval expiry', async () => {
    // Prepare
    const recent = await approval('recent', 1);
    const older = await approval('older', MAX_APPROVAL_EXPIRY_HOURS - 1);
    await approval('decided', 2, { status: 'DECIDED' });
    await approval('expired', 3, { expiresAt: iso(NOW.getTime() - HOUR) });
    // Open by its fields, but created before any approval can still be open: the query does not reach it.
    await approval('ancient', MAX_APPROVAL_EXPIRY_HOURS + 1);

    // Act
    const page = await store.listOpenApprovals({
      approver: 'approver1@example.com',
      nowIso: iso(NOW.getTime()),
      limit: 10,
    });

    // Assess
    expect(page.items.map((a) => a.approvalId)).toEqual([recent, older]);
    expect(page.nextToken).toBeUndefined();
  });
});
